import Foundation
import Testing
import LatentCore
import LatentKernels

/// The packed single-precision product, through ``PackedFloatMatrix`` and through the C function on
/// panels packed by hand (the two agree bit for bit), against a double-precision product of the
/// same operands.
struct PackedFloatMatrixTests {
    @Test(.enabled(if: PackedFloatMatrix.isSupported, "needs AVX-512"))
    func productEqualsTheDoublePrecisionProduct() {
        var rng = Xoshiro256StarStar(seed: 43)
        // Edges: one row; rows not a multiple of the 12-row tile or of the 256-row block; columns not a multiple of 16 or 32 (a partial second panel of an AVX-512 pair
        // over two chunks: 17 × 203), three full panels (a pair and a single); inner sizes longer than
        // one and two 200-step chunks, and an empty one. Small enough for the sanitizer build.
        let shapes = [(1, 1, 1), (7, 17, 203), (13, 31, 201), (13, 33, 32), (259, 47, 201), (136, 48, 401), (3, 5, 0), (16, 16, 2)]
        for (m, n, k) in shapes {
            let (lda, ldc) = (k + 3, n + 2)
            let a = (0..<(m * lda)).map { _ in Float(rng.nextNormal()) }
            let b = Matrix<Float>(rows: k, columns: n, storage: (0..<(k * n)).map { _ in Float(rng.nextNormal()) })
            let bias = (0..<n).map { _ in Float(rng.nextNormal()) }
            let packed = PackedFloatMatrix(b)
            var panels = [Float](repeating: 0, count: latent_f32_packed_count(k, n))
            b.withUnsafeBufferPointer { bp in
                panels.withUnsafeMutableBufferPointer { latent_f32_pack(bp.baseAddress, n, k, n, $0.baseAddress) }
            }
            // The exact products and the magnitudes of their terms, once per shape.
            var exact = [Double](repeating: 0, count: m * n), magnitude = exact
            for i in 0..<m {
                for j in 0..<n {
                    for l in 0..<k {
                        let term = Double(a[i * lda + l]) * Double(b[l, j])
                        exact[i * n + j] += term
                        magnitude[i * n + j] += abs(term)
                    }
                }
            }
            for withBias in [false, true] {
                var first: [Float]?
                for throughSwift in [true, false] {
                    var c = [Float](repeating: 7, count: m * ldc)
                    a.withUnsafeBufferPointer { ap in
                        c.withUnsafeMutableBufferPointer { cp in
                            if throughSwift {
                                packed.multiply(ap.baseAddress!, rows: m, leadingDimension: lda, bias: withBias ? bias : nil,
                                                into: cp.baseAddress!, leadingDimension: ldc)
                            } else {
                                bias.withUnsafeBufferPointer { bp in
                                    latent_f32_packed_product(m, n, k, ap.baseAddress, lda, panels, withBias ? bp.baseAddress : nil,
                                                              cp.baseAddress, ldc)
                                }
                            }
                        }
                    }
                    let name = "m \(m) n \(n) k \(k) bias \(withBias) \(throughSwift ? "PackedFloatMatrix" : "C")"
                    if let first { #expect(c == first, "\(name) differs from PackedFloatMatrix") } else { first = c }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in n..<ldc { #expect(c[i * ldc + j] == 7, "\(name): padding column \(j) was written") }
                        for j in 0..<n {
                            let offset = withBias ? Double(bias[j]) : 0
                            // Single-precision sums of k terms: a few units of 2⁻²⁴ per term's magnitude.
                            let error = abs(Double(c[i * ldc + j]) - exact[i * n + j] - offset)
                                / max((magnitude[i * n + j] + abs(offset)) * 0x1p-24 * Double(k + 2), .leastNormalMagnitude)
                            if !(error <= worst) { worst = error.isNaN ? .infinity : error }   // a NaN fails too
                        }
                    }
                    #expect(worst <= 1, "\(name): error \(worst) of the single-precision bound")
                }
            }
        }
    }
}
