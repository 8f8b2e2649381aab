import Foundation
import Testing
import LatentCore

@Suite struct VectorMathTests {
    @Test func selectionFindsTheOrderStatisticsOfASort() {
        var rng = Xoshiro256StarStar(seed: 4)
        for trial in 0..<300 {
            let count = 1 + rng.nextInt(below: 60)
            // Every third trial draws from a handful of values, so ties are common.
            var values = (0..<count + 3).map { _ in trial % 3 == 0 ? Double(rng.nextInt(below: 4)) : rng.nextNormal() }
            let tail = Array(values[count...])
            let sorted = values[..<count].sorted()
            let k = rng.nextInt(below: count)
            #expect(Selection.smallest(k, in: &values, count: count) == sorted[k])
            #expect(values[..<count].sorted() == sorted && Array(values[count...]) == tail)
        }
    }

    @Test func simdExponentialMatchesLibm() {
        var rng = Xoshiro256StarStar(seed: 9)
        var xs = (0..<10_000).map { _ in rng.nextUniform() * 1400 - 700 }
        xs += [0, -0.0, 1, -1, 709.7, -708.3, -744, -750, 710, -1e-300]
        var ys = xs
        VectorMath.expInPlace(&ys)
        for (x, y) in zip(xs, ys) {
            let reference = Foundation.exp(x)
            if reference == 0 || reference.isInfinite || reference < Double.leastNormalMagnitude {
                #expect(abs(y - reference) <= Double.leastNormalMagnitude || y == reference, "exp(\(x)) = \(y)")
            } else {
                #expect(abs(y - reference) / reference < 2e-15, "exp(\(x)): \(y) vs \(reference)")
            }
        }
        var nan = [Double.nan, -.infinity]
        VectorMath.expInPlace(&nan)
        #expect(nan[0].isNaN && nan[1] == 0)
        // The SIMD8 exponential that Swift code inlines (unfused multiply-adds).
        for start in stride(from: 0, to: 10_000, by: 8) {
            let e = VectorMath.exp(SIMD8<Double>(xs[start..<(start + 8)]))
            for l in 0..<8 where Foundation.exp(xs[start + l]) >= Double.leastNormalMagnitude {
                let reference = Foundation.exp(xs[start + l])
                #expect(abs(e[l] - reference) / reference < 4e-15, "exp(\(xs[start + l])): \(e[l]) vs \(reference)")
            }
        }
    }

    @Test func singlePrecisionExpAndBernoulliTermsMatchReferences() {
        var rng = Xoshiro256StarStar(seed: 4)
        for _ in 0..<2000 {
            var v = SIMD8<Float>()
            for t in 0..<8 { v[t] = Float(rng.nextUniform() * 170 - 85) }
            let e = VectorMath.exp(v)
            for t in 0..<8 {
                let reference = Foundation.exp(Double(v[t]))
                #expect(abs(Double(e[t]) - reference) / reference < 5e-7, "exp(\(v[t]))")
            }
        }
        // Bernoulli log-likelihood and gradient against the double-precision formulas.
        let n = 37
        let x = (0..<n).map { _ in Float(rng.nextUniform() < 0.3 ? 1 : 0) }
        let f = (0..<n).map { _ in Float(rng.nextNormal() * 6) }
        var g = [Float](repeating: 0, count: n)
        let total = x.withUnsafeBufferPointer { xp in f.withUnsafeBufferPointer { fp in g.withUnsafeMutableBufferPointer { gp in
            VectorMath.bernoulli(targets: xp.baseAddress!, logits: fp.baseAddress!, count: n, gradientWeight: 0.5, gradient: gp.baseAddress!)
        } } }
        var reference = 0.0
        for j in 0..<n {
            let fd = Double(f[j]), sp = fd > 0 ? fd + log1p(exp(-fd)) : log1p(exp(fd))
            reference += Double(x[j]) * fd - sp
            #expect(abs(Double(g[j]) - 0.5 * (Double(x[j]) - 1 / (1 + exp(-fd)))) < 1e-6)
        }
        #expect(abs(total - reference) < 1e-5 * max(1, abs(reference)))
        // Scoring (no gradient) sums the log1p terms as logarithms of products: against double
        // precision on binary and fractional targets, logits out to ±100, lengths across every fold.
        for count in [1, 15, 16, 37, 784, 20_011] {
            for binary in [true, false] {
                let x = (0..<count).map { _ in Float(binary ? (rng.nextUniform() < 0.3 ? 1 : 0) : rng.nextUniform()) }
                let f = (0..<count).map { i in Float(i % 97 == 0 ? rng.nextUniform() * 200 - 100 : rng.nextNormal() * 6) }
                let score = x.withUnsafeBufferPointer { xp in f.withUnsafeBufferPointer { fp in
                    VectorMath.bernoulli(targets: xp.baseAddress!, logits: fp.baseAddress!, count: count, gradientWeight: 0, gradient: nil)
                } }
                let exact = (0..<count).reduce(0.0) { sum, j in
                    let fd = Double(f[j])
                    return sum + Double(x[j]) * fd - (max(fd, 0) + log1p(exp(-abs(fd))))
                }
                #expect(abs(score - exact) < 2e-7 * Double(count) + 1e-6, "n = \(count), binary \(binary): \(score) against \(exact)")
            }
        }
    }

    @Test func logSumExpRowsIsStableAndNormalises() {
        var values: [Double] = [1000, 1000, -1000, -1e6, -1e6 - 1, -1e6 - 2, -.infinity, -.infinity, -.infinity]
        var out = [Double](repeating: 0, count: 3)
        values.withUnsafeMutableBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                VectorMath.logSumExpRows(v.baseAddress!, rows: 3, columns: 3, into: o.baseAddress!, normalize: true)
            }
        }
        #expect(abs(out[0] - (1000 + log(2))) < 1e-12)
        #expect(abs(out[1] - (-1e6 + log(1 + exp(-1) + exp(-2)))) < 1e-9)
        #expect(out[2] == -.infinity)
        #expect(abs(values[0] - 0.5) < 1e-15 && values[2] == 0)
        #expect(abs(values[3...5].reduce(0, +) - 1) < 1e-15)
        #expect(values[6...8].allSatisfy { abs($0 - 1.0 / 3) < 1e-15 })
        #expect(abs(VectorMath.logSumExp([-1e4, -1e4]) - (-1e4 + log(2))) < 1e-9)
    }

    @Test func chunkedWorkIsIndependentOfThreadCount() {
        let work = ChunkedWork(count: 100_000, minimumChunk: 1000)
        #expect(work.ranges.first?.lowerBound == 0 && work.ranges.last?.upperBound == 100_000)
        #expect(zip(work.ranges, work.ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        func sums(_ threads: Int) -> [Double] {
            var partial = [Double](repeating: 0, count: work.ranges.count)
            partial.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                work.run(threads: threads) { c, r in for i in r { base[c] += 1 / Double(i + 1) } }
            }
            return partial
        }
        #expect(sums(1) == sums(2))
    }
}
