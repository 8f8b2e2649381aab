import CLapack

/// Whether a BLAS operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transpose
    @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// A floating-point type that BLAS supports: `Double` (d-routines) and `Float` (s-routines).
///
/// All routines take row-major operands and leading dimensions, as CBLAS does.
public protocol BLASScalar: BinaryFloatingPoint, Sendable where Self.RawSignificand: FixedWidthInteger {
    /// `C ← α·op(A)·op(B) + β·C` with `op(A)` of size `m × k` and `op(B)` of size `k × n`.
    static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Upper triangle of `C ← α·Aᵀ·A + β·C` where `A` is `k × n` (row-major), `C` is `n × n`.
    static func syrkTransposed(n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                               beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Double: BLASScalar {
    @inlinable
    public static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable
    public static func syrkTransposed(n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                      beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard n > 0 else { return }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }
}

extension Float: BLASScalar {
    @inlinable
    public static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable
    public static func syrkTransposed(n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard n > 0 else { return }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }
}

/// Process-wide BLAS settings.
public enum BLAS {
    /// Pins the BLAS library to `count` threads. Latent splits rows across cores itself and keeps
    /// BLAS single-threaded: measured on the target machine, two OpenBLAS threads slow down the
    /// tall-skinny products that EM uses.
    public static func setThreads(_ count: Int) {
        latent_blas_set_threads(Int32(max(1, count)))
    }

    /// The kernel set the BLAS library chose for this CPU (OpenBLAS's core name, such as
    /// `"Haswell"` or `"SkylakeX"`; `"Accelerate"` on Apple platforms).
    public static var coreName: String { String(cString: latent_blas_core_name()) }

    /// OpenBLAS core names whose kernels predate AVX2: what an OpenBLAS release chooses on a CPU
    /// newer than itself (Debian 12's 0.3.21 on a 2023 Xeon reports "Prescott", an SSE3 kernel set
    /// that ran a 512³ DGEMM at 12 GFLOP/s where its SkylakeX kernels reach 62–66 on the same core).
    static let preAVX2CoreNames: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                                "katmai", "coppermine", "northwood", "banias", "sandybridge",
                                                "barcelona", "opteron", "opteron_sse3", "athlon", "bobcat"]

    /// The `OPENBLAS_CORETYPE` to ask for when the library fell back to a kernel set older than the
    /// CPU: `"SkylakeX"` with AVX-512, `"Haswell"` with AVX2 and FMA; `nil` when the choice is fine
    /// (or the CPU has neither). OpenBLAS reads the variable only when it is loaded, so a program
    /// must set it and start again (the `latent` tool does; a library user sets it in the
    /// environment).
    public static var recommendedCoreType: String? {
        guard latent_cpu_has_avx2_fma() != 0, preAVX2CoreNames.contains(coreName.lowercased()) else { return nil }
        return latent_cpu_has_avx512f() != 0 ? "SkylakeX" : "Haswell"
    }

    /// Tells the C allocator to keep large freed blocks for reuse (glibc), so that per-iteration
    /// buffers do not page-fault afresh. A process-wide setting for command-line tools.
    public static func keepLargeAllocations() {
        latent_keep_large_allocations()
    }
}

extension Matrix {
    /// The product `op(self) · op(other)`.
    public func multiplied(by other: Matrix, transposeSelf: Bool = false, transposeOther: Bool = false) -> Matrix {
        let m = transposeSelf ? columns : rows
        let k = transposeSelf ? rows : columns
        let k2 = transposeOther ? other.columns : other.rows
        let n = transposeOther ? other.rows : other.columns
        precondition(k == k2, "Inner dimensions differ: \(k) vs \(k2)")
        var out = Matrix(rows: m, columns: n)
        guard k > 0 else { return out }
        storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                out.storage.withUnsafeMutableBufferPointer { c in
                    Scalar.gemm(transposeSelf ? .transpose : .none, transposeOther ? .transpose : .none,
                                m: m, n: n, k: k, alpha: 1, a: a.start, lda: columns,
                                b: b.start, ldb: other.columns, beta: 0, c: c.start, ldc: n)
                }
            }
        }
        return out
    }

    /// The Gram matrix `selfᵀ · self` (symmetric, both triangles filled).
    public var gram: Matrix {
        var out = Matrix(rows: columns, columns: columns)
        guard rows > 0 else { return out }
        storage.withUnsafeBufferPointer { a in
            out.storage.withUnsafeMutableBufferPointer { c in
                Scalar.syrkTransposed(n: columns, k: rows, alpha: 1, a: a.start, lda: columns,
                                      beta: 0, c: c.start, ldc: columns)
            }
        }
        out.symmetrizeFromUpper()
        return out
    }

    /// Copies the upper triangle onto the lower one. - Complexity: `O(n²)`.
    @inlinable
    public mutating func symmetrizeFromUpper() {
        precondition(rows == columns, "symmetrizeFromUpper needs a square matrix")
        let n = rows
        storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in 0..<i { p[i &* n &+ j] = p[j &* n &+ i] } }
        }
    }

    @inlinable
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "Shapes differ")
        return Matrix(rows: lhs.rows, columns: lhs.columns, storage: zip(lhs.storage, rhs.storage).map { $0 + $1 })
    }

    @inlinable
    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "Shapes differ")
        return Matrix(rows: lhs.rows, columns: lhs.columns, storage: zip(lhs.storage, rhs.storage).map { $0 - $1 })
    }

    @inlinable
    public static func * (lhs: Scalar, rhs: Matrix) -> Matrix {
        Matrix(rows: rhs.rows, columns: rhs.columns, storage: rhs.storage.map { lhs * $0 })
    }
}
