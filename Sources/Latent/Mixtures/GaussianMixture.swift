import Foundation

/// A finite mixture of multivariate Gaussians, `p(x) = Σₖ wₖ 𝒩(x | μₖ, Σₖ)`.
///
/// The latent variable is the component `z ∈ {0, …, K−1}` with `p(z = k) = wₖ`. A value of this
/// type holds validated parameters (weights on the simplex, positive-definite covariances) together
/// with their Cholesky factors, so scoring never refactorises. Fit one with
/// ``fit(_:components:options:)``; score, cluster and sample with the methods in the extensions.
public struct GaussianMixture: Equatable, Sendable {
    /// Mixing weights `wₖ`, positive, summing to 1.
    public let weights: [Double]
    /// Component means, a `K × D` matrix.
    public let means: Matrix<Double>
    /// Component covariances.
    public let covariances: MixtureCovariances
    /// Cholesky factorisations of the covariances (one for `tied`; none for `diag` and `spherical`).
    let choleskyFactors: [Cholesky]

    /// Number of components `K`.
    public var componentCount: Int { weights.count }
    /// Dimension `D` of the data.
    public var dimension: Int { means.columns }
    /// The covariance type.
    public var covarianceType: CovarianceType { covariances.type }

    /// A mixture with the given parameters.
    ///
    /// - Throws: ``ModelError/singularCovariance(component:detail:)`` when a covariance is not
    ///   positive definite, ``ModelError/invalidSetting(_:)`` for weights that are not a distribution.
    /// - Precondition: the shapes agree (`K` weights, `K × D` means, covariances for `K` and `D`).
    public init(weights: [Double], means: Matrix<Double>, covariances: MixtureCovariances) throws {
        let k = weights.count, d = means.columns
        precondition(k > 0 && means.rows == k, "Need one mean per weight")
        switch covariances {
        case .full(let m): precondition(m.count == k && m.allSatisfy { $0.rows == d && $0.columns == d }, "Need K covariances of size D × D")
        case .tied(let m): precondition(m.rows == d && m.columns == d, "The tied covariance must be D × D")
        case .diag(let v): precondition(v.rows == k && v.columns == d, "Diagonal covariances must be K × D")
        case .spherical(let v): precondition(v.count == k, "Need one spherical variance per component")
        }
        let total = weights.reduce(0, +)
        guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(total - 1) < 1e-6 else {
            throw ModelError.invalidSetting("mixing weights must be non-negative and sum to 1 (they sum to \(total))")
        }
        guard means.elements.allSatisfy(\.isFinite) else {
            throw ModelError.invalidSetting("component means must be finite numbers")
        }
        var factors: [Cholesky] = []
        switch covariances {
        case .full(let ms):
            for (i, m) in ms.enumerated() { factors.append(try Self.factor(m, component: i)) }
        case .tied(let m):
            factors.append(try Self.factor(m, component: nil))
        case .diag(let v):
            for i in 0..<k {
                for j in 0..<d where !(v[i, j] > 0 && v[i, j].isFinite) {
                    throw ModelError.singularCovariance(component: i, detail: "variance \(v[i, j]) in dimension \(j + 1)")
                }
            }
        case .spherical(let v):
            for (i, s) in v.enumerated() where !(s > 0 && s.isFinite) {
                throw ModelError.singularCovariance(component: i, detail: "variance \(s)")
            }
        }
        self.weights = weights.map { $0 / total }
        self.means = means
        self.covariances = covariances
        self.choleskyFactors = factors
    }

    private static func factor(_ m: Matrix<Double>, component: Int?) throws -> Cholesky {
        do { return try Cholesky(m) } catch let error as LinearAlgebraError {
            throw ModelError.singularCovariance(component: component, detail: error.description)
        }
    }

    /// The log-determinant of each component's covariance.
    public var logDeterminants: [Double] {
        let k = componentCount, d = dimension
        switch covariances {
        case .full:
            return choleskyFactors.map(\.logDeterminant)
        case .tied:
            let v = choleskyFactors[0].logDeterminant
            return [Double](repeating: v, count: k)
        case .diag(let v):
            return (0..<k).map { i in (0..<d).reduce(0) { $0 + log(v[i, $1]) } }
        case .spherical(let v):
            return v.map { Double(d) * log($0) }
        }
    }

    /// The number of free parameters, counted as scikit-learn does:
    /// `K − 1` weights, `K·D` means, and `K·D(D+1)/2`, `D(D+1)/2`, `K·D` or `K` covariance parameters.
    public var parameterCount: Int {
        let k = componentCount, d = dimension
        let covariance: Int
        switch covarianceType {
        case .full: covariance = k * d * (d + 1) / 2
        case .tied: covariance = d * (d + 1) / 2
        case .diag: covariance = k * d
        case .spherical: covariance = k
        }
        return covariance + k * d + k - 1
    }
}
