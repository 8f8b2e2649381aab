import Foundation

/// Gaussian emissions `x_t | z_t = k ~ 𝒩(μₖ, Σₖ)` with full, tied, diagonal or spherical covariances.
///
/// The densities come from the Gaussian-mixture kernel (one GEMM per block of rows for full
/// covariances), so the emission costs the same as a mixture's E-step.
public struct GaussianEmission: HMMEmission {
    /// The state densities, held as a mixture with uniform weights (the weights play no part).
    public let states: GaussianMixture

    public static let kind = "gaussian"
    public var stateCount: Int { states.componentCount }
    public var dimension: Int { states.dimension }
    /// Means and covariances (the mixture's count without its `K − 1` weights).
    public var parameterCount: Int { states.parameterCount - (stateCount - 1) }

    /// Emissions with the given means (`K × D`) and covariances.
    public init(means: Matrix<Double>, covariances: MixtureCovariances) throws {
        let k = means.rows
        states = try GaussianMixture(weights: [Double](repeating: 1 / Double(k), count: k), means: means, covariances: covariances)
    }

    init(uniform mixture: GaussianMixture) throws {
        try self.init(means: mixture.means, covariances: mixture.covariances)
    }

    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        var out = states.componentLogDensities(of: x, threads: threads)
        let logK = log(Double(stateCount))
        out.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += logK } }
        return out
    }

    public static func fitContext(for x: Matrix<Double>, options: HMMFitOptions<GaussianEmission>) -> GaussianEmissionContext {
        context(for: x, covarianceType: options.covarianceType, regularization: options.regularization,
                relativeRegularization: options.relativeRegularization, threads: options.threads)
    }

    /// The context of Gaussian emissions (and of each state's mixture in ``GaussianMixtureEmission``).
    static func context(for x: Matrix<Double>, covarianceType: CovarianceType, regularization: Double, relativeRegularization: Double,
                        threads: Int) -> GaussianEmissionContext {
        let data = MixtureTrainingData(x, covarianceType: covarianceType, regularization: regularization,
                                       relativeRegularization: relativeRegularization, threads: max(1, threads))
        var centred = x
        centred.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows { for j in 0..<x.columns { p[i * x.columns + j] -= data.shift[j] } }
        }
        return GaussianEmissionContext(mixtureData: data, covarianceType: covarianceType, centredGram: centred.gram)
    }

    public func context(for x: Matrix<Double>, regularization: Double, relativeRegularization: Double, threads: Int) -> GaussianEmissionContext {
        Self.context(for: x, covarianceType: states.covarianceType, regularization: regularization,
                     relativeRegularization: relativeRegularization, threads: threads)
    }

    public typealias Statistics = MixtureStatistics

    /// The states' mixture statistics with the posteriors as responsibilities.
    public func statistics(posteriors: Matrix<Double>, context: GaussianEmissionContext) throws -> MixtureStatistics {
        states.statistics(of: context.mixtureData, responsibilities: posteriors, dataGram: context.centredGram)
    }

    public func maximizing(_ statistics: MixtureStatistics, regularization: Double, relativeRegularization: Double) throws -> GaussianEmission {
        try GaussianEmission(uniform: states.maximizing(statistics, regularization: regularization, relativeRegularization: relativeRegularization))
    }

    public var parameterValues: [Double] { states.parameterValues }

    /// The states' means and covariances in units of each column's standard deviation (their
    /// weights too, which stay uniform).
    public func extrapolationCoordinates(context: GaussianEmissionContext) -> [Double]? {
        states.extrapolationCoordinates(scales: context.mixtureData.columnScales)
    }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], context: GaussianEmissionContext) -> GaussianEmission? {
        states.replacingExtrapolationCoordinates(coordinates, scales: context.mixtureData.columnScales)
            .flatMap { try? GaussianEmission(uniform: $0) }
    }

    /// One of three starts, with equal odds so that restarts differ: k-means clusters (k-means++
    /// seeds, Lloyd iterations), the clusters of the nearest of `K` random rows (each state takes its
    /// cluster's mean and covariance), or k-means means with the whole data's covariance for every
    /// state (hmmlearn's start).
    public static func initial(states k: Int, context: GaussianEmissionContext, rng: inout Xoshiro256StarStar) throws -> GaussianEmission {
        let data = context.mixtureData
        let choice = rng.nextInt(below: 3)
        let mixture = try GaussianMixture.initialize(data: data, space: InitializationSpaces.standardize(data), components: k, type: context.covarianceType,
                                                     method: choice == 1 ? .randomFromData : .kmeans, rng: &rng)
        switch choice {
        case 2:
            let whole = try GaussianMixture.fromResponsibilities(Matrix(rows: data.data.rows, columns: 1, repeating: 1),
                                                                 type: context.covarianceType, data: data)
            return try GaussianEmission(means: mixture.means, covariances: whole.covariances.repeated(k))
        default:
            return try GaussianEmission(uniform: mixture)
        }
    }

    /// Empty states, and states whose covariance collapsed onto repeated values.
    public func degeneracies(occupancies: [Double], context: GaussianEmissionContext) -> [Degeneracy] {
        let data = context.mixtureData
        return Degeneracy.gaussian(covariances: states.covariances, occupancies: occupancies, floors: data.floors,
                                   columnVariances: data.columnVariances, resolutions: data.resolutions)
    }

    public static var degenerateAdvice: String {
        "Use fewer states, or a larger relative variance floor (relativeRegularization, e.g. 1e-3)."
    }

    public static var startsUniformChainsHalfTheTime: Bool { true }

    /// Finite values, NaN marking a missing one (integrated out: a row with every value missing is
    /// a step with no observation), and spread in every column.
    public static func validate(_ x: Matrix<Double>) throws {
        try requireFinite(x)
        try DataChecks.requireSpread(x)
    }

    /// Scoring (and the statistics of a part of the data) needs finite values or NaN only: a part
    /// may well have a constant column, which only a fit must refuse.
    public func validateScored(_ x: Matrix<Double>) throws { try Self.requireFinite(x) }

    static func requireFinite(_ x: Matrix<Double>) throws {
        if let i = x.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1): a Gaussian HMM needs finite values (NaN marks a missing one), found \(x.elements[i])")
        }
    }

    public func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        states.draw(component: k, using: &rng)
    }
}

extension HiddenMarkovModel where Emission == GaussianEmission {
    /// A starting model with the given state means (`K × D`), every state given the whole data's
    /// covariance (plus `regularization` on the diagonal), uniform start probabilities and a
    /// transition matrix that stays with probability 0.7 and moves evenly otherwise. Baum-Welch
    /// continues from it (``HMMFitOptions/warmStart``).
    /// - Throws: ``ModelError`` when a covariance is not positive definite.
    /// - Complexity: `O(N·D²)`.
    public static func start(means: Matrix<Double>, data x: Matrix<Double>, covarianceType: CovarianceType,
                             regularization: Double = 0) throws -> HiddenMarkovModel {
        precondition(means.columns == x.columns && means.rows >= 1, "One mean per state, one column per data column")
        let states = means.rows, d = x.columns, n = Double(x.rows)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<x.rows { for j in 0..<d { mean[j] += x[i, j] } }
        mean = mean.map { $0 / n }
        var centered = x
        for i in 0..<x.rows { for j in 0..<d { centered[i, j] -= mean[j] } }
        var cov = (1 / n) * centered.gram
        for j in 0..<d { cov[j, j] += regularization }
        let covariances: MixtureCovariances
        switch covarianceType {
        case .full: covariances = .full([Matrix<Double>](repeating: cov, count: states))
        case .tied: covariances = .tied(cov)
        case .diag: covariances = .diag(Matrix((0..<states).map { _ in cov.diagonal }))
        case .spherical: covariances = .spherical([Double](repeating: cov.diagonal.reduce(0, +) / Double(d), count: states))
        }
        let off = states > 1 ? 0.3 / Double(states - 1) : 0
        var a = Matrix<Double>(rows: states, columns: states, repeating: off)
        for i in 0..<states { a[i, i] = states > 1 ? 0.7 : 1 }
        return try HiddenMarkovModel(startProbabilities: [Double](repeating: 1 / Double(states), count: states), transitions: a,
                                     emission: GaussianEmission(means: means, covariances: covariances))
    }
}

/// What fitting Gaussian emissions needs, built once per fit: the data with its per-column
/// statistics, variance floors and covariance structure, shared with the mixture kernel.
public struct GaussianEmissionContext: Sendable {
    let mixtureData: MixtureTrainingData
    /// The covariance structure every state's covariance takes.
    public let covarianceType: CovarianceType
    /// `Σ_t (x_t − x̄)(x_t − x̄)ᵀ`, for the data moments the statistics carry.
    let centredGram: Matrix<Double>
}

/// Gaussian emissions' statistics are their states' mixture statistics.
extension MixtureStatistics: HMMEmissionStatistics {}
