/// A hidden Markov model with any of Latent's emission types, for files and the command line.
public enum AnyHiddenMarkovModel: Equatable, Sendable {
    case gaussian(HiddenMarkovModel<GaussianEmission>)
    case categorical(HiddenMarkovModel<CategoricalEmission>)
    case poisson(HiddenMarkovModel<PoissonEmission>)

    /// The emission's name: `gaussian`, `categorical` or `poisson`.
    public var emissionKind: String {
        switch self {
        case .gaussian: return GaussianEmission.kind
        case .categorical: return CategoricalEmission.kind
        case .poisson: return PoissonEmission.kind
        }
    }

    public var stateCount: Int {
        switch self {
        case .gaussian(let m): return m.stateCount
        case .categorical(let m): return m.stateCount
        case .poisson(let m): return m.stateCount
        }
    }

    public var dimension: Int {
        switch self {
        case .gaussian(let m): return m.emission.dimension
        case .categorical(let m): return m.emission.dimension
        case .poisson(let m): return m.emission.dimension
        }
    }

    public var parameterCount: Int {
        switch self {
        case .gaussian(let m): return m.parameterCount
        case .categorical(let m): return m.parameterCount
        case .poisson(let m): return m.parameterCount
        }
    }

    public var startProbabilities: [Double] {
        switch self {
        case .gaussian(let m): return m.startProbabilities
        case .categorical(let m): return m.startProbabilities
        case .poisson(let m): return m.startProbabilities
        }
    }

    public var transitions: Matrix<Double> {
        switch self {
        case .gaussian(let m): return m.transitions
        case .categorical(let m): return m.transitions
        case .poisson(let m): return m.transitions
        }
    }

    /// Log-likelihood of each sequence.
    public func sequenceLogLikelihoods(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> [Double] {
        sequences.map { r in
            let part = x.selectingRows(Array(r))
            switch self {
            case .gaussian(let m): return m.logLikelihood(of: part, threads: threads)
            case .categorical(let m): return m.logLikelihood(of: part, threads: threads)
            case .poisson(let m): return m.logLikelihood(of: part, threads: threads)
            }
        }
    }

    public func posteriors(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> Matrix<Double> {
        switch self {
        case .gaussian(let m): return m.posteriors(of: x, sequences: sequences, threads: threads)
        case .categorical(let m): return m.posteriors(of: x, sequences: sequences, threads: threads)
        case .poisson(let m): return m.posteriors(of: x, sequences: sequences, threads: threads)
        }
    }

    public func viterbi(_ x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> (states: [Int], logProbability: Double) {
        switch self {
        case .gaussian(let m): return m.viterbi(x, sequences: sequences, threads: threads)
        case .categorical(let m): return m.viterbi(x, sequences: sequences, threads: threads)
        case .poisson(let m): return m.viterbi(x, sequences: sequences, threads: threads)
        }
    }

    public func sample(length: Int, after previous: Int? = nil, using rng: inout Xoshiro256StarStar) -> (observations: Matrix<Double>, states: [Int]) {
        switch self {
        case .gaussian(let m): return m.sample(length: length, after: previous, using: &rng)
        case .categorical(let m): return m.sample(length: length, after: previous, using: &rng)
        case .poisson(let m): return m.sample(length: length, after: previous, using: &rng)
        }
    }

    /// Checks that `x` suits the emission (integers for categorical and Poisson).
    public func validate(_ x: Matrix<Double>) throws {
        switch self {
        case .gaussian: try GaussianEmission.validate(x)
        case .categorical(let m):
            try CategoricalEmission.validate(x)
            if let bad = x.elements.first(where: { Int($0) >= m.emission.symbolCount }) {
                throw ModelError.invalidSetting("symbol \(Int(bad)) was not seen in training (the model knows 0…\(m.emission.symbolCount - 1))")
            }
        case .poisson: try PoissonEmission.validate(x)
        }
    }
}

extension Array where Element == SequenceRange {
    /// Sequences where the values of `ids` change from one row to the next.
    public static func split(by ids: [Double]) -> [SequenceRange] {
        guard !ids.isEmpty else { return [] }
        var out: [SequenceRange] = []
        var start = 0
        for i in 1..<ids.count where ids[i] != ids[i - 1] {
            out.append(start..<i)
            start = i
        }
        out.append(start..<ids.count)
        return out
    }
}
