/// The observation model of a hidden Markov model: `p(x_t | z_t = k)` for each state `k`.
///
/// Emissions are separate from the chain (as in hmmlearn): ``HiddenMarkovModel`` runs the same
/// forward-backward and Baum-Welch code over any conforming type.
public protocol HMMEmission: Equatable, Sendable {
    /// Number of hidden states `K`.
    var stateCount: Int { get }
    /// Number of data columns.
    var dimension: Int { get }
    /// Free parameters.
    var parameterCount: Int { get }
    /// Short name (`gaussian`, `categorical`, `poisson`).
    static var kind: String { get }

    /// `log p(x_t | z_t = k)` for every row and state (`T × K`).
    func logLikelihoods(of x: Matrix<Double>, threads: Int) -> Matrix<Double>

    /// The weighted maximum-likelihood emission given the state posteriors `γ` (`T × K`, rows
    /// aligned with `x`).
    func updated(posteriors: Matrix<Double>, context: EmissionFitContext) throws -> Self

    /// A starting emission for `states` states, seeded.
    static func initial(states: Int, context: EmissionFitContext, rng: inout Xoshiro256StarStar) throws -> Self

    /// Checks that `x` is data this emission can model (integers, ranges), naming the first bad cell.
    static func validate(_ x: Matrix<Double>) throws

    /// One draw from state `k`.
    func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double]

    /// Degenerate states given each state's expected number of observations: by default those
    /// with less than one; emissions whose likelihood can grow without bound add their own cases.
    func degeneracies(occupancies: [Double], context: EmissionFitContext) -> [Degeneracy]
}

extension HMMEmission {
    public func degeneracies(occupancies: [Double], context: EmissionFitContext) -> [Degeneracy] {
        occupancies.enumerated().compactMap { k, o in o < 1 ? Degeneracy(component: k, kind: .empty(occupancy: o)) : nil }
    }
}

/// What an emission's M-step and initialisation need from the training data, built once per fit.
public struct EmissionFitContext: Sendable {
    /// All sequences, concatenated.
    public let data: Matrix<Double>
    /// Regularisation added to Gaussian covariance diagonals.
    public let regularization: Double
    /// Gaussian covariance structure.
    public let covarianceType: CovarianceType
    /// Cores to use.
    public let threads: Int
    /// Mixture statistics reused by Gaussian emissions.
    let mixtureData: MixtureTrainingData?

    init(data: Matrix<Double>, regularization: Double, relativeRegularization: Double = 0, covarianceType: CovarianceType,
         threads: Int, gaussian: Bool) {
        self.data = data
        self.regularization = regularization
        self.covarianceType = covarianceType
        self.threads = threads
        mixtureData = gaussian ? MixtureTrainingData(data, covarianceType: covarianceType, regularization: regularization,
                                                     relativeRegularization: relativeRegularization, threads: threads) : nil
    }
}
