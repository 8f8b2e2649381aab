/// A hidden Markov model with any of Latent's emission types, for files and the command line.
public enum AnyHiddenMarkovModel: Equatable, Sendable {
    case gaussian(HiddenMarkovModel<GaussianEmission>)
    case categorical(HiddenMarkovModel<CategoricalEmission>)
    case poisson(HiddenMarkovModel<PoissonEmission>)
    /// A mixture of Gaussians per state (hmmlearn's GMMHMM).
    case gaussianMixture(HiddenMarkovModel<GaussianMixtureEmission>)

    /// The model behind the case; every member below forwards to it (the one switch on the emission).
    private var model: any EmissionErasedHMM {
        switch self {
        case .gaussian(let m): return m
        case .categorical(let m): return m
        case .poisson(let m): return m
        case .gaussianMixture(let m): return m
        }
    }

    /// The emission's name: `gaussian`, `categorical`, `poisson` or `gmm`.
    public var emissionKind: String { model.emissionKind }
    public var stateCount: Int { model.stateCount }
    public var dimension: Int { model.dimension }
    public var parameterCount: Int { model.parameterCount }
    public var startProbabilities: [Double] { model.startProbabilities }
    public var transitions: Matrix<Double> { model.transitions }

    /// Log-likelihood of each sequence.
    public func sequenceLogLikelihoods(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> [Double] {
        model.sequenceLogLikelihoods(of: x, sequences: sequences, threads: threads)
    }

    public func posteriors(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> Matrix<Double> {
        model.posteriors(of: x, sequences: sequences, threads: threads)
    }

    public func viterbi(_ x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> (states: [Int], logProbability: Double) {
        model.viterbi(x, sequences: sequences, threads: threads)
    }

    public func sample(length: Int, after previous: Int? = nil, using rng: inout Xoshiro256StarStar) -> (observations: Matrix<Double>, states: [Int]) {
        model.sample(length: length, after: previous, using: &rng)
    }

    /// Checks that `x` suits the emission (integers for categorical and Poisson; symbols the model knows).
    public func validate(_ x: Matrix<Double>) throws {
        try model.validateScored(x)
    }
}

/// What ``AnyHiddenMarkovModel`` needs of a model whatever its emission.
private protocol EmissionErasedHMM: Sendable {
    var emissionKind: String { get }
    var stateCount: Int { get }
    var dimension: Int { get }
    var parameterCount: Int { get }
    var startProbabilities: [Double] { get }
    var transitions: Matrix<Double> { get }
    func sequenceLogLikelihoods(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> [Double]
    func posteriors(of x: Matrix<Double>, sequences: [SequenceRange]?, threads: Int) -> Matrix<Double>
    func viterbi(_ x: Matrix<Double>, sequences: [SequenceRange]?, threads: Int) -> (states: [Int], logProbability: Double)
    func sample(length: Int, after previous: Int?, using rng: inout Xoshiro256StarStar) -> (observations: Matrix<Double>, states: [Int])
    func validateScored(_ x: Matrix<Double>) throws
}

extension HiddenMarkovModel: EmissionErasedHMM {
    fileprivate var emissionKind: String { Emission.kind }
    fileprivate var dimension: Int { emission.dimension }

    fileprivate func sequenceLogLikelihoods(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) -> [Double] {
        sequences.map { logLikelihood(of: x.selectingRows(Array($0)), threads: threads) }
    }

    fileprivate func validateScored(_ x: Matrix<Double>) throws {
        try emission.validateScored(x)
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
