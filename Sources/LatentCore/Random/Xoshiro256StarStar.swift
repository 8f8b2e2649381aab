/// The xoshiro256** generator (Blackman & Vigna, 2018): 256 bits of state, period 2²⁵⁶ − 1.
///
/// Every random choice in Latent goes through this type, so a seed fixes a result. The state is
/// filled from the 64-bit seed with SplitMix64, as the authors recommend. ``derived(_:)`` gives
/// independent streams for restarts and threads.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Equatable {
    // Internal but visible to inlined code: `next()` inlines into every module's hot loops.
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// A generator seeded from `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// The next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A new generator for stream `index`, seeded from this generator's seed material and `index`,
    /// independent of how many numbers this generator has drawn since.
    public func derived(_ index: Int) -> Xoshiro256StarStar {
        Xoshiro256StarStar(seed: s0 ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03) ^ Self.rotl(s2, 17))
    }

    /// A uniform draw from [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform draw from the open interval (0, 1).
    @inlinable @inline(__always)
    public mutating func nextOpenUniform() -> Double {
        (Double(next() >> 12) + 0.5) * 0x1.0p-52
    }
}
