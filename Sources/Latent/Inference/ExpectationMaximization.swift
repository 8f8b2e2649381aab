import Foundation

/// A model that expectation-maximisation can fit: one E-step plus M-step at a time.
///
/// Gaussian mixtures, factor analysis and hidden Markov models all conform and share one driver,
/// ``ExpectationMaximization/run(_:on:count:options:progress:stop:scoringTheLastStep:)``.
public protocol ExpectationMaximizable {
    /// What the model is fitted to.
    associatedtype TrainingData

    /// Runs one E-step with the current parameters and replaces them by the M-step's.
    ///
    /// - Returns: the total log-likelihood of the data under the parameters *before* the update.
    mutating func expectationMaximizationStep(on data: TrainingData) throws -> Double

    /// The total log-likelihood of the data under the current parameters.
    func totalLogLikelihood(of data: TrainingData) throws -> Double

    /// The parameters as one vector, in a layout fixed by the model's shape, for SQUAREM's
    /// extrapolation (``EMAcceleration/squarem``); nil (the default) when the model offers none,
    /// and EM then runs plain. Parameters in data units are divided by the data's scale (a mean by
    /// its column's standard deviation, say), so that the step length, a ratio of norms, is the same
    /// whatever the units.
    func extrapolationCoordinates(on data: TrainingData) -> [Double]?

    /// The model whose parameters are `coordinates` (the layout of
    /// ``extrapolationCoordinates(on:)``), or nil when they lie outside the parameter space (a
    /// negative probability, a covariance that is not positive definite).
    func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: TrainingData) -> Self?
}

extension ExpectationMaximizable {
    public func extrapolationCoordinates(on data: TrainingData) -> [Double]? { nil }
    public func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: TrainingData) -> Self? { nil }
}

/// How EM moves between E-steps.
public enum EMAcceleration: String, Sendable, Equatable, CaseIterable {
    /// Plain EM: each iteration one E-step and one M-step.
    case none
    /// SQUAREM (Varadhan & Roland 2008, step length S3, with their safeguards): two EM steps
    /// `θ₁ = M(θ₀)`, `θ₂ = M(θ₁)` give `r = θ₁ − θ₀` and `v = θ₂ − 2θ₁ + θ₀`; the jump
    /// `θ′ = θ₀ + 2αr + α²v` with `α = ‖r‖/‖v‖` (at least 1, which gives `θ₂`; at most a limit
    /// that starts at 1 and grows ×4 each time it binds and the jump succeeds) is followed by one
    /// EM step from `θ′`, and kept when the likelihood at `θ′` is at least that at `θ₁`; otherwise,
    /// or when `θ′` leaves the parameter space for every α tried (α is halved towards 1 while it
    /// does), EM continues from `θ₂`. The likelihood never decreases and the limit is a fixed point of
    /// EM, reached in fewer E-steps where EM converges slowly. The stopping rule
    /// (``EMOptions/tolerance``) is asked after each cycle's two EM steps and trusted only when no
    /// kept jump came just before them: when it holds on the two EM steps right after a kept jump,
    /// that cycle makes no jump and the next cycle's two EM steps ask again. The first EM step after
    /// a jump gains far more than the next, and Aitken's estimate of the gain to come was then small
    /// enough to stop runs on a plateau that plain EM crosses. Models without
    /// ``ExpectationMaximizable/extrapolationCoordinates(on:)`` run plain.
    case squarem
}

/// Stopping rules for EM.
public struct EMOptions: Sendable, Equatable {
    /// Upper bound on M-steps.
    public var maxIterations: Int
    /// EM stops when the mean log-likelihood per observation improves by less than this and, once
    /// the rate of convergence can be estimated, when the improvement still to come (Aitken's
    /// estimate `Δ·r/(1 − r)` from the last two steps, `r = Δₜ/Δₜ₋₁`) is below it too: a slowly
    /// converging run is not stopped far from its limit. 0 runs all `maxIterations`.
    public var tolerance: Double
    /// Plain EM or SQUAREM (``EMAcceleration``). With SQUAREM, `maxIterations` bounds the M-steps
    /// made, those of rejected jumps included.
    public var acceleration: EMAcceleration

    public init(maxIterations: Int = 100, tolerance: Double = 1e-3, acceleration: EMAcceleration = .none) {
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.acceleration = acceleration
    }
}

/// What happened during one EM run.
public struct EMTrace: Sendable, Equatable {
    /// Total log-likelihood of the initial parameters and after each accepted M-step.
    public var history: [Double]
    /// Number of M-steps kept (a fit that continues an earlier run adds that run's count); with
    /// SQUAREM every M-step made, those of rejected jumps included: the run's cost in E-steps.
    public var iterations: Int
    /// Whether the tolerance was met before `maxIterations`.
    public var converged: Bool
    /// Set when an M-step lowered the likelihood by more than rounding and was undone.
    public var stoppedOnDecrease: Bool

    /// Total log-likelihood of the returned parameters.
    public var logLikelihood: Double { history.last ?? -.infinity }
}

/// The EM driver, written once for every model.
public enum ExpectationMaximization {
    /// Runs EM on `model` in place until the mean log-likelihood changes by less than the tolerance.
    ///
    /// The likelihood never decreases: an M-step that lowers it by more than rounding error
    /// (possible when regularisation or fixed parameters make the M-step inexact) is undone and EM
    /// stops there. The returned parameters are those whose likelihood is last in the history.
    ///
    /// - Parameters:
    ///   - model: the starting parameters; on return, the fitted ones.
    ///   - data: what the model is fitted to, in the form its E-step reads.
    ///   - count: the number of observations, to turn totals into means per observation.
    ///   - options: the iteration limit and the tolerances.
    ///   - progress: called after each iteration with the iteration number and the mean log-likelihood.
    ///   - stop: asked after each iteration with the history so far; `true` ends the run there
    ///     (not converged).
    ///   - scoringTheLastStep: whether the parameters of the last M-step are scored (one more
    ///     E-step pass) so that the history ends with their likelihood. Runs whose result is only
    ///     ranked (short runs, split-and-merge looks) pass `false`: the model is then one M-step past
    ///     the history's last entry, which (EM never lowering the likelihood) is a lower bound on its
    ///     likelihood, and `iterations` still counts every M-step.
    public static func run<Model: ExpectationMaximizable>(
        _ model: inout Model, on data: Model.TrainingData, count: Int, options: EMOptions = EMOptions(),
        progress: ((Int, Double) -> Void)? = nil, stop: (([Double]) -> Bool)? = nil, scoringTheLastStep: Bool = true
    ) throws -> EMTrace {
        if options.acceleration == .squarem, model.extrapolationCoordinates(on: data) != nil {
            return try runSQUAREM(&model, on: data, count: count, options: options, progress: progress, stop: stop,
                                  scoringTheLastStep: scoringTheLastStep)
        }
        let n = Double(max(1, count))
        var history: [Double] = []
        var converged = false
        var decreased = false
        var accepted = model   // the parameters whose likelihood is history.last
        for _ in 0..<max(0, options.maxIterations) {
            let before = model
            let logLikelihood = try model.expectationMaximizationStep(on: data)  // likelihood of `before`
            guard logLikelihood.isFinite else {
                throw ModelError.fitFailed("the log-likelihood became \(logLikelihood)")
            }
            if let last = history.last, logLikelihood < last - slack(last) {
                model = accepted
                decreased = true
                break
            }
            history.append(logLikelihood)
            accepted = before
            progress?(history.count - 1, logLikelihood / n)
            if options.tolerance > 0, hasConverged(history, perObservation: n, tolerance: options.tolerance) {
                converged = true
                break
            }
            if let stop, stop(history) { break }
        }
        if !decreased && scoringTheLastStep {
            try scoreLastStep(&model, accepted: accepted, history: &history, converged: &converged, data: data,
                              perObservation: n, options: options, progress: progress)
        }
        // Unscored, the model is one M-step past the history's last entry.
        let steps = decreased || scoringTheLastStep ? history.count - 1 : history.count
        return EMTrace(history: history, iterations: max(0, steps), converged: converged,
                       stoppedOnDecrease: decreased)
    }

    /// `model` is one M-step ahead of the last recorded likelihood: scores it and keeps it if it is
    /// no worse, or else goes back to `accepted`.
    private static func scoreLastStep<Model: ExpectationMaximizable>(
        _ model: inout Model, accepted: Model, history: inout [Double], converged: inout Bool, data: Model.TrainingData,
        perObservation n: Double, options: EMOptions, progress: ((Int, Double) -> Void)?
    ) throws {
        let final = try model.totalLogLikelihood(of: data)
        if let last = history.last, !(final >= last - slack(last)) {
            model = accepted
        } else {
            history.append(final)
            progress?(history.count - 1, final / n)
            if options.tolerance > 0, hasConverged(history, perObservation: n, tolerance: options.tolerance) { converged = true }
        }
    }

    /// ``EMAcceleration/squarem``: cycles of two EM steps, a jump, and one EM step from the jump.
    ///
    /// The history holds, per cycle, the likelihoods of `θ₀`, `θ₁` and (when kept) of the jump
    /// `θ′`; the next cycle starts at `M(θ′)` (or at `θ₂`), so the last three entries at the end of
    /// each cycle's second step are those of three successive EM iterates, and the stopping rule
    /// and `stop` are asked there only. After a kept jump the first of them is `θ′`, and the
    /// stopping rule is then confirmed by the next cycle (see ``EMAcceleration/squarem``); `stop`
    /// is asked in every cycle but one whose stopping rule held right after a jump (that cycle
    /// skips its jump and goes on). A `stop` that
    /// extrapolates the gains, as ``cannotReach(_:_:earliest:margin:)`` does, is as optimistic right
    /// after a jump as the stopping rule was, and is asked there unchanged.
    private static func runSQUAREM<Model: ExpectationMaximizable>(
        _ model: inout Model, on data: Model.TrainingData, count: Int, options: EMOptions,
        progress: ((Int, Double) -> Void)?, stop: (([Double]) -> Bool)?, scoringTheLastStep: Bool
    ) throws -> EMTrace {
        let n = Double(max(1, count))
        let limit = max(0, options.maxIterations)
        var history: [Double] = []
        var steps = 0
        var converged = false, decreased = false
        var accepted = model   // the parameters whose likelihood is history.last
        var stepLimit = 1.0
        var jumped = false   // whether the last cycle ended with a kept jump
        /// One EM step from `model`; false when its likelihood fell below the last recorded one.
        func step() throws -> Bool {
            let before = model
            let logLikelihood = try model.expectationMaximizationStep(on: data)
            steps += 1
            guard logLikelihood.isFinite else { throw ModelError.fitFailed("the log-likelihood became \(logLikelihood)") }
            if let last = history.last, logLikelihood < last - slack(last) {
                model = accepted
                decreased = true
                return false
            }
            history.append(logLikelihood)
            accepted = before
            progress?(history.count - 1, logLikelihood / n)
            return true
        }
        while steps < limit {
            let start = model
            guard let x0 = start.extrapolationCoordinates(on: data), try step() else { break }
            guard steps < limit, let x1 = model.extrapolationCoordinates(on: data), try step() else { break }
            let followsJump = jumped
            jumped = false
            if options.tolerance > 0, hasConverged(history, perObservation: n, tolerance: options.tolerance) {
                // Right after a jump the first EM step gains much more than the next, and Aitken's
                // estimate of the gain to come is then far too small: a run on a plateau stopped there.
                // Convergence is confirmed by two EM steps from θ₂ without a jump between.
                guard followsJump else {
                    converged = true
                    break
                }
                continue
            }
            if let stop, stop(history) { break }
            guard steps < limit, let x2 = model.extrapolationCoordinates(on: data), x2.count == x0.count else { continue }
            let second = model   // θ₂ = M(θ₁), where EM goes on if the jump fails
            var rr = 0.0, vv = 0.0
            for i in x0.indices {
                let r = x1[i] - x0[i], v = x2[i] - 2 * x1[i] + x0[i]
                rr += r * r
                vv += v * v
            }
            var alpha = min(stepLimit, vv > 0 ? max(1, (rr / vv).squareRoot()) : 1)
            let proposed = alpha
            if alpha <= 1 + 1e-3 {
                // EM's own step (θ₂); the limit grows as after a kept jump (it starts at 1).
                if alpha >= stepLimit { stepLimit *= 4 }
                continue
            }
            var jump: Model?
            while alpha > 1 + 1e-3 {
                let a2 = 2 * alpha, aa = alpha * alpha
                let coordinates = x0.indices.map { i in
                    x0[i] + a2 * (x1[i] - x0[i]) + aa * (x2[i] - 2 * x1[i] + x0[i])
                }
                if let candidate = start.replacingExtrapolationCoordinates(coordinates, on: data) {
                    jump = candidate
                    break
                }
                alpha = (alpha + 1) / 2   // outside the parameter space: a shorter jump
            }
            guard let jump else { continue }
            let reference = history.last!   // ℓ(θ₁)
            var trial = jump
            // A jump whose E- or M-step fails (a covariance that is no longer positive definite,
            // say) counts as one that lowered the likelihood.
            let atJump = (try? trial.expectationMaximizationStep(on: data)) ?? -.infinity
            steps += 1
            if atJump.isFinite && atJump >= reference {
                history.append(atJump)
                accepted = jump
                model = trial
                jumped = true
                progress?(history.count - 1, atJump / n)
                if alpha == proposed && alpha >= stepLimit { stepLimit *= 4 }
            } else {
                model = second
                if alpha == proposed && alpha >= stepLimit { stepLimit = max(1, stepLimit / 4) }
            }
        }
        if !decreased && scoringTheLastStep {
            try scoreLastStep(&model, accepted: accepted, history: &history, converged: &converged, data: data,
                              perObservation: n, options: options, progress: progress)
        }
        return EMTrace(history: history, iterations: steps, converged: converged, stoppedOnDecrease: decreased)
    }

    /// The stopping rule of ``EMOptions/tolerance``: the last improvement, and Aitken's estimate of
    /// the improvement still to come, both below the tolerance (per observation).
    static func hasConverged(_ history: [Double], perObservation n: Double, tolerance: Double) -> Bool {
        let count = history.count
        guard count >= 2 else { return false }
        let last = (history[count - 1] - history[count - 2]) / n
        guard last < tolerance else { return false }
        guard count >= 3, last > 0 else { return true }
        let previous = (history[count - 2] - history[count - 3]) / n
        guard previous > 0 else { return true }
        let rate = last / previous
        guard rate < 1 else { return false }   // not yet in the linear phase: keep going
        return last * rate / (1 - rate) < tolerance
    }

    /// Whether a run whose likelihoods so far are `history` will not pass `target`: after more than
    /// `earliest` iterations it is still below, and either no longer rising or, by Aitken's
    /// extrapolation from its last three values (`Δ·r/(1 − r)` still to come, `r` the ratio of the
    /// last two gains) taken `margin` times over, converging below it. Split-and-merge EM ends its
    /// looks with it (the `stop` of ``run(_:on:count:options:progress:stop:scoringTheLastStep:)``,
    /// with the defaults): on the mixture reference suite this saved about a third of the search's
    /// EM iterations. Ending a whole start this way against the best start so far needs more
    /// caution, since EM runs often leave a plateau late, which the extrapolation cannot foresee
    /// (see ``StartSearchOptions/abandonment``).
    public static func cannotReach(_ target: Double, _ history: [Double], earliest: Int = earliestVerdict,
                                   margin: Double = verdictMargin) -> Bool {
        let c = history.count
        guard c > max(2, earliest), let last = history.last, last < target else { return false }
        let gain = history[c - 1] - history[c - 2], previous = history[c - 2] - history[c - 3]
        guard gain > 0 else { return true }
        guard previous > 0 else { return false }
        let rate = gain / previous
        guard rate < 1 else { return false }
        return last + margin * gain * rate / (1 - rate) < target
    }
    public static let earliestVerdict = 4, verdictMargin = 3.0

    /// Rounding slack for comparing total log-likelihoods.
    static func slack(_ value: Double) -> Double { 1e-9 * max(1, abs(value)) }
}
