/// Per-component weighted moments of complete data, read from a mixture kernel's flat statistics:
/// the counts `N_k = Σᵢ rᵢₖ`, the means `x̄_k` (relative to the data's shift) and the scatter about
/// them, `T_k = Σᵢ rᵢₖ (xᵢ − x̄_k)(xᵢ − x̄_k)ᵀ`, in the covariance type's shape (not divided by `N_k`,
/// so an empty component has zero scatter rather than 0/0).
struct MixtureMoments {
    /// `N_k`.
    let counts: [Double]
    /// `x̄_k − shift`, `K × D` row-major; zero for an empty component.
    let centeredMeans: [Double]
    /// full: `T_k` per component; tied: `Σ_k T_k`; diag: the diagonals of the `T_k` (`K × D`);
    /// spherical: their traces.
    let scatter: MixtureCovariances

    /// - Parameters:
    ///   - stats: the kernel's statistics (`n | s | second | logLikelihood`) of complete rows.
    ///   - referenceMeans: the centred means about which full second moments were taken (zeros for
    ///     the other types and for statistics of given responsibilities).
    init(_ stats: [Double], components k: Int, type: CovarianceType, data: MixtureTrainingData, referenceMeans: [Double]) {
        precondition(!data.hasMissing, "Moments of complete data only")
        self.init(stats, components: k, type: type, dimension: data.data.columns, gram: data.gram, referenceMeans: referenceMeans)
    }

    /// - Parameter gram: tied covariances: the data's `Σᵢ (xᵢ − shift)(xᵢ − shift)ᵀ`.
    init(_ stats: [Double], components k: Int, type: CovarianceType, dimension d: Int, gram: Matrix<Double>?, referenceMeans: [Double]) {
        let kd = k * d
        let tiny = 10 * Double.ulpOfOne
        let counts = Array(stats[0..<k])
        self.counts = counts
        var means = [Double](repeating: 0, count: kd)
        for c in 0..<k { for j in 0..<d { means[c * d + j] = stats[k + c * d + j] / (counts[c] + tiny) } }
        centeredMeans = means
        let second = k + kd
        switch type {
        case .full:
            scatter = .full((0..<k).map { c in
                var m = Matrix<Double>(rows: d, columns: d)
                for a in 0..<d {
                    let oa = means[c * d + a] - referenceMeans[c * d + a]
                    for b in a..<d {
                        let ob = means[c * d + b] - referenceMeans[c * d + b]
                        m[a, b] = stats[second + c * d * d + a * d + b] - counts[c] * oa * ob
                    }
                }
                m.symmetrizeFromUpper()
                return m
            })
        case .tied:
            var m = gram!
            for c in 0..<k {
                for a in 0..<d { for b in 0..<d { m[a, b] -= counts[c] * means[c * d + a] * means[c * d + b] } }
            }
            scatter = .tied(SmallDense.symmetrized(m))
        case .diag, .spherical:
            var v = Matrix<Double>(rows: k, columns: d)
            for c in 0..<k {
                for j in 0..<d { v[c, j] = max(0, stats[second + c * d + j] - counts[c] * means[c * d + j] * means[c * d + j]) }
            }
            scatter = type == .diag ? .diag(v) : .spherical((0..<k).map { v.row($0).reduce(0, +) })
        }
    }
}
