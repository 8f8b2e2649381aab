import Foundation

/// A floating-point type neural networks run in: `Float` for speed (SGEMM), `Double` for
/// gradient checks against finite differences.
public protocol NeuralScalar: KernelScalar, SIMDScalar, Codable {
    static func exponential(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
    static func logOnePlus(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
}

extension Float: NeuralScalar {
    @inlinable public static func exponential(_ x: Float) -> Float { Foundation.expf(x) }
    @inlinable public static func logarithm(_ x: Float) -> Float { Foundation.logf(x) }
    @inlinable public static func logOnePlus(_ x: Float) -> Float { Foundation.log1pf(x) }
    @inlinable public static func hyperbolicTangent(_ x: Float) -> Float { Foundation.tanhf(x) }
}

extension Double: NeuralScalar {
    @inlinable public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func logOnePlus(_ x: Double) -> Double { Foundation.log1p(x) }
    @inlinable public static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
}

extension NeuralScalar {
    /// `log(1 + eˣ)`, stable for large |x|.
    @inlinable
    public static func softplus(_ x: Self) -> Self {
        x > 0 ? x + logOnePlus(exponential(-x)) : logOnePlus(exponential(x))
    }

    /// `1 / (1 + e⁻ˣ)`.
    @inlinable
    public static func sigmoid(_ x: Self) -> Self {
        x >= 0 ? 1 / (1 + exponential(-x)) : { let e = exponential(x); return e / (1 + e) }()
    }
}
