import Foundation
import Testing
import Latent
import TestSupport

/// Stepwise EM for hidden Markov models over many sequences (``OnlineHiddenMarkovModel``): a first
/// step on every sequence is the Baum-Welch step, and mini-batch passes come close to the batch optimum.
@Suite struct OnlineHMMTests {
    /// `count` sequences of `length` steps drawn from `model`, concatenated, with their ranges.
    static func draw<E: HMMEmission>(_ model: HiddenMarkovModel<E>, count: Int, length: Int, seed: UInt64) -> (Matrix<Double>, [SequenceRange]) {
        var rng = Xoshiro256StarStar(seed: seed)
        var rows: [[Double]] = [], ranges: [SequenceRange] = []
        for _ in 0..<count {
            let x = model.sample(length: length, using: &rng).observations
            ranges.append(rows.count..<(rows.count + length))
            rows += (0..<x.rows).map { x.row($0) }
        }
        return (Matrix(rows), ranges)
    }

    static func gaussianTruth(_ type: CovarianceType) throws -> HiddenMarkovModel<GaussianEmission> {
        let means = Matrix([[0.0, 0.0], [3.0, 1.0], [0.5, 4.0]])
        let cov = Matrix([[1.0, 0.3], [0.3, 0.8]])
        let covariances: MixtureCovariances
        switch type {
        case .full: covariances = .full([cov, 0.5 * cov, 1.5 * cov])
        case .tied: covariances = .tied(cov)
        case .diag: covariances = .diag(Matrix([[1.0, 0.8], [0.5, 0.4], [1.5, 1.2]]))
        case .spherical: covariances = .spherical([1.0, 0.5, 1.5])
        }
        return try HiddenMarkovModel(startProbabilities: [0.5, 0.3, 0.2],
                                     transitions: Matrix([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]]),
                                     emission: GaussianEmission(means: means, covariances: covariances))
    }

    static func parameters<E: HMMEmission>(_ m: HiddenMarkovModel<E>) -> [Double] {
        m.startProbabilities + m.transitions.elements + m.emission.parameterValues
    }

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($0), abs($1)) }
    }

    @Test(arguments: CovarianceType.allCases)
    func aFirstStepOnEverySequenceIsTheBaumWelchStep(_ type: CovarianceType) throws {
        let (x, ranges) = Self.draw(try Self.gaussianTruth(type), count: 20, length: 50, seed: 1)
        var options = HMMFitOptions<GaussianEmission>(covarianceType: type, seed: 3)
        options.em = EMOptions(maxIterations: 2, tolerance: 0)
        options.restarts = 1
        options.splitMergeTrials = 0
        let model = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options).model
        var online = try OnlineHiddenMarkovModel(start: model)
        try online.partialFit(x, sequences: ranges)
        let step = try model.maximizing(model.statistics(of: x, sequences: ranges), relativeRegularization: 1e-6)
        #expect(Self.close(Self.parameters(online.model), Self.parameters(step)), "\(type)")
    }

    @Test func countEmissionsTakeTheBaumWelchStepToo() throws {
        let poisson = try HiddenMarkovModel(startProbabilities: [0.6, 0.4], transitions: Matrix([[0.9, 0.1], [0.2, 0.8]]),
                                            emission: PoissonEmission(rates: Matrix([[1.0, 4.0], [6.0, 0.5]])))
        let (x, ranges) = Self.draw(poisson, count: 15, length: 40, seed: 2)
        let startP = try HiddenMarkovModel(startProbabilities: [0.5, 0.5], transitions: Matrix([[0.7, 0.3], [0.3, 0.7]]),
                                           emission: PoissonEmission(rates: Matrix([[2.0, 2.0], [3.0, 1.0]])))
        var online = try OnlineHiddenMarkovModel(start: startP)
        try online.partialFit(x, sequences: ranges)
        #expect(Self.close(Self.parameters(online.model), Self.parameters(try startP.maximizing(startP.statistics(of: x, sequences: ranges)))))
        // Mini-batch passes blend the weighted sums and climb from the poor start toward the batch fit.
        var options = HMMFitOptions<PoissonEmission>()
        options.warmStart = startP
        let passes = try HiddenMarkovModel<PoissonEmission>.fitOnline(StreamedSequenceData(source: x, sequences: ranges, threads: 1),
                                                                      states: 2, options: options, batchSequences: 3, passes: 3).report.trace.history
        let batch = try HiddenMarkovModel<PoissonEmission>.fit(x, sequences: ranges, states: 2, options: options).report.logLikelihood
        #expect(passes.last! > passes[0] && (batch - passes.last!) / Double(x.rows) < 0.01, "passes \(passes), batch \(batch)")
        let categorical = try HiddenMarkovModel(startProbabilities: [0.5, 0.5], transitions: Matrix([[0.9, 0.1], [0.2, 0.8]]),
                                                emission: CategoricalEmission(probabilities: Matrix([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])))
        let (y, yRanges) = Self.draw(categorical, count: 15, length: 40, seed: 4)
        var onlineC = try OnlineHiddenMarkovModel(start: categorical)
        try onlineC.partialFit(y, sequences: yRanges)
        #expect(Self.close(Self.parameters(onlineC.model), Self.parameters(try categorical.maximizing(categorical.statistics(of: y, sequences: yRanges)))))
    }

    @Test func miniBatchPassesComeCloseToTheBatchOptimum() throws {
        let truth = try Self.gaussianTruth(.full)
        let (x, ranges) = Self.draw(truth, count: 400, length: 50, seed: 7)
        let n = Double(x.rows)
        let batch = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3,
                                                                options: HMMFitOptions(covarianceType: .full, seed: 1)).report
        // From a poor start: a short fit to the first 10 sequences.
        var startOptions = HMMFitOptions<GaussianEmission>(covarianceType: .full, seed: 5)
        startOptions.em = EMOptions(maxIterations: 3, tolerance: 0)
        startOptions.restarts = 1
        startOptions.splitMergeTrials = 0
        let start = try HiddenMarkovModel<GaussianEmission>.fit(x.selectingRows(Array(0..<500)), sequences: ranges.prefix(10).map { $0 },
                                                                states: 3, options: startOptions).model
        var options = HMMFitOptions<GaussianEmission>(covarianceType: .full, seed: 2)
        options.warmStart = start
        let data = StreamedSequenceData(source: x, sequences: ranges, threads: 2)
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fitOnline(data, states: 3, options: options, batchSequences: 10, passes: 2)
        let history = report.trace.history.map { $0 / n }
        print("online HMM: per-pass mean log-likelihood \(history), batch \(batch.meanLogLikelihood), gap \(batch.meanLogLikelihood - history.last!)")
        #expect(abs(model.logLikelihood(of: x, sequences: ranges) / n - history.last!) < 1e-9)
        #expect(history[1] > history[0] && batch.meanLogLikelihood - history.last! < 2e-3)
        #expect(throws: ModelError.self) { _ = try OnlineHiddenMarkovModel(start: start, stepDecay: 1.5) }
        // A warm start with another number of states is refused (online and streamed fits share the check).
        #expect(throws: ModelError.self) { _ = try HiddenMarkovModel<GaussianEmission>.fitOnline(data, states: 2, options: options) }
        #expect(throws: ModelError.self) { _ = try HiddenMarkovModel<GaussianEmission>.fitStreamed(data, states: 2, options: options) }
        // A missing value is refused up front, by name, while the streamed fit integrates it out.
        var holed = x
        holed[0, 1] = .nan
        let holedData = StreamedSequenceData(source: holed, sequences: ranges, threads: 2)
        do {
            _ = try HiddenMarkovModel<GaussianEmission>.fitOnline(holedData, states: 3, options: options)
            Issue.record("an online fit accepted a missing value")
        } catch ModelError.invalidSetting(let message) {
            #expect(message.contains("missing values"), "\(message)")
        }
        let streamed = try HiddenMarkovModel<GaussianEmission>.fitStreamed(holedData, states: 3, options: options).report
        #expect(streamed.meanLogLikelihood.isFinite)
    }
}
