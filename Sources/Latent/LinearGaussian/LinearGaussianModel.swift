import Foundation

/// The noise structure of a linear-Gaussian latent model.
public enum LinearGaussianNoise: String, Codable, Sendable {
    /// One variance per observed variable: factor analysis.
    case diagonal
    /// One variance shared by all variables: probabilistic PCA.
    case isotropic
}

/// A linear-Gaussian latent model `x = μ + W z + ε`, `z ~ 𝒩(0, I_k)`, `ε ~ 𝒩(0, Ψ)`, so that
/// `x ~ 𝒩(μ, W Wᵀ + Ψ)`.
///
/// With diagonal `Ψ` this is factor analysis (``FactorAnalysis``), with `Ψ = σ² I` probabilistic PCA
/// (``ProbabilisticPCA``). Likelihoods and posteriors use the `k × k` Woodbury form, never a `D × D`
/// inverse per row, and accept missing values (NaN): a row is scored on its observed coordinates.
public struct LinearGaussianModel: Equatable, Sendable {
    /// The mean `μ` (length `D`).
    public let mean: [Double]
    /// The loadings `W` (`D × k`).
    public let loadings: Matrix<Double>
    /// The noise variances `diag Ψ` (length `D`; all equal for probabilistic PCA).
    public let noiseVariances: [Double]
    /// Diagonal (factor analysis) or isotropic (probabilistic PCA) noise.
    public let noise: LinearGaussianNoise

    /// Number of observed variables `D`.
    public var dimension: Int { mean.count }
    /// Number of latent factors `k`.
    public var factorCount: Int { loadings.columns }

    /// A model with the given parameters.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for non-positive or non-finite noise variances.
    public init(mean: [Double], loadings: Matrix<Double>, noiseVariances: [Double], noise: LinearGaussianNoise) throws {
        precondition(loadings.rows == mean.count && noiseVariances.count == mean.count, "Shapes of μ, W and Ψ disagree")
        guard noiseVariances.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ModelError.invalidSetting("noise variances must be positive and finite")
        }
        guard mean.allSatisfy(\.isFinite), loadings.elements.allSatisfy(\.isFinite) else {
            throw ModelError.invalidSetting("the mean and loadings must be finite")
        }
        self.mean = mean
        self.loadings = loadings
        self.noiseVariances = noiseVariances
        self.noise = noise
    }

    /// Free parameters: `D·k − k(k−1)/2` loadings (up to rotation), `D` means, and `D` noise
    /// variances (factor analysis) or one (probabilistic PCA).
    public var parameterCount: Int {
        let d = dimension, k = factorCount
        return d * k - k * (k - 1) / 2 + d + (noise == .diagonal ? d : 1)
    }

    /// The same model for data whose column `j` is multiplied by `factors[j]`: `μ` and the rows
    /// of `W` scale by `factors[j]`, `ψ_j` by its square.
    /// - Precondition: `factors.count == dimension`, every factor positive and finite.
    public func rescaled(by factors: [Double]) -> LinearGaussianModel {
        precondition(factors.count == dimension && factors.allSatisfy { $0 > 0 && $0.isFinite }, "One positive scale factor per column")
        if factors.allSatisfy({ $0 == 1 }) { return self }
        var w = loadings
        for j in 0..<dimension { for f in 0..<factorCount { w[j, f] *= factors[j] } }
        // The shapes and positivity are kept, so the initialiser cannot fail.
        return try! LinearGaussianModel(mean: zip(mean, factors).map { $0 * $1 }, loadings: w,
                                        noiseVariances: zip(noiseVariances, factors).map { $0 * $1 * $1 }, noise: noise)
    }

    /// The model covariance `W Wᵀ + Ψ`.
    public var covariance: Matrix<Double> {
        var c = loadings.multiplied(by: loadings, transposeOther: true)
        for j in 0..<dimension { c[j, j] += noiseVariances[j] }
        return c
    }

    /// The same model with loadings `W·R` for an orthogonal `R` (the likelihood is unchanged).
    public func rotated(by r: Matrix<Double>) -> LinearGaussianModel {
        // swiftlint:disable:next force_try
        try! LinearGaussianModel(mean: mean, loadings: loadings.multiplied(by: r), noiseVariances: noiseVariances, noise: noise)
    }
}

/// The posterior `p(z | x_o)` shared by every row with the same observed columns: covariance
/// `V = (I + W_oᵀ Ψ_o⁻¹ W_o)⁻¹` and the map `B = V W_oᵀ Ψ_o⁻¹`, so that `E[z | x_o] = B (x_o − μ_o)`.
struct LinearGaussianPosterior {
    let observed: [Int]
    /// `V`, `k × k`.
    let covariance: Matrix<Double>
    /// `B`, `k × d_o`.
    let gain: Matrix<Double>
    /// `A = W_oᵀ Ψ_o⁻¹`, `k × d_o`.
    let a: Matrix<Double>
    /// `log det(W_o W_oᵀ + Ψ_o) = log det M + Σ log ψ_o`.
    let logDeterminant: Double

    init(_ model: LinearGaussianModel, observed: [Int]) {
        self.observed = observed
        let k = model.factorCount, dObs = observed.count
        var a = Matrix<Double>(rows: k, columns: dObs)
        for (t, j) in observed.enumerated() {
            let inv = 1 / model.noiseVariances[j]
            for f in 0..<k { a[f, t] = model.loadings[j, f] * inv }
        }
        var m = Matrix<Double>.identity(k)
        for f in 0..<k {
            for g in f..<k {
                var s = 0.0
                for (t, j) in observed.enumerated() { s += a[f, t] * model.loadings[j, g] }
                m[f, g] += s
                if g != f { m[g, f] += s }
            }
        }
        // M = I + AW_o is symmetric positive definite (eigenvalues ≥ 1): Cholesky cannot fail.
        let ch = try! Cholesky(m)
        covariance = ch.inverse
        gain = covariance.multiplied(by: a)
        self.a = a
        logDeterminant = ch.logDeterminant + observed.reduce(0) { $0 + log(model.noiseVariances[$1]) }
    }
}
