import Foundation

/// In-place Cholesky factorisation and solves for the small symmetric matrices of the Kalman
/// recursions, on flat row-major buffers and without allocation (LAPACK's call overhead dominates
/// at a few rows).
enum SmallCholesky {
    /// Overwrites the lower triangle of the `n × n` matrix at `a[offset...]` with its Cholesky
    /// factor `L` (the upper triangle is left as it was). False when a pivot is not positive.
    static func factor(_ a: inout [Double], n: Int, offset: Int = 0) -> Bool {
        for j in 0..<n {
            var diagonal = a[offset + j * n + j]
            for k in 0..<j { diagonal -= a[offset + j * n + k] * a[offset + j * n + k] }
            guard diagonal > 0, diagonal.isFinite else { return false }
            let pivot = diagonal.squareRoot()
            a[offset + j * n + j] = pivot
            for i in (j + 1)..<max(j + 1, n) {
                var s = a[offset + i * n + j]
                for k in 0..<j { s -= a[offset + i * n + k] * a[offset + j * n + k] }
                a[offset + i * n + j] = s / pivot
            }
        }
        return true
    }

    /// Factors a copy of `source` (`n × n`) into `factor`, adding `jitter·mean diagonal` (growing)
    /// when rounding has made it slightly indefinite. False if even that fails.
    static func robustFactor(_ source: [Double], into factor: inout [Double], n: Int) -> Bool {
        for i in 0..<(n * n) { factor[i] = source[i] }
        if Self.factor(&factor, n: n) { return true }
        var scale = 0.0
        for i in 0..<n { scale += abs(source[i * n + i]) }
        var jitter = 1e-12 * max(scale / Double(max(1, n)), 1e-300)
        for _ in 0..<8 {
            for i in 0..<(n * n) { factor[i] = source[i] }
            for i in 0..<n { factor[i * n + i] += jitter }
            if Self.factor(&factor, n: n) { return true }
            jitter *= 100
        }
        return false
    }

    /// `log det A = 2 Σ log Lᵢᵢ`.
    static func logDeterminant(_ l: [Double], n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += log(l[i * n + i]) }
        return 2 * s
    }

    /// Solves `A x = b` in place (`b` at `b[offset..<offset+n]`) with the factor `L` of `A`.
    static func solve(_ l: [Double], n: Int, _ b: inout [Double], offset: Int = 0) {
        for i in 0..<n {
            var s = b[offset + i]
            for k in 0..<i { s -= l[i * n + k] * b[offset + k] }
            b[offset + i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = b[offset + i]
            for k in (i + 1)..<max(i + 1, n) { s -= l[k * n + i] * b[offset + k] }
            b[offset + i] = s / l[i * n + i]
        }
    }
}
