import Foundation
import LatentKernels

/// Draws from standard distributions, all through ``Xoshiro256StarStar``.
extension Xoshiro256StarStar {
    /// A standard normal draw (Marsaglia's polar method).
    public mutating func nextNormal() -> Double {
        while true {
            let u = 2 * nextUniform() - 1
            let v = 2 * nextUniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * Foundation.log(s) / s).squareRoot()
            }
        }
    }

    /// A normal draw with mean `mean` and standard deviation `standardDeviation`.
    public mutating func nextNormal(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * nextNormal()
    }

    /// Fills `buffer` with standard normal draws.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = nextNormal() }
    }

    /// Fills `buffer` with standard normal draws in single precision.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>) {
        for i in buffer.indices { buffer[i] = Float(nextNormal()) }
    }

    /// Fills `buffer` with standard normal draws, both of each polar pair: half the uniforms and
    /// logarithms of a loop of ``nextNormal()``, and another stream of draws from the same seed.
    /// For bulk noise (an estimator's importance samples).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public mutating func fillNormalPairs<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>) {
        // Accepted points a chunk at a time, then their factors √(−2 log s / s) in one vector pass.
        let chunk = 256
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * chunk) { scratch in
            let u = scratch.baseAddress!, v = u + chunk, s = v + chunk
            var i = 0
            while i < buffer.count {
                let pairs = Swift.min(chunk, (buffer.count - i + 1) / 2)
                var p = 0
                while p < pairs {
                    let a = 2 * nextUniform() - 1, b = 2 * nextUniform() - 1
                    let q = a * a + b * b
                    guard q > 0 && q < 1 else { continue }
                    (u[p], v[p], s[p]) = (a, b, q)
                    p += 1
                }
                latent_polar_factors_f64(s, pairs)
                for p in 0..<pairs {
                    buffer[i] = T(u[p] * s[p])
                    if i + 1 < buffer.count { buffer[i + 1] = T(v[p] * s[p]) }
                    i += 2
                }
            }
        }
    }

    /// A Gamma(shape, 1) draw (Marsaglia & Tsang 2000; boosted for shape < 1).
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "Gamma shape must be positive")
        if shape < 1 {
            // Γ(a) = Γ(a + 1) · U^{1/a}
            return nextGamma(shape: shape + 1) * Foundation.pow(nextOpenUniform(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextOpenUniform()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// A Dirichlet(α) draw.
    public mutating func nextDirichlet(_ alpha: [Double]) -> [Double] {
        var g = alpha.map { nextGamma(shape: $0) }
        let s = g.reduce(0, +)
        for i in g.indices { g[i] /= s }
        return g
    }

    /// An index drawn with probabilities proportional to `weights` (non-negative, not all zero).
    public mutating func nextCategorical(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        precondition(total > 0, "Categorical weights must not all be zero")
        let u = nextUniform() * total
        var acc = 0.0
        for (i, w) in weights.enumerated() {
            acc += w
            if u < acc { return i }
        }
        return weights.lastIndex(where: { $0 > 0 })!
    }

    /// A Poisson(λ) draw (inversion for small λ, transformed rejection PTRS of Hörmann 1993 otherwise).
    public mutating func nextPoisson(_ lambda: Double) -> Int {
        precondition(lambda >= 0, "Poisson rate must be non-negative")
        if lambda == 0 { return 0 }
        if lambda < 10 {
            var k = 0
            var p = Foundation.exp(-lambda)
            var s = p
            let u = nextUniform()
            while u > s && k < 1000 {
                k += 1
                p *= lambda / Double(k)
                s += p
            }
            return k
        }
        let slam = lambda.squareRoot(), loglam = Foundation.log(lambda)
        let b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b
        let invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = nextUniform() - 0.5, v = nextUniform()
            let us = 0.5 - abs(u)
            let k = Foundation.floor((2 * a / us + b) * u + lambda + 0.43)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if Foundation.log(v) + Foundation.log(invalpha) - Foundation.log(a / (us * us) + b)
                <= -lambda + k * loglam - Foundation.lgamma(k + 1) { return Int(k) }
        }
    }

    /// A uniformly random integer in `0..<upperBound` (unbiased).
    public mutating func nextInt(below upperBound: Int) -> Int {
        Int.random(in: 0..<upperBound, using: &self)
    }

    /// `count` distinct indices from `0..<population`, in random order.
    public mutating func sampleWithoutReplacement(_ count: Int, from population: Int) -> [Int] {
        precondition(count <= population, "Cannot draw \(count) distinct items from \(population)")
        var chosen = Set<Int>()
        var out: [Int] = []
        out.reserveCapacity(count)
        // Floyd's algorithm keeps the cost proportional to `count`.
        for j in (population - count)..<population {
            let t = nextInt(below: j + 1)
            let pick = chosen.contains(t) ? j : t
            chosen.insert(pick)
            out.append(pick)
        }
        return out
    }

    /// A uniformly random permutation of `0..<n` (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(i, nextInt(below: i + 1))
            }
        }
        return p
    }
}
