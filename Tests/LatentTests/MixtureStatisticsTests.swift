import Foundation
import Testing
import Latent
import TestSupport

/// Mergeable E-step statistics: any split of the data, merged in any order, gives the statistics
/// of the whole, and their M-step is one EM step of the in-memory fit.
struct MixtureStatisticsTests {
    static let geyser = try! TestData.csv("geyser.csv").values

    @Test(arguments: CovarianceType.allCases)
    func statisticsOfRandomSplitsMergeIntoOneEMStep(type: CovarianceType) throws {
        let x = Self.geyser
        var options = MixtureFitOptions(covarianceType: type, restarts: 1, em: EMOptions(maxIterations: 5, tolerance: 0), seed: 3, threads: 1)
        let model = try GaussianMixture.fit(x, components: 3, options: options).model
        let whole = try model.statistics(of: x)
        #expect(abs(whole.logLikelihood - model.totalLogLikelihood(of: x)) < 1e-9 * abs(whole.logLikelihood))
        var rng = Xoshiro256StarStar(seed: 11)
        for _ in 0..<3 {
            // Three random parts (shuffled rows), merged in a random order.
            let order = (0..<x.rows).shuffled(using: &rng)
            let cuts = [0, 1 + rng.nextInt(below: x.rows / 2), x.rows / 2 + rng.nextInt(below: x.rows / 2), x.rows]
            var parts = try (0..<3).map { try model.statistics(of: x.selectingRows(Array(order[cuts[$0]..<cuts[$0 + 1]]))) }
            parts.shuffle(using: &rng)
            let merged = try MixtureStatistics.merged(parts)
            #expect(merged.rows == x.rows)
            for (a, b) in zip(merged.counts + merged.sums + merged.secondMoments + merged.gram + [merged.logLikelihood],
                              whole.counts + whole.sums + whole.secondMoments + whole.gram + [whole.logLikelihood]) {
                #expect(abs(a - b) <= 1e-9 * max(1, abs(b)))
            }
            // The M-step of the merged statistics is one in-memory EM step.
            let next = try model.maximizing(merged)
            options.warmStart = model
            options.em = EMOptions(maxIterations: 1, tolerance: 0)
            let step = try GaussianMixture.fit(x, components: 3, options: options).model
            let ours = next.weights + next.means.elements + (0..<3).flatMap { next.covariances.matrix(component: $0, dimension: x.columns).elements }
            let theirs = step.weights + step.means.elements + (0..<3).flatMap { step.covariances.matrix(component: $0, dimension: x.columns).elements }
            for (a, b) in zip(ours, theirs) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }
        }
    }

    @Test func statisticsOfAnotherModelAreRefused() throws {
        let x = Self.geyser
        let a = try GaussianMixture.fit(x, components: 2, options: MixtureFitOptions(restarts: 1, seed: 1, threads: 1)).model
        let b = try GaussianMixture.fit(x, components: 2, options: MixtureFitOptions(restarts: 1, em: EMOptions(maxIterations: 2, tolerance: 0), seed: 2, threads: 1)).model
        var sa = try a.statistics(of: x.selectingRows(0..<100))
        let sb = try b.statistics(of: x.selectingRows(100..<200))
        #expect(throws: ModelError.self) { try sa.merge(sb) }
        #expect(throws: ModelError.self) { try b.maximizing(sa) }
        #expect(throws: ModelError.self) { try a.statistics(of: Matrix(rows: 3, columns: 2, storage: [1, 2, .nan, 4, 5, 6])) }
        #expect(throws: ModelError.self) { try a.statistics(of: Matrix(rows: 2, columns: 3, repeating: 1)) }
        // Too few rows for the components.
        #expect(throws: ModelError.self) { try a.maximizing(a.statistics(of: x.selectingRows(0..<1))) }
        // Round trip through JSON keeps every bit.
        let decoded = try JSONDecoder().decode(MixtureStatistics.self, from: JSONEncoder().encode(sa))
        #expect(decoded == sa)
        try sa.merge(a.statistics(of: x.selectingRows(100..<x.rows)))
        #expect(sa.rows == x.rows)
    }
}
