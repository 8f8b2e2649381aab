import Foundation

/// What EM for a linear-Gaussian model needs from the data: per missingness pattern, the count and
/// the first and second raw moments of the observed values (about the observed column means). Each
/// iteration then costs `O(patterns · D²k)`, independent of the number of rows.
public struct LinearGaussianTrainingData: Sendable {
    struct PatternMoments {
        let observed: [Int]
        let missing: [Int]
        let count: Int
        /// `Σ x_o` over the pattern's rows (centred on `shift`).
        let sum: [Double]
        /// `Σ x_o x_oᵀ` (centred on `shift`), `d_o × d_o`.
        let scatter: Matrix<Double>
    }

    let patterns: [PatternMoments]
    let shift: [Double]
    let count: Int
    let dimension: Int
    let noiseFloor: Double

    /// Prepares `x` (NaN = missing); rows with nothing observed are skipped (callers reject them first).
    init(_ x: Matrix<Double>, noiseFloor: Double) {
        let shift = x.observedColumnMeans
        self.shift = shift
        count = x.rows
        dimension = x.columns
        self.noiseFloor = noiseFloor
        patterns = MissingnessPatterns(x).groups.compactMap { g in
            guard !g.observed.isEmpty else { return nil }
            let dObs = g.observed.count
            var block = Matrix<Double>(rows: g.rows.count, columns: dObs)
            for (r, i) in g.rows.enumerated() {
                for (t, j) in g.observed.enumerated() { block[r, t] = x[i, j] - shift[j] }
            }
            let sum = (0..<dObs).map { t in (0..<g.rows.count).reduce(0.0) { $0 + block[$1, t] } }
            return PatternMoments(observed: g.observed, missing: g.missing, count: g.rows.count, sum: sum, scatter: block.gram)
        }
    }

    /// Complete data given by its moments: `count` rows with column means `mean` and scatter
    /// `Σ (x − mean)(x − mean)ᵀ` (what a pass over data read in blocks gives).
    init(count: Int, mean: [Double], scatter: Matrix<Double>, noiseFloor: Double) {
        shift = mean
        self.count = count
        dimension = mean.count
        self.noiseFloor = noiseFloor
        patterns = [PatternMoments(observed: Array(mean.indices), missing: [], count: count,
                                   sum: [Double](repeating: 0, count: mean.count), scatter: scatter)]
    }

    /// Data given by its per-pattern moments (about `shift`), as a pass over blocks gives them.
    init(patterns: [PatternMoments], shift: [Double], count: Int, noiseFloor: Double) {
        self.patterns = patterns
        self.shift = shift
        self.count = count
        dimension = shift.count
        self.noiseFloor = noiseFloor
    }

    /// The covariance of the data with missing values replaced by column means (divisor N).
    var meanImputedCovariance: Matrix<Double> {
        var c = Matrix<Double>(rows: dimension, columns: dimension)
        for p in patterns {
            for (t, j) in p.observed.enumerated() {
                for (u, l) in p.observed.enumerated() { c[j, l] += p.scatter[t, u] }
            }
        }
        return (1 / Double(max(1, count))) * c
    }
}

extension LinearGaussianModel: ExpectationMaximizable {
    public mutating func expectationMaximizationStep(on data: LinearGaussianTrainingData) throws -> Double {
        let d = dimension, k = factorCount, n = Double(data.count)
        let log2Pi = log(2 * Double.pi)
        // Work in coordinates centred on the data's shift.
        let mu = (0..<d).map { mean[$0] - data.shift[$0] }
        var logLikelihood = 0.0
        var g = Matrix<Double>(rows: k + 1, columns: k + 1)       // Σ E[z̃ z̃ᵀ], z̃ = (z, 1)
        var xz = Matrix<Double>(rows: d, columns: k + 1)          // Σ E[x z̃ᵀ]
        var xx = [Double](repeating: 0, count: d)                 // Σ E[x_j²]
        for p in data.patterns {
            let o = p.observed, dObs = o.count, np = Double(p.count)
            let post = LinearGaussianPosterior(self, observed: o)
            // Scatter about the current mean: C = S − s μᵀ − μ sᵀ + n μ μᵀ.
            var c = p.scatter
            for t in 0..<dObs {
                for u in 0..<dObs {
                    c[t, u] += -p.sum[t] * mu[o[u]] - mu[o[t]] * p.sum[u] + np * mu[o[t]] * mu[o[u]]
                }
            }
            // log-likelihood by Woodbury: −½[n d_o log 2π + n log|C_o| + Σ C_jj/ψ_j − tr(V·A C Aᵀ)]
            let aca = post.a.multiplied(by: c).multiplied(by: post.a, transposeOther: true)
            var trace = 0.0
            for t in 0..<dObs { trace += c[t, t] / noiseVariances[o[t]] }
            var correction = 0.0
            for f in 0..<k { for h in 0..<k { correction += post.covariance[f, h] * aca[h, f] } }
            logLikelihood += -0.5 * (np * (Double(dObs) * log2Pi + post.logDeterminant) + trace - correction)

            // Expected sufficient statistics.
            var centeredSum = [Double](repeating: 0, count: dObs)
            for t in 0..<dObs { centeredSum[t] = p.sum[t] - np * mu[o[t]] }
            let sm = (0..<k).map { f in (0..<dObs).reduce(0.0) { $0 + post.gain[f, $1] * centeredSum[$1] } }
            var ezz = post.gain.multiplied(by: c).multiplied(by: post.gain, transposeOther: true)
            for f in 0..<k { for h in 0..<k { ezz[f, h] += np * post.covariance[f, h] } }
            for f in 0..<k {
                for h in 0..<k { g[f, h] += ezz[f, h] }
                g[f, k] += sm[f]; g[k, f] += sm[f]
            }
            g[k, k] += np
            // Observed columns: Σ x_o mᵀ = (S − s μ_oᵀ) Bᵀ.
            var smu = p.scatter
            for t in 0..<dObs { for u in 0..<dObs { smu[t, u] -= p.sum[t] * mu[o[u]] } }
            let xm = smu.multiplied(by: post.gain, transposeOther: true)
            for (t, j) in o.enumerated() {
                for f in 0..<k { xz[j, f] += xm[t, f] }
                xz[j, k] += p.sum[t]
                xx[j] += p.scatter[t, t]
            }
            // Missing columns: x_j = μ_j + W_j z + ε_j, integrated out.
            for j in p.missing {
                var wsm = 0.0, wezzw = 0.0
                for f in 0..<k {
                    wsm += loadings[j, f] * sm[f]
                    var row = 0.0
                    for h in 0..<k { row += ezz[f, h] * loadings[j, h] }
                    xz[j, f] += mu[j] * sm[f] + row
                    wezzw += loadings[j, f] * row
                }
                xz[j, k] += mu[j] * np + wsm
                xx[j] += np * mu[j] * mu[j] + 2 * mu[j] * wsm + wezzw + np * noiseVariances[j]
            }
        }

        // M-step: W̃ = Σ E[x z̃ᵀ] (Σ E[z̃ z̃ᵀ])⁻¹, Ψ = diag(Σ E[x xᵀ] − W̃ Σ E[z̃ xᵀ]) / N.
        let gInverse: Matrix<Double>
        do { gInverse = try Cholesky(g).inverse } catch {
            throw ModelError.fitFailed("the factor scores became degenerate (\(error)); use fewer factors")
        }
        let wTilde = xz.multiplied(by: gInverse)
        var residual = [Double](repeating: 0, count: d)
        for j in 0..<d {
            var s = xx[j]
            for f in 0...k { s -= wTilde[j, f] * xz[j, f] }
            residual[j] = s / n
        }
        let psi: [Double]
        switch noise {
        case .diagonal: psi = residual.map { max($0, data.noiseFloor) }
        case .isotropic:
            let sigma2 = max(residual.reduce(0, +) / Double(d), data.noiseFloor)
            psi = [Double](repeating: sigma2, count: d)
        }
        var w = Matrix<Double>(rows: d, columns: k)
        var newMean = [Double](repeating: 0, count: d)
        for j in 0..<d {
            for f in 0..<k { w[j, f] = wTilde[j, f] }
            newMean[j] = wTilde[j, k] + data.shift[j]
        }
        self = try LinearGaussianModel(mean: newMean, loadings: w, noiseVariances: psi, noise: noise)
        return logLikelihood
    }

    public func totalLogLikelihood(of data: LinearGaussianTrainingData) throws -> Double {
        // One E-step on a copy computes exactly this likelihood.
        var copy = self
        return try copy.expectationMaximizationStep(on: data)
    }
}
