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
}
