import Foundation

/// How the multi-start driver searches for the best optimum.
public struct StartSearchOptions: Sendable, Equatable {
    /// Independent starts; the best eligible final likelihood wins.
    public var restarts: Int
    /// Each start runs this many short EM runs from independent initialisations and continues the
    /// best eligible one to convergence (the em-EM strategy of Biernacki, Celeux & Govaert 2003).
    /// 1 gives plain EM from one initialisation.
    public var shortRuns: Int
    /// EM iterations of each short run.
    public var shortRunIterations: Int
    /// Stopping rules of the runs to convergence; its ``EMOptions/acceleration`` applies to the short
    /// runs too.
    public var em: EMOptions
    /// Seed of every random choice; start `i` uses the generator derived from it with index `i`.
    public var seed: UInt64
    /// If set, runs inside the search (each start's run, repairs, split-and-merge moves) stop at
    /// this tolerance per observation when ``em``'s is tighter, and only the winner is continued to
    /// ``em``'s: ranking optima needs less precision than reporting one, and the slow last stretch
    /// of every losing run is saved. Mixtures use 1e-4 (on the reference suite: 9% fewer EM
    /// iterations, the same hits). Hidden Markov models do not: a 3-state Nile fit then stopped on a
    /// plateau that the tight tolerance leaves for a better optimum.
    public var searchTolerance: Double?
    /// If set (and below ``shortRunIterations``), every short run of a start first runs this many
    /// iterations, and only the better half (rounded up) continues to ``shortRunIterations``
    /// (successive halving): a run that is behind early rarely leads after ten iterations.
    /// Mixtures use 4: on the reference suite (seeds 0–2) the default search then reached the same
    /// 94.9% of scikit-learn's best-of-60 optima at 4.65 instead of 5.15 plain runs' iterations.
    public var screeningIterations: Int?
    /// If set, a start's run to convergence is abandoned once it has run more than `after`
    /// iterations and ``ExpectationMaximization/cannotReach(_:_:earliest:margin:)`` (with `margin`)
    /// judges that it will end below the best eligible start so far: a start heading for a worse
    /// optimum is not run to the end. Hidden Markov models use (20, 20): on the reference suite
    /// (40 entries × seeds 0–7) the search then spent 8.6 instead of 10.9 plain runs' worth of
    /// Baum-Welch iterations for 306 instead of 308 of 320 anchor optima (Gaussian-mixture HMMs,
    /// 14 entries × seeds 0–5: 80 instead of 81 of 84); a tighter rule, (20, 5), lost 5 of the 320.
    /// Mixtures do not: their runs inside the search stop at a loose tolerance already ((20, 10)
    /// saved 2% of their iterations, seeds 0–5, for one hit fewer of 1,680).
    public var abandonment: Abandonment?
    /// If set, the search makes no further start once this many starts have ended at the best
    /// eligible optimum so far (within ``agreementTolerance`` nats per observation): when the same
    /// optimum keeps coming back, more starts from the same distribution are unlikely to find a
    /// better one. ``restarts`` is then the most starts made. Nil: always ``restarts`` starts.
    public var agreement: Int?
    /// How close (nats per observation) a start's final likelihood must be to the best to count
    /// towards ``agreement``.
    public var agreementTolerance: Double

    public init(restarts: Int = 1, shortRuns: Int = 10, shortRunIterations: Int = 10, em: EMOptions = EMOptions(), seed: UInt64 = 0,
                searchTolerance: Double? = nil, screeningIterations: Int? = nil, abandonment: Abandonment? = nil,
                agreement: Int? = nil, agreementTolerance: Double = 1e-4) {
        self.restarts = restarts
        self.shortRuns = shortRuns
        self.shortRunIterations = shortRunIterations
        self.em = em
        self.seed = seed
        self.searchTolerance = searchTolerance
        self.screeningIterations = screeningIterations
        self.abandonment = abandonment
        self.agreement = agreement
        self.agreementTolerance = agreementTolerance
    }

    /// When a start's run to convergence is abandoned (see ``abandonment``).
    public struct Abandonment: Sendable, Equatable {
        /// Iterations a run makes before it can be abandoned.
        public var after: Int
        /// How many times over Aitken's estimate of the gain still to come must fall short.
        public var margin: Double
        public init(after: Int, margin: Double) {
            self.after = after
            self.margin = margin
        }
    }

    /// The stopping rules of runs inside the search (see ``searchTolerance``).
    var searchEM: EMOptions {
        guard let loose = searchTolerance, em.tolerance > 0, em.tolerance < loose else { return em }
        return EMOptions(maxIterations: em.maxIterations, tolerance: loose, acceleration: em.acceleration)
    }
}

/// What the driver reports while it works, for a progress display.
public enum FitEvent: Sendable, Equatable {
    /// An iteration of a run to convergence: the start (from 0), the iteration (from 0) and the
    /// mean log-likelihood per observation.
    case iteration(start: Int, iteration: Int, meanLogLikelihood: Double)
    /// A start converged (or hit the iteration limit); degenerate fits are not eligible.
    case startFinished(start: Int, meanLogLikelihood: Double, iterations: Int, converged: Bool, degeneracies: [Degeneracy])
    /// A start failed with this message.
    case startFailed(start: Int, message: String)
}

/// What a fit did, beyond the model it returns. One type for every EM-fitted model.
public struct FitReport: Sendable {
    /// The EM trace of the run that produced the model (its iterations are ``finalRunIterations``).
    public var trace: EMTrace
    /// Final total log-likelihood of each start (NaN where a start failed).
    public var startLogLikelihoods: [Double]
    /// Number of observations (rows) fitted.
    public var count: Int
    /// Warnings for the user: discarded degenerate starts, failed starts, a degenerate result.
    public var warnings: [String]
    /// Degenerate components of the returned model: empty unless every start was degenerate.
    public var degeneracies: [Degeneracy]
    /// Every EM iteration spent: short runs, runs to convergence of every start and of every
    /// candidate that turned out degenerate.
    public var totalIterations: Int
    /// Starts or candidates set aside because they were degenerate while an eligible one existed.
    public var discardedDegenerate: Int

    /// Iterations of the run that produced the model.
    public var finalRunIterations: Int { trace.iterations }
    /// Components of the returned model that collapsed or are empty.
    public var collapsedComponents: [Int] { degeneracies.map(\.component) }
    /// Total log-likelihood of the returned model.
    public var logLikelihood: Double { trace.logLikelihood }
    /// Mean log-likelihood per observation.
    public var meanLogLikelihood: Double { trace.logLikelihood / Double(max(1, count)) }

    public init(trace: EMTrace, startLogLikelihoods: [Double], count: Int, warnings: [String] = [],
                degeneracies: [Degeneracy] = [], totalIterations: Int? = nil, discardedDegenerate: Int = 0) {
        self.trace = trace
        self.startLogLikelihoods = startLogLikelihoods
        self.count = count
        self.warnings = warnings
        self.degeneracies = degeneracies
        self.totalIterations = totalIterations ?? trace.iterations
        self.discardedDegenerate = discardedDegenerate
    }
}

/// The multi-start search, written once for every EM-fitted model.
///
/// Each start runs several short EM runs from fresh initialisations, ranks them (eligible runs
/// before degenerate ones, then by likelihood) and continues the best to convergence (a
/// `firstStart`, when given, replaces start 0's short runs by its one initialisation). A run that
/// ends degenerate is repaired by the model (``DegeneracyChecking/repaired(_:on:using:)``, at most
/// ``repairsPerCandidate`` times) and then, if still degenerate, the next-ranked candidate is
/// continued instead (at most ``candidatesPerStart``); while every start so far is degenerate,
/// up to ``extraStartsWhileDegenerate`` further starts are made. The best eligible final model
/// wins, and the optional `refine` step (split-and-merge EM) starts from it. When no start
/// produced an eligible model, a model with an empty component is returned with a warning, and a
/// collapsed one is refused with ``ModelError/degenerateFit(_:)``, whose message says what to do.
public enum MultiStart {
    /// Short-run candidates continued per start before the start is declared degenerate.
    public static let candidatesPerStart = 3
    /// Times a run that ended degenerate is repaired (``DegeneracyChecking/repaired(_:on:using:)``)
    /// and continued before the next candidate is tried.
    public static let repairsPerCandidate = 3
    /// Further starts tried, beyond those asked for, while every start so far ended degenerate.
    public static let extraStartsWhileDegenerate = 10

    /// Runs the search.
    ///
    /// - Parameters:
    ///   - data: what the model is fitted to.
    ///   - count: the number of observations, for means per observation.
    ///   - options: how many starts and short runs, the stopping rules and the seed.
    ///   - initialize: draws one starting model from the generator it is given.
    ///   - firstStart: if set, start 0 is the model it draws, continued to convergence alone
    ///     (no short runs) at the final tolerance (`options.em`'s, not ``StartSearchOptions/searchTolerance``:
    ///     from a k-means start a held-out 2-component fit crossed a plateau at 1e-6 per row where 1e-4
    ///     stopped, ranking the start last; repairs of a degenerate result run at the search's
    ///     tolerance, as every start's do): a start of another kind than `initialize`'s, kept out of
    ///     their ranking. If it throws, start 0 makes short runs like the others.
    ///   - refine: an optional step applied to the best start's model (split-and-merge, say) that
    ///     returns a model with its trace and the iterations it spent, or nil; the result replaces
    ///     the best when it is better and not degenerate.
    ///   - degenerateAdvice: what the warning tells a user whose every start was degenerate.
    ///   - progress: receives ``FitEvent``s.
    /// - Throws: the last start's error when every start fails; ``ModelError/degenerateFit(_:)`` when
    ///   every start collapsed.
    public static func fit<Model: DegeneracyChecking>(
        data: Model.TrainingData, count: Int, options: StartSearchOptions,
        initialize: (inout Xoshiro256StarStar) throws -> Model,
        firstStart: ((inout Xoshiro256StarStar) throws -> Model)? = nil,
        refine: ((Model, EMTrace, EMOptions, inout Xoshiro256StarStar) throws -> (Model, EMTrace, spent: Int)?)? = nil,
        degenerateAdvice: String,
        progress: (@Sendable (FitEvent) -> Void)? = nil
    ) throws -> (model: Model, report: FitReport) {
        let root = Xoshiro256StarStar(seed: options.seed)
        let searchEM = options.searchEM
        var best: Outcome<Model>?
        var finals: [Double] = []
        var failures: [String] = []
        var spent = 0
        var discarded = 0
        var start = 0
        // Eligible starts that ended at the best eligible optimum so far (see `agreement`).
        var agreeing = 0
        func agreed() -> Bool {
            guard let needed = options.agreement, let best, best.degeneracies.isEmpty else { return false }
            return agreeing >= max(1, needed)
        }
        while (start < max(1, options.restarts) && !agreed())
                || (start < max(1, options.restarts) + extraStartsWhileDegenerate && !(best?.degeneracies.isEmpty ?? true)) {
            defer { start += 1 }
            var rng = root.derived(start)
            do {
                var candidates: [(Model, ShortRunTrace)]
                var isFirstStart = false
                if start == 0, let firstStart, let model = try? firstStart(&rng) {
                    candidates = [(model, ShortRunTrace(logLikelihood: -.infinity, isEligible: true))]
                    isFirstStart = true
                } else {   // an ordinary start, also when the first start's initialisation failed
                    candidates = try shortRuns(data: data, count: count, options: options, initialize: initialize,
                                               rng: &rng, spent: &spent)
                }
                var outcome: Outcome<Model>?
                var lastError: Error?
                for _ in 0..<min(candidatesPerStart, candidates.count) {
                    let (initial, _) = candidates.removeFirst()
                    do {
                        var model = initial
                        // The best eligible start so far, which an abandoned run cannot pass.
                        let leader = best.flatMap { $0.degeneracies.isEmpty ? $0.trace.logLikelihood : nil }
                        var trace = try ExpectationMaximization.run(&model, on: data, count: count,
                                                                    options: isFirstStart ? options.em : searchEM, progress: { i, mean in
                            progress?(.iteration(start: start, iteration: i, meanLogLikelihood: mean))
                        }, stop: options.abandonment.flatMap { rule in leader.map { leader in { history in
                            ExpectationMaximization.cannotReach(leader, history, earliest: rule.after, margin: rule.margin)
                        } } })
                        spent += trace.iterations
                        var degeneracies = model.degeneracies(on: data)
                        var repairs = 0
                        while !degeneracies.isEmpty, repairs < repairsPerCandidate,
                              var repaired = model.repaired(degeneracies, on: data, using: &rng) {
                            repairs += 1
                            guard let repairedTrace = try? ExpectationMaximization.run(&repaired, on: data, count: count, options: searchEM)
                            else { continue }
                            spent += repairedTrace.iterations
                            let repairedDegeneracies = repaired.degeneracies(on: data)
                            if repairedDegeneracies.isEmpty || repairedTrace.logLikelihood > trace.logLikelihood {
                                (model, trace, degeneracies) = (repaired, repairedTrace, repairedDegeneracies)
                            }
                        }
                        let result = Outcome(model: model, trace: trace, degeneracies: degeneracies)
                        if !result.degeneracies.isEmpty { discarded += 1 }
                        if outcome == nil || result.isBetter(than: outcome!) { outcome = result }
                        if result.degeneracies.isEmpty { break }
                    } catch {
                        lastError = error
                    }
                }
                guard let outcome else { throw lastError ?? ModelError.fitFailed("no initialisation succeeded") }
                finals.append(outcome.trace.logLikelihood)
                progress?(.startFinished(start: start, meanLogLikelihood: outcome.trace.logLikelihood / Double(max(1, count)),
                                         iterations: outcome.trace.iterations, converged: outcome.trace.converged,
                                         degeneracies: outcome.degeneracies))
                let closeEnough = options.agreementTolerance * Double(max(1, count))
                if outcome.degeneracies.isEmpty, let leader = best, leader.degeneracies.isEmpty {
                    let gain = outcome.trace.logLikelihood - leader.trace.logLikelihood
                    agreeing = gain > closeEnough ? 1 : (gain >= -closeEnough ? agreeing + 1 : agreeing)
                } else if outcome.degeneracies.isEmpty {
                    agreeing = 1
                }
                if best == nil || outcome.isBetter(than: best!) { best = outcome }
            } catch {
                finals.append(.nan)
                failures.append("\(error)")
                progress?(.startFailed(start: start, message: "\(error)"))
            }
        }
        guard var best else { throw ModelError.fitFailed(failures.last ?? "no start succeeded") }
        var rng = root.derived(start)
        if let refine, let (better, betterTrace, extra) = try refine(best.model, best.trace, searchEM, &rng) {
            spent += extra
            let refined = Outcome(model: better, trace: betterTrace, degeneracies: better.degeneracies(on: data))
            if refined.degeneracies.isEmpty && refined.isBetter(than: best) { best = refined }
        }
        if searchEM != options.em, best.trace.converged {
            // The winner, continued to the tolerance asked for.
            var model = best.model
            let more = EMOptions(maxIterations: max(1, options.em.maxIterations - best.trace.iterations), tolerance: options.em.tolerance,
                                 acceleration: options.em.acceleration)
            let first = best.trace.iterations
            let polish = try ExpectationMaximization.run(&model, on: data, count: count, options: more) { i, mean in
                progress?(.iteration(start: start, iteration: first + i, meanLogLikelihood: mean))
            }
            spent += polish.iterations
            let trace = EMTrace(history: best.trace.history + polish.history.dropFirst(), iterations: first + polish.iterations,
                                converged: polish.converged, stoppedOnDecrease: polish.stoppedOnDecrease)
            let polished = Outcome(model: model, trace: trace, degeneracies: model.degeneracies(on: data))
            if polished.degeneracies.isEmpty || !best.degeneracies.isEmpty { best = polished }
        }
        var warnings: [String] = []
        if best.degeneracies.contains(where: { if case .collapsed = $0.kind { return true } else { return false } }) {
            throw ModelError.degenerateFit("every start ended with a component on repeated values (best: \(best.degeneracies.map(\.description).joined(separator: "; "))), where the likelihood grows without bound and means nothing. \(degenerateAdvice)")
        } else if !best.degeneracies.isEmpty {
            warnings.append("every start ended with an empty component (\(best.degeneracies.map(\.description).joined(separator: "; "))). \(degenerateAdvice)")
        } else if discarded > 0 {
            warnings.append("\(discarded) run(s) that ended degenerate were discarded (a component on repeated values or on less than one observation); the model returned has none")
        }
        if !failures.isEmpty { warnings.append("\(failures.count) of \(finals.count) starts failed; the last said: \(failures.last!)") }
        return (best.model, FitReport(trace: best.trace, startLogLikelihoods: finals, count: count, warnings: warnings,
                                      degeneracies: best.degeneracies, totalIterations: spent, discardedDegenerate: discarded))
    }

    /// A continued run from a given model (a warm start): no search, but the same report.
    public static func continueRun<Model: DegeneracyChecking>(
        _ model: Model, data: Model.TrainingData, count: Int, em: EMOptions, degenerateAdvice: String,
        progress: (@Sendable (FitEvent) -> Void)? = nil
    ) throws -> (model: Model, report: FitReport) {
        var model = model
        let trace = try ExpectationMaximization.run(&model, on: data, count: count, options: em) { i, mean in
            progress?(.iteration(start: 0, iteration: i, meanLogLikelihood: mean))
        }
        let degeneracies = model.degeneracies(on: data)
        let warnings = degeneracies.isEmpty ? [] : ["\(degeneracies.map(\.description).joined(separator: "; ")): the likelihood is spurious. \(degenerateAdvice)"]
        return (model, FitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: count, warnings: warnings,
                                 degeneracies: degeneracies))
    }

    /// The short runs of one start, ranked: eligible before degenerate, then by likelihood. Short
    /// runs are not scored after their last M-step: each is ranked by the likelihood before it, a
    /// lower bound, which saves one pass over the data per run.
    private static func shortRuns<Model: DegeneracyChecking>(
        data: Model.TrainingData, count: Int, options: StartSearchOptions,
        initialize: (inout Xoshiro256StarStar) throws -> Model, rng: inout Xoshiro256StarStar, spent: inout Int
    ) throws -> [(Model, ShortRunTrace)] {
        let runs = max(1, options.shortRuns)
        let screening = options.screeningIterations.map { min(max(1, $0), options.shortRunIterations) } ?? options.shortRunIterations
        func shortRun(_ model: inout Model, iterations: Int) throws -> ShortRunTrace {
            let trace = try ExpectationMaximization.run(&model, on: data, count: count,
                                                        options: EMOptions(maxIterations: iterations, tolerance: options.em.tolerance,
                                                                           acceleration: options.em.acceleration),
                                                        scoringTheLastStep: false)
            spent += trace.iterations
            return ShortRunTrace(logLikelihood: trace.logLikelihood, isEligible: model.degeneracies(on: data).isEmpty)
        }
        var out: [(Model, ShortRunTrace)] = []
        var lastError: Error?
        for run in 0..<runs {
            var runRNG = rng.derived(run)
            do {
                var model = try initialize(&runRNG)
                if runs == 1 { return [(model, ShortRunTrace(logLikelihood: -.infinity, isEligible: true))] }
                let trace = try shortRun(&model, iterations: screening)
                out.append((model, trace))
            } catch {
                lastError = error
            }
        }
        guard !out.isEmpty else { throw lastError ?? ModelError.fitFailed("no initialisation succeeded") }
        out.sort { $0.1.ranksAbove($1.1) }
        if screening < options.shortRunIterations {
            let kept = (out.count + 1) / 2
            for i in 0..<kept {
                var model = out[i].0
                if let trace = try? shortRun(&model, iterations: options.shortRunIterations - screening) { out[i] = (model, trace) }
            }
            out[..<kept].sort { $0.1.ranksAbove($1.1) }
        }
        return out
    }
}

/// A run to convergence and what the driver judged of it.
private struct Outcome<Model> {
    var model: Model
    var trace: EMTrace
    var degeneracies: [Degeneracy]

    /// Eligible before degenerate, then the higher likelihood.
    func isBetter(than other: Outcome) -> Bool {
        if degeneracies.isEmpty != other.degeneracies.isEmpty { return degeneracies.isEmpty }
        return trace.logLikelihood > other.trace.logLikelihood
    }
}

/// A short run's outcome, for ranking.
private struct ShortRunTrace {
    var logLikelihood: Double
    var isEligible: Bool

    /// Eligible before degenerate, then the higher likelihood.
    func ranksAbove(_ other: ShortRunTrace) -> Bool {
        isEligible != other.isEligible ? isEligible : logLikelihood > other.logLikelihood
    }
}
