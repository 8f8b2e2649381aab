import Foundation
import Testing
import Latent
import TestSupport

/// The best of the starts reaches hmmlearn 0.3.3's best-of-40 log-likelihood (DESIGN.md §3) minus
/// 1e-3 nats per observation, on the real series. hmmlearn's best three-state Nile fit is degenerate
/// (a state on the three years whose flow is exactly 1100, variance at its floor); Latent finds such
/// fits too, and says so in a warning.
@Suite struct HiddenMarkovModelReferenceTests {
    static let nile = try! TestData.csv("nile.csv")
    static let geyser = try! TestData.csv("geyser.csv", columns: ["waiting"]).values
    static let discoveries = try! TestData.csv("discoveries.csv", columns: ["count"]).values

    static let gaussian: [(String, Int, Double)] = [
        ("nile", 1, -654.5157), ("nile", 2, -629.8045), ("nile", 3, -614.6436),
        ("geyser", 1, -1210.4883), ("geyser", 2, -1092.3995), ("geyser", 3, -1050.3262),
    ]

    @Test(arguments: 0..<6)
    func gaussianSeriesReachHmmlearn(_ index: Int) throws {
        let (name, k, reference) = Self.gaussian[index]
        let x = name == "nile" ? try Self.nile.selecting(columns: ["flow"]).values : Self.geyser
        var options = HMMFitOptions<GaussianEmission>()
        options.restarts = 40   // as many as hmmlearn's reference had
        options.seed = 1
        options.em = EMOptions(maxIterations: 1000, tolerance: 1e-9)
        // hmmlearn's variance floor (min_covar); its best three-state Nile fit parks a state on the
        // three years with a flow of exactly 1100, where the floor decides the likelihood.
        options.regularization = 1e-3
        let (_, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: k, options: options)
        print(name, k, report.logLikelihood, reference)
        #expect(report.logLikelihood >= reference - 1e-3 * Double(x.rows), "\(name) K=\(k): \(report.logLikelihood) < \(reference)")
    }

    @Test(arguments: [(1, -216.8457), (2, -206.0541), (3, -201.3414)])
    func poissonSeriesReachHmmlearn(_ k: Int, _ reference: Double) throws {
        var options = HMMFitOptions<PoissonEmission>()
        options.restarts = 20
        options.seed = 1
        options.em = EMOptions(maxIterations: 1000, tolerance: 1e-9)
        let (_, report) = try HiddenMarkovModel<PoissonEmission>.fit(Self.discoveries, states: k, options: options)
        print("discoveries", k, report.logLikelihood, reference)
        #expect(report.logLikelihood >= reference - 1e-3 * Double(Self.discoveries.rows))
    }

    @Test func theNileChangesStateIn1898To1900() throws {
        let flow = try Self.nile.selecting(columns: ["flow"]).values
        let years = try Self.nile.selecting(columns: ["time"]).values.storage
        var options = HMMFitOptions<GaussianEmission>()
        options.restarts = 40
        options.seed = 1
        options.regularization = 1e-3
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(flow, states: 2, options: options)
        #expect(report.warnings.isEmpty)
        let path = model.viterbi(flow).states
        let changes = (1..<path.count).filter { path[$0] != path[$0 - 1] }
        #expect(changes.count == 1)
        if let first = changes.first { #expect((1898...1900).contains(Int(years[first])), "change at \(years[first])") }
    }
}
