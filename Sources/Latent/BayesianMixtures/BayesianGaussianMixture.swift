import Foundation

/// The conjugate prior of a ``BayesianGaussianMixture``.
public struct BayesianMixturePrior: Sendable, Equatable {
    /// How the mixing weights are drawn.
    public enum WeightPrior: String, Sendable, Equatable, Codable, CaseIterable {
        /// A truncated stick-breaking Dirichlet process: `v_k ~ Beta(1, α₀)`, `π_k = v_k Π_{j<k}(1 − v_j)`.
        case dirichletProcess = "dirichlet-process"
        /// A symmetric Dirichlet distribution `Dir(α₀, …, α₀)`.
        case dirichlet
    }

    public var weightPrior: WeightPrior
    /// `α₀`: small values empty superfluous components.
    public var weightConcentration: Double
    /// `β₀`: the precision of the mean's prior, in units of the component's precision.
    public var meanPrecision: Double
    /// `m₀`: the mean of the means' prior (`D`).
    public var mean: [Double]
    /// `ν₀ > D − 1`: the Wishart's degrees of freedom.
    public var degreesOfFreedom: Double
    /// `W₀⁻¹` (`D × D`, positive definite): the Wishart's inverse scale; `W₀⁻¹/ν₀` is the prior's
    /// guess of a component's covariance. Diagonal precisions take its diagonal (one Gamma prior per
    /// coordinate), spherical ones its mean diagonal entry (see ``scaleInverse(for:components:)``).
    public var covariance: Matrix<Double>

    public init(weightPrior: WeightPrior, weightConcentration: Double, meanPrecision: Double, mean: [Double],
                degreesOfFreedom: Double, covariance: Matrix<Double>) {
        self.weightPrior = weightPrior
        self.weightConcentration = weightConcentration
        self.meanPrecision = meanPrecision
        self.mean = mean
        self.degreesOfFreedom = degreesOfFreedom
        self.covariance = covariance
    }

    /// scikit-learn's defaults for `x` (`N × D`) and `components`: a Dirichlet process with
    /// `α₀ = 1/K`, `β₀ = 1`, `m₀` the data mean, `ν₀ = D` and `W₀⁻¹` the data covariance.
    public static func defaults(for x: Matrix<Double>, components: Int) -> BayesianMixturePrior {
        let n = Double(x.rows), d = x.columns
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<x.rows { for j in 0..<d { mean[j] += x[i, j] / n } }
        var covariance = Matrix<Double>(rows: d, columns: d)
        for i in 0..<x.rows { for a in 0..<d { for b in 0..<d { covariance[a, b] += (x[i, a] - mean[a]) * (x[i, b] - mean[b]) } } }
        covariance.withUnsafeMutableBufferPointer { for k in $0.indices { $0[k] /= max(1, n - 1) } }
        return BayesianMixturePrior(weightPrior: .dirichletProcess, weightConcentration: 1 / Double(components),
                                    meanPrecision: 1, mean: mean, degreesOfFreedom: Double(d), covariance: covariance)
    }

    /// `W₀⁻¹` in the shape of `type`'s precisions, repeated for `k` components: the matrix (full,
    /// tied), its diagonal (diag: each precision `λ_kj ~ Gamma(ν₀/2, rate W₀⁻¹_jj/2)`), or the mean of
    /// its diagonal (spherical: `Λ_k = λ_k I`, `λ_k ~ Gamma(ν₀/2, rate w₀⁻¹/2)`).
    public func scaleInverse(for type: CovarianceType, components k: Int) -> MixtureCovariances {
        let d = covariance.rows
        switch type {
        case .full: return .full([Matrix<Double>](repeating: covariance, count: k))
        case .tied: return .tied(covariance)
        case .diag: return .diag(Matrix((0..<k).map { _ in covariance.diagonal }))
        case .spherical: return .spherical([Double](repeating: covariance.diagonal.reduce(0, +) / Double(d), count: k))
        }
    }

    /// The smallest degrees of freedom a precision of `type` allows, exclusive: `D − 1` for a
    /// `D`-dimensional Wishart (full, tied), 0 for the Gamma priors of diag and spherical precisions.
    static func degreesOfFreedomBound(_ type: CovarianceType, dimension d: Int) -> Double {
        type == .full || type == .tied ? Double(d) - 1 : 0
    }

    func validate(dimension d: Int, type: CovarianceType = .full) throws {
        guard weightConcentration > 0, weightConcentration.isFinite else { throw ModelError.invalidSetting("the weight concentration α₀ must be positive") }
        guard meanPrecision > 0, meanPrecision.isFinite else { throw ModelError.invalidSetting("the mean precision β₀ must be positive") }
        let bound = Self.degreesOfFreedomBound(type, dimension: d)
        guard degreesOfFreedom > bound, degreesOfFreedom.isFinite else {
            throw ModelError.invalidSetting("the degrees of freedom ν₀ must exceed \(bound == 0 ? "0" : "D − 1 = \(d - 1)") for \(type.rawValue) covariances")
        }
        guard mean.count == d, mean.allSatisfy(\.isFinite) else { throw ModelError.invalidSetting("the prior mean must have \(d) finite entries") }
        guard covariance.rows == d, covariance.columns == d, (try? Cholesky(covariance)) != nil else {
            throw ModelError.invalidSetting("the prior covariance must be a \(d) × \(d) positive-definite matrix")
        }
    }
}

/// A Gaussian mixture fitted by variational Bayes (Bishop 2006, §10.2; Blei & Jordan 2006 for the
/// Dirichlet process), with full, tied, diagonal or spherical precisions.
///
/// The posterior is `q(π) q(μ, Λ)`: a Dirichlet (or, for a Dirichlet-process prior, a Beta per
/// stick) over the weights and, per component, `q(μ_k | Λ_k) = 𝒩(m_k, (β_k Λ_k)⁻¹)` with a
/// conjugate posterior on the precision: a Wishart `𝒲(W_k, ν_k)` (full), one Wishart shared by all
/// components (tied), a Gamma per coordinate with shape `ν_k/2` and rate `w⁻¹_kj/2` (diag), or one
/// Gamma for `Λ_k = λ_k I` (spherical). Every type is an exact conjugate model, so the evidence lower
/// bound is exact and comparable across types. (scikit-learn's tied and spherical updates are
/// heuristics and its diagonal E-step uses the Wishart's log-determinant; its full covariances
/// are the same model as here.) Densities are those of the **posterior predictive**: a mixture of
/// Student-t distributions with the expected weights.
public struct BayesianGaussianMixture: Sendable, Equatable {
    public var prior: BayesianMixturePrior
    /// Dirichlet: `α_k`. Dirichlet process: the first Beta parameter `γ_{k,1}` of each stick.
    public var weightConcentration: [Double]
    /// Dirichlet process: the second Beta parameter `γ_{k,2}` of each stick; empty for a Dirichlet.
    public var weightConcentration2: [Double]
    /// `β_k`.
    public var meanPrecision: [Double]
    /// `m_k` (`K × D`).
    public var means: Matrix<Double>
    /// `ν_k` (tied: the shared Wishart's, repeated for each component).
    public var degreesOfFreedom: [Double]
    /// The precisions' inverse scales in the covariance type's shape: `W_k⁻¹` (full, `D × D` each),
    /// the shared `W⁻¹` (tied), `w⁻¹_kj` (diag, `K × D`) or `w⁻¹_k` (spherical). Divided by `ν_k`
    /// they are the covariances the posterior expects.
    public var scaleInverses: MixtureCovariances

    /// A posterior from its parameters (see the properties for their meaning).
    /// - Throws: ``ModelError/invalidSetting(_:)`` when shapes disagree, `β_k ≤ 0`, `ν_k` is not above
    ///   the type's bound (`D − 1` for full and tied, 0 otherwise; tied `ν_k` all equal), a
    ///   concentration is not positive, or a scale is not positive definite.
    public init(prior: BayesianMixturePrior, weightConcentration: [Double], weightConcentration2: [Double],
                meanPrecision: [Double], means: Matrix<Double>, degreesOfFreedom: [Double], scaleInverses: MixtureCovariances) throws {
        let k = meanPrecision.count, d = means.columns, type = scaleInverses.type
        func bad(_ why: String) -> ModelError { .invalidSetting("Bayesian Gaussian mixture: \(why)") }
        guard k >= 1, means.rows == k, degreesOfFreedom.count == k, weightConcentration.count == k,
              weightConcentration2.isEmpty || weightConcentration2.count == k, prior.mean.count == d else {
            throw bad("the parameters describe different numbers of components or columns")
        }
        let bound = BayesianMixturePrior.degreesOfFreedomBound(type, dimension: d)
        guard meanPrecision.allSatisfy({ $0 > 0 && $0.isFinite }), degreesOfFreedom.allSatisfy({ $0 > bound && $0.isFinite }),
              (weightConcentration + weightConcentration2).allSatisfy({ $0 > 0 && $0.isFinite }), means.elements.allSatisfy(\.isFinite) else {
            throw bad("mean precisions and concentrations must be positive, degrees of freedom above \(bound), means finite")
        }
        switch scaleInverses {
        case .full(let ws):
            guard ws.count == k else { throw bad("expected \(k) scale matrices") }
            for (c, w) in ws.enumerated() {
                guard w.rows == d, w.columns == d, (try? Cholesky(w)) != nil else { throw bad("W⁻¹ of component \(c) is not a positive-definite \(d) × \(d) matrix") }
            }
        case .tied(let w):
            guard w.rows == d, w.columns == d, (try? Cholesky(w)) != nil else { throw bad("the tied W⁻¹ is not a positive-definite \(d) × \(d) matrix") }
            guard degreesOfFreedom.allSatisfy({ $0 == degreesOfFreedom[0] }) else { throw bad("tied precisions share one ν") }
        case .diag(let v):
            guard v.rows == k, v.columns == d, v.elements.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw bad("expected \(k) × \(d) positive scales") }
        case .spherical(let v):
            guard v.count == k, v.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw bad("expected \(k) positive scales") }
        }
        try prior.validate(dimension: d, type: type)
        self.init(uncheckedPrior: prior, weightConcentration: weightConcentration, weightConcentration2: weightConcentration2,
                  meanPrecision: meanPrecision, means: means, degreesOfFreedom: degreesOfFreedom, scaleInverses: scaleInverses)
    }

    init(uncheckedPrior prior: BayesianMixturePrior, weightConcentration: [Double], weightConcentration2: [Double],
         meanPrecision: [Double], means: Matrix<Double>, degreesOfFreedom: [Double], scaleInverses: MixtureCovariances) {
        self.prior = prior
        self.weightConcentration = weightConcentration
        self.weightConcentration2 = weightConcentration2
        self.meanPrecision = meanPrecision
        self.means = means
        self.degreesOfFreedom = degreesOfFreedom
        self.scaleInverses = scaleInverses
    }

    public var componentCount: Int { meanPrecision.count }
    public var dimension: Int { means.columns }
    public var covarianceType: CovarianceType { scaleInverses.type }

    /// The covariances the posterior expects, `W_k⁻¹/ν_k`, in the covariance type's shape.
    public var covariances: MixtureCovariances {
        let nu = degreesOfFreedom
        switch scaleInverses {
        case .full(let ws): return .full(ws.indices.map { (1 / nu[$0]) * ws[$0] })
        case .tied(let w): return .tied((1 / nu[0]) * w)
        case .diag(let v):
            var out = v
            for c in 0..<v.rows { for j in 0..<v.columns { out[c, j] /= nu[c] } }
            return .diag(out)
        case .spherical(let v): return .spherical(v.indices.map { v[$0] / nu[$0] })
        }
    }

    /// Free parameters of the variational posterior, for BIC-style comparisons: per component a
    /// weight (two stick parameters for a Dirichlet process), a mean and `β`; per precision its `ν`
    /// and scale (`D(D+1)/2`, `D` or 1 numbers; tied: one for all components).
    public var parameterCount: Int {
        let d = dimension, k = componentCount
        let weights = weightConcentration2.isEmpty ? k : 2 * k
        let precisions: Int
        switch covarianceType {
        case .full: precisions = k * (1 + d * (d + 1) / 2)
        case .tied: precisions = 1 + d * (d + 1) / 2
        case .diag: precisions = k * (1 + d)
        case .spherical: precisions = k * 2
        }
        return weights + k * (d + 1) + precisions
    }

    /// `E[log π_k]` under the posterior.
    public var expectedLogWeights: [Double] {
        let k = componentCount
        if weightConcentration2.isEmpty {
            let total = SpecialFunctions.digamma(weightConcentration.reduce(0, +))
            return weightConcentration.map { SpecialFunctions.digamma($0) - total }
        }
        var out = [Double](repeating: 0, count: k)
        var remaining = 0.0   // Σ_{j<k} E[log(1 − v_j)]
        for c in 0..<k {
            let both = SpecialFunctions.digamma(weightConcentration[c] + weightConcentration2[c])
            out[c] = SpecialFunctions.digamma(weightConcentration[c]) - both + remaining
            remaining += SpecialFunctions.digamma(weightConcentration2[c]) - both
        }
        return out
    }

    /// `E[π_k]` under the posterior, normalised to sum to 1 (a truncated stick leaves a little mass
    /// beyond the last component; the predictive conditions on the `K` components).
    public var weights: [Double] {
        var w: [Double]
        if weightConcentration2.isEmpty {
            w = weightConcentration
        } else {
            w = []
            var rest = 1.0
            for c in 0..<componentCount {
                let v = weightConcentration[c] / (weightConcentration[c] + weightConcentration2[c])
                w.append(v * rest)
                rest *= 1 - v
            }
        }
        let total = w.reduce(0, +)
        return w.map { $0 / total }
    }

    /// Share of the expected weight below which a component counts as empty in ``effectiveComponents``.
    public static let effectiveWeightThreshold = 0.01

    /// Components whose expected weight is at least ``effectiveWeightThreshold`` (1%): the prior
    /// empties the others.
    public var effectiveComponents: Int { weights.filter { $0 >= Self.effectiveWeightThreshold }.count }
}
