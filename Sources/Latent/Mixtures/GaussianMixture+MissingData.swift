import Foundation

/// Gaussian mixtures on data with missing values (NaN): each row is scored on its observed
/// coordinates, and EM integrates the missing ones out exactly through the conditional Gaussian of
/// each component. Rows are grouped by missingness pattern, so the `Σ_oo` factorisations and
/// regression matrices are computed once per pattern and component.
extension GaussianMixture {
    /// Per pattern and component: what conditioning on the observed coordinates needs.
    struct ConditionalComponent {
        /// Cholesky factor of `Σ_oo`.
        let lower: Matrix<Double>
        /// `log w − ½(d_o log 2π + log det Σ_oo)`.
        let constant: Double
        /// `Σ_mo Σ_oo⁻¹` (`|m| × |o|`).
        let regression: Matrix<Double>
        /// `Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om` (`|m| × |m|`).
        let conditionalCovariance: Matrix<Double>
    }

    func conditionalComponents(observed o: [Int], missing m: [Int]) -> [ConditionalComponent] {
        let d = dimension
        let log2Pi = log(2 * Double.pi)
        return (0..<componentCount).map { k in
            let sigma = covariances.matrix(component: k, dimension: d)
            var soo = Matrix<Double>(rows: o.count, columns: o.count)
            for (a, i) in o.enumerated() { for (b, j) in o.enumerated() { soo[a, b] = sigma[i, j] } }
            // A principal submatrix of a positive-definite matrix is positive definite.
            let ch = try! Cholesky(soo)
            var regression = Matrix<Double>(rows: m.count, columns: o.count)
            var conditional = Matrix<Double>(rows: m.count, columns: m.count)
            if !m.isEmpty {
                for (a, i) in m.enumerated() {
                    let row = ch.solve(o.map { sigma[i, $0] })
                    for b in 0..<o.count { regression[a, b] = row[b] }
                }
                for (a, i) in m.enumerated() {
                    for (b, j) in m.enumerated() {
                        var s = sigma[i, j]
                        for (t, l) in o.enumerated() { s -= regression[a, t] * sigma[l, j] }
                        conditional[a, b] = s
                    }
                }
            }
            return ConditionalComponent(lower: ch.lower,
                                        constant: log(weights[k]) - 0.5 * (Double(o.count) * log2Pi + ch.logDeterminant),
                                        regression: regression, conditionalCovariance: conditional)
        }
    }

    /// One pass over data with missing values: per-row log-likelihoods, responsibilities, each
    /// component's `log wₖ +` log-density of the observed coordinates (`log wₖ` for a row with
    /// none), and optionally
    /// the M-step statistics (about the current means, centred on `shift`; weighted by `weights`
    /// when given — a hidden Markov model's state posteriors — else by the responsibilities) and the
    /// responsibility-weighted conditional means of the missing values.
    func evaluateWithMissing(_ x: Matrix<Double>, shift: [Double], statistics: Bool, imputation: Bool, weights given: Matrix<Double>? = nil)
        -> (logLikelihoods: [Double], responsibilities: Matrix<Double>, statistics: [Double], imputed: Matrix<Double>?,
            componentLogDensities: Matrix<Double>)
    {
        let k = componentCount, d = dimension
        let fullSecond = covarianceType == .full || covarianceType == .tied
        let secondCount = fullSecond ? k * d * d : k * d
        var stats = [Double](repeating: 0, count: statistics ? k + k * d + secondCount + 1 : 0)
        var ll = [Double](repeating: 0, count: x.rows)
        var resp = Matrix<Double>(rows: x.rows, columns: k)
        var densities = Matrix<Double>(rows: x.rows, columns: k)
        var imputed = imputation ? x : nil
        let mu = means
        for group in MissingnessPatterns(x).groups {
            let o = group.observed, m = group.missing
            let parts = o.isEmpty ? [] : conditionalComponents(observed: o, missing: m)
            // A row with nothing observed (a gap in an HMM's sequence): the missing block is all of it.
            let conditional = o.isEmpty ? (0..<k).map { covariances.matrix(component: $0, dimension: d) } : parts.map(\.conditionalCovariance)
            var completed = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
            var lp = [Double](repeating: 0, count: k)
            for i in group.rows {
                for c in 0..<k {
                    if o.isEmpty { lp[c] = log(weights[c]); completed[c] = mu.row(c); continue }
                    let diff = o.map { x[i, $0] - mu[c, $0] }
                    let y = Triangular.solveLower(parts[c].lower, diff)
                    lp[c] = parts[c].constant - 0.5 * y.reduce(0) { $0 + $1 * $1 }
                    for j in o { completed[c][j] = x[i, j] }
                    if !m.isEmpty {
                        for (a, j) in m.enumerated() {
                            var v = mu[c, j]
                            for t in 0..<o.count { v += parts[c].regression[a, t] * diff[t] }
                            completed[c][j] = v
                        }
                    }
                }
                let total = VectorMath.logSumExp(lp)
                ll[i] = total
                for c in 0..<k {
                    resp[i, c] = Foundation.exp(lp[c] - total)
                    densities[i, c] = lp[c]
                }
                if imputation, !m.isEmpty {
                    for j in m { imputed![i, j] = (0..<k).reduce(0.0) { $0 + resp[i, $1] * completed[$1][j] } }
                }
                guard statistics else { continue }
                stats[k + k * d + secondCount] += total
                for c in 0..<k {
                    let r = given?[i, c] ?? resp[i, c]
                    stats[c] += r
                    for j in 0..<d { stats[k + c * d + j] += r * (completed[c][j] - shift[j]) }
                    let base = k + k * d
                    if fullSecond {
                        for a in 0..<d {
                            let da = completed[c][a] - mu[c, a]
                            for b in a..<d { stats[base + c * d * d + a * d + b] += r * da * (completed[c][b] - mu[c, b]) }
                        }
                        for (a, ja) in m.enumerated() {
                            for (b, jb) in m.enumerated() where jb >= ja {
                                stats[base + c * d * d + ja * d + jb] += r * conditional[c][a, b]
                            }
                        }
                    } else {
                        for j in 0..<d { let t = completed[c][j] - mu[c, j]; stats[base + c * d + j] += r * t * t }
                        for (a, j) in m.enumerated() { stats[base + c * d + j] += r * conditional[c][a, a] }
                    }
                }
            }
        }
        return (ll, resp, stats, imputed, densities)
    }

    /// Fills each missing value with `E[x_m | x_o] = Σₖ p(k | x_o) E[x_m | x_o, k]`; observed values
    /// are returned unchanged.
    public func impute(_ x: Matrix<Double>) -> Matrix<Double> {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        return evaluateWithMissing(x, shift: [Double](repeating: 0, count: dimension), statistics: false, imputation: true).imputed!
    }

    /// Fills each missing value with a draw from `p(x_m | x_o)`: a component from the
    /// responsibilities, then the component's conditional Gaussian (a multiple imputation).
    public func imputeDraw(_ x: Matrix<Double>, using rng: inout Xoshiro256StarStar) -> Matrix<Double> {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        var out = x
        let resp = evaluateWithMissing(x, shift: [Double](repeating: 0, count: dimension), statistics: false, imputation: false).responsibilities
        for group in MissingnessPatterns(x).groups where !group.missing.isEmpty {
            let o = group.observed, m = group.missing
            let parts = o.isEmpty ? [] : conditionalComponents(observed: o, missing: m)
            for i in group.rows {
                let c = rng.nextCategorical(resp.row(i))
                var centre = m.map { means[c, $0] }
                let conditional: Matrix<Double>
                if o.isEmpty {
                    let sigma = covariances.matrix(component: c, dimension: dimension)
                    conditional = sigma
                } else {
                    for (a, _) in m.enumerated() {
                        for (t, j) in o.enumerated() { centre[a] += parts[c].regression[a, t] * (x[i, j] - means[c, j]) }
                    }
                    conditional = parts[c].conditionalCovariance
                }
                let root = (try? Cholesky(conditional).lower) ?? .diagonal(conditional.diagonal.map { max($0, 0).squareRoot() })
                let e = m.map { _ in rng.nextNormal() }
                for a in 0..<m.count {
                    var v = centre[a]
                    for b in 0...a { v += root[a, b] * e[b] }
                    out[i, m[a]] = v
                }
            }
        }
        return out
    }
}
