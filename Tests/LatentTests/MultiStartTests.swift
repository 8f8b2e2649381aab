import Foundation
import Testing
import Latent

/// The multi-start driver's rules on models whose EM paths are known in closed form.
@Suite struct MultiStartTests {
    /// A stand-in for EM: the log-likelihood climbs geometrically, `ℓₜ₊₁ = L − (L − ℓₜ)·r`, to the
    /// start's limit `L`.
    struct GeometricClimb: DegeneracyChecking {
        var value: Double
        let limit: Double
        let rate: Double
        mutating func expectationMaximizationStep(on data: Void) throws -> Double {
            defer { value = limit - (limit - value) * rate }
            return value
        }
        func totalLogLikelihood(of data: Void) throws -> Double { value }
        func degeneracies(on data: Void) -> [Degeneracy] { [] }
    }

    /// `L − c·rᵗ` for t = 0 ..< count.
    static func geometric(limit: Double, gap: Double, rate: Double, count: Int) -> [Double] {
        (0..<count).map { limit - gap * pow(rate, Double($0)) }
    }

    @Test func cannotReachJudgesByAitkensExtrapolation() {
        // Ten values climbing to −100; Aitken's estimate of what is still to come is exact here
        // (10·0.5⁹ ≈ 0.0195), so the run ends at −100 whatever the margin.
        let history = Self.geometric(limit: -100, gap: 10, rate: 0.5, count: 10)
        #expect(ExpectationMaximization.cannotReach(-99.5, history))            // the limit is 0.5 below
        #expect(!ExpectationMaximization.cannotReach(-100.0001, history))       // the limit passes it
        #expect(!ExpectationMaximization.cannotReach(-99.97, history, margin: 3))  // −100.0195 + 3·0.0195 > −99.97
        #expect(ExpectationMaximization.cannotReach(-99.97, history, margin: 2))   // −100.0195 + 2·0.0195 < −99.97
        #expect(!ExpectationMaximization.cannotReach(-99.5, history, earliest: 10))  // no verdict yet
        #expect(!ExpectationMaximization.cannotReach(-100.5, history))          // already above
        // A run that stopped rising cannot pass anything above it; one still speeding up can.
        #expect(ExpectationMaximization.cannotReach(-99, history + [history.last!]))
        #expect(!ExpectationMaximization.cannotReach(0, [-10, -9.5, -9, -8, -6, -2]))
    }

    /// Starts whose runs head below the best start so far are abandoned after the rule's
    /// iterations: the same winner, fewer iterations, and every abandoned start reported below it.
    @Test func abandonedStartsNeverChangeTheWinner() throws {
        // Start i climbs slowly (r = 0.9) from −200 to a limit drawn in [−150, −100).
        func search(_ abandonment: StartSearchOptions.Abandonment?) throws -> FitReport {
            let options = StartSearchOptions(restarts: 8, shortRuns: 1, em: EMOptions(maxIterations: 1_000, tolerance: 1e-9),
                                             seed: 3, abandonment: abandonment)
            return try MultiStart.fit(data: (), count: 1, options: options, initialize: { rng in
                GeometricClimb(value: -200, limit: -150 + 50 * rng.nextUniform(), rate: 0.9)
            }, degenerateAdvice: "").report
        }
        let full = try search(nil), abandoning = try search(.init(after: 20, margin: 20))
        #expect(abandoning.logLikelihood == full.logLikelihood)
        #expect(abandoning.totalIterations < full.totalIterations / 2)
        let best = try #require(full.startLogLikelihoods.max())
        let abandoned = zip(full.startLogLikelihoods, abandoning.startLogLikelihoods).filter { $0 != $1 }
        #expect(!abandoned.isEmpty)
        for (finished, stopped) in abandoned { #expect(stopped < finished && stopped < best) }
    }

    /// With `agreement`, the search stops once that many starts have ended at the best optimum so
    /// far; a start that passes the best by more than the tolerance starts the count again.
    @Test func agreeingStartsEndTheSearch() throws {
        // Limits by start: the first two at −120, then −100 (a better optimum) from the third on.
        func search(_ limits: [Double], agreement: Int?) throws -> FitReport {
            var next = 0
            let options = StartSearchOptions(restarts: limits.count, shortRuns: 1, em: EMOptions(maxIterations: 1_000, tolerance: 1e-12),
                                             agreement: agreement)
            return try MultiStart.fit(data: (), count: 10, options: options, initialize: { _ in
                defer { next += 1 }
                return GeometricClimb(value: -300, limit: limits[next], rate: 0.5)
            }, degenerateAdvice: "").report
        }
        let limits: [Double] = [-120, -120, -100, -100 - 1e-5, -100, -90, -100]
        let adaptive = try search(limits, agreement: 3)
        // −120 twice (2 agreeing), −100 passes by more than 1e-4 per observation (count 1), two
        // more within it (3): five starts, the best of them.
        #expect(adaptive.startLogLikelihoods.count == 5)
        #expect(abs(adaptive.logLikelihood - -100) < 1e-6)
        let fixed = try search(limits, agreement: nil)
        #expect(fixed.startLogLikelihoods.count == limits.count)
        #expect(abs(fixed.logLikelihood - -90) < 1e-6)
        // Starts that never agree run to the limit of `restarts`.
        let distinct = try search([-150, -140, -130, -120, -110], agreement: 2)
        #expect(distinct.startLogLikelihoods.count == 5)
    }

    @Test func aFirstStartReplacesStartZerosShortRunsAndFallsBackWhenItFails() throws {
        struct Failed: Error {}
        func search(firstFails: Bool) throws -> (report: FitReport, initializations: Int, firstCalls: Int) {
            var initializations = 0, firstCalls = 0
            let options = StartSearchOptions(restarts: 3, shortRuns: 4, shortRunIterations: 2, em: EMOptions(maxIterations: 1_000, tolerance: 1e-12))
            let report = try MultiStart.fit(data: (), count: 10, options: options, initialize: { _ in
                initializations += 1
                return GeometricClimb(value: -300, limit: -100 - Double(initializations), rate: 0.5)
            }, firstStart: { _ in
                firstCalls += 1
                if firstFails { throw Failed() }
                return GeometricClimb(value: -300, limit: -50, rate: 0.5)
            }, degenerateAdvice: "").report
            return (report, initializations, firstCalls)
        }
        let given = try search(firstFails: false)
        #expect(given.firstCalls == 1 && given.initializations == 2 * 4)   // start 0 made no short runs
        #expect(given.report.startLogLikelihoods.count == 3 && abs(given.report.startLogLikelihoods[0] - -50) < 1e-6)
        #expect(abs(given.report.logLikelihood - -50) < 1e-6)
        let failing = try search(firstFails: true)
        #expect(failing.firstCalls == 1 && failing.initializations == 3 * 4)   // start 0 fell back to short runs
        #expect(failing.report.warnings.isEmpty && failing.report.startLogLikelihoods.allSatisfy { $0 < -100 })
    }
}
