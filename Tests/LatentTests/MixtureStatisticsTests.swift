import Foundation
import Testing
import Latent
import TestSupport

/// Mergeable E-step statistics: any split of the data, merged in any order, gives the statistics
/// of the whole, and their M-step is one EM step of the in-memory fit.
struct MixtureStatisticsTests {
    static let geyser = try! TestData.csv("geyser.csv").values
    /// Air quality: 42 of its 153 rows miss a value, which the statistics integrate out.
    static let airquality = try! TestData.csv("airquality.csv").values

    @Test(arguments: CovarianceType.allCases, [false, true])
    func statisticsOfRandomSplitsMergeIntoOneEMStep(type: CovarianceType, missingValues: Bool) throws {
        let x = missingValues ? Self.airquality : Self.geyser
        #expect(x.elements.contains { $0.isNaN } == missingValues)
        var options = MixtureFitOptions(covarianceType: type, restarts: 1, em: EMOptions(maxIterations: 5, tolerance: 0), seed: 3, threads: 1)
        let model = try GaussianMixture.fit(x, components: 3, options: options).model
        let whole = try model.statistics(of: x)
        #expect(abs(whole.logLikelihood - model.totalLogLikelihood(of: x)) < 1e-9 * abs(whole.logLikelihood))
        var rng = Xoshiro256StarStar(seed: 11)
        // The complete rows first: with missing values, one part then holds complete rows only.
        let completeFirst = (0..<x.rows).sorted { a, b in
            let (ca, cb) = ((0..<x.columns).allSatisfy { !x[a, $0].isNaN }, (0..<x.columns).allSatisfy { !x[b, $0].isNaN })
            return ca != cb ? ca : a < b
        }
        for trial in 0..<4 {
            // Three random parts (shuffled rows), merged in a random order.
            let order = trial == 0 ? completeFirst : (0..<x.rows).shuffled(using: &rng)
            let cuts = trial == 0 ? [0, 50, 100, x.rows] : [0, 1 + rng.nextInt(below: x.rows / 2), x.rows / 2 + rng.nextInt(below: x.rows / 2), x.rows]
            var parts = try (0..<3).map { try model.statistics(of: x.selectingRows(Array(order[cuts[$0]..<cuts[$0 + 1]]))) }
            parts.shuffle(using: &rng)
            let merged = try MixtureStatistics.merged(parts)
            #expect(merged.rows == x.rows)
            #expect(merged.observedCounts == whole.observedCounts)
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
        #expect(throws: ModelError.self) { try a.statistics(of: Matrix(rows: 3, columns: 2, storage: [1, 2, .infinity, 4, 5, 6])) }
        #expect(performing: { try a.statistics(of: Matrix(rows: 3, columns: 2, storage: [1, 2, .nan, .nan, 5, 6])) },
                throws: { "\($0)".contains("row 2 has every value missing") })
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
