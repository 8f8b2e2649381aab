import Foundation
import LatentKernels

/// Vectorised elementwise functions and reductions over contiguous buffers.
///
/// The functions over buffers call the C kernels of the target `LatentKernels`, built for each
/// instruction set and chosen at run time (see ``InstructionSet``). The exponential is a range
/// reduction `eˣ = 2ⁿ·eʳ` with `|r| ≤ ln2/2` and a degree-12 polynomial; relative error below 2e-15
/// for normal results, `0` below −708.39 (subnormal results flush to zero) and `+∞` above 709.78.
/// Scalar `exp` from libm costs 4–5 ns per element; the kernel about 1–2 ns with AVX2 or AVX-512.
/// The SIMD8 functions below are the same algorithms for Swift code that inlines them, with unfused
/// multiply-adds (`SIMD.accumulate(_:_:)`, SIMD+Accumulate.swift).
public enum VectorMath {
    @usableFromInline static let log2e = 1.4426950408889634
    @usableFromInline static let ln2Hi = 0.6931471803691238     // ln 2, high part
    @usableFromInline static let ln2Lo = 1.9082149292705877e-10 // ln 2 − ln2Hi

    /// `eˣ` for eight lanes. Results below the smallest normal double (x < −708.39) flush to zero.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var clamped = x
        clamped.replace(with: -708.39, where: x .< -708.39)
        clamped.replace(with: 709.78, where: x .> 709.78)
        // Round x·log2(e) to the nearest integer with the 1.5·2⁵² shifter trick.
        let shifter = SIMD8<Double>(repeating: 6755399441055744.0)
        let n = (clamped * log2e + shifter) - shifter
        let r = (clamped - n * ln2Hi) - n * ln2Lo
        // The Taylor polynomial of eʳ (|r| ≤ ln2/2) to degree 12 in Estrin's scheme: a dependency
        // chain of five multiply-adds instead of Horner's twelve (unfused, so that baseline builds
        // make no libm call per lane; the C kernel fuses them where the CPU can).
        let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
        let p01 = SIMD8<Double>(repeating: 1).adding(r, times: SIMD8(repeating: 1))
        let p23 = SIMD8<Double>(repeating: 1.0 / 2).adding(r, times: SIMD8(repeating: 1.0 / 6))
        let p45 = SIMD8<Double>(repeating: 1.0 / 24).adding(r, times: SIMD8(repeating: 1.0 / 120))
        let p67 = SIMD8<Double>(repeating: 1.0 / 720).adding(r, times: SIMD8(repeating: 1.0 / 5040))
        let p89 = SIMD8<Double>(repeating: 1.0 / 40320).adding(r, times: SIMD8(repeating: 1.0 / 362880))
        let p1011 = SIMD8<Double>(repeating: 1.0 / 3628800).adding(r, times: SIMD8(repeating: 1.0 / 39916800))
        let q0 = p01.adding(r2, times: p23), q1 = p45.adding(r2, times: p67)
        let q2 = p89.adding(r2, times: p1011)
        let q3 = SIMD8<Double>(repeating: 1.0 / 479001600)
        let s0 = q0.adding(r4, times: q1), s1 = q2.adding(r4, times: q3)
        var p = s0.adding(r8, times: s1)
        // n = 1024 happens for x just below the overflow threshold: use 2¹⁰²³ and double p.
        var exponent = n
        let top = n .> 1023
        exponent.replace(with: 1023, where: top)
        p.replace(with: p + p, where: top)
        let bias = SIMD8<Double>(repeating: 1023 + 4503599627370496.0)
        let scale = unsafeBitCast(unsafeBitCast(exponent + bias, to: SIMD8<UInt64>.self) &<< 52, to: SIMD8<Double>.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -708.39)
        result.replace(with: Double.infinity, where: x .> 709.78)
        result.replace(with: x, where: x .!= x) // NaN in, NaN out
        return result
    }

    /// Replaces every element of `buffer` by its exponential (the C kernel of the widest
    /// instruction set this CPU has; same accuracy and limits as the SIMD8 `exp`).
    /// - Complexity: `O(n)`, about 1–2 ns per element with AVX2 or AVX-512.
    public static func expInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) {
        guard let base = buffer.baseAddress else { return }
        latent_exp_f64(base, buffer.count)
    }

    /// Replaces every element of `array` by its exponential.
    public static func expInPlace(_ array: inout [Double]) {
        array.withUnsafeMutableBufferPointer { expInPlace($0) }
    }

    /// For each row of the `rows × columns` row-major `values`, writes `log Σⱼ exp(values[i, j])`
    /// into `out[i]` and, if `normalize` is set, replaces the row by `exp(values[i, j] − out[i])`
    /// (a softmax). Rows whose entries are all −∞ give −∞ and, normalised, a uniform row.
    public static func logSumExpRows(_ values: UnsafeMutablePointer<Double>, rows: Int, columns: Int,
                                     into out: UnsafeMutablePointer<Double>, normalize: Bool) {
        latent_log_sum_exp_rows_f64(values, rows, columns, out, normalize ? 1 : 0)
    }

    /// Gaussian log-densities from whitened rows: `out[i·k + c] = constants[c] − ½‖y[i·rowStride +
    /// c·componentStride ..< +d] − projected[c·d ..< +d]‖²` for `i < rows`, `c < k`. Full covariances pass
    /// `rowStride = k·d`, `componentStride = d`; a tied covariance `rowStride = d`, `componentStride = 0`.
    /// - Complexity: `O(rows·k·d)`.
    public static func whitenedLogDensities(_ y: UnsafePointer<Double>, rows: Int, components k: Int, dimension d: Int,
                                            rowStride: Int, componentStride: Int, projected: UnsafePointer<Double>,
                                            constants: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        latent_whitened_log_densities_f64(y, rows, k, d, rowStride, componentStride, projected, constants, out)
    }

    /// Full-covariance log-densities for `d ≤ 16` straight from raw rows `x` (`rows × d`):
    /// `out[i·k + c] = constants[c] − ½‖(xᵢ − shift)·P_c − projected_c‖²`, with `P_c` the upper triangular
    /// `d × d` block at `factors[a·k·d + c·d + b]` (row `a`, column `b`). Eight rows per vector, one per lane.
    /// - Complexity: `O(rows·k·d²/2)`.
    public static func smallFullLogDensities(_ x: UnsafePointer<Double>, rows: Int, components k: Int, dimension d: Int,
                                             shift: UnsafePointer<Double>, factors: UnsafePointer<Double>,
                                             projected: UnsafePointer<Double>, constants: UnsafePointer<Double>,
                                             into out: UnsafeMutablePointer<Double>) {
        precondition(d <= 16, "smallFullLogDensities handles at most 16 columns")
        latent_small_full_log_densities_f64(x, rows, k, d, shift, factors, projected, constants, out)
    }

    /// Adds the mixture M-step statistics of `rows` rows of `x` (`rows × d`) under responsibilities `r`
    /// (`rows × k`) to `stats`: `k` totals `Σᵢ rᵢ꜀`, then `k × d` sums `Σᵢ rᵢ꜀ (xᵢ − shift)`, then `k`
    /// row-major `d × d` blocks whose upper triangles get `Σᵢ rᵢ꜀ (xᵢ − shift)ₐ(xᵢ − shift)_b` (lower
    /// triangles untouched). Meant for small `d`: one dot product of 128-row blocks per statistic.
    /// - Complexity: `O(rows·k·d²/2)`; scratch of `O((d² + k)·128)` doubles.
    public static func smallDimensionStatistics(_ x: UnsafePointer<Double>, responsibilities r: UnsafePointer<Double>, rows: Int,
                                                dimension d: Int, components k: Int, shift: UnsafePointer<Double>,
                                                into stats: UnsafeMutablePointer<Double>) {
        let features = 1 + d + d * (d + 1) / 2
        withUnsafeTemporaryAllocation(of: Double.self, capacity: (features + k) * 136 + 8 * k * features) { scratch in
            latent_small_dimension_statistics_f64(x, r, rows, d, k, shift, stats, scratch.baseAddress!)
        }
    }

    /// `out[i·d + j] = √weights[i·weightStride] · (x[i·d + j] − mean[j])` for `i < rows`, `j < d`.
    public static func weightedDeviations(_ x: UnsafePointer<Double>, rows: Int, dimension d: Int, mean: UnsafePointer<Double>,
                                          weights: UnsafePointer<Double>, weightStride: Int,
                                          into out: UnsafeMutablePointer<Double>) {
        latent_weighted_deviations_f64(x, rows, d, mean, weights, weightStride, out)
    }

    /// `eˣ` for eight single-precision lanes (degree-6 polynomial after `2ⁿ` range reduction;
    /// relative error about 2e-7; 0 below −87.3, the largest float above 88.7).
    @_transparent
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x
        clamped.replace(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88.7, where: x .> 88.7)
        let shifter = SIMD8<Float>(repeating: 12582912)   // 1.5·2²³
        let n = (clamped * 1.44269504 + shifter) - shifter
        let r = (clamped - n * 0.693359375) - n * -2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.0 / 120).adding(r, times: SIMD8(repeating: 1.0 / 720))
        p = SIMD8<Float>(repeating: 1.0 / 24).adding(r, times: p)
        p = SIMD8<Float>(repeating: 1.0 / 6).adding(r, times: p)
        p = SIMD8<Float>(repeating: 0.5).adding(r, times: p)
        p = SIMD8<Float>(repeating: 1).adding(r, times: p)
        p = SIMD8<Float>(repeating: 1).adding(r, times: p)
        let bias = SIMD8<Float>(repeating: 127 + 8388608)  // low bits of (n + 127 + 2²³) hold n + 127
        let scale = unsafeBitCast(unsafeBitCast(n + bias, to: SIMD8<UInt32>.self) &<< 23, to: SIMD8<Float>.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -87.3)
        return result
    }

    /// Adam's elementwise step in single precision over `count` parameters (`latent_adam_f32`) along
    /// `gradient`, plus `adding` when given (added first: the halves of a batch): `constants` =
    /// [scale, β₁, β₂, step, ε]; the moments `first` and `second` are updated in place.
    public static func adam(parameters p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, adding g2: UnsafePointer<Float>?,
                            first m: UnsafeMutablePointer<Float>, second v: UnsafeMutablePointer<Float>, count: Int,
                            constants: [Float]) {
        precondition(constants.count == 5, "Adam takes five constants")
        constants.withUnsafeBufferPointer { latent_adam_f32(p, g, g2, m, v, count, $0.baseAddress!) }
    }

    /// For Bernoulli logits `f` and targets `x` (single precision): returns `Σ x·f − softplus(f)`
    /// (accumulated in double precision) and, if `gradient` is given, writes `weight·(x − σ(f))`.
    /// Without a gradient (scoring) the `log1p(e)` terms are summed as the logarithm of a product,
    /// one logarithm per lane for up to 512 factors: absolute error typically 1e-6, at most about
    /// 1e-4, per 784 terms.
    /// Softplus and σ share one exponential `e = e^{−|f|}`: softplus is `max(f, 0) + log1p(e)`
    /// with `log1p(e) = 2·atanh(e/(2+e))` (a series in `s² ≤ 1/9`), σ is `1/(1+e)` or `e/(1+e)`.
    public static func bernoulli(targets x: UnsafePointer<Float>, logits f: UnsafePointer<Float>, count n: Int,
                                 gradientWeight weight: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
        latent_bernoulli_f32(x, f, n, weight, gradient)
    }

    /// `Σᵢ softplus(scale·xᵢ) − softplus(previous·xᵢ)` over `n` single-precision values, in double
    /// precision (`softplus(y) = log(1 + eʸ)`, each term within a few units in the last place): the
    /// hidden units' share of an annealed-importance-sampling weight between two inverse temperatures.
    /// - Complexity: `O(n)`, eight lanes at a time.
    public static func softplusDifference(_ x: UnsafePointer<Float>, count n: Int, scale: Double, previous: Double) -> Double {
        latent_softplus_difference_f64(x, n, scale, previous)
    }

    /// Replaces each element by its logistic sigmoid `1 / (1 + e^{−x})` (single precision, relative
    /// error about 2e-7).
    public static func sigmoidInPlace(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        latent_sigmoid_f32(base, buffer.count)
    }

    /// `log Σ exp(xᵢ)` of an array, stable for large and small values.
    public static func logSumExp(_ x: [Double]) -> Double {
        guard let m = x.max(), m.isFinite else { return x.max() ?? -.infinity }
        var s = 0.0
        for v in x { s += Foundation.exp(v - m) }
        return m + Foundation.log(s)
    }
}
