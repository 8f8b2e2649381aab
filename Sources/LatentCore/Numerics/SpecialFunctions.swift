import Foundation

/// Special functions the variational models need.
public enum SpecialFunctions {
    /// The digamma function ψ(x) = d/dx log Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up
    /// to x ≥ 6, then the asymptotic series (error below 1e-14).
    public static func digamma(_ x: Double) -> Double {
        precondition(x > 0, "digamma is defined here for positive arguments")
        var x = x, result = 0.0
        while x < 6 { result -= 1 / x; x += 1 }
        let f = 1 / (x * x)
        let series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
        return result + log(x) - 0.5 / x - series
    }

    /// log of the multivariate gamma function Γ_D(a) = π^{D(D−1)/4} Π_{i=1..D} Γ(a + (1 − i)/2).
    public static func logMultivariateGamma(_ a: Double, dimension d: Int) -> Double {
        var s = Double(d * (d - 1)) / 4 * log(Double.pi)
        for i in 1...max(1, d) where i <= d { s += lgamma(a + Double(1 - i) / 2) }
        return s
    }
}
