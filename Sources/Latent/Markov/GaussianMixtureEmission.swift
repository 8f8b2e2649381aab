import Foundation

/// Gaussian-mixture emissions: each state `k` emits from its own mixture of `M` Gaussians,
/// `p(x_t | z_t = k) = Σₘ wₖₘ 𝒩(x_t | μₖₘ, Σₖₘ)` (hmmlearn's `GMMHMM`).
///
/// Baum-Welch needs no new machinery: the E-step's state posteriors `γₜₖ` split over each state's
/// components by their within-state responsibilities, `γₜₖₘ = γₜₖ · p(m | x_t, k)`, and the M-step is
/// the mixture M-step on those `K·M` columns. All `K·M` components live in one ``GaussianMixture``
/// (state `k`'s at `k·M ..< (k+1)·M`), so one pass of the mixture kernel scores every state.
///
/// Covariances are full, diagonal or spherical per component; `tied` is refused (hmmlearn ties
/// within a state, a mixture ties across all components: neither is what a reader would assume).
public struct GaussianMixtureEmission: HMMEmission {
    /// The settings of a fit with Gaussian-mixture emissions.
    public struct Settings: HMMEmissionSettings {
        /// Mixture components per state `M` (2 by default; 1 is ``GaussianEmission``).
        public var componentsPerState: Int

        public init() { componentsPerState = 2 }

        public init(componentsPerState: Int) { self.componentsPerState = componentsPerState }
    }

    /// Every state's components in one mixture: state `k`'s at `k·M ..< (k+1)·M`, each weighted by
    /// its weight within the state divided by `K`.
    public let components: GaussianMixture
    /// Mixture components per state `M`.
    public let componentsPerState: Int

    public static let kind = "gmm"
    public var stateCount: Int { components.componentCount / componentsPerState }
    public var dimension: Int { components.dimension }
    /// Means and covariances of the `K·M` components and the `K·(M − 1)` free weights within states.
    public var parameterCount: Int {
        components.parameterCount - (components.componentCount - 1) + stateCount * (componentsPerState - 1)
    }

    /// The weight of each component within its state (`K × M`, rows summing to 1).
    public var stateWeights: Matrix<Double> {
        let m = componentsPerState, k = Double(stateCount)
        return Matrix(rows: stateCount, columns: m, storage: components.weights.map { $0 * k })
    }

    /// Emissions with the given within-state weights (`K × M`, each row a distribution), means
    /// (`K·M × D`, state `k`'s rows at `k·M ..< (k+1)·M`) and covariances of the `K·M` components.
    /// - Throws: ``ModelError`` for weights that are not distributions, or a covariance that is
    ///   not positive definite or is tied.
    public init(weights: Matrix<Double>, means: Matrix<Double>, covariances: MixtureCovariances) throws {
        let k = weights.rows, m = weights.columns
        guard k >= 1, m >= 1, means.rows == k * m else {
            throw ModelError.invalidSetting("a Gaussian-mixture emission needs K × M weights and K·M means (got \(weights.rows) × \(weights.columns) weights, \(means.rows) means)")
        }
        guard covariances.type != .tied else { throw ModelError.invalidSetting(Self.tiedRefusal) }
        for s in 0..<k {
            let total = weights.row(s).reduce(0, +)
            guard weights.row(s).allSatisfy({ $0 >= 0 && $0.isFinite }), abs(total - 1) < 1e-6 else {
                throw ModelError.invalidSetting("the mixture weights of state \(s) must be non-negative and sum to 1 (they sum to \(total))")
            }
        }
        components = try GaussianMixture(weights: weights.elements.map { $0 / Double(k) }, means: means, covariances: covariances)
        componentsPerState = m
    }

    /// Emissions from a mixture of `K·M` components whose weights are renormalised within each state.
    init(componentsPerState m: Int, pooled: GaussianMixture) throws {
        let k = pooled.componentCount / m
        var w = Matrix<Double>(rows: k, columns: m)
        for s in 0..<k {
            let total = (0..<m).reduce(0) { $0 + pooled.weights[s * m + $1] }
            for j in 0..<m { w[s, j] = total > 0 ? pooled.weights[s * m + j] / total : 1 / Double(m) }
        }
        try self.init(weights: w, means: pooled.means, covariances: pooled.covariances)
    }

    static let tiedRefusal = "Gaussian-mixture emissions take full, diag or spherical covariances, not tied"

    /// `log wₖₘ + log 𝒩(x_t | μₖₘ, Σₖₘ)` for every row and component (`T × K·M`).
    private func componentTerms(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        var out = components.componentLogDensities(of: x, threads: threads)
        let logK = log(Double(stateCount))
        out.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += logK } }
        return out
    }

    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        let terms = componentTerms(of: x, threads: threads)
        let k = stateCount, m = componentsPerState
        return Matrix(rows: x.rows, columns: k) { out in
            terms.withUnsafeBufferPointer { t in
                for i in 0..<x.rows {
                    for s in 0..<k {
                        let base = t.start + i * k * m + s * m
                        var top = -Double.infinity
                        for j in 0..<m { top = max(top, base[j]) }
                        var sum = 0.0
                        if top > -.infinity { for j in 0..<m { sum += exp(base[j] - top) } }
                        out[i * k + s] = top > -.infinity ? top + log(sum) : -.infinity
                    }
                }
            }
        }
    }

    public static func fitContext(for x: Matrix<Double>, options: HMMFitOptions<GaussianMixtureEmission>) throws -> GaussianMixtureEmissionContext {
        let m = options.emissionSettings.componentsPerState
        guard m >= 1 else { throw ModelError.invalidSetting("a Gaussian-mixture emission needs at least 1 component per state") }
        guard options.covarianceType != .tied else { throw ModelError.invalidSetting(tiedRefusal) }
        let gaussian = GaussianEmission.context(for: x, covarianceType: options.covarianceType, regularization: options.regularization,
                                                relativeRegularization: options.relativeRegularization, threads: options.threads)
        return GaussianMixtureEmissionContext(gaussian: gaussian, componentsPerState: m)
    }

    public func context(for x: Matrix<Double>, regularization: Double, relativeRegularization: Double, threads: Int) -> GaussianMixtureEmissionContext {
        GaussianMixtureEmissionContext(gaussian: GaussianEmission.context(for: x, covarianceType: components.covarianceType, regularization: regularization,
                                                                          relativeRegularization: relativeRegularization, threads: threads),
                                       componentsPerState: componentsPerState)
    }

    public typealias Statistics = MixtureStatistics

    /// The statistics of the `K·M` components with the posteriors split over each state's
    /// components: `γₜₖₘ = γₜₖ · wₖₘ 𝒩(x_t | μₖₘ, Σₖₘ) / Σₘ' wₖₘ' 𝒩(x_t | μₖₘ', Σₖₘ')`.
    public func statistics(posteriors: Matrix<Double>, context: GaussianMixtureEmissionContext) throws -> MixtureStatistics {
        let data = context.gaussian.mixtureData
        let terms = componentTerms(of: data.data, threads: data.threads)
        let k = stateCount, m = componentsPerState, n = data.data.rows
        let r = Matrix<Double>(rows: n, columns: k * m) { out in
            terms.withUnsafeBufferPointer { t in
                posteriors.withUnsafeBufferPointer { g in
                    for i in 0..<n {
                        for s in 0..<k {
                            let base = t.start + i * k * m + s * m, o = out.start + i * k * m + s * m
                            var top = -Double.infinity
                            for j in 0..<m { top = max(top, base[j]) }
                            var sum = 0.0
                            for j in 0..<m {
                                let e = top > -.infinity ? exp(base[j] - top) : 1
                                o[j] = e
                                sum += e
                            }
                            let scale = g[i * k + s] / sum
                            for j in 0..<m { o[j] *= scale }
                        }
                    }
                }
            }
        }
        return components.statistics(of: data, responsibilities: r, dataGram: context.gaussian.centredGram)
    }

    /// The mixture M-step of the `K·M` components, weights renormalised within each state.
    public func maximizing(_ statistics: MixtureStatistics, regularization: Double, relativeRegularization: Double) throws -> GaussianMixtureEmission {
        try GaussianMixtureEmission(componentsPerState: componentsPerState,
                                    pooled: components.maximizing(statistics, regularization: regularization, relativeRegularization: relativeRegularization))
    }

    public var parameterValues: [Double] { components.parameterValues }

    /// The `K·M` components' weights, means and covariances, in units of each column's standard
    /// deviation.
    public func extrapolationCoordinates(context: GaussianMixtureEmissionContext) -> [Double]? {
        components.extrapolationCoordinates(scales: context.gaussian.mixtureData.columnScales)
    }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], context: GaussianMixtureEmissionContext) -> GaussianMixtureEmission? {
        components.replacingExtrapolationCoordinates(coordinates, scales: context.gaussian.mixtureData.columnScales)
            .flatMap { try? GaussianMixtureEmission(componentsPerState: componentsPerState, pooled: $0) }
    }

    /// A start: the states of a ``GaussianEmission`` start (one of its three kinds), each row given
    /// to its most likely state; within a state, `M` of its rows drawn at random seed the
    /// components and every row of the state joins the nearest seed (in standardised units); half
    /// the starts then give every component the whole data's covariance. A state with fewer than
    /// `M` rows leaves components empty, and the start is judged degenerate.
    public static func initial(states k: Int, context: GaussianMixtureEmissionContext, rng: inout Xoshiro256StarStar) throws -> GaussianMixtureEmission {
        let m = context.componentsPerState, data = context.gaussian.mixtureData
        let n = data.data.rows
        let stateStart = try GaussianEmission.initial(states: k, context: context.gaussian, rng: &rng)
        let densities = stateStart.logLikelihoods(of: data.data, threads: data.threads)
        var members = [[Int]](repeating: [], count: k)
        for i in 0..<n {
            var best = 0
            for s in 1..<k where densities[i, s] > densities[i, best] { best = s }
            members[best].append(i)
        }
        let z = InitializationSpaces.standardize(data)
        var r = Matrix<Double>(rows: n, columns: k * m)
        for s in 0..<k where !members[s].isEmpty {
            let rows = members[s]
            let seeds = rng.sampleWithoutReplacement(min(m, rows.count), from: rows.count).map { rows[$0] }
            for i in rows {
                var nearest = 0, nearestDistance = Double.infinity
                for (j, seed) in seeds.enumerated() {
                    var distance = 0.0
                    for c in 0..<z.columns { let delta = z[i, c] - z[seed, c]; distance += delta * delta }
                    if distance < nearestDistance { (nearest, nearestDistance) = (j, distance) }
                }
                r[i, s * m + nearest] = 1
            }
        }
        let pooled = try GaussianMixture.fromResponsibilities(r, type: context.gaussian.covarianceType, data: data)
        guard rng.nextUniform() < 0.5 else { return try GaussianMixtureEmission(componentsPerState: m, pooled: pooled) }
        // Half the starts give every component the whole data's covariance (as hmmlearn's GMMHMM
        // starts do): broad components that EM narrows, rather than the clusters' own.
        let whole = try GaussianMixture.fromResponsibilities(Matrix(rows: n, columns: 1, repeating: 1),
                                                             type: context.gaussian.covarianceType, data: data)
        return try GaussianMixtureEmission(componentsPerState: m,
                                           pooled: GaussianMixture(weights: pooled.weights, means: pooled.means,
                                                                   covariances: whole.covariances.repeated(k * m)))
    }

    /// Empty or collapsed components, reported by their state: a component that explains less
    /// than one observation, or sits on repeated values, makes the state's likelihood spurious.
    public func degeneracies(occupancies: [Double], context: GaussianMixtureEmissionContext) -> [Degeneracy] {
        let data = context.gaussian.mixtureData, m = componentsPerState
        let weights = stateWeights
        let componentOccupancies = (0..<components.componentCount).map { c in occupancies[c / m] * weights[c / m, c % m] }
        var seen = Set<Int>()
        return Degeneracy.gaussian(covariances: components.covariances, occupancies: componentOccupancies, floors: data.floors,
                                   columnVariances: data.columnVariances, resolutions: data.resolutions).compactMap { d in
            let state = d.component / m
            return seen.insert(state).inserted ? Degeneracy(component: state, kind: d.kind) : nil
        }
    }

    public static var degenerateAdvice: String {
        "Use fewer states or fewer components per state, or a larger relative variance floor (relativeRegularization, e.g. 1e-3)."
    }

    public static var startsUniformChainsHalfTheTime: Bool { true }

    /// Finite values in every cell (missing values are not integrated out here, unlike Gaussian
    /// emissions) and spread in every column.
    public static func validate(_ x: Matrix<Double>) throws {
        try requireComplete(x)
        try GaussianEmission.validate(x)
    }

    /// Finite values only.
    public func validateScored(_ x: Matrix<Double>) throws { try Self.requireComplete(x) }

    static func requireComplete(_ x: Matrix<Double>) throws {
        if let i = x.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1): Gaussian-mixture emissions need finite values, found \(x.elements[i]) (Gaussian emissions integrate missing values out)")
        }
    }

    /// A component `m ~ wₖ`, then `x ~ 𝒩(μₖₘ, Σₖₘ)`.
    public func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        let j = rng.nextCategorical(stateWeights.row(k))
        return components.draw(component: k * componentsPerState + j, using: &rng)
    }
}

/// What fitting Gaussian-mixture emissions needs: the Gaussian context (data, floors, covariance
/// structure) and the number of components per state.
public struct GaussianMixtureEmissionContext: Sendable {
    let gaussian: GaussianEmissionContext
    /// Mixture components per state.
    public let componentsPerState: Int
}
