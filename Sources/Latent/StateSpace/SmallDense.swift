import Foundation

/// Products of the small matrices of a state-space model (a few states, a few observed columns),
/// written as plain loops: at these sizes a BLAS call costs more in dispatch than in arithmetic.
/// Internal to the Kalman recursions.
enum SmallDense {
    /// `a · b`.
    static func product(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Matrix<Double> {
        precondition(a.columns == b.rows, "Inner dimensions differ")
        var out = Matrix<Double>(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows {
            for k in 0..<a.columns {
                let v = a.elements[i * a.columns + k]
                if v == 0 { continue }
                for j in 0..<b.columns { out[i, j] += v * b.elements[k * b.columns + j] }
            }
        }
        return out
    }

    /// `a · bᵀ`.
    static func productTransposed(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Matrix<Double> {
        precondition(a.columns == b.columns, "Inner dimensions differ")
        var out = Matrix<Double>(rows: a.rows, columns: b.rows)
        for i in 0..<a.rows {
            for j in 0..<b.rows {
                var s = 0.0
                for k in 0..<a.columns { s += a.elements[i * a.columns + k] * b.elements[j * b.columns + k] }
                out[i, j] = s
            }
        }
        return out
    }

    /// `a · b · aᵀ`, symmetrised (`b` symmetric).
    static func sandwich(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Matrix<Double> {
        symmetrized(productTransposed(product(a, b), a))
    }

    /// `a · v`.
    static func apply(_ a: Matrix<Double>, _ v: [Double]) -> [Double] {
        precondition(a.columns == v.count, "Inner dimensions differ")
        return (0..<a.rows).map { i in
            var s = 0.0
            for k in 0..<a.columns { s += a.elements[i * a.columns + k] * v[k] }
            return s
        }
    }

    /// `(a + aᵀ) / 2`.
    static func symmetrized(_ a: Matrix<Double>) -> Matrix<Double> {
        var out = a
        let n = a.rows
        for i in 0..<n { for j in 0..<i {
            let v = 0.5 * (a.elements[i * n + j] + a.elements[j * n + i])
            out[i, j] = v
            out[j, i] = v
        } }
        return out
    }

    /// `u · vᵀ`.
    static func outer(_ u: [Double], _ v: [Double]) -> Matrix<Double> {
        var out = Matrix<Double>(rows: u.count, columns: v.count)
        for i in u.indices { for j in v.indices { out[i, j] = u[i] * v[j] } }
        return out
    }

    /// `a += s · b` in place.
    static func accumulate(_ a: inout Matrix<Double>, _ b: Matrix<Double>, scale s: Double = 1) {
        a.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += s * b.elements[i] } }
    }

    /// Solves `x · a = b` for `x` with `a` symmetric positive definite (`x = b · a⁻¹`), through
    /// its Cholesky factor.
    static func rightSolve(_ b: Matrix<Double>, _ a: Cholesky) -> Matrix<Double> {
        var out = Matrix<Double>(rows: b.rows, columns: b.columns)
        for i in 0..<b.rows {
            let row = a.solve(b.row(i))
            for j in 0..<b.columns { out[i, j] = row[j] }
        }
        return out
    }

    /// The rows `rows` and columns `columns` of `a`.
    static func submatrix(_ a: Matrix<Double>, rows: [Int], columns: [Int]) -> Matrix<Double> {
        var out = Matrix<Double>(rows: rows.count, columns: columns.count)
        for (r, i) in rows.enumerated() { for (c, j) in columns.enumerated() { out[r, c] = a[i, j] } }
        return out
    }

    /// Cholesky factor of a symmetric matrix that should be positive definite, adding a small
    /// multiple of its mean diagonal when rounding has made it slightly indefinite.
    static func robustCholesky(_ a: Matrix<Double>) throws -> Cholesky {
        if let c = try? Cholesky(a) { return c }
        let n = a.rows
        let scale = max((0..<n).reduce(0) { $0 + abs(a[$1, $1]) } / Double(max(1, n)), 1e-300)
        var jitter = 1e-12 * scale
        for _ in 0..<8 {
            var b = a
            for i in 0..<n { b[i, i] += jitter }
            if let c = try? Cholesky(b) { return c }
            jitter *= 100
        }
        return try Cholesky(a)
    }
}
