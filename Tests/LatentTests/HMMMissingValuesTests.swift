import Foundation
import Testing
import Latent
import TestSupport

/// Gaussian hidden Markov models with missing values (NaN): each step is scored on its observed
/// coordinates (a step with none is a gap), and Baum-Welch integrates the missing ones out.
@Suite struct HMMMissingValuesTests {
    /// `log 𝒩(x_o | μ_o, Σ_oo)` of the observed coordinates of `x` (0 with none), by direct formulas.
    static func marginalLogDensity(_ x: [Double], mean: [Double], covariance s: Matrix<Double>) -> Double {
        let o = x.indices.filter { !x[$0].isNaN }
        switch o.count {
        case 0: return 0
        case 1:
            let j = o[0], v = s[j, j], r = x[j] - mean[j]
            return -0.5 * (log(2 * Double.pi * v) + r * r / v)
        default:
            let det = s[0, 0] * s[1, 1] - s[0, 1] * s[1, 0]
            let r0 = x[0] - mean[0], r1 = x[1] - mean[1]
            let q = (s[1, 1] * r0 * r0 - 2 * s[0, 1] * r0 * r1 + s[0, 0] * r1 * r1) / det
            return -0.5 * (2 * log(2 * Double.pi) + log(det) + q)
        }
    }

    @Test func theLikelihoodSumsOverEveryPathOfTheObservedValues() throws {
        let covariances = [Matrix([[1.0, 0.4], [0.4, 0.8]]), Matrix([[0.5, -0.2], [-0.2, 1.5]])]
        let means = Matrix([[0.0, 1.0], [2.0, -1.0]])
        let model = try HiddenMarkovModel(startProbabilities: [0.6, 0.4], transitions: Matrix([[0.8, 0.2], [0.3, 0.7]]),
                                          emission: GaussianEmission(means: means, covariances: .full(covariances)))
        let nan = Double.nan
        let x = Matrix([[0.3, 0.9], [nan, -0.5], [1.8, nan], [nan, nan], [2.2, -1.1]])
        // Brute force over the 2⁵ state paths.
        var terms: [Double] = []
        for path in 0..<(1 << x.rows) {
            let z = (0..<x.rows).map { (path >> $0) & 1 }
            var lp = log(model.startProbabilities[z[0]])
            for t in 0..<x.rows {
                if t > 0 { lp += log(model.transitions[z[t - 1], z[t]]) }
                lp += Self.marginalLogDensity(x.row(t), mean: means.row(z[t]), covariance: covariances[z[t]])
            }
            terms.append(lp)
        }
        let top = terms.max()!
        let exact = top + log(terms.reduce(0) { $0 + exp($1 - top) })
        let computed = model.logLikelihood(of: x, sequences: .single(x.rows), threads: 1)
        #expect(abs(computed - exact) < 1e-10, "\(computed) against \(exact)")
        // The posteriors of the gap follow from its neighbours alone.
        let gamma = model.posteriors(of: x)
        for t in 0..<x.rows { #expect(abs(gamma[t, 0] + gamma[t, 1] - 1) < 1e-12) }
    }

    /// 10% of the cells of 30 sequences of a 3-state model missing, and a gap of whole steps.
    static func incompleteSequences() throws -> (Matrix<Double>, [SequenceRange], HiddenMarkovModel<GaussianEmission>) {
        let truth = try OnlineHMMTests.gaussianTruth(.full)
        var (x, ranges) = OnlineHMMTests.draw(truth, count: 30, length: 60, seed: 11)
        var rng = Xoshiro256StarStar(seed: 12)
        for i in 0..<x.rows where rng.nextUniform() < 0.2 { x[i, rng.nextInt(below: 2)] = .nan }
        for i in 100..<106 { x[i, 0] = .nan; x[i, 1] = .nan }
        return (x, ranges, truth)
    }

    @Test(arguments: CovarianceType.allCases)
    func baumWelchNeverDecreasesAndStreamsTheSameHistory(_ type: CovarianceType) throws {
        let (x, ranges, truth) = try Self.incompleteSequences()
        var options = HMMFitOptions<GaussianEmission>(covarianceType: type, seed: 4)
        options.em = EMOptions(maxIterations: 3, tolerance: 0)
        options.restarts = 1
        options.splitMergeTrials = 0
        let start = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options).model
        options.warmStart = start
        options.em = EMOptions(maxIterations: 40, tolerance: 0)
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options)
        let history = report.trace.history
        #expect(zip(history, history.dropFirst()).allSatisfy { $1 >= $0 - 1e-9 * abs($0) }, "\(type): Baum-Welch decreased the likelihood")
        #expect(abs(model.logLikelihood(of: x, sequences: ranges) - report.logLikelihood) <= 1e-9 * abs(report.logLikelihood))
        if type == .full {
            #expect(report.logLikelihood >= truth.logLikelihood(of: x, sequences: ranges) - 1)
        }
        for blockRows in [1, 200] {
            let data = StreamedSequenceData(source: x, sequences: ranges, blockRows: blockRows, threads: 2)
            let streamed = try HiddenMarkovModel<GaussianEmission>.fitStreamed(data, states: 3, options: options).report.trace.history
            #expect(streamed.count == history.count)
            for (a, b) in zip(streamed, history) { #expect(abs(a - b) <= 1e-9 * abs(b), "\(type), blocks of \(blockRows): \(a) against \(b)") }
        }
        // Statistics of parts merge into the whole's step with missing values too.
        var rng = Xoshiro256StarStar(seed: 2)
        let parts = HMMStatisticsTests.split(x, ranges, parts: 3, rng: &rng)
        let merged = try HMMStatistics<GaussianEmission>.merged(parts.map { try model.statistics(of: $0.0, sequences: $0.1) })
        let whole = try model.statistics(of: x, sequences: ranges)
        #expect(abs(merged.logLikelihood - whole.logLikelihood) <= 1e-9 * abs(whole.logLikelihood))
        let a = try model.maximizing(merged), b = try model.maximizing(whole)
        #expect(zip(a.emission.parameterValues, b.emission.parameterValues).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
    }

    @Test func gaussianMixtureEmissionsRefuseMissingValues() throws {
        let (x, ranges, _) = try Self.incompleteSequences()
        var options = HMMFitOptions<GaussianMixtureEmission>(covarianceType: .diag, seed: 1)
        options.restarts = 1
        #expect(throws: ModelError.self) { _ = try HiddenMarkovModel<GaussianMixtureEmission>.fit(x, sequences: ranges, states: 2, options: options) }
    }
}
