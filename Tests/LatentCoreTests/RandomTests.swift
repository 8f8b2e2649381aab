import Foundation
import Testing
import LatentCore

@Suite struct RandomTests {
    @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
        var a = Xoshiro256StarStar(seed: 42), b = Xoshiro256StarStar(seed: 42), c = Xoshiro256StarStar(seed: 43)
        let xa = (0..<10).map { _ in a.next() }, xb = (0..<10).map { _ in b.next() }, xc = (0..<10).map { _ in c.next() }
        #expect(xa == xb)
        #expect(xa != xc)
        let d1 = Xoshiro256StarStar(seed: 42).derived(1), d2 = Xoshiro256StarStar(seed: 42).derived(2)
        #expect(d1 != d2)
    }

    func moments(_ xs: [Double]) -> (mean: Double, variance: Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        return (m, xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1))
    }

    @Test func normalGammaPoissonHaveTheirMoments() {
        var rng = Xoshiro256StarStar(seed: 7)
        let n = 200_000
        let normal = moments((0..<n).map { _ in rng.nextNormal() })
        #expect(abs(normal.mean) < 0.01 && abs(normal.variance - 1) < 0.02)
        for shape in [0.5, 1.0, 3.7] {
            let g = moments((0..<n).map { _ in rng.nextGamma(shape: shape) })
            // Gamma(a, 1): mean a, variance a; standard error of the mean sqrt(a/n).
            #expect(abs(g.mean - shape) < 5 * (shape / Double(n)).squareRoot())
            #expect(abs(g.variance - shape) / shape < 0.05)
        }
        for lambda in [0.7, 4.0, 35.0] {
            let p = moments((0..<n).map { _ in Double(rng.nextPoisson(lambda)) })
            #expect(abs(p.mean - lambda) < 5 * (lambda / Double(n)).squareRoot())
            #expect(abs(p.variance - lambda) / lambda < 0.05)
        }
    }

    @Test func dirichletAndCategoricalMatchTheirParameters() {
        var rng = Xoshiro256StarStar(seed: 8)
        let alpha = [1.0, 2.0, 5.0]
        var mean = [0.0, 0, 0]
        let n = 50_000
        for _ in 0..<n {
            let d = rng.nextDirichlet(alpha)
            #expect(abs(d.reduce(0, +) - 1) < 1e-12)
            for i in 0..<3 { mean[i] += d[i] / Double(n) }
        }
        for i in 0..<3 { #expect(abs(mean[i] - alpha[i] / 8) < 0.005) }
        var counts = [0, 0, 0]
        for _ in 0..<n { counts[rng.nextCategorical([0.2, 0.0, 0.8])] += 1 }
        #expect(counts[1] == 0)
        #expect(abs(Double(counts[0]) / Double(n) - 0.2) < 0.01)
    }

    @Test func permutationsAndSamplesWithoutReplacement() {
        var rng = Xoshiro256StarStar(seed: 5)
        #expect(rng.permutation(50).sorted() == Array(0..<50))
        let s = rng.sampleWithoutReplacement(20, from: 30)
        #expect(Set(s).count == 20 && s.allSatisfy { $0 < 30 })
    }
}
