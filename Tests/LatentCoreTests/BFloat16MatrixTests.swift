import Foundation
import Testing
import LatentCore
import LatentKernels

/// The bfloat16 product against a double-precision product of the same rounded operands, and the
/// rounding itself against its definition.
struct BFloat16MatrixTests {
    @Test func roundingIsToNearestWithTiesToEven() {
        #expect(BFloat16Matrix.round(1) == 1)
        #expect(BFloat16Matrix.round(-2.5) == -2.5)
        // The spacing of bfloat16 at 1 is 2⁻⁷: 1 + 2⁻⁸ is a tie between 1 (even) and 1 + 2⁻⁷.
        #expect(BFloat16Matrix.round(1 + 0x1p-8) == 1)
        #expect(BFloat16Matrix.round(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        #expect(BFloat16Matrix.round(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(BFloat16Matrix.round(.infinity) == .infinity)
        #expect(BFloat16Matrix.round(-.infinity) == -.infinity)
        #expect(BFloat16Matrix.round(.nan).isNaN)
        #expect(BFloat16Matrix.round(.greatestFiniteMagnitude) == .infinity)
        // Every value lands within half a unit in the last place of 8 significant bits (2⁻⁸ relative).
        var rng = Xoshiro256StarStar(seed: 41)
        for _ in 0..<10_000 {
            let v = Float(rng.nextNormal() * Foundation.exp(4 * rng.nextNormal()))
            let r = BFloat16Matrix.round(v)
            #expect(abs(r - v) <= abs(v) * 0x1p-8)
            #expect(r.bitPattern & 0xffff == 0)
        }
    }

    @Test(.enabled(if: BFloat16Matrix.isSupported, "needs AVX-512 BF16"))
    func productEqualsTheProductOfTheRoundedOperands() {
        var rng = Xoshiro256StarStar(seed: 42)
        // Edges: one row, rows not a multiple of 8 or of the 128-row block, columns not a multiple
        // of 16 or 32 (and three full panels: a pair and a single), an odd inner size, ones longer
        // than one and two 100-pair chunks, and an empty one. Small enough for the sanitizer build.
        let shapes = [(1, 1, 1), (7, 17, 3), (9, 33, 32), (130, 47, 201), (136, 48, 401), (3, 5, 0), (16, 16, 2)]
        for (m, n, k) in shapes {
            let (lda, ldc) = (k + 3, n + 2)
            let a = (0..<(m * lda)).map { _ in Float(rng.nextNormal()) }
            let b = Matrix<Float>(rows: k, columns: n, storage: (0..<(k * n)).map { _ in Float(rng.nextNormal()) })
            let bias = (0..<n).map { _ in Float(rng.nextNormal()) }
            let packed = BFloat16Matrix(b)
            for withBias in [false, true] {
                var c = [Float](repeating: 7, count: m * ldc)
                a.withUnsafeBufferPointer { ap in
                    c.withUnsafeMutableBufferPointer { cp in
                        packed.multiply(ap.baseAddress!, rows: m, leadingDimension: lda, bias: withBias ? bias : nil,
                                        into: cp.baseAddress!, leadingDimension: ldc)
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<ldc where j >= n { #expect(c[i * ldc + j] == 7, "padding column \(j) was written") }
                    for j in 0..<n {
                        var exact = withBias ? Double(bias[j]) : 0, magnitude = abs(exact)
                        for l in 0..<k {
                            let term = Double(BFloat16Matrix.round(a[i * lda + l])) * Double(BFloat16Matrix.round(b[l, j]))
                            exact += term
                            magnitude += abs(term)
                        }
                        // Single-precision sums of k terms: a few units of 2⁻²⁴ per term's magnitude.
                        let error = abs(Double(c[i * ldc + j]) - exact) / max(magnitude * 0x1p-24 * Double(k + 2), .leastNormalMagnitude)
                        if !(error <= worst) { worst = error.isNaN ? .infinity : error }   // a NaN fails too
                    }
                }
                #expect(worst <= 1, "m \(m) n \(n) k \(k) bias \(withBias): error \(worst) of the single-precision bound")
            }
        }
    }
}
