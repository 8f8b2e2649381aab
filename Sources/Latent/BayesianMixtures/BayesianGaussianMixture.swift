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
    /// guess of a component's covariance.
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
        for k in covariance.storage.indices { covariance.storage[k] /= max(1, n - 1) }
        return BayesianMixturePrior(weightPrior: .dirichletProcess, weightConcentration: 1 / Double(components),
                                    meanPrecision: 1, mean: mean, degreesOfFreedom: Double(d), covariance: covariance)
    }

    func validate(dimension d: Int) throws {
        guard weightConcentration > 0, weightConcentration.isFinite else { throw ModelError.invalidSetting("the weight concentration α₀ must be positive") }
        guard meanPrecision > 0, meanPrecision.isFinite else { throw ModelError.invalidSetting("the mean precision β₀ must be positive") }
        guard degreesOfFreedom > Double(d) - 1, degreesOfFreedom.isFinite else {
            throw ModelError.invalidSetting("the degrees of freedom ν₀ must exceed D − 1 = \(d - 1)")
        }
        guard mean.count == d, mean.allSatisfy(\.isFinite) else { throw ModelError.invalidSetting("the prior mean must have \(d) finite entries") }
        guard covariance.rows == d, covariance.columns == d, (try? Cholesky(covariance)) != nil else {
            throw ModelError.invalidSetting("the prior covariance must be a \(d) × \(d) positive-definite matrix")
        }
    }
}

/// A Gaussian mixture fitted by variational Bayes (Bishop 2006, §10.2; Blei & Jordan 2006 for the
/// Dirichlet process), with full covariances.
///
/// The posterior is `q(π) q(μ, Λ)`: a Dirichlet (or, for a Dirichlet-process prior, a Beta per
/// stick) over the weights and a Normal–Wishart per component, `q(μ_k, Λ_k) = 𝒩(μ_k | m_k,
/// (β_k Λ_k)⁻¹) 𝒲(Λ_k | W_k, ν_k)`. Densities are those of the **posterior predictive**: a mixture
/// of multivariate Student-t distributions with the expected weights.
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
    /// `ν_k`.
    public var degreesOfFreedom: [Double]
    /// `W_k⁻¹` (`D × D` each): `W_k⁻¹/ν_k` is the expected covariance of component `k`.
    public var scaleInverses: [Matrix<Double>]

    /// A posterior from its parameters (see the properties for their meaning).
    /// - Throws: ``ModelError/invalidSetting(_:)`` when shapes disagree, `β_k ≤ 0`, `ν_k ≤ D − 1`, a
    ///   concentration is not positive, or a `W_k⁻¹` is not positive definite.
    public init(prior: BayesianMixturePrior, weightConcentration: [Double], weightConcentration2: [Double],
                meanPrecision: [Double], means: Matrix<Double>, degreesOfFreedom: [Double], scaleInverses: [Matrix<Double>]) throws {
        let k = meanPrecision.count, d = means.columns
        func bad(_ why: String) -> ModelError { .invalidSetting("Bayesian Gaussian mixture: \(why)") }
        guard k >= 1, means.rows == k, degreesOfFreedom.count == k, scaleInverses.count == k, weightConcentration.count == k,
              weightConcentration2.isEmpty || weightConcentration2.count == k, prior.mean.count == d else {
            throw bad("the parameters describe different numbers of components or columns")
        }
        guard meanPrecision.allSatisfy({ $0 > 0 && $0.isFinite }), degreesOfFreedom.allSatisfy({ $0 > Double(d) - 1 && $0.isFinite }),
              (weightConcentration + weightConcentration2).allSatisfy({ $0 > 0 && $0.isFinite }), means.storage.allSatisfy(\.isFinite) else {
            throw bad("mean precisions and concentrations must be positive, degrees of freedom above D − 1, means finite")
        }
        for (c, w) in scaleInverses.enumerated() {
            guard w.rows == d, w.columns == d, (try? Cholesky(w)) != nil else { throw bad("W⁻¹ of component \(c) is not a positive-definite \(d) × \(d) matrix") }
        }
        try prior.validate(dimension: d)
        self.init(uncheckedPrior: prior, weightConcentration: weightConcentration, weightConcentration2: weightConcentration2,
                  meanPrecision: meanPrecision, means: means, degreesOfFreedom: degreesOfFreedom, scaleInverses: scaleInverses)
    }

    init(uncheckedPrior prior: BayesianMixturePrior, weightConcentration: [Double], weightConcentration2: [Double],
         meanPrecision: [Double], means: Matrix<Double>, degreesOfFreedom: [Double], scaleInverses: [Matrix<Double>]) {
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

    /// The covariance the posterior expects of each component, `W_k⁻¹/ν_k`.
    public var covariances: [Matrix<Double>] { (0..<componentCount).map { (1 / degreesOfFreedom[$0]) * scaleInverses[$0] } }

    /// Free parameters of the variational posterior, for BIC-style comparisons: per component a
    /// weight, a mean, `β`, `ν` and a symmetric scale matrix.
    public var parameterCount: Int {
        let d = dimension
        return componentCount * (d + 2 + d * (d + 1) / 2) + (weightConcentration2.isEmpty ? componentCount : 2 * componentCount)
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
