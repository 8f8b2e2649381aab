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

    /// Nottingham's monthly temperatures, 4 states: hmmlearn's best of 60 (−696.9875, reached by 6 of
    /// its starts) is a strict yearly cycle in which two states hold one month a year each. Latent's
    /// starts stop at −697.527 with seed 3 (with seeds 0 and 1 they reach the cycle themselves); the
    /// split-and-merge moves go on to hmmlearn's optimum.
    @Test func splitAndMergeReachesNottinghamsYearlyCycle() throws {
        let x = try TestData.csv("reference/nottem.csv", columns: ["temperature"]).values
        var options = HMMFitOptions<GaussianEmission>(covarianceType: .diag, seed: 3)
        options.splitMergeTrials = 0
        let (_, starts) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 4, options: options)
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 4, options: HMMFitOptions(covarianceType: .diag, seed: 3))
        #expect(starts.logLikelihood < -697.5, "the starts alone: \(starts.logLikelihood)")
        #expect(report.logLikelihood > -696.9875 - 1e-3 * Double(x.rows), "with split-and-merge: \(report.logLikelihood)")
        // Two states each hold one month of the 20 years.
        let posteriors = model.posteriors(of: x)
        let occupancy = (0..<4).map { k in (0..<x.rows).reduce(0.0) { $0 + posteriors[$1, k] } }.sorted()
        #expect(abs(occupancy[0] - 20) < 0.5 && abs(occupancy[1] - 20) < 0.5, "occupancies \(occupancy)")
    }

    /// Lake Huron's yearly levels, 4 states: hmmlearn's best of 60 (−108.600, from 1 of its starts)
    /// has a state of eight years at 576.85 ft with sd 0.06. Latent's starts end at −109.779 (seed
    /// 0); the split-and-merge moves, among them one that restarts a state where the data are
    /// densest against the model, reach −108.456 (Latent's variance floor is lower than hmmlearn's).
    @Test func seededMovesReachLakeHuronsNarrowState() throws {
        let x = try TestData.csv("reference/lakehuron.csv", columns: ["level"]).values
        var options = HMMFitOptions<GaussianEmission>(covarianceType: .diag, seed: 0)
        options.splitMergeTrials = 0
        let (_, starts) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 4, options: options)
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 4, options: HMMFitOptions(covarianceType: .diag, seed: 0))
        #expect(starts.logLikelihood < -108.6 - 0.1, "the starts alone: \(starts.logLikelihood)")
        #expect(report.logLikelihood > -108.600 - 1e-3 * Double(x.rows), "with split-and-merge: \(report.logLikelihood)")
        let posteriors = model.posteriors(of: x)
        let narrow = (0..<4).filter { k in model.emission.states.covariances.variances(component: k, dimension: 1)[0] < 0.01 }
        #expect(narrow.count == 1, "one narrow state: \(model.emission.states.covariances)")
        if let k = narrow.first {
            let occupancy = (0..<x.rows).reduce(0.0) { $0 + posteriors[$1, k] }
            #expect(abs(occupancy - 8) < 0.5 && abs(model.emission.states.means[k, 0] - 576.85) < 0.05, "occupancy \(occupancy)")
        }
    }

    /// The seeded moves' rows equal a direct computation: every candidate's k-th neighbour from a
    /// full sort of its distances, candidates by score, a chosen row's k + 1 nearest not chosen again.
    @Test func underfitRowsEqualADirectComputation() throws {
        var rng = Xoshiro256StarStar(seed: 11)
        for (n, d) in [(60, 1), (150, 2), (400, 3)] {
            // Rounded values, so that ties between distances are common; with two or more columns,
            // three rows with a missing value, which have no distance to any row.
            var x = Matrix(rows: n, columns: d, storage: (0..<n * d).map { _ in (rng.nextNormal() * 4).rounded() / 4 })
            if d > 1 { for t in [3, 17, 40] { x[t, 1] = .nan } }
            let density = (0..<n).map { _ in rng.nextNormal() }
            let k = max(d + 1, Int(0.05 * Double(n)))
            func distance(_ t: Int, _ u: Int) -> Double { (0..<d).reduce(0.0) { $0 + (x[t, $1] - x[u, $1]) * (x[t, $1] - x[u, $1]) } }
            func comparable(_ t: Int) -> [Int] { (0..<n).filter { !distance(t, $0).isNaN } }
            let scored = (0..<n).filter { comparable($0).count > k }.map { t -> (Double, Int) in
                let kth = comparable(t).map { distance(t, $0) }.sorted()[k]
                return (-Double(d) * log(max(kth.squareRoot(), 0.01)) - density[t], t)
            }.sorted { $0.0 > $1.0 }
            var expected: [Int] = [], covered = Set<Int>()
            for (_, t) in scored where expected.count < 5 && !covered.contains(t) {
                expected.append(t)
                covered.formUnion(comparable(t).sorted { (distance(t, $0), $0) < (distance(t, $1), $1) }.prefix(k + 1))
            }
            #expect(SplitAndMerge.underfitRows(x, modelLogDensity: density, count: 5) == expected, "N = \(n), D = \(d)")
            let radii = SplitAndMerge.neighbourRadii(x)
            #expect(SplitAndMerge.underfitRows(x, radii: radii, modelLogDensity: density, count: 5) == expected)
            #expect(radii.radii.filter(\.isNaN).count == (d > 1 ? 3 : 0))
        }
    }

    @Test func oneStatePoissonEqualsHmmlearn() throws {
        let x = try TestData.csv("discoveries.csv", columns: ["count"]).values
        let (_, report) = try HiddenMarkovModel<PoissonEmission>.fit(x, states: 1)
        #expect(abs(report.logLikelihood - -216.8457) < 1e-3)
    }
}
