import Foundation

/// Closed forms of the Wishart distribution `𝒲(Λ | W, ν)` on `p × p` precision matrices, written in
/// terms of `log|W⁻¹|` (the variational mixture keeps inverse scales). With `p = 1` it is the Gamma
/// distribution with shape `ν/2` and rate `W⁻¹/2`, the prior of diagonal and spherical precisions.
enum Wishart {
    /// `E[log|Λ|] = Σᵢ ψ((ν + 1 − i)/2) + p log 2 − log|W⁻¹|`.
    static func expectedLogDeterminant(dimension p: Int, degreesOfFreedom nu: Double, logDetScaleInverse: Double) -> Double {
        var e = Double(p) * log(2) - logDetScaleInverse
        for i in 1...p { e += SpecialFunctions.digamma((nu + Double(1 - i)) / 2) }
        return e
    }

    /// `log B(W, ν) = (ν/2) log|W⁻¹| − (νp/2) log 2 − log Γ_p(ν/2)`, the log of the normaliser.
    static func logNormalizer(dimension p: Int, degreesOfFreedom nu: Double, logDetScaleInverse: Double) -> Double {
        0.5 * nu * logDetScaleInverse - 0.5 * nu * Double(p) * log(2) - SpecialFunctions.logMultivariateGamma(nu / 2, dimension: p)
    }

    /// `KL(𝒲(W_q, ν_q) ‖ 𝒲(W_p, ν_p))` from the log-determinants of the inverse scales and
    /// `trace = tr(W_p⁻¹ W_q)`.
    static func divergence(dimension p: Int, posterior: (dof: Double, logDetScaleInverse: Double),
                           prior: (dof: Double, logDetScaleInverse: Double), trace: Double) -> Double {
        let dd = Double(p)
        let e = expectedLogDeterminant(dimension: p, degreesOfFreedom: posterior.dof, logDetScaleInverse: posterior.logDetScaleInverse)
        let negativeEntropy = logNormalizer(dimension: p, degreesOfFreedom: posterior.dof, logDetScaleInverse: posterior.logDetScaleInverse)
            + 0.5 * (posterior.dof - dd - 1) * e - 0.5 * posterior.dof * dd
        let crossEntropy = logNormalizer(dimension: p, degreesOfFreedom: prior.dof, logDetScaleInverse: prior.logDetScaleInverse)
            + 0.5 * (prior.dof - dd - 1) * e - 0.5 * posterior.dof * trace
        return negativeEntropy - crossEntropy
    }

    /// log of the `p`-variate Student-t density with `nu` degrees of freedom at squared scaled
    /// distance `q = (x − m)ᵀ S⁻¹ (x − m)`, where `logDetScale = log|S|`.
    static func logStudentT(dimension p: Int, degreesOfFreedom nu: Double, logDetScale: Double, squaredDistance q: Double) -> Double {
        let dd = Double(p)
        return lgamma((nu + dd) / 2) - lgamma(nu / 2) - 0.5 * dd * log(nu * Double.pi) - 0.5 * logDetScale
            - 0.5 * (nu + dd) * log1p(q / nu)
    }
}
