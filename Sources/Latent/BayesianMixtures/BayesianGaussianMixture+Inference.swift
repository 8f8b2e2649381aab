import Foundation

/// What a ``BayesianGaussianMixture`` is fitted to: complete rows and the prior.
public struct BayesianMixtureTrainingData: Sendable {
    public let x: Matrix<Double>
    public let prior: BayesianMixturePrior
    let mixture: MixtureTrainingData
}

/// The responsibility-weighted statistics of one variational M-step.
struct BayesianMixtureStatistics {
    /// `N_k`, `x̄_k` (`K × D`) and `S_k` (the weighted scatter about `x̄_k`, divided by `N_k`).
    var counts: [Double]
    var means: Matrix<Double>
    var scatters: [Matrix<Double>]
    /// `Σ_n Σ_k r_nk log r_nk`.
    var responsibilityEntropyTerm: Double
}

extension BayesianGaussianMixture {
    /// Per component: the Cholesky factor of `W_k⁻¹`, `log|W_k|` and `E[log|Λ_k|]`.
    func precisionFactors() throws -> [(factor: Cholesky, logDetW: Double, expectedLogDetLambda: Double)] {
        let d = dimension
        return try (0..<componentCount).map { k in
            let factor = try Cholesky(scaleInverses[k])
            let logDetW = -factor.logDeterminant
            var e = Double(d) * log(2) + logDetW
            for i in 1...d { e += SpecialFunctions.digamma((degreesOfFreedom[k] + Double(1 - i)) / 2) }
            return (factor, logDetW, e)
        }
    }

    /// `log ρ_nk = E[log π_k] + ½E[log|Λ_k|] − D/2 log 2π − D/(2β_k) − ν_k/2 (x−m_k)ᵀW_k(x−m_k)`
    /// (`N × K`); the responsibilities are its rows normalised.
    func logResponsibilityNumerators(_ x: Matrix<Double>) throws -> Matrix<Double> {
        let k = componentCount, d = dimension
        let factors = try precisionFactors()
        let logWeights = expectedLogWeights
        var out = Matrix<Double>(rows: x.rows, columns: k)
        let log2Pi = log(2 * Double.pi)
        for c in 0..<k {
            let constant = logWeights[c] + 0.5 * factors[c].expectedLogDetLambda - 0.5 * Double(d) * log2Pi - 0.5 * Double(d) / meanPrecision[c]
            // ‖L⁻¹(x − m)‖² = (x − m)ᵀ W (x − m) with W⁻¹ = L Lᵀ.
            let q = Self.squaredDistances(x, from: means.row(c), lower: factors[c].factor.lower)
            for i in 0..<x.rows { out[i, c] = constant - 0.5 * degreesOfFreedom[c] * q[i] }
        }
        return out
    }

    /// The responsibilities `q(z_n = k)` of the rows of `x` under the current posterior (`N × K`).
    public func responsibilities(_ x: Matrix<Double>) throws -> Matrix<Double> {
        var r = try logResponsibilityNumerators(x)
        let k = componentCount
        for i in 0..<r.rows {
            var top = -Double.infinity
            for c in 0..<k { top = max(top, r[i, c]) }
            var s = 0.0
            for c in 0..<k { r[i, c] = exp(r[i, c] - top); s += r[i, c] }
            for c in 0..<k { r[i, c] /= s }
        }
        return r
    }

    static func statistics(_ x: Matrix<Double>, responsibilities r: Matrix<Double>) -> BayesianMixtureStatistics {
        let k = r.columns, d = x.columns
        var counts = [Double](repeating: 0, count: k)
        var means = Matrix<Double>(rows: k, columns: d)
        var entropy = 0.0
        for i in 0..<x.rows {
            for c in 0..<k {
                let w = r[i, c]
                if w > 0 { entropy += w * log(w) }
                counts[c] += w
                for a in 0..<d { means[c, a] += w * x[i, a] }
            }
        }
        for c in 0..<k where counts[c] > 0 { for a in 0..<d { means[c, a] /= counts[c] } }
        var scatters = [Matrix<Double>](repeating: Matrix(rows: d, columns: d), count: k)
        var diff = [Double](repeating: 0, count: d)
        for c in 0..<k {
            var s = Matrix<Double>(rows: d, columns: d)
            for i in 0..<x.rows {
                let w = r[i, c]
                if w == 0 { continue }
                for a in 0..<d { diff[a] = x[i, a] - means[c, a] }
                for a in 0..<d { for b in a..<d { s[a, b] += w * diff[a] * diff[b] } }
            }
            for a in 0..<d { for b in a..<d {
                let v = counts[c] > 0 ? s[a, b] / counts[c] : 0
                s[a, b] = v; s[b, a] = v
            } }
            scatters[c] = s
        }
        return BayesianMixtureStatistics(counts: counts, means: means, scatters: scatters, responsibilityEntropyTerm: entropy)
    }

    /// The variational M-step: the posterior's parameters given responsibility statistics.
    mutating func update(from s: BayesianMixtureStatistics) {
        let k = componentCount, d = dimension
        let p = prior
        if p.weightPrior == .dirichlet {
            weightConcentration = s.counts.map { p.weightConcentration + $0 }
            weightConcentration2 = []
        } else {
            weightConcentration = s.counts.map { 1 + $0 }
            var tail = 0.0
            weightConcentration2 = [Double](repeating: 0, count: k)
            for c in stride(from: k - 1, through: 0, by: -1) {
                weightConcentration2[c] = p.weightConcentration + tail
                tail += s.counts[c]
            }
        }
        for c in 0..<k {
            let n = s.counts[c]
            meanPrecision[c] = p.meanPrecision + n
            degreesOfFreedom[c] = p.degreesOfFreedom + n
            var w = p.covariance
            let shrink = p.meanPrecision * n / (p.meanPrecision + n)
            for a in 0..<d {
                means[c, a] = (p.meanPrecision * p.mean[a] + n * s.means[c, a]) / meanPrecision[c]
            }
            for a in 0..<d { for b in 0..<d {
                w[a, b] += n * s.scatters[c][a, b] + shrink * (s.means[c, a] - p.mean[a]) * (s.means[c, b] - p.mean[b])
            } }
            scaleInverses[c] = SmallDense.symmetrized(w)
        }
    }

    /// The evidence lower bound `E_q[log p(X, Z, π, μ, Λ)] − E_q[log q(Z, π, μ, Λ)]`, every constant
    /// included (Bishop 2006, eqs. 10.70–10.77; for a Dirichlet process the Beta sticks replace the
    /// Dirichlet), for responsibilities summarised by `s`.
    func lowerBound(_ s: BayesianMixtureStatistics) throws -> Double {
        let k = componentCount, d = dimension, dd = Double(d)
        let p = prior
        let factors = try precisionFactors()
        let logWeights = expectedLogWeights
        let log2Pi = log(2 * Double.pi)
        let priorFactor = try Cholesky(p.covariance)
        // log B(W, ν) = −ν/2 log|W| − νD/2 log 2 − log Γ_D(ν/2).
        func logB(logDetW: Double, nu: Double) -> Double {
            -0.5 * nu * logDetW - 0.5 * nu * dd * log(2) - SpecialFunctions.logMultivariateGamma(nu / 2, dimension: d)
        }
        var bound = 0.0
        for c in 0..<k {
            let w = factors[c].factor.inverse
            let lambda = factors[c].expectedLogDetLambda
            let n = s.counts[c], nu = degreesOfFreedom[c], beta = meanPrecision[c]
            var traceSW = 0.0, traceW0W = 0.0, quadData = 0.0, quadPrior = 0.0
            for a in 0..<d { for b in 0..<d {
                traceSW += s.scatters[c][a, b] * w[b, a]
                traceW0W += p.covariance[a, b] * w[b, a]
                quadData += (s.means[c, a] - means[c, a]) * w[a, b] * (s.means[c, b] - means[c, b])
                quadPrior += (means[c, a] - p.mean[a]) * w[a, b] * (means[c, b] - p.mean[b])
            } }
            // E[log p(X | Z, μ, Λ)] (10.71) and E[log p(Z | π)] (10.72).
            bound += 0.5 * n * (lambda - dd / beta - nu * traceSW - nu * quadData - dd * log2Pi)
            bound += n * logWeights[c]
            // E[log p(μ, Λ)] (10.74).
            bound += 0.5 * (dd * log(p.meanPrecision / (2 * Double.pi)) + lambda - dd * p.meanPrecision / beta - p.meanPrecision * nu * quadPrior)
            bound += logB(logDetW: -priorFactor.logDeterminant, nu: p.degreesOfFreedom)
            bound += 0.5 * (p.degreesOfFreedom - dd - 1) * lambda - 0.5 * nu * traceW0W
            // −E[log q(μ, Λ)] (10.77), with the Wishart's entropy.
            let entropy = -logB(logDetW: factors[c].logDetW, nu: nu) - 0.5 * (nu - dd - 1) * lambda + 0.5 * nu * dd
            bound -= 0.5 * lambda + 0.5 * dd * log(beta / (2 * Double.pi)) - 0.5 * dd - entropy
        }
        // −E[log q(Z)] (10.75).
        bound -= s.responsibilityEntropyTerm
        // E[log p(π)] − E[log q(π)] (10.73, 10.76), or the sticks' Beta terms.
        if weightConcentration2.isEmpty {
            let a0 = p.weightConcentration
            let logC0 = lgamma(Double(k) * a0) - Double(k) * lgamma(a0)
            let logC = lgamma(weightConcentration.reduce(0, +)) - weightConcentration.reduce(0) { $0 + lgamma($1) }
            for c in 0..<k { bound += (a0 - 1) * logWeights[c] - (weightConcentration[c] - 1) * logWeights[c] }
            bound += logC0 - logC
        } else {
            let a0 = p.weightConcentration
            for c in 0..<k {
                let g1 = weightConcentration[c], g2 = weightConcentration2[c]
                let both = SpecialFunctions.digamma(g1 + g2)
                let eLogV = SpecialFunctions.digamma(g1) - both, eLog1mV = SpecialFunctions.digamma(g2) - both
                let logBeta = lgamma(g1) + lgamma(g2) - lgamma(g1 + g2)
                bound += log(a0) + (a0 - 1) * eLog1mV
                bound -= -logBeta + (g1 - 1) * eLogV + (g2 - 1) * eLog1mV
            }
        }
        return bound
    }

    /// log of the posterior predictive density of each row: `Σ_k E[π_k] St(x | m_k, Σ_k, ν_k + 1 − D)`
    /// with `Σ_k = (1 + β_k) / ((ν_k + 1 − D) β_k) · W_k⁻¹`.
    /// - Complexity: `O(N·K·D²)`.
    public func logLikelihoods(of x: Matrix<Double>) -> [Double] {
        let c = componentLogPredictives(x)
        return (0..<x.rows).map { i in
            let top = (0..<componentCount).map { c[i, $0] }.max() ?? -.infinity
            guard top.isFinite else { return top }
            return top + log((0..<componentCount).reduce(0) { $0 + exp(c[i, $1] - top) })
        }
    }

    /// `log E[π_k] + log St_k(x)` per row and component (`N × K`).
    public func componentLogPredictives(_ x: Matrix<Double>) -> Matrix<Double> {
        let k = componentCount, d = dimension, dd = Double(d)
        let w = weights
        var out = Matrix<Double>(rows: x.rows, columns: k)
        for c in 0..<k {
            let nu = degreesOfFreedom[c] + 1 - dd
            let scale = (1 + meanPrecision[c]) / (nu * meanPrecision[c])
            // scaleInverses are positive definite by construction (prior plus scatter).
            let factor = try! Cholesky(scale * scaleInverses[c])
            let normalizer: Double = lgamma((nu + dd) / 2) - lgamma(nu / 2) - 0.5 * dd * log(nu * Double.pi)
            let constant: Double = log(w[c]) + normalizer - 0.5 * factor.logDeterminant
            let q = Self.squaredDistances(x, from: means.row(c), lower: factor.lower)
            for i in 0..<x.rows { out[i, c] = constant - 0.5 * (nu + dd) * log1p(q[i] / nu) }
        }
        return out
    }

    /// `‖L⁻¹(xᵢ − m)‖²` for each row `xᵢ` of `x`, by forward substitution with the lower-triangular `l`.
    /// - Complexity: `O(N·D²)`.
    static func squaredDistances(_ x: Matrix<Double>, from m: [Double], lower l: Matrix<Double>) -> [Double] {
        let d = m.count
        var z = [Double](repeating: 0, count: d)
        return (0..<x.rows).map { i in
            var q = 0.0
            for a in 0..<d {
                var s = x[i, a] - m[a]
                for b in 0..<a { s -= l[a, b] * z[b] }
                z[a] = s / l[a, a]
                q += z[a] * z[a]
            }
            return q
        }
    }

    /// Posterior predictive cluster probabilities (`N × K`).
    public func predictiveResponsibilities(_ x: Matrix<Double>) -> Matrix<Double> {
        var c = componentLogPredictives(x)
        for i in 0..<c.rows {
            let top = (0..<componentCount).map { c[i, $0] }.max() ?? 0
            var s = 0.0
            for k in 0..<componentCount { c[i, k] = exp(c[i, k] - top); s += c[i, k] }
            for k in 0..<componentCount { c[i, k] /= s }
        }
        return c
    }

    /// The most probable component of each row under the posterior predictive.
    public func predict(_ x: Matrix<Double>) -> [Int] {
        let r = predictiveResponsibilities(x)
        return (0..<r.rows).map { i in (0..<componentCount).max { r[i, $0] < r[i, $1] } ?? 0 }
    }

    /// Draws `count` points from the posterior predictive, with the component of each.
    public func sample(count: Int, using rng: inout Xoshiro256StarStar) -> (Matrix<Double>, [Int]) {
        let d = dimension, dd = Double(d)
        let w = weights
        let factors = (0..<componentCount).map { c -> Matrix<Double> in
            let nu = degreesOfFreedom[c] + 1 - dd
            return (try! Cholesky(((1 + meanPrecision[c]) / (nu * meanPrecision[c])) * scaleInverses[c])).lower
        }
        var points = Matrix<Double>(rows: count, columns: d)
        var labels = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let c = rng.nextCategorical(w)
            labels[i] = c
            let nu = degreesOfFreedom[c] + 1 - dd
            let chi2 = 2 * rng.nextGamma(shape: nu / 2)
            let stretch = (nu / chi2).squareRoot()
            let z = (0..<d).map { _ in rng.nextNormal() }
            for a in 0..<d {
                var v = 0.0
                for b in 0...a { v += factors[c][a, b] * z[b] }
                points[i, a] = means[c, a] + stretch * v
            }
        }
        return (points, labels)
    }
}

extension BayesianGaussianMixture: DegeneracyChecking {
    public typealias TrainingData = BayesianMixtureTrainingData

    /// One coordinate-ascent sweep: responsibilities from the current posterior, then the posterior
    /// from them. Returns the lower bound of the current posterior with those responsibilities
    /// (the bound never decreases from one sweep to the next).
    public mutating func expectationMaximizationStep(on data: BayesianMixtureTrainingData) throws -> Double {
        let r = try responsibilities(data.x)
        let s = Self.statistics(data.x, responsibilities: r)
        let bound = try lowerBound(s)
        update(from: s)
        return bound
    }

    /// The evidence lower bound of this posterior on the rows of `x`, with the responsibilities it
    /// implies (every constant included; comparable across numbers of components).
    public func lowerBound(on x: Matrix<Double>) throws -> Double {
        try lowerBound(Self.statistics(x, responsibilities: try responsibilities(x)))
    }

    /// One coordinate-ascent sweep on the rows of `x` (responsibilities, then the posterior);
    /// returns the bound before the update.
    public mutating func sweep(on x: Matrix<Double>) throws -> Double {
        let s = Self.statistics(x, responsibilities: try responsibilities(x))
        let bound = try lowerBound(s)
        update(from: s)
        return bound
    }

    public func totalLogLikelihood(of data: BayesianMixtureTrainingData) throws -> Double {
        try lowerBound(Self.statistics(data.x, responsibilities: try responsibilities(data.x)))
    }

    /// None: the prior keeps every component's covariance proper, and empty components are the
    /// point of the method.
    public func degeneracies(on data: BayesianMixtureTrainingData) -> [Degeneracy] { [] }
}
