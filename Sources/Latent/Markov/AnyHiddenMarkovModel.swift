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

/// The E-step statistics of an ``AnyHiddenMarkovModel``, whatever its emission: stored as
/// `{"emission": kind, "statistics": …}`.
public enum AnyHMMStatistics: Codable, Equatable, Sendable {
    case gaussian(HMMStatistics<GaussianEmission>)
    case categorical(HMMStatistics<CategoricalEmission>)
    case poisson(HMMStatistics<PoissonEmission>)
    case gaussianMixture(HMMStatistics<GaussianMixtureEmission>)

    /// Rows and sequences accumulated, and their log-likelihood under the model that made the statistics.
    public var rows: Int { summary.rows }
    public var sequences: Int { summary.sequences }
    public var logLikelihood: Double { summary.logLikelihood }
    /// The emission's kind.
    public var emissionKind: String { summary.kind }

    private var summary: (rows: Int, sequences: Int, logLikelihood: Double, kind: String) {
        switch self {
        case .gaussian(let s): return (s.rows, s.sequences, s.logLikelihood, s.emissionKind)
        case .categorical(let s): return (s.rows, s.sequences, s.logLikelihood, s.emissionKind)
        case .poisson(let s): return (s.rows, s.sequences, s.logLikelihood, s.emissionKind)
        case .gaussianMixture(let s): return (s.rows, s.sequences, s.logLikelihood, s.emissionKind)
        }
    }

    /// Adds `other`'s sequences. - Throws: ``ModelError/invalidSetting(_:)`` for statistics of
    /// another emission, model or version.
    public mutating func merge(_ other: AnyHMMStatistics) throws {
        switch (self, other) {
        case (.gaussian(var a), .gaussian(let b)): try a.merge(b); self = .gaussian(a)
        case (.categorical(var a), .categorical(let b)): try a.merge(b); self = .categorical(a)
        case (.poisson(var a), .poisson(let b)): try a.merge(b); self = .poisson(a)
        case (.gaussianMixture(var a), .gaussianMixture(let b)): try a.merge(b); self = .gaussianMixture(a)
        default:
            throw ModelError.invalidSetting("statistics of \(other.emissionKind) emissions cannot merge with statistics of \(emissionKind) emissions")
        }
    }

    private enum Keys: String, CodingKey { case emission, statistics }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .emission) {
        case GaussianEmission.kind: self = .gaussian(try c.decode(HMMStatistics<GaussianEmission>.self, forKey: .statistics))
        case CategoricalEmission.kind: self = .categorical(try c.decode(HMMStatistics<CategoricalEmission>.self, forKey: .statistics))
        case PoissonEmission.kind: self = .poisson(try c.decode(HMMStatistics<PoissonEmission>.self, forKey: .statistics))
        case GaussianMixtureEmission.kind: self = .gaussianMixture(try c.decode(HMMStatistics<GaussianMixtureEmission>.self, forKey: .statistics))
        case let other: throw DecodingError.dataCorruptedError(forKey: .emission, in: c, debugDescription: "unknown emission '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(emissionKind, forKey: .emission)
        switch self {
        case .gaussian(let s): try c.encode(s, forKey: .statistics)
        case .categorical(let s): try c.encode(s, forKey: .statistics)
        case .poisson(let s): try c.encode(s, forKey: .statistics)
        case .gaussianMixture(let s): try c.encode(s, forKey: .statistics)
        }
    }
}

extension AnyHiddenMarkovModel {
    /// The E-step statistics of the sequences of `x` under this model (see
    /// ``HiddenMarkovModel/statistics(of:sequences:regularization:relativeRegularization:threads:)``).
    public func statistics(of x: Matrix<Double>, sequences: [SequenceRange], threads: Int) throws -> AnyHMMStatistics {
        switch self {
        case .gaussian(let m): return .gaussian(try m.statistics(of: x, sequences: sequences, threads: threads))
        case .categorical(let m): return .categorical(try m.statistics(of: x, sequences: sequences, threads: threads))
        case .poisson(let m): return .poisson(try m.statistics(of: x, sequences: sequences, threads: threads))
        case .gaussianMixture(let m): return .gaussianMixture(try m.statistics(of: x, sequences: sequences, threads: threads))
        }
    }

    /// One Baum-Welch M-step from statistics this model made (see
    /// ``HiddenMarkovModel/maximizing(_:fixed:regularization:relativeRegularization:)``).
    /// - Throws: ``ModelError/invalidSetting(_:)`` for statistics of another emission or model.
    public func maximizing(_ s: AnyHMMStatistics, regularization: Double = 0, relativeRegularization: Double = 1e-6) throws -> AnyHiddenMarkovModel {
        switch (self, s) {
        case (.gaussian(let m), .gaussian(let t)):
            return .gaussian(try m.maximizing(t, regularization: regularization, relativeRegularization: relativeRegularization))
        case (.categorical(let m), .categorical(let t)): return .categorical(try m.maximizing(t))
        case (.poisson(let m), .poisson(let t)): return .poisson(try m.maximizing(t))
        case (.gaussianMixture(let m), .gaussianMixture(let t)):
            return .gaussianMixture(try m.maximizing(t, regularization: regularization, relativeRegularization: relativeRegularization))
        default:
            throw ModelError.invalidSetting("these statistics are of \(s.emissionKind) emissions; the model has \(emissionKind) emissions")
        }
    }
}
