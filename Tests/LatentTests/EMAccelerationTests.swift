import Foundation
import Testing
import Latent
import TestSupport

/// SQUAREM (``EMAcceleration/squarem``) against plain EM: the same limit, a likelihood that never
/// decreases, fewer E-steps where EM is slow, and jumps kept inside the parameter space.
@Suite struct EMAccelerationTests {
    /// A stand-in for EM whose map is known: each step shrinks coordinate `i` of `θ − target` by
    /// `rates[i]` (EM near an optimum is a linear map with real eigenvalues in [0, 1)), and the
    /// log-likelihood is `−‖θ − target‖²`.
    struct LinearContraction: ExpectationMaximizable {
        var theta: [Double]
        let target: [Double]
        let rates: [Double]
        var logLikelihood: Double { -zip(theta, target).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        mutating func expectationMaximizationStep(on data: Void) throws -> Double {
            let before = logLikelihood
            theta = theta.indices.map { target[$0] + rates[$0] * (theta[$0] - target[$0]) }
            return before
        }
        func totalLogLikelihood(of data: Void) throws -> Double { logLikelihood }
        func extrapolationCoordinates(on data: Void) -> [Double]? { theta }
        func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: Void) -> LinearContraction? {
            var out = self
            out.theta = coordinates
            return out
        }
    }

    /// A curved EM path: `x ← ρx`, `y ← x(1 − x)` of the new `x`, to (0, 0), with `y ≥ 0` the
    /// parameter space (a variance, say) and log-likelihood `−x²` (so that, as for EM, a step from
    /// any point never lowers it). Extrapolating the path's chords with the step length suited to
    /// `x` throws `y` below zero; `refusals` counts the points refused.
    struct CurvedPath: ExpectationMaximizable {
        final class Counter: @unchecked Sendable { var count = 0 }
        var x: Double, y: Double
        let rate: Double
        let refusals = Counter()
        var logLikelihood: Double { -x * x }
        mutating func expectationMaximizationStep(on data: Void) throws -> Double {
            let before = logLikelihood
            x *= rate
            y = x * (1 - x)
            return before
        }
        func totalLogLikelihood(of data: Void) throws -> Double { logLikelihood }
        func extrapolationCoordinates(on data: Void) -> [Double]? { [x, y] }
        func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: Void) -> CurvedPath? {
            guard coordinates[0] >= 0, coordinates[1] >= 0 else {
                refusals.count += 1
                return nil
            }
            var out = self
            (out.x, out.y) = (coordinates[0], coordinates[1])
            return out
        }
    }

    static func run(_ model: LinearContraction, _ acceleration: EMAcceleration) throws -> (LinearContraction, EMTrace) {
        var model = model
        let trace = try ExpectationMaximization.run(&model, on: (), count: 1,
                                                    options: EMOptions(maxIterations: 100_000, tolerance: 1e-12, acceleration: acceleration))
        return (model, trace)
    }

    static func nonDecreasing(_ history: [Double]) -> Bool {
        for (i, (a, b)) in zip(history, history.dropFirst()).enumerated() where b < a - 1e-9 * max(1, abs(a)) {
            print("decrease at \(i + 1) of \(history.count): \(a) → \(b)")
            return false
        }
        return true
    }

    @Test func squaremReachesEMsLimitInFewerSteps() throws {
        let start = LinearContraction(theta: [5, -3, 2], target: [1, 2, 3], rates: [0.99, 0.99, 0.99])
        let (plainModel, plain) = try Self.run(start, .none)
        let (fastModel, fast) = try Self.run(start, .squarem)
        #expect(plain.converged && fast.converged)
        #expect(abs(plain.logLikelihood) < 1e-8 && abs(fast.logLikelihood) < 1e-8)
        for (a, b) in zip(plainModel.theta, fastModel.theta) { #expect(abs(a - b) < 1e-3) }
        #expect(Self.nonDecreasing(fast.history))
        // Plain EM needs ~1,700 steps at this rate; SQUAREM solves a linear map in one jump once its
        // step limit (×4 per cycle from 1) passes 1/(1 − rate) = 100.
        #expect(plain.iterations > 1_000)
        #expect(fast.iterations < 40, "SQUAREM took \(fast.iterations) E-steps")
    }

    @Test func jumpsStayInTheParameterSpace() throws {
        let start = CurvedPath(x: 0.45, y: 0.45 * 0.55, rate: 0.99)
        let options = EMOptions(maxIterations: 100_000, tolerance: 1e-12)
        var fast = start, plain = start
        let trace = try ExpectationMaximization.run(&fast, on: (), count: 1, options: EMOptions(maxIterations: 100_000, tolerance: 1e-12, acceleration: .squarem))
        let plainTrace = try ExpectationMaximization.run(&plain, on: (), count: 1, options: options)
        #expect(start.refusals.count > 0)
        #expect(trace.converged && fast.x >= 0 && fast.y >= 0)
        #expect(abs(trace.logLikelihood) < 1e-9)
        #expect(Self.nonDecreasing(trace.history))
        #expect(trace.iterations < plainTrace.iterations / 10, "SQUAREM \(trace.iterations) E-steps, plain EM \(plainTrace.iterations)")
    }

    @Test func modelsWithoutCoordinatesRunPlainEM() throws {
        struct Opaque: ExpectationMaximizable {
            var inner: LinearContraction
            mutating func expectationMaximizationStep(on data: Void) throws -> Double { try inner.expectationMaximizationStep(on: data) }
            func totalLogLikelihood(of data: Void) throws -> Double { inner.logLikelihood }
        }
        let start = LinearContraction(theta: [5], target: [1], rates: [0.9])
        var a = Opaque(inner: start), b = Opaque(inner: start)
        let plain = try ExpectationMaximization.run(&a, on: (), count: 1, options: EMOptions(maxIterations: 10_000, tolerance: 1e-10))
        let asked = try ExpectationMaximization.run(&b, on: (), count: 1, options: EMOptions(maxIterations: 10_000, tolerance: 1e-10, acceleration: .squarem))
        #expect(plain == asked)
    }

    /// Mixtures (every covariance type) and HMMs (every emission) on real data: from the same start,
    /// SQUAREM ends where plain EM ends (within the tolerance's reach) in fewer E-steps overall.
    @Test func realModelsReachPlainEMsOptimumFaster() throws {
        let faithful = try TestData.csv("faithful.csv").values
        var plainSteps = 0, fastSteps = 0
        for type in CovarianceType.allCases {
            func fit(_ acceleration: EMAcceleration) throws -> FitReport {
                var options = MixtureFitOptions(covarianceType: type, restarts: 1, shortRuns: 1, splitMergeTrials: 0, seed: 4, threads: 1)
                options.em = EMOptions(maxIterations: 5_000, tolerance: 1e-9, acceleration: acceleration)
                return try GaussianMixture.fit(faithful, components: 3, options: options).report
            }
            let plain = try fit(.none), fast = try fit(.squarem)
            #expect(abs(plain.meanLogLikelihood - fast.meanLogLikelihood) < 1e-5, "\(type): \(plain.meanLogLikelihood) vs \(fast.meanLogLikelihood)")
            #expect(Self.nonDecreasing(fast.trace.history))
            plainSteps += plain.totalIterations
            fastSteps += fast.totalIterations
        }
        let nile = try TestData.csv("nile.csv", columns: ["flow"]).values
        for states in [2, 3] {
            func fit(_ acceleration: EMAcceleration) throws -> FitReport {
                var options = HMMFitOptions<GaussianEmission>(restarts: 1, shortRuns: 1, splitMergeTrials: 0, seed: 2, threads: 1)
                options.em = EMOptions(maxIterations: 5_000, tolerance: 1e-9, acceleration: acceleration)
                return try HiddenMarkovModel<GaussianEmission>.fit(nile, states: states, options: options).report
            }
            let plain = try fit(.none), fast = try fit(.squarem)
            #expect(abs(plain.meanLogLikelihood - fast.meanLogLikelihood) < 1e-5, "\(states) states: \(plain.meanLogLikelihood) vs \(fast.meanLogLikelihood)")
            #expect(Self.nonDecreasing(fast.trace.history))
            plainSteps += plain.totalIterations
            fastSteps += fast.totalIterations
        }
        print("SQUAREM on faithful (4 covariance types) and Nile (2 and 3 states): \(fastSteps) E-steps, plain EM \(plainSteps)")
        #expect(fastSteps < plainSteps, "SQUAREM \(fastSteps) E-steps, plain EM \(plainSteps)")
    }

    /// The step length is a ratio of norms: coordinates in data units would make it, and the
    /// path, depend on the units. With coordinates in units of each column's spread, a fit of
    /// rescaled columns takes the same steps and its log-likelihood moves by the log-Jacobian.
    /// (With coordinates in data units, UnitEquivarianceTests' mixture fits gave other labels.)
    @Test func theStepsDoNotDependOnTheUnits() throws {
        let x = try TestData.csv("faithful.csv").values
        for type in CovarianceType.allCases {
            // Spherical models are the same model only under one factor for every column.
            let factors = type == .spherical ? [1e3, 1e3] : [1e-3, 1e4]
            var scaled = x
            for i in 0..<x.rows { for j in 0..<x.columns { scaled[i, j] *= factors[j] } }
            let shift = factors.reduce(0) { $0 + log($1) }
            func fit(_ data: Matrix<Double>) throws -> FitReport {
                var options = MixtureFitOptions(covarianceType: type, restarts: 1, shortRuns: 1, splitMergeTrials: 0, seed: 4, threads: 1)
                options.em = EMOptions(maxIterations: 5_000, tolerance: 1e-9, acceleration: .squarem)
                return try GaussianMixture.fit(data, components: 3, options: options).report
            }
            let plain = try fit(x), rescaled = try fit(scaled)
            #expect(plain.totalIterations == rescaled.totalIterations, "\(type)")
            #expect(abs(plain.meanLogLikelihood - (rescaled.meanLogLikelihood + shift)) < 1e-6, "\(type): \(plain.meanLogLikelihood), \(rescaled.meanLogLikelihood), \(shift)")
        }
    }

    /// On a plateau the first EM step after a kept jump gains far more than the next, and Aitken's
    /// estimate of the gain to come is then too small: from scikit-learn's k-means centres of
    /// Carseats (two full-covariance components) SQUAREM at 1e-6 per row stopped on a plateau at
    /// −19.5432, which plain EM leaves for −19.5168 (265 iterations). Convergence is now confirmed
    /// by EM steps without a jump between, and SQUAREM ends where plain EM does, in fewer steps.
    @Test func squaremDoesNotStopOnAPlateauThatPlainEMCrosses() throws {
        let x = try TestData.csv("reference/carseats.csv", columns: ["Sales", "CompPrice", "Income", "Price", "Age"]).values
        let centres = Matrix<Double>(rows: 2, columns: 5, storage: [6.969, 127.88, 44.62, 120.71, 52.86,
                                                                    7.993, 122.24, 91.30, 111.17, 53.76])
        func fit(_ acceleration: EMAcceleration) throws -> FitReport {
            let options = MixtureFitOptions(covarianceType: .full, splitMergeTrials: 0,
                                            em: EMOptions(maxIterations: 1_000, tolerance: 1e-6, acceleration: acceleration),
                                            threads: 1, initialMeans: centres)
            return try GaussianMixture.fit(x, components: 2, options: options).report
        }
        let plain = try fit(.none), fast = try fit(.squarem)
        #expect(plain.meanLogLikelihood > -19.5169, "plain EM: \(plain.meanLogLikelihood)")
        #expect(fast.meanLogLikelihood > plain.meanLogLikelihood - 1e-5, "SQUAREM: \(fast.meanLogLikelihood)")
        #expect(fast.totalIterations < plain.totalIterations / 2, "\(fast.totalIterations) against \(plain.totalIterations)")
        #expect(Self.nonDecreasing(fast.trace.history))
    }
}
