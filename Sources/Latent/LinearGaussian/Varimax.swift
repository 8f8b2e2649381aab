/// Kaiser's varimax rotation.
public enum Varimax {
    /// The orthogonal `k × k` matrix `R` such that `W·R` maximises the varimax criterion
    /// (iterated SVD, Kaiser 1958; stops when the criterion improves by less than `tolerance`).
    public static func rotation(for loadings: Matrix<Double>, maxIterations: Int = 500, tolerance: Double = 1e-10) -> Matrix<Double> {
        let p = loadings.rows, k = loadings.columns
        var r = Matrix<Double>.identity(k)
        guard k > 1 else { return r }
        var previous = 0.0
        for _ in 0..<maxIterations {
            let l = loadings.multiplied(by: r)
            // B = Wᵀ (L³ − L · diag(Σ L²) / p)
            var target = Matrix<Double>(rows: p, columns: k)
            for f in 0..<k {
                var colSq = 0.0
                for j in 0..<p { colSq += l[j, f] * l[j, f] }
                for j in 0..<p { target[j, f] = l[j, f] * l[j, f] * l[j, f] - l[j, f] * colSq / Double(p) }
            }
            let b = loadings.multiplied(by: target, transposeSelf: true)
            guard let svd = try? SingularValueDecomposition(b) else { break }
            r = svd.u.multiplied(by: svd.vt)
            let criterion = svd.singularValues.reduce(0, +)
            if previous > 0 && criterion < previous * (1 + tolerance) { break }
            previous = criterion
        }
        return r
    }
}
