import Foundation

/// Per-row averages of a Gaussian mixture's E-step statistics as raw moments about a fixed origin:
/// the form in which online EM averages statistics that different models made (``OnlineGaussianMixture``,
/// and the Gaussian emissions of ``OnlineHiddenMarkovModel``).
///
/// Holds `n_k = E[r_k]`, `a_k = E[r_k (x − o)]`, the second moments `E[r_k (x − o)(x − o)ᵀ]` (full),
/// their diagonals (diag, spherical) or none (tied), and the data's `E[x − o]` and
/// `E[(x − o)(x − o)ᵀ]` (for the variance floor and tied covariances), `o` the origin.
public struct RunningMixtureMoments: Sendable {
    let origin: [Double]
    let type: CovarianceType
    let components: Int
    /// Rows behind the averages (every batch's, added up): the variance floor's `n − 1`.
    private(set) var rows: Int
    private(set) var counts: [Double], sums: [Double], second: [Double], columnMean: [Double], gram: [Double]

    /// Statistics `s` of complete rows made by a mixture with these `means` (full second moments are
    /// about them), per row, about `origin` (by default the rows' own mean).
    init(_ s: MixtureStatistics, means: Matrix<Double>, origin given: [Double]?) {
        let k = s.components, d = s.dimension, n = Double(max(1, s.rows))
        let origin = given ?? (0..<d).map { j in s.shift[j] + s.columnSums[j] / n }
        let toOrigin = (0..<d).map { s.shift[$0] - origin[$0] }   // c − o
        counts = s.counts.map { $0 / n }
        var sums = [Double](repeating: 0, count: k * d)
        for c in 0..<k { for j in 0..<d { sums[c * d + j] = (s.sums[c * d + j] + s.counts[c] * toOrigin[j]) / n } }
        var second: [Double]
        switch s.covarianceType {
        case .full:
            second = [Double](repeating: 0, count: k * d * d)
            for c in 0..<k {
                // Σ r (x − μ)(x − μ)ᵀ (upper triangle) → Σ r (x − o)(x − o)ᵀ with δ = μ − o, t = Σ r (x − μ).
                let delta = (0..<d).map { means[c, $0] - origin[$0] }
                let t = (0..<d).map { s.sums[c * d + $0] - s.counts[c] * (means[c, $0] - s.shift[$0]) }
                for a in 0..<d {
                    for b in 0..<d {
                        let centred = s.secondMoments[c * d * d + min(a, b) * d + max(a, b)]
                        second[c * d * d + a * d + b] = (centred + t[a] * delta[b] + delta[a] * t[b] + s.counts[c] * delta[a] * delta[b]) / n
                    }
                }
            }
        case .diag, .spherical:
            second = [Double](repeating: 0, count: k * d)
            for c in 0..<k {
                for j in 0..<d {
                    let e = toOrigin[j]
                    second[c * d + j] = (s.secondMoments[c * d + j] + 2 * e * s.sums[c * d + j] + s.counts[c] * e * e) / n
                }
            }
        case .tied:
            second = []
        }
        columnMean = (0..<d).map { (s.columnSums[$0] + n * toOrigin[$0]) / n }
        var gram = [Double](repeating: 0, count: d * d)
        for a in 0..<d {
            for b in 0..<d {
                gram[a * d + b] = (s.gram[a * d + b] + s.columnSums[a] * toOrigin[b] + toOrigin[a] * s.columnSums[b]
                                   + n * toOrigin[a] * toOrigin[b]) / n
            }
        }
        self.origin = origin
        self.type = s.covarianceType
        self.components = k
        rows = s.rows
        self.sums = sums
        self.second = second
        self.gram = gram
    }

    /// `self ← (1 − η)·self + η·other` (the same origin, type and shape).
    mutating func blend(toward other: RunningMixtureMoments, weight eta: Double) {
        precondition(other.origin == origin && other.type == type && other.components == components, "Moments about another origin")
        func mix(_ a: inout [Double], _ b: [Double]) { for i in a.indices { a[i] = (1 - eta) * a[i] + eta * b[i] } }
        mix(&counts, other.counts)
        mix(&sums, other.sums)
        mix(&second, other.second)
        mix(&columnMean, other.columnMean)
        mix(&gram, other.gram)
        rows += other.rows
    }

    /// The M-step: weights, means and covariances from the moments, the variance floor
    /// `regularization + relativeRegularization ×` each column's variance under them.
    func maximize(regularization: Double, relativeRegularization: Double) throws -> GaussianMixture {
        let k = components, d = origin.count
        let tiny = 10 * Double.ulpOfOne
        let total = counts.reduce(0, +) + tiny
        // Each column's variance with `n − 1` in the denominator, as a batch fit's floor.
        let unbiased = rows > 1 ? Double(rows) / Double(rows - 1) : 1
        let floors = (0..<d).map { j in
            regularization + relativeRegularization * unbiased * max(0, gram[j * d + j] - columnMean[j] * columnMean[j])
        }
        var means = Matrix<Double>(rows: k, columns: d)
        for c in 0..<k { for j in 0..<d { means[c, j] = origin[j] + sums[c * d + j] / (counts[c] + tiny) } }
        let covariances: MixtureCovariances
        switch type {
        case .full:
            covariances = .full((0..<k).map { c in
                var m = Matrix<Double>(rows: d, columns: d)
                let nk = counts[c] + tiny
                for a in 0..<d {
                    for b in 0..<d {
                        m[a, b] = second[c * d * d + a * d + b] / nk - (sums[c * d + a] / nk) * (sums[c * d + b] / nk)
                    }
                    m[a, a] += floors[a]
                }
                return SmallDense.symmetrized(m)
            })
        case .tied:
            var m = Matrix<Double>(rows: d, columns: d)
            for a in 0..<d {
                for b in 0..<d {
                    var within = gram[a * d + b]
                    for c in 0..<k { within -= sums[c * d + a] * sums[c * d + b] / (counts[c] + tiny) }
                    m[a, b] = within / total
                }
                m[a, a] += floors[a]
            }
            covariances = .tied(SmallDense.symmetrized(m))
        case .diag, .spherical:
            var v = Matrix<Double>(rows: k, columns: d)
            for c in 0..<k {
                let nk = counts[c] + tiny
                for j in 0..<d { v[c, j] = max(0, second[c * d + j] / nk - (sums[c * d + j] / nk) * (sums[c * d + j] / nk)) + floors[j] }
            }
            covariances = type == .diag ? .diag(v) : .spherical((0..<k).map { v.row($0).reduce(0, +) / Double(d) })
        }
        return try GaussianMixture(weights: counts.map { ($0 + tiny) / total }, means: means, covariances: covariances)
    }
}
