import Foundation

extension LinearGaussianModel {
    /// `log p(x_o)` for each row, on its observed coordinates (NaN marks a missing value; a row with
    /// nothing observed scores 0).
    /// - Precondition: `x` has ``dimension`` columns.
    public func logLikelihoods(of x: Matrix<Double>) -> [Double] {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        var out = [Double](repeating: 0, count: x.rows)
        let log2Pi = log(2 * Double.pi)
        for group in MissingnessPatterns(x).groups where !group.observed.isEmpty {
            let post = LinearGaussianPosterior(self, observed: group.observed)
            let o = group.observed
            var centered = [Double](repeating: 0, count: o.count)
            for i in group.rows {
                var quadratic = 0.0
                for (t, j) in o.enumerated() {
                    centered[t] = x[i, j] - mean[j]
                    quadratic += centered[t] * centered[t] / noiseVariances[j]
                }
                // Woodbury: (x−μ)ᵀC⁻¹(x−μ) = Σ r²/ψ − (A r)ᵀ V (A r).
                let ar = (0..<factorCount).map { f in (0..<o.count).reduce(0.0) { $0 + post.a[f, $1] * centered[$1] } }
                var correction = 0.0
                for f in 0..<factorCount { for g in 0..<factorCount { correction += ar[f] * post.covariance[f, g] * ar[g] } }
                out[i] = -0.5 * (Double(o.count) * log2Pi + post.logDeterminant + quadratic - correction)
            }
        }
        return out
    }

    /// `Σᵢ log p(xᵢ)` in nats.
    public func totalLogLikelihood(of x: Matrix<Double>) -> Double { logLikelihoods(of: x).reduce(0, +) }

    /// The mean log-likelihood per row in nats.
    public func meanLogLikelihood(of x: Matrix<Double>) -> Double { totalLogLikelihood(of: x) / Double(max(1, x.rows)) }

    /// The posterior means `E[z | x_o]` (`N × k`): the latent features of each row.
    public func latentMeans(of x: Matrix<Double>) -> Matrix<Double> {
        posterior(of: x).means
    }

    /// The posterior `p(z | x_o)` of each row: means (`N × k`) and, per row, the index into the
    /// shared covariances (rows with the same missing columns share one `k × k` covariance).
    public func posterior(of x: Matrix<Double>) -> (means: Matrix<Double>, covariances: [Matrix<Double>], covarianceIndex: [Int]) {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        let k = factorCount
        var means = Matrix<Double>(rows: x.rows, columns: k)
        var covariances: [Matrix<Double>] = []
        var index = [Int](repeating: 0, count: x.rows)
        for group in MissingnessPatterns(x).groups {
            let post = LinearGaussianPosterior(self, observed: group.observed)
            covariances.append(post.covariance)
            for i in group.rows {
                index[i] = covariances.count - 1
                for f in 0..<k {
                    var s = 0.0
                    for (t, j) in group.observed.enumerated() { s += post.gain[f, t] * (x[i, j] - mean[j]) }
                    means[i, f] = s
                }
            }
        }
        return (means, covariances, index)
    }

    /// Draws `count` points: `z ~ 𝒩(0, I)`, `x = μ + W z + ε`.
    public func sample(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>) {
        let d = dimension, k = factorCount
        var z = Matrix<Double>(rows: count, columns: k)
        z.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var x = z.multiplied(by: loadings, transposeOther: true)
        let sd = noiseVariances.map { $0.squareRoot() }
        for i in 0..<count { for j in 0..<d { x[i, j] += mean[j] + sd[j] * rng.nextNormal() } }
        return (x, z)
    }

    /// Fills each missing value with `E[x_m | x_o]`; observed values are returned unchanged.
    public func impute(_ x: Matrix<Double>) -> Matrix<Double> {
        var none: Xoshiro256StarStar? = nil
        return filled(x, rng: &none)
    }

    /// Fills each missing value with a draw from `p(x_m | x_o)` (a multiple imputation);
    /// observed values are returned unchanged.
    public func imputeDraw(_ x: Matrix<Double>, using rng: inout Xoshiro256StarStar) -> Matrix<Double> {
        var generator: Xoshiro256StarStar? = rng
        let out = filled(x, rng: &generator)
        rng = generator!
        return out
    }

    private func filled(_ x: Matrix<Double>, rng: inout Xoshiro256StarStar?) -> Matrix<Double> {
        var out = x
        let k = factorCount
        for group in MissingnessPatterns(x).groups where !group.missing.isEmpty {
            let post = LinearGaussianPosterior(self, observed: group.observed)
            let root = rng == nil ? nil : try? Cholesky(post.covariance).lower
            for i in group.rows {
                var z = [Double](repeating: 0, count: k)
                for f in 0..<k {
                    for (t, j) in group.observed.enumerated() { z[f] += post.gain[f, t] * (x[i, j] - mean[j]) }
                }
                if rng != nil, let root {
                    // z ~ 𝒩(E[z|x_o], V), then x_m = μ_m + W_m z + ε_m.
                    let e = (0..<k).map { _ in rng!.nextNormal() }
                    for f in 0..<k { for g in 0...f { z[f] += root[f, g] * e[g] } }
                }
                for j in group.missing {
                    var v = mean[j]
                    for f in 0..<k { v += loadings[j, f] * z[f] }
                    if rng != nil { v += noiseVariances[j].squareRoot() * rng!.nextNormal() }
                    out[i, j] = v
                }
            }
        }
        return out
    }
}
