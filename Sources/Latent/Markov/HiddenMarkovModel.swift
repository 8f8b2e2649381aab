import Foundation

/// A hidden Markov model: a Markov chain of hidden states `z_1 → z_2 → …` with start probabilities
/// `π`, transition matrix `A` (`A_ij = p(z_{t+1} = j | z_t = i)`), and an emission model
/// `p(x_t | z_t)`.
///
/// Inference (forward-backward with per-step scaling, Viterbi in log space) and learning
/// (Baum-Welch through the shared EM driver, over many sequences) are written once for every
/// ``HMMEmission``.
public struct HiddenMarkovModel<Emission: HMMEmission>: Equatable, Sendable {
    /// Start probabilities `π` (length `K`).
    public let startProbabilities: [Double]
    /// Transition matrix `A` (`K × K`), rows summing to 1. Zeros stay zero under Baum-Welch.
    public let transitions: Matrix<Double>
    /// The emission model.
    public let emission: Emission

    /// Number of hidden states `K`.
    public var stateCount: Int { startProbabilities.count }

    /// A model with the given parameters.
    /// - Throws: ``ModelError/invalidSetting(_:)`` if `π` or a row of `A` is not a distribution.
    /// - Precondition: the sizes agree with the emission's state count.
    public init(startProbabilities: [Double], transitions: Matrix<Double>, emission: Emission) throws {
        let k = startProbabilities.count
        precondition(transitions.rows == k && transitions.columns == k && emission.stateCount == k,
                     "π, A and the emission must have the same number of states")
        func isDistribution(_ p: [Double]) -> Bool { p.allSatisfy { $0 >= 0 && $0.isFinite } && abs(p.reduce(0, +) - 1) < 1e-6 }
        guard isDistribution(startProbabilities) else {
            throw ModelError.invalidSetting("start probabilities must be non-negative and sum to 1")
        }
        for i in 0..<k where !isDistribution(transitions.row(i)) {
            throw ModelError.invalidSetting("row \(i) of the transition matrix must be non-negative and sum to 1")
        }
        self.startProbabilities = startProbabilities
        self.transitions = transitions
        self.emission = emission
    }

    /// Free parameters: `K − 1` start probabilities, `K(K − 1)` transitions, and the emission's.
    public var parameterCount: Int {
        let k = stateCount
        return (k - 1) + k * (k - 1) + emission.parameterCount
    }
}

/// One observed sequence inside a matrix of concatenated sequences.
public typealias SequenceRange = Range<Int>

extension Array where Element == SequenceRange {
    /// `[0..<rows]`: the whole matrix is one sequence.
    public static func single(_ rows: Int) -> [SequenceRange] { [0..<rows] }
}
