import Foundation
import Testing
import Latent
import TestSupport

/// Generic code over models through their capabilities (``RowScoring``, ``RowSampling``,
/// ``FeatureExtracting``), as the command line's `score`, `sample` and `transform` use them.
@Suite struct ModelCapabilityTests {
    static func models() throws -> [LatentModel] {
        let x = try TestData.csv("faithful.csv").values
        var options = MixtureFitOptions()
        options.seed = 1
        let gmm = try GaussianMixture.fit(x, components: 2, options: options).model
        let fa = try FactorAnalysis.fit(x, factors: 1).model
        let bayes = try BayesianGaussianMixture.fit(x, components: 4, options: BayesianMixtureFitOptions()).model
        return [.gaussianMixture(gmm), .linearGaussian(fa), .bayesianMixture(bayes)]
    }

    @Test func rowModelsScoreSampleAndTransformThroughTheirCapabilities() throws {
        let x = try TestData.csv("faithful.csv").values
        for model in try Self.models() {
            let base = model.base
            #expect(base.dimension == 2 && base.parameterCount == model.parameterCount)
            let scorer = try #require(base as? any RowScoring, "\(model.kind) scores rows")
            let perRow = scorer.logLikelihoods(of: x, threads: 2)
            #expect(perRow.count == x.rows && perRow.allSatisfy(\.isFinite))
            // The generic score is the family's own.
            switch model {
            case .gaussianMixture(let m): #expect(abs(perRow.reduce(0, +) - m.totalLogLikelihood(of: x)) < 1e-8 * abs(perRow.reduce(0, +)))
            case .linearGaussian(let m): #expect(zip(perRow, m.logLikelihoods(of: x)).allSatisfy { $0 == $1 })
            case .bayesianMixture(let m): #expect(zip(perRow, m.logLikelihoods(of: x)).allSatisfy { $0 == $1 })
            default: Issue.record("unexpected model")
            }
            let sampler = try #require(base as? any RowSampling, "\(model.kind) samples rows")
            var rng = Xoshiro256StarStar(seed: 3)
            let (points, latents) = sampler.sampleRows(count: 500, using: &rng)
            #expect(points.rows == 500 && points.columns == 2 && latents.rows == 500 && latents.columns == sampler.latentColumnNames.count)
            // Draws land where the model puts its mass: their mean log-likelihood is near the data's.
            let drawn = scorer.logLikelihoods(of: points, threads: 1).reduce(0, +) / 500
            #expect(abs(drawn - perRow.reduce(0, +) / Double(x.rows)) < 0.5, "\(model.kind): draws score \(drawn)")
            let extractor = try #require(base as? any FeatureExtracting, "\(model.kind) has features")
            let features = extractor.features(of: x, threads: 2)
            #expect(features.rows == x.rows && features.columns == extractor.featureNames.count)
            if model.kind != "fa" {
                // Component probabilities: each row a distribution.
                for i in 0..<x.rows { #expect(abs(features.row(i).reduce(0, +) - 1) < 1e-9) }
            }
        }
    }

    @Test func sequenceModelsAreNotRowScorers() throws {
        let hmm = try HiddenMarkovModel<PoissonEmission>(startProbabilities: [1], transitions: Matrix([[1.0]]),
                                                          emission: PoissonEmission(rates: Matrix([[2.0]])))
        let model = LatentModel.hiddenMarkov(.poisson(hmm))
        #expect(model.base as? any RowScoring == nil)
        #expect(model.base as? any RowSampling == nil)
        #expect(model.parameterCount == 1 && model.dimension == 1)
    }
}
