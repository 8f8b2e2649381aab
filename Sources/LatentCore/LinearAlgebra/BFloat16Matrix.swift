import LatentKernels

/// A `k × n` single-precision matrix rounded to bfloat16 and packed for products `A·B` on the
/// AVX-512 BF16 dot-product instruction (twice SGEMM's multiply-add rate where the CPU has it).
///
/// Both factors of ``multiply(_:rows:leadingDimension:bias:into:leadingDimension:)`` are rounded to
/// bfloat16 (8 significant bits: a relative error of at most 2⁻⁸ per entry) and their products are
/// summed in single precision, so each output carries an error of order 2⁻⁸·√k·(typical |aᵢbᵢ|).
/// Use it only where that error has been measured to be harmless (IWAE scoring of a decoder, see
/// `ScoringPrecision` in Latent).
public struct BFloat16Matrix: Sendable {
    /// `k`, the rows of the packed factor (the inner dimension of a product).
    public let rows: Int
    /// `n`, its columns (the columns of a product).
    public let columns: Int
    private let packed: [UInt16]

    /// Whether this machine runs the product: the CPU and operating system support AVX-512 with
    /// BF16, and `LATENT_SIMD` does not cap Latent's kernels below AVX-512.
    public static var isSupported: Bool { supported && InstructionSet.selected == .avx512 }
    private static let supported = latent_bf16_supported() != 0

    /// Rounds and packs the row-major `b` (`k × n`). O(k·n); portable (any CPU).
    public init(_ b: Matrix<Float>) {
        rows = b.rows
        columns = b.columns
        let count = Int(latent_bf16_packed_count(b.rows, b.columns))
        packed = b.withUnsafeBufferPointer { bp in
            [UInt16](unsafeUninitializedCapacity: count) { out, initialised in
                if count > 0 { latent_bf16_pack(bp.baseAddress, b.columns, b.rows, b.columns, out.baseAddress) }
                initialised = count
            }
        }
    }

    /// `value` rounded to bfloat16 as the product rounds its operands (to nearest, ties to even).
    public static func round(_ value: Float) -> Float { latent_bf16_round(value) }

    /// `c = a·B + bias` for the row-major `m × k` `a` (row stride `lda` ≥ k) into the row-major `m × n`
    /// `c` (row stride `ldc` ≥ n); `bias` (n values, or nil for none) is added in single precision.
    /// Requires ``isSupported``. O(m·n·k), one scratch buffer of about 256·k bytes.
    public func multiply(_ a: UnsafePointer<Float>, rows m: Int, leadingDimension lda: Int, bias: [Float]?,
                         into c: UnsafeMutablePointer<Float>, leadingDimension ldc: Int) {
        precondition(Self.isSupported, "The bfloat16 product needs AVX-512 BF16 (see BFloat16Matrix.isSupported)")
        precondition(lda >= rows && ldc >= columns && (bias?.count ?? columns) == columns, "Shapes do not match")
        guard m > 0, columns > 0 else { return }
        packed.withUnsafeBufferPointer { pp in
            if let bias {
                bias.withUnsafeBufferPointer { latent_bf16_product(m, columns, rows, a, lda, pp.baseAddress, $0.baseAddress, c, ldc) }
            } else {
                latent_bf16_product(m, columns, rows, a, lda, pp.baseAddress, nil, c, ldc)
            }
        }
    }
}
