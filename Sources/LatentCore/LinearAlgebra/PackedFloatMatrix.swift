import LatentKernels

/// A `k × n` single-precision matrix packed once for many products `A·B` on the AVX-512 units, in
/// full single precision.
///
/// A BLAS SGEMM call packs both of its factors every time; when the same weights multiply a few
/// hundred rows thousands of times (a VAE decoder's output layer under importance sampling), that
/// packing took a tenth of the time (OpenBLAS, IWAE-500 scoring of MNIST on a Zen 4). Here `B` is
/// packed once, and the rows of `A` are read where they lie. See ``BFloat16Matrix`` for the
/// reduced-precision counterpart.
public struct PackedFloatMatrix: Sendable {
    /// `k`, the rows of the packed factor (the inner dimension of a product).
    public let rows: Int
    /// `n`, its columns (the columns of a product).
    public let columns: Int
    private let packed: [Float]

    /// Whether this machine runs the product: the CPU and operating system support AVX-512, and
    /// `LATENT_SIMD` does not cap Latent's kernels below it. (An AVX2 version was measured and
    /// dropped: on a Zen 4 it was 4–6% slower than OpenBLAS's SGEMM in IWAE scoring.)
    public static var isSupported: Bool { supported && InstructionSet.selected == .avx512 }
    private static let supported = latent_f32_packed_supported() != 0

    /// Packs the row-major `b` (`k × n`) into panels of 16 columns. O(k·n); portable (any CPU).
    public init(_ b: Matrix<Float>) {
        rows = b.rows
        columns = b.columns
        let count = Int(latent_f32_packed_count(b.rows, b.columns))
        packed = b.withUnsafeBufferPointer { bp in
            [Float](unsafeUninitializedCapacity: count) { out, initialised in
                if count > 0 { latent_f32_pack(bp.baseAddress, b.columns, b.rows, b.columns, out.baseAddress) }
                initialised = count
            }
        }
    }

    /// `c = a·B + bias` for the row-major `m × k` `a` (row stride `lda` ≥ k) into the row-major `m × n`
    /// `c` (row stride `ldc` ≥ n; its columns beyond n are not written); `bias` (n values, or nil for
    /// none). Single-precision sums, as SGEMM's (the order differs, so the last bits may).
    /// Requires ``isSupported``. O(m·n·k); allocates nothing.
    public func multiply(_ a: UnsafePointer<Float>, rows m: Int, leadingDimension lda: Int, bias: [Float]?,
                         into c: UnsafeMutablePointer<Float>, leadingDimension ldc: Int) {
        precondition(Self.isSupported, "The packed product needs AVX-512 (see PackedFloatMatrix.isSupported)")
        precondition(lda >= rows && ldc >= columns && (bias?.count ?? columns) == columns, "Shapes do not match")
        guard m > 0, columns > 0 else { return }
        packed.withUnsafeBufferPointer { pp in
            if let bias {
                bias.withUnsafeBufferPointer { latent_f32_packed_product(m, columns, rows, a, lda, pp.baseAddress, $0.baseAddress, c, ldc) }
            } else {
                latent_f32_packed_product(m, columns, rows, a, lda, pp.baseAddress, nil, c, ldc)
            }
        }
    }
}
