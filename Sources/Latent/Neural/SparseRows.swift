/// The nonzero entries of a batch, row by row (compressed sparse rows).
///
/// Binarised or thresholded images are mostly zeros (about 80% of MNIST's pixels), so a first layer
/// that multiplies only the nonzeros does a fraction of a dense GEMM's work. The products are C
/// kernels (``KernelScalar``) that add in a fixed order, so results depend only on the data.
struct SparseRows<S: NeuralScalar> {
    let rows: Int
    let columns: Int
    /// Row `i`'s entries are `starts[i] ..< starts[i + 1]` of `indices` and `values`.
    private(set) var starts: [Int]
    private(set) var indices: [Int32]
    private(set) var values: [S]

    /// The number of entries listed (the nonzeros).
    var nonzeroCount: Int { starts[rows] }

    /// Density below which both sparse products beat SGEMM (measured on MNIST-sized layers; a VAE
    /// decoder's ReLU outputs, about half zeros, were twice as slow as SGEMM).
    static var maximumDensity: Double { 0.3 }

    /// `x`'s nonzeros, or nil when more than ``maximumDensity`` of its entries are nonzero.
    init?(_ x: Matrix<S>) {
        rows = x.rows
        columns = x.columns
        let limit = Int(Self.maximumDensity * Double(x.elements.count))
        guard x.elements.count > 0 else { return nil }
        var starts = [Int](repeating: 0, count: x.rows + 1)
        var indices = [Int32](repeating: 0, count: limit)
        var values = [S](repeating: 0, count: limit)
        let count: Int? = x.withUnsafeBufferPointer { xp in
            starts.withUnsafeMutableBufferPointer { sp in
                indices.withUnsafeMutableBufferPointer { ip in
                    values.withUnsafeMutableBufferPointer { vp in
                        S.compressNonzeros(xp.start, rows: x.rows, columns: x.columns, limit: limit, starts: sp.start,
                                           indices: ip.start, values: vp.start)
                    }
                }
            }
        }
        guard let count else { return nil }
        self.starts = starts
        self.indices = Array(indices.prefix(count))
        self.values = Array(values.prefix(count))
    }

    private init(rows: Int, columns: Int, starts: [Int], indices: [Int32], values: [S]) {
        self.rows = rows
        self.columns = columns
        self.starts = starts
        self.indices = indices
        self.values = values
    }

    /// The rows `chosen` of this matrix in that order: what ``init(_:)`` finds in those rows of the
    /// dense matrix (nil, likewise, when more than ``maximumDensity`` of their entries are nonzero),
    /// gathered in `O(their nonzeros)` instead of a scan of every entry. A training loop finds the
    /// nonzeros of its data once and gathers each mini-batch's.
    @_specialize(where S == Float, C == ArraySlice<Int>)
    @_specialize(where S == Double, C == ArraySlice<Int>)
    func selecting<C: Collection>(_ chosen: C) -> SparseRows? where C.Element == Int {
        let cells = chosen.count * columns
        var total = 0
        for r in chosen { total += starts[r + 1] - starts[r] }
        guard cells > 0, total <= Int(Self.maximumDensity * Double(cells)) else { return nil }
        var newStarts = [Int](repeating: 0, count: chosen.count + 1)
        var newIndices = [Int32](repeating: 0, count: total), newValues = [S](repeating: 0, count: total)
        starts.withUnsafeBufferPointer { sp in
            indices.withUnsafeBufferPointer { ip in
                values.withUnsafeBufferPointer { vp in
                    newIndices.withUnsafeMutableBufferPointer { ni in
                        newValues.withUnsafeMutableBufferPointer { nv in
                            var at = 0
                            for (i, r) in chosen.enumerated() {
                                let count = sp[r + 1] - sp[r]
                                (ni.start + at).update(from: ip.start + sp[r], count: count)
                                (nv.start + at).update(from: vp.start + sp[r], count: count)
                                at += count
                                newStarts[i + 1] = at
                            }
                        }
                    }
                }
            }
        }
        return SparseRows(rows: chosen.count, columns: columns, starts: newStarts, indices: newIndices, values: newValues)
    }

    /// These rows above those of `other` (the same number of columns), the latter's values negated
    /// when `negatingBelow` is set: `[X; ±Y]`, so that one ``transposedMultiply(_:outputs:into:)``
    /// over `[G; H]` gives `XᵀG ± YᵀH`.
    func stacked(above other: SparseRows, negatingBelow: Bool) -> SparseRows {
        precondition(other.columns == columns, "Stacked rows need the same number of columns")
        let shift = starts[rows]
        return SparseRows(rows: rows + other.rows, columns: columns, starts: starts + other.starts.dropFirst().map { $0 + shift },
                          indices: indices + other.indices, values: values + (negatingBelow ? other.values.map { -$0 } : other.values))
    }

    /// `y += X · W` with `W` row-major `columns × n` and `y` row-major `rows × n`.
    func multiply(_ w: UnsafePointer<S>, outputs n: Int, into y: UnsafeMutablePointer<S>) {
        starts.withUnsafeBufferPointer { sp in
            indices.withUnsafeBufferPointer { ip in
                values.withUnsafeBufferPointer { vp in
                    S.sparseMultiply(rows: rows, starts: sp.start, indices: ip.start, values: vp.start, by: w, outputs: n, into: y)
                }
            }
        }
    }

    /// `dW = α·Xᵀ·G + β·dW` (`dW` row-major `columns × n`, not read when `β = 0`) with `G` row-major
    /// `rows × n`.
    func transposedMultiply(_ g: UnsafePointer<S>, outputs n: Int, into dw: UnsafeMutablePointer<S>, alpha: S = 1, beta: S = 0) {
        starts.withUnsafeBufferPointer { sp in
            indices.withUnsafeBufferPointer { ip in
                values.withUnsafeBufferPointer { vp in
                    S.sparseTransposedMultiply(rows: rows, columns: columns, starts: sp.start, indices: ip.start, values: vp.start,
                                               by: g, outputs: n, into: dw, alpha: alpha, beta: beta)
                }
            }
        }
    }
}
