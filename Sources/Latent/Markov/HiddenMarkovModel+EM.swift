import Foundation

/// Which parameters Baum-Welch leaves as they are.
public struct HMMFixedParameters: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Keep the start probabilities.
    public static let start = HMMFixedParameters(rawValue: 1)
    /// Keep the transition matrix.
    public static let transitions = HMMFixedParameters(rawValue: 2)
    /// Keep the emission parameters.
    public static let emissions = HMMFixedParameters(rawValue: 4)
}

/// Sequences prepared for Baum-Welch, with what the emission's M-step needs.
public struct HMMTrainingData<Emission: HMMEmission>: Sendable {
    /// All sequences, concatenated (rows in time order).
    public let data: Matrix<Double>
    /// Where each sequence lies in ``data``.
    public let sequences: [SequenceRange]
    let context: Emission.FitContext
    let fixed: HMMFixedParameters
    let threads: Int
    /// Whether the sequences, in order, cover every row exactly once.
    let coversAllRows: Bool

    init(data: Matrix<Double>, sequences: [SequenceRange], context: Emission.FitContext, fixed: HMMFixedParameters, threads: Int) {
        self.data = data
        self.sequences = sequences
        self.context = context
        self.fixed = fixed
        self.threads = threads
        var next = 0
        coversAllRows = sequences.allSatisfy { range in
            defer { next = range.upperBound }
            return range.lowerBound == next
        } && next == data.rows
    }
}

extension HiddenMarkovModel: ExpectationMaximizable {
    /// One Baum-Welch iteration: forward-backward over every sequence (in parallel), then the
    /// weighted maximum-likelihood start, transitions and emissions.
    public mutating func expectationMaximizationStep(on data: HMMTrainingData<Emission>) throws -> Double {
        let k = stateCount
        let logB = emission.logLikelihoods(of: data.data, threads: data.threads)
        // Forward-backward writes every row of every sequence; rows outside all sequences get zeros.
        var results: [ForwardBackwardResult] = []
        let gamma = Matrix<Double>(rows: data.data.rows, columns: k) { gp in
            if !data.coversAllRows { gp.initialize(repeating: 0) }
            results = logB.withUnsafeBufferPointer { lb in
                forEachSequence(data.sequences, threads: data.threads) { s, cores in
                    forwardBackward(logB: lb.start, range: data.sequences[s], gamma: gp.start, wantTransitions: true, threads: cores)
                }
            }
        }
        let logLikelihood = results.reduce(0) { $0 + $1.logLikelihood }
        guard logLikelihood.isFinite else {
            throw ModelError.fitFailed("a sequence has zero probability under the current parameters (a forbidden transition or an impossible observation)")
        }
        var start = startProbabilities
        if !data.fixed.contains(.start) {
            start = [Double](repeating: 0, count: k)
            for range in data.sequences { for s in 0..<k { start[s] += gamma[range.lowerBound, s] } }
            let total = start.reduce(0, +)
            start = start.map { $0 / total }
        }
        var a = transitions
        if !data.fixed.contains(.transitions) {
            var counts = [Double](repeating: 0, count: k * k)
            for r in results { for i in 0..<(k * k) { counts[i] += r.transitionCounts[i] } }
            for i in 0..<k {
                let total = (0..<k).reduce(0) { $0 + counts[i * k + $1] }
                // A state never left (or never visited) keeps its row.
                if total > 0 { for j in 0..<k { a[i, j] = counts[i * k + j] / total } }
            }
        }
        let e = data.fixed.contains(.emissions) ? emission : try emission.updated(posteriors: gamma, context: data.context)
        self = try HiddenMarkovModel(startProbabilities: start, transitions: a, emission: e)
        return logLikelihood
    }

    public func totalLogLikelihood(of data: HMMTrainingData<Emission>) throws -> Double {
        logLikelihood(of: data.data, sequences: data.sequences, threads: data.threads)
    }
}
