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

    /// What this emission's initialisation and M-step need from the training data and the fit's
    /// settings, built once per fit by ``fitContext(for:options:)``: the observations for count
    /// emissions (``HMMObservations``), precomputed mixture statistics, the covariance type and
    /// variance floors for Gaussian ones (``GaussianEmissionContext``).
    associatedtype FitContext: Sendable

    /// Settings that only this emission has (``HMMFitOptions/emissionSettings``): the number of
    /// mixture components per state of ``GaussianMixtureEmission``, say. ``NoEmissionSettings`` for
    /// emissions without any.
    associatedtype Settings: HMMEmissionSettings = NoEmissionSettings

    /// The context of a fit to `x` (all sequences, concatenated) with `options`.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the options do not suit this emission.
    static func fitContext(for x: Matrix<Double>, options: HMMFitOptions<Self>) throws -> FitContext

    /// What the emission's M-step needs from the state posteriors, summed over rows: empty-able,
    /// mergeable across sequences, files and machines, and `Codable` (see ``HMMStatistics``).
    associatedtype Statistics: HMMEmissionStatistics

    /// The context of more rows `x` for this emission as it is (its own covariance structure and
    /// number of components; the variance floor's settings given): what ``statistics(posteriors:context:)``
    /// of those rows needs.
    func context(for x: Matrix<Double>, regularization: Double, relativeRegularization: Double, threads: Int) throws -> FitContext

    /// The statistics of the context's rows weighted by the state posteriors `γ` (`T × K`, rows
    /// aligned with the context's data), taken about what this emission fixes, so that statistics
    /// of any split of the rows merge into those of the whole.
    func statistics(posteriors: Matrix<Double>, context: FitContext) throws -> Statistics

    /// The weighted maximum-likelihood emission from statistics of this emission's E-step. Gaussian
    /// emissions add `regularization + relativeRegularization ×` each column's variance (over the
    /// statistics' rows) to their variances; others ignore the two.
    func maximizing(_ statistics: Statistics, regularization: Double, relativeRegularization: Double) throws -> Self

    /// The emission's parameters in a fixed order, for fingerprints (``HMMStatistics`` of one model
    /// merge only with that model's).
    var parameterValues: [Double] { get }

    /// The parameters as one vector for SQUAREM (``EMAcceleration/squarem``), those in data units
    /// divided by the data's scale; nil (the default) fits the model by plain Baum-Welch.
    func extrapolationCoordinates(context: FitContext) -> [Double]?

    /// The emission whose coordinates (the layout of ``extrapolationCoordinates(context:)``) are
    /// `coordinates`, or nil when they are not valid parameters (a negative rate or probability, a
    /// covariance that is not positive definite).
    func replacingExtrapolationCoordinates(_ coordinates: [Double], context: FitContext) -> Self?

    /// A starting emission for `states` states, seeded.
    static func initial(states: Int, context: FitContext, rng: inout Xoshiro256StarStar) throws -> Self

    /// Checks that `x` is data this emission can model (integers, ranges), naming the first bad cell.
    static func validate(_ x: Matrix<Double>) throws

    /// Checks that this fitted emission can score `x`: ``validate(_:)`` by default; emissions with a
    /// finite alphabet also refuse symbols they never saw.
    func validateScored(_ x: Matrix<Double>) throws

    /// One draw from state `k`.
    func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double]

    /// Degenerate states given each state's expected number of observations: by default those
    /// with less than one; emissions whose likelihood can grow without bound add their own cases.
    func degeneracies(occupancies: [Double], context: FitContext) -> [Degeneracy]

    /// What to tell a user whose every start was degenerate (default: use fewer states).
    static var degenerateAdvice: String { get }

    /// Whether half of the random starts take uniform start and transition probabilities (as
    /// hmmlearn's starts do) rather than a random chain (see ``HiddenMarkovModel/fit(_:sequences:states:options:)``; default: no).
    static var startsUniformChainsHalfTheTime: Bool { get }
}

/// An emission's sufficient statistics: they add up.
public protocol HMMEmissionStatistics: MergeableStatistics {}

extension HMMEmission {
    /// The weighted maximum-likelihood emission given the state posteriors `γ` (`T × K`, rows
    /// aligned with the context's data): one M-step.
    func updated(posteriors: Matrix<Double>, context: FitContext, regularization: Double, relativeRegularization: Double) throws -> Self {
        try maximizing(statistics(posteriors: posteriors, context: context), regularization: regularization,
                       relativeRegularization: relativeRegularization)
    }

    public func degeneracies(occupancies: [Double], context: FitContext) -> [Degeneracy] {
        occupancies.enumerated().compactMap { k, o in o < 1 ? Degeneracy(component: k, kind: .empty(occupancy: o)) : nil }
    }

    public func extrapolationCoordinates(context: FitContext) -> [Double]? { nil }
    public func replacingExtrapolationCoordinates(_ coordinates: [Double], context: FitContext) -> Self? { nil }
    public static var degenerateAdvice: String { "Use fewer states." }

    public func validateScored(_ x: Matrix<Double>) throws { try Self.validate(x) }

    public static var startsUniformChainsHalfTheTime: Bool { false }
}

/// Emission-specific settings of a fit; `init()` gives the defaults.
public protocol HMMEmissionSettings: Sendable, Equatable {
    init()
}

/// The settings of an emission that has none of its own.
public struct NoEmissionSettings: HMMEmissionSettings {
    public init() {}
}

/// The fit context of emissions that need only the observations (categorical, Poisson).
public struct HMMObservations: Sendable {
    /// All sequences, concatenated (rows in time order).
    public let data: Matrix<Double>

    public init(data: Matrix<Double>) { self.data = data }
}

extension HMMEmission where FitContext == HMMObservations {
    public static func fitContext(for x: Matrix<Double>, options: HMMFitOptions<Self>) -> HMMObservations {
        HMMObservations(data: x)
    }

    public func context(for x: Matrix<Double>, regularization: Double, relativeRegularization: Double, threads: Int) throws -> HMMObservations {
        HMMObservations(data: x)
    }
}

/// Weighted sums of a count emission: `Σ_t γ_tk` and `Σ_t γ_tk f(x_t)` (`K × width`) for the
/// emission's feature `f` (the counts themselves for Poisson, a symbol's indicator for categorical).
public struct WeightedSums: HMMEmissionStatistics {
    /// `Σ_t γ_tk`, `K`.
    public private(set) var weights: [Double]
    /// `Σ_t γ_tk f(x_t)`, `K × width` row-major.
    public private(set) var sums: [Double]
    public let width: Int

    init(states: Int, width: Int) {
        weights = [Double](repeating: 0, count: states)
        sums = [Double](repeating: 0, count: states * width)
        self.width = width
    }

    mutating func add(state k: Int, weight g: Double, column j: Int, value: Double) {
        sums[k * width + j] += g * value
    }

    mutating func addWeight(state k: Int, _ g: Double) { weights[k] += g }

    /// Every weight and sum times `factor` (online EM's per-row averages).
    func scaled(by factor: Double) -> WeightedSums {
        var out = self
        for i in out.weights.indices { out.weights[i] *= factor }
        for i in out.sums.indices { out.sums[i] *= factor }
        return out
    }

    /// `(1 − η)·self + η·other`, for sums of the same shape (online EM's running averages).
    func blended(toward other: WeightedSums, weight eta: Double) -> WeightedSums {
        precondition(other.width == width && other.weights.count == weights.count, "Weighted sums of another shape")
        var out = self
        for i in out.weights.indices { out.weights[i] = (1 - eta) * weights[i] + eta * other.weights[i] }
        for i in out.sums.indices { out.sums[i] = (1 - eta) * sums[i] + eta * other.sums[i] }
        return out
    }

    public mutating func merge(_ other: WeightedSums) throws {
        guard other.width == width, other.weights.count == weights.count, other.sums.count == sums.count else {
            throw ModelError.invalidSetting("emission statistics of \(other.weights.count) states × \(other.width) cannot merge with \(weights.count) × \(width)")
        }
        for i in weights.indices { weights[i] += other.weights[i] }
        for i in sums.indices { sums[i] += other.sums[i] }
    }
}
