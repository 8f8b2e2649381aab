import Foundation
import Testing
import Latent
import TestSupport

/// One-state models, where hmmlearn's fit is the closed form (DESIGN.md §3). Two states and more
/// are in the reference suite (`ReferenceSuiteTests`), against hmmlearn's best eligible optimum
/// of 60 starts on 13 real series.
@Suite struct HiddenMarkovModelReferenceTests {
    @Test(arguments: [("nile.csv", "flow", -654.5157), ("geyser.csv", "waiting", -1210.4883)])
    func oneStateGaussianEqualsHmmlearn(_ file: String, _ column: String, _ reference: Double) throws {
        let x = try TestData.csv(file, columns: [column]).values
        let (_, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 1)
        #expect(abs(report.logLikelihood - reference) < 1e-3, "\(file): \(report.logLikelihood)")
    }

    @Test func oneStatePoissonEqualsHmmlearn() throws {
        let x = try TestData.csv("discoveries.csv", columns: ["count"]).values
        let (_, report) = try HiddenMarkovModel<PoissonEmission>.fit(x, states: 1)
        #expect(abs(report.logLikelihood - -216.8457) < 1e-3)
    }
}
