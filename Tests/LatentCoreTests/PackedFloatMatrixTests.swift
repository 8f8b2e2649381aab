import Foundation
import Testing
import LatentCore
import LatentKernels

/// The packed single-precision product, each variant this CPU runs (AVX2, AVX-512) and the selected
/// one through ``PackedFloatMatrix``, against a double-precision product of the same operands.
struct PackedFloatMatrixTests {
    @Test(.enabled(if: PackedFloatMatrix.isSupported, "needs AVX2 with FMA"))
    func productEqualsTheDoublePrecisionProduct() {
        var rng = Xoshiro256StarStar(seed: 43)
        // Edges: one row; rows not a multiple of the tiles (6 with AVX2, 12 with AVX-512) or of the
        // 256-row block; columns not a multiple of 16 or 32, three full panels (a pair and a single);
        // inner sizes longer than one and two 200-step chunks, and an empty one. Small enough for
        // the sanitizer build.
        let shapes = [(1, 1, 1), (7, 17, 3), (13, 33, 32), (259, 47, 201), (136, 48, 401), (3, 5, 0), (16, 16, 2)]
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
            let levels: [latent_simd_level?] = [nil, LATENT_SIMD_AVX2] + (InstructionSet.widestSupported == .avx512 ? [LATENT_SIMD_AVX512] : [])
            for (withBias, level) in [false, true].flatMap({ bias in levels.map { (bias, $0) } }) {
                var c = [Float](repeating: 7, count: m * ldc)
                a.withUnsafeBufferPointer { ap in
                    c.withUnsafeMutableBufferPointer { cp in
                        if let level {
                            bias.withUnsafeBufferPointer { bp in
                                latent_f32_packed_product_variant(level, m, n, k, ap.baseAddress, lda, panels,
                                                                  withBias ? bp.baseAddress : nil, cp.baseAddress, ldc)
                            }
                        } else {
                            packed.multiply(ap.baseAddress!, rows: m, leadingDimension: lda, bias: withBias ? bias : nil,
                                            into: cp.baseAddress!, leadingDimension: ldc)
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in n..<ldc { #expect(c[i * ldc + j] == 7, "padding column \(j) was written") }
                    for j in 0..<n {
                        var exact = withBias ? Double(bias[j]) : 0, magnitude = abs(exact)
                        for l in 0..<k {
                            let term = Double(a[i * lda + l]) * Double(b[l, j])
                            exact += term
                            magnitude += abs(term)
                        }
                        // Single-precision sums of k terms: a few units of 2⁻²⁴ per term's magnitude.
                        worst = max(worst, abs(Double(c[i * ldc + j]) - exact) / (magnitude * 0x1p-24 * Double(k + 2)))
                    }
                }
                #expect(worst <= 1, "m \(m) n \(n) k \(k) bias \(withBias) variant \(level.map { "\($0.rawValue)" } ?? "selected"): error \(worst) of the single-precision bound")
            }
        }
    }
}
