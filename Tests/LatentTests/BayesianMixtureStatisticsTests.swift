import Foundation
import Testing
import Latent
import TestSupport

/// The variational mixture's E-step as mergeable ``MixtureStatistics``: any split of the rows,
/// merged in any order, gives one in-memory coordinate-ascent sweep and its bound.
@Suite struct BayesianMixtureStatisticsTests {
    static func parameters(_ m: BayesianGaussianMixture) -> [Double] {
        m.weightConcentration + m.weightConcentration2 + m.meanPrecision + m.means.elements + m.degreesOfFreedom
            + (0..<m.componentCount).flatMap { m.covariances.matrix(component: $0, dimension: m.dimension).elements }
    }

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($0), abs($1)) }
    }

    @Test(arguments: CovarianceType.allCases)
    func anySplitMergesIntoOneSweep(_ type: CovarianceType) throws {
        let (x, _) = BayesianMixtureTests.fourClusters(seed: 3)
        for weightPrior in BayesianMixturePrior.WeightPrior.allCases {
            var prior = BayesianMixturePrior.defaults(for: x, components: 6)
            prior.weightPrior = weightPrior
            let options = BayesianMixtureFitOptions(covarianceType: type, shortRuns: 1, em: EMOptions(maxIterations: 4, tolerance: 0), seed: 2)
            let model = try BayesianGaussianMixture.fit(x, components: 6, prior: prior, options: options).model
            let whole = try model.statistics(of: x, threads: 2)
            var swept = model
            let bound = try swept.sweep(on: x)
            #expect(abs(try model.lowerBound(from: whole) - bound) <= 1e-9 * abs(bound), "\(type) \(weightPrior)")
            #expect(Self.close(Self.parameters(try model.updating(from: whole)), Self.parameters(swept)), "\(type) \(weightPrior)")

            var rng = Xoshiro256StarStar(seed: 9)
            let owner = (0..<x.rows).map { _ in rng.nextInt(below: 3) }
            var parts = try (0..<3).map { p in try model.statistics(of: x.selectingRows((0..<x.rows).filter { owner[$0] == p })) }
            parts.shuffle(using: &rng)
            let merged = try MixtureStatistics.merged(parts)
            #expect(merged.rows == x.rows)
            #expect(abs(try model.lowerBound(from: merged) - bound) <= 1e-9 * abs(bound), "\(type) \(weightPrior)")
            #expect(Self.close(Self.parameters(try model.updating(from: merged)), Self.parameters(swept)), "\(type) \(weightPrior)")
            // Another posterior's statistics, and a maximum-likelihood mixture's, are refused.
            #expect(throws: ModelError.self) { _ = try swept.updating(from: whole) }
            let ml = try GaussianMixture.fit(x, components: 6, options: MixtureFitOptions(covarianceType: type, restarts: 1)).model
            #expect(throws: ModelError.self) { _ = try model.updating(from: try ml.statistics(of: x)) }
        }
    }
}
