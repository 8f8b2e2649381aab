/// The nonzero entries of a batch, row by row (compressed sparse rows).
///
/// Binarised or thresholded images are mostly zeros (about 80% of MNIST's pixels), so a first layer
/// that multiplies only the nonzeros does a fraction of a dense GEMM's work. Both products hold a
/// 64-column strip of the output in registers while they run over the nonzeros (then 8-column
/// strips, then single columns), and add in a fixed order, so results depend only on the data.
struct SparseRows<S: NeuralScalar> {
    let rows: Int
    let columns: Int
    /// Row `i`'s entries are `starts[i] ..< starts[i + 1]` of `indices` and `values`.
    private(set) var starts: [Int]
    private(set) var indices: [Int32]
    private(set) var values: [S]

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
            indices.withUnsafeMutableBufferPointer { ip in
                values.withUnsafeMutableBufferPointer { vp in
                    var count = 0
                    for i in 0..<x.rows {
                        let row = xp.start + i * x.columns
                        var j = 0
                        while j < x.columns {
                            // Whole runs of eight zeros are skipped with one comparison.
                            if j + 8 <= x.columns, UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<S>.self) == .zero {
                                j += 8
                                continue
                            }
                            let end = min(j + 8, x.columns)
                            while j < end {
                                if row[j] != 0 {
                                    guard count < limit else { return nil }
                                    ip[count] = Int32(j)
                                    vp[count] = row[j]
                                    count += 1
                                }
                                j += 1
                            }
                        }
                        starts[i + 1] = count
                    }
                    return count
                }
            }
        }
        guard let count else { return nil }
        self.starts = starts
        self.indices = Array(indices.prefix(count))
        self.values = Array(values.prefix(count))
    }

    private typealias V = SIMD8<S>
    private static var strip: Int { 64 }

    @inline(__always) private static func load(_ p: UnsafePointer<S>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) private static func store(_ v: V, _ p: UnsafeMutablePointer<S>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// `y += X · W` with `W` row-major `columns × n` and `y` row-major `rows × n`.
    func multiply(_ w: UnsafePointer<S>, outputs n: Int, into y: UnsafeMutablePointer<S>) {
        let range = 0..<rows
        indices.withUnsafeBufferPointer { ip in
            values.withUnsafeBufferPointer { vp in
                let idx = ip.start, val = vp.start
                var c0 = 0
                while c0 + Self.strip <= n {
                    for i in range {
                        let out = y + (i * n + c0)
                        var a0 = Self.load(out), a1 = Self.load(out + 8), a2 = Self.load(out + 16), a3 = Self.load(out + 24)
                        var a4 = Self.load(out + 32), a5 = Self.load(out + 40), a6 = Self.load(out + 48), a7 = Self.load(out + 56)
                        for e in starts[i]..<starts[i + 1] {
                            let x = V(repeating: val[e]), row = w + (Int(idx[e]) * n + c0)
                            a0.addProduct(x, Self.load(row)); a1.addProduct(x, Self.load(row + 8))
                            a2.addProduct(x, Self.load(row + 16)); a3.addProduct(x, Self.load(row + 24))
                            a4.addProduct(x, Self.load(row + 32)); a5.addProduct(x, Self.load(row + 40))
                            a6.addProduct(x, Self.load(row + 48)); a7.addProduct(x, Self.load(row + 56))
                        }
                        Self.store(a0, out); Self.store(a1, out + 8); Self.store(a2, out + 16); Self.store(a3, out + 24)
                        Self.store(a4, out + 32); Self.store(a5, out + 40); Self.store(a6, out + 48); Self.store(a7, out + 56)
                    }
                    c0 += Self.strip
                }
                while c0 + 8 <= n {
                    for i in range {
                        let out = y + (i * n + c0)
                        var a = Self.load(out)
                        for e in starts[i]..<starts[i + 1] { a.addProduct(V(repeating: val[e]), Self.load(w + (Int(idx[e]) * n + c0))) }
                        Self.store(a, out)
                    }
                    c0 += 8
                }
                guard c0 < n else { return }
                for i in range {
                    let out = y + i * n
                    for e in starts[i]..<starts[i + 1] {
                        let x = val[e], row = w + Int(idx[e]) * n
                        for c in c0..<n { out[c] += x * row[c] }
                    }
                }
            }
        }
    }

    /// `dW = Xᵀ · G` (overwriting `dW`, row-major `columns × n`) with `G` row-major `rows × n`.
    func transposedMultiply(_ g: UnsafePointer<S>, outputs n: Int, into dw: UnsafeMutablePointer<S>) {
        dw.update(repeating: 0, count: columns * n)
        indices.withUnsafeBufferPointer { ip in
            values.withUnsafeBufferPointer { vp in
                let idx = ip.start, val = vp.start
                var c0 = 0
                while c0 + Self.strip <= n {
                    for i in 0..<rows {
                        let src = g + (i * n + c0)
                        let g0 = Self.load(src), g1 = Self.load(src + 8), g2 = Self.load(src + 16), g3 = Self.load(src + 24)
                        let g4 = Self.load(src + 32), g5 = Self.load(src + 40), g6 = Self.load(src + 48), g7 = Self.load(src + 56)
                        for e in starts[i]..<starts[i + 1] {
                            let x = V(repeating: val[e]), out = dw + (Int(idx[e]) * n + c0)
                            Self.store(Self.load(out).addingProduct(x, g0), out)
                            Self.store(Self.load(out + 8).addingProduct(x, g1), out + 8)
                            Self.store(Self.load(out + 16).addingProduct(x, g2), out + 16)
                            Self.store(Self.load(out + 24).addingProduct(x, g3), out + 24)
                            Self.store(Self.load(out + 32).addingProduct(x, g4), out + 32)
                            Self.store(Self.load(out + 40).addingProduct(x, g5), out + 40)
                            Self.store(Self.load(out + 48).addingProduct(x, g6), out + 48)
                            Self.store(Self.load(out + 56).addingProduct(x, g7), out + 56)
                        }
                    }
                    c0 += Self.strip
                }
                while c0 + 8 <= n {
                    for i in 0..<rows {
                        let gv = Self.load(g + (i * n + c0))
                        for e in starts[i]..<starts[i + 1] {
                            let out = dw + (Int(idx[e]) * n + c0)
                            Self.store(Self.load(out).addingProduct(V(repeating: val[e]), gv), out)
                        }
                    }
                    c0 += 8
                }
                guard c0 < n else { return }
                for i in 0..<rows {
                    let src = g + i * n
                    for e in starts[i]..<starts[i + 1] {
                        let x = val[e], out = dw + Int(idx[e]) * n
                        for c in c0..<n { out[c] += x * src[c] }
                    }
                }
            }
        }
    }
}
