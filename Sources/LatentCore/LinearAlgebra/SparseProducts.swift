import LatentKernels

/// Products of a sparse matrix in compressed-sparse-row form with a dense row-major one (the C
/// kernels of ``InstructionSet``). Row `i` of the sparse `rows × columns` matrix holds the entries
/// `starts[i] ..< starts[i + 1]` of `indices` (their columns) and `values`; `starts` has `rows + 1`
/// entries. Each output element adds its terms in the order of the nonzeros, so results depend only
/// on the data. Both cost `O(nonzeros · n)`.
public protocol SparseProductScalar: BLASScalar {
    /// `y += X·W`, with `W` row-major `columns × n` and `y` row-major `rows × n`.
    static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Self>,
                               by w: UnsafePointer<Self>, outputs n: Int, into y: UnsafeMutablePointer<Self>)
    /// `dW = Xᵀ·G`, overwriting the row-major `columns × n` `dW`; `G` is row-major `rows × n`.
    static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                         values: UnsafePointer<Self>, by g: UnsafePointer<Self>, outputs n: Int,
                                         into dw: UnsafeMutablePointer<Self>)
}

extension Float: SparseProductScalar {
    public static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Float>,
                                      by w: UnsafePointer<Float>, outputs n: Int, into y: UnsafeMutablePointer<Float>) {
        latent_sparse_multiply_f32(rows, starts, indices, values, w, n, y)
    }

    public static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                                values: UnsafePointer<Float>, by g: UnsafePointer<Float>, outputs n: Int,
                                                into dw: UnsafeMutablePointer<Float>) {
        latent_sparse_transposed_multiply_f32(rows, columns, starts, indices, values, g, n, dw)
    }
}

extension Double: SparseProductScalar {
    public static func sparseMultiply(rows: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Double>,
                                      by w: UnsafePointer<Double>, outputs n: Int, into y: UnsafeMutablePointer<Double>) {
        latent_sparse_multiply_f64(rows, starts, indices, values, w, n, y)
    }

    public static func sparseTransposedMultiply(rows: Int, columns: Int, starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>,
                                                values: UnsafePointer<Double>, by g: UnsafePointer<Double>, outputs n: Int,
                                                into dw: UnsafeMutablePointer<Double>) {
        latent_sparse_transposed_multiply_f64(rows, columns, starts, indices, values, g, n, dw)
    }
}
