import LatentKernels

/// A scalar type (`Float`, `Double`) with Latent's C kernels for neural networks (see
/// ``InstructionSet``).
///
/// The sparse products take a matrix in compressed-sparse-row form: row `i` of the sparse
/// `rows × columns` matrix holds the entries `starts[i] ..< starts[i + 1]` of `indices` (their columns)
/// and `values`; `starts` has `rows + 1` entries. Each output element adds its terms in the order of
/// the nonzeros, so results depend only on the data. Both cost `O(nonzeros · n)`.
public protocol KernelScalar: BLASScalar {
    /// Sets `x[i]` to 0 wherever `reference[i] < 0` (`strictly`) or `reference[i] ≤ 0`, for `i < count`:
    /// the ReLU (`reference` = `x`, strictly) and its backward pass (`reference` = the output).
    /// `reference` is `x` itself or does not overlap it.
    static func zeroWhereNotPositive(_ x: UnsafeMutablePointer<Self>, reference: UnsafePointer<Self>, count: Int, strictly: Bool)
    /// `y += X·W`, with `W` row-major `columns × n` and `y` row-major `rows × n`.
    static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Self>,
                               by w: UnsafePointer<Self>, outputs n: Int, into y: UnsafeMutablePointer<Self>)
    /// Writes the nonzeros of the row-major `rows × columns` `x` in compressed-sparse-row form
    /// (`starts` holds `rows + 1` entries, `indices` and `values` room for `limit`); returns their
    /// number, or nil when there are more than `limit`.
    static func compressNonzeros(_ x: UnsafePointer<Self>, rows: Int, columns: Int, limit: Int, starts: UnsafeMutablePointer<Int>,
                                 indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Self>) -> Int?
    /// `dW = α·Xᵀ·G + β·dW` for the row-major `columns × n` `dW` (not read when `β = 0`: it may
    /// hold anything); `G` is row-major `rows × n`. With `β = 1` a gradient step lands in place.
    static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                         values: UnsafePointer<Self>, by g: UnsafePointer<Self>, outputs n: Int,
                                         into dw: UnsafeMutablePointer<Self>, alpha: Self, beta: Self)
    /// `dW = α·(XᵀG + s·YᵀK) + β·dW` for dense row-major `X` (`rowsX × columns`), `G` (`rowsX × n`),
    /// `Y` (`rowsY × columns`) and `K` (`rowsY × n`), skipping each row's all-zero chunks of four
    /// consecutive columns: the product for binary images, whose zeros come in runs along the rows,
    /// where it loads each row of `G` or `K` once for four rows of `dW`. Each element of `dW` adds its
    /// terms in the order of the rows, `X`'s then `Y`'s, as `sparseTransposedMultiply` does over
    /// `[X; s·Y]` (an exact zero inside a listed chunk adds `0·G`). Returns false, with `dW`
    /// untouched, when more than `limit` chunks hold a nonzero (about `nonzeros / 2` keeps it no
    /// slower than the sparse product) or when the CPU's vectors are narrower than AVX2's.
    /// - Complexity: `O((rowsX + rowsY)·columns)` to list the chunks, `O(4·chunks·n)` multiply-adds.
    static func chunkedTransposedMultiply(columns: Int, outputs n: Int, x: UnsafePointer<Self>, g: UnsafePointer<Self>, rowsX: Int,
                                          y: UnsafePointer<Self>, k: UnsafePointer<Self>, rowsY: Int, sign: Self,
                                          into dw: UnsafeMutablePointer<Self>, alpha: Self, beta: Self, limit: Int) -> Bool
}

/// Scratch for the chunked product: `chunks + 1` starts and ends, `limit + chunks` sources and four
/// values per source.
private func withChunkScratch<S>(columns: Int, limit: Int,
                                 _ body: (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>,
                                          UnsafeMutablePointer<UnsafePointer<S>?>, UnsafeMutablePointer<S>) -> Int) -> Bool {
    let chunks = (columns + 3) / 4, slots = Swift.max(1, limit + chunks)
    return withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * (chunks + 1)) { bounds in
        withUnsafeTemporaryAllocation(of: UnsafePointer<S>?.self, capacity: slots) { sources in
            withUnsafeTemporaryAllocation(of: S.self, capacity: 4 * slots) { values in
                body(bounds.baseAddress!, bounds.baseAddress! + chunks + 1, sources.baseAddress!, values.baseAddress!) == 0
            }
        }
    }
}

extension Float: KernelScalar {
    public static func zeroWhereNotPositive(_ x: UnsafeMutablePointer<Float>, reference: UnsafePointer<Float>, count: Int, strictly: Bool) {
        latent_zero_where_not_positive_f32(x, reference, count, strictly ? 1 : 0)
    }

    public static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Float>,
                                      by w: UnsafePointer<Float>, outputs n: Int, into y: UnsafeMutablePointer<Float>) {
        latent_sparse_multiply_f32(rows, starts, indices, values, w, n, y)
    }

    public static func compressNonzeros(_ x: UnsafePointer<Float>, rows: Int, columns: Int, limit: Int, starts: UnsafeMutablePointer<Int>,
                                        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>) -> Int? {
        let count = latent_compress_rows_f32(x, rows, columns, limit, starts, indices, values)
        return count < 0 ? nil : count
    }

    public static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                                values: UnsafePointer<Float>, by g: UnsafePointer<Float>, outputs n: Int,
                                                into dw: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        let count = starts[rows]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: columns + 1) { ends in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: Swift.max(1, count)) { entryRows in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(1, count)) { entryValues in
                    latent_sparse_transposed_multiply_f32(rows, columns, starts, indices, values, g, n, dw, ends.baseAddress!,
                                                          entryRows.baseAddress!, entryValues.baseAddress!, alpha, beta)
                }
            }
        }
    }
    public static func chunkedTransposedMultiply(columns: Int, outputs n: Int, x: UnsafePointer<Float>, g: UnsafePointer<Float>, rowsX: Int,
                                                 y: UnsafePointer<Float>, k: UnsafePointer<Float>, rowsY: Int, sign: Float,
                                                 into dw: UnsafeMutablePointer<Float>, alpha: Float, beta: Float, limit: Int) -> Bool {
        withChunkScratch(columns: columns, limit: limit) { starts, ends, sources, values in
            latent_chunked_transposed_multiply_f32(columns, n, rowsX, x, g, rowsY, y, k, sign, dw, alpha, beta, limit, starts, ends, sources, values)
        }
    }
}

extension Double: KernelScalar {
    public static func zeroWhereNotPositive(_ x: UnsafeMutablePointer<Double>, reference: UnsafePointer<Double>, count: Int, strictly: Bool) {
        latent_zero_where_not_positive_f64(x, reference, count, strictly ? 1 : 0)
    }

    public static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Double>,
                                      by w: UnsafePointer<Double>, outputs n: Int, into y: UnsafeMutablePointer<Double>) {
        latent_sparse_multiply_f64(rows, starts, indices, values, w, n, y)
    }

    public static func compressNonzeros(_ x: UnsafePointer<Double>, rows: Int, columns: Int, limit: Int, starts: UnsafeMutablePointer<Int>,
                                        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Double>) -> Int? {
        let count = latent_compress_rows_f64(x, rows, columns, limit, starts, indices, values)
        return count < 0 ? nil : count
    }

    public static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                                values: UnsafePointer<Double>, by g: UnsafePointer<Double>, outputs n: Int,
                                                into dw: UnsafeMutablePointer<Double>, alpha: Double, beta: Double) {
        let count = starts[rows]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: columns + 1) { ends in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: Swift.max(1, count)) { entryRows in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: Swift.max(1, count)) { entryValues in
                    latent_sparse_transposed_multiply_f64(rows, columns, starts, indices, values, g, n, dw, ends.baseAddress!,
                                                          entryRows.baseAddress!, entryValues.baseAddress!, alpha, beta)
                }
            }
        }
    }

    public static func chunkedTransposedMultiply(columns: Int, outputs n: Int, x: UnsafePointer<Double>, g: UnsafePointer<Double>, rowsX: Int,
                                                 y: UnsafePointer<Double>, k: UnsafePointer<Double>, rowsY: Int, sign: Double,
                                                 into dw: UnsafeMutablePointer<Double>, alpha: Double, beta: Double, limit: Int) -> Bool {
        withChunkScratch(columns: columns, limit: limit) { starts, ends, sources, values in
            latent_chunked_transposed_multiply_f64(columns, n, rowsX, x, g, rowsY, y, k, sign, dw, alpha, beta, limit, starts, ends, sources, values)
        }
    }
}
