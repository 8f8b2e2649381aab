import Foundation
import CLapack

/// A failure of a matrix decomposition.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The leading minor of order `minor` is not positive: the matrix is not positive definite.
    case notPositiveDefinite(minor: Int)
    /// LAPACK routine `routine` failed with status `info`.
    case lapackFailure(routine: String, info: Int)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let minor):
            return "matrix is not positive definite (leading minor \(minor) is not positive)"
        case .lapackFailure(let routine, let info):
            return "LAPACK \(routine) failed (info \(info))"
        }
    }
}

/// The Cholesky factorisation `A = L·Lᵀ` of a symmetric positive-definite matrix.
public struct Cholesky: Equatable, Sendable {
    /// The lower-triangular factor `L` (upper triangle zero).
    public let lower: Matrix<Double>

    /// Factorises `a` (only its lower triangle is read).
    ///
    /// - Throws: ``LinearAlgebraError/notPositiveDefinite(minor:)`` when `a` is not positive definite
    ///   (including when it holds NaN).
    public init(_ a: Matrix<Double>) throws {
        precondition(a.rows == a.columns, "Cholesky needs a square matrix, got \(a.rows) × \(a.columns)")
        let n = a.rows
        var l = a
        // Column-major 'U' on our row-major buffer is row-major lower (see CLapack.h).
        let info = l.storage.withUnsafeMutableBufferPointer { latent_dpotrf(CChar(UInt8(ascii: "U")), Int32(n), $0.baseAddress, Int32(max(1, n))) }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapackFailure(routine: "dpotrf", info: Int(info)) }
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { l.storage[i * n + j] = 0 } }
        for i in 0..<n where !(l.storage[i * n + i] > 0) || !l.storage[i * n + i].isFinite {
            throw LinearAlgebraError.notPositiveDefinite(minor: i + 1)
        }
        lower = l
    }

    /// `log det A = 2 Σ log Lᵢᵢ`.
    public var logDeterminant: Double {
        let n = lower.rows
        var s = 0.0
        for i in 0..<n { s += log(lower.storage[i * n + i]) }
        return 2 * s
    }

    /// `L⁻¹`, lower triangular.
    public var inverseLower: Matrix<Double> {
        let n = lower.rows
        var inv = lower
        let info = inv.storage.withUnsafeMutableBufferPointer {
            latent_dtrtri(CChar(UInt8(ascii: "U")), CChar(UInt8(ascii: "N")), Int32(n), $0.baseAddress, Int32(max(1, n)))
        }
        precondition(info == 0, "dtrtri failed on a Cholesky factor with a positive diagonal (info \(info))")
        return inv
    }

    /// The precision Cholesky factor `P = L⁻ᵀ` (upper triangular), so that `A⁻¹ = P·Pᵀ` and
    /// `(x − μ)ᵀA⁻¹(x − μ) = ‖(x − μ)ᵀP‖²`.
    public var precisionFactor: Matrix<Double> { inverseLower.transposed }

    /// `A⁻¹`.
    public var inverse: Matrix<Double> {
        let p = precisionFactor
        return p.multiplied(by: p, transposeOther: true)
    }

    /// Solves `A·x = b`.
    public func solve(_ b: [Double]) -> [Double] {
        Triangular.solveUpper(lower, transposeOfLower: true, Triangular.solveLower(lower, b))
    }
}

/// Forward and back substitution with small triangular matrices.
public enum Triangular {
    /// Solves `L·x = b` for lower-triangular `L`.
    public static func solveLower(_ l: Matrix<Double>, _ b: [Double]) -> [Double] {
        let n = l.rows
        precondition(b.count == n, "Right-hand side has \(b.count) entries, expected \(n)")
        var x = b
        for i in 0..<n {
            var s = x[i]
            for j in 0..<i { s -= l.storage[i * n + j] * x[j] }
            x[i] = s / l.storage[i * n + i]
        }
        return x
    }

    /// Solves `U·x = b` for upper-triangular `U`, or `Lᵀ·x = b` when `transposeOfLower` is set and
    /// the lower-triangular `L` is passed.
    public static func solveUpper(_ m: Matrix<Double>, transposeOfLower: Bool = false, _ b: [Double]) -> [Double] {
        let n = m.rows
        precondition(b.count == n, "Right-hand side has \(b.count) entries, expected \(n)")
        var x = b
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for j in (i + 1)..<max(i + 1, n) {
                s -= (transposeOfLower ? m.storage[j * n + i] : m.storage[i * n + j]) * x[j]
            }
            x[i] = s / m.storage[i * n + i]
        }
        return x
    }
}

/// Eigen-decomposition of a symmetric matrix.
public struct SymmetricEigen: Sendable {
    /// Eigenvalues in ascending order.
    public let values: [Double]
    /// Eigenvectors as columns, in the order of ``values``.
    public let vectors: Matrix<Double>

    /// Decomposes the symmetric matrix `a` with LAPACK's divide-and-conquer `dsyevd`.
    public init(_ a: Matrix<Double>) throws {
        precondition(a.rows == a.columns, "Eigen-decomposition needs a square matrix")
        let n = a.rows
        var work = a
        var w = [Double](repeating: 0, count: n)
        let info = work.storage.withUnsafeMutableBufferPointer { ap in
            w.withUnsafeMutableBufferPointer { wp in
                latent_dsyevd(CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), Int32(n), ap.baseAddress, Int32(max(1, n)), wp.baseAddress)
            }
        }
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dsyevd", info: Int(info)) }
        values = w
        // Column-major eigenvectors in a row-major buffer: transpose to get them as columns.
        vectors = work.transposed
    }
}

/// The thin singular value decomposition `A = U·diag(s)·Vᵀ`.
public struct SingularValueDecomposition: Sendable {
    public let u: Matrix<Double>
    public let singularValues: [Double]
    public let vt: Matrix<Double>

    public init(_ a: Matrix<Double>) throws {
        let m = a.rows, n = a.columns, k = min(m, n)
        // Column-major view of the row-major buffer is Aᵀ (n × m): decompose Aᵀ = V S Uᵀ.
        var at = a
        var s = [Double](repeating: 0, count: k)
        var uCol = [Double](repeating: 0, count: n * k)   // column-major n × k: holds V
        var vtCol = [Double](repeating: 0, count: k * m)  // column-major k × m: holds Uᵀ
        let info = at.storage.withUnsafeMutableBufferPointer { ap in
            s.withUnsafeMutableBufferPointer { sp in
                uCol.withUnsafeMutableBufferPointer { up in
                    vtCol.withUnsafeMutableBufferPointer { vp in
                        latent_dgesdd(Int32(n), Int32(m), ap.baseAddress, Int32(max(1, n)), sp.baseAddress,
                                      up.baseAddress, Int32(max(1, n)), vp.baseAddress, Int32(max(1, k)))
                    }
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dgesdd", info: Int(info)) }
        singularValues = s
        // vtCol column-major k × m holding Uᵀ ⇒ row-major m × k buffer is U.
        u = Matrix(rows: m, columns: k, storage: vtCol)
        // uCol column-major n × k holding V ⇒ row-major k × n buffer is Vᵀ.
        vt = Matrix(rows: k, columns: n, storage: uCol)
    }
}
