import Foundation

/// The observation model `p(x | z)` of a variational autoencoder.
public enum VAELikelihood: Equatable, Sendable, Codable {
    /// Independent Bernoulli pixels with logits `f(z)`: for binary data or values in [0, 1].
    case bernoulli
    /// `𝒩(f(z), σ²I)` with a fixed variance σ².
    case gaussianFixed(variance: Double)
    /// `𝒩(f(z), diag σ²)` with one learned variance per dimension.
    case gaussianLearned
}

/// How raw input becomes the data the model sees, stored with the model and reapplied by scoring,
/// encoding and sampling.
public struct Preprocessing: Equatable, Sendable, Codable {
    /// Multiplies raw values (1/255 for IDX images).
    public var scale: Double = 1
    /// If set, values above it become 1 and the rest 0 (after scaling).
    public var binarizeThreshold: Double? = nil

    public init(scale: Double = 1, binarizeThreshold: Double? = nil) {
        self.scale = scale
        self.binarizeThreshold = binarizeThreshold
    }

    /// Why raw data `x` cannot be what this preprocessing was made for, or nil when it can be.
    ///
    /// A model trained on IDX images scales by 1/255 and so expects raw pixel values, whole numbers
    /// 0…255: data with a fractional value, or whose largest value is 1, were scaled already, and
    /// scaling them again would score near-blank images — a plausible number and a silently wrong
    /// answer; a value outside 0…255 is no pixel. Other preprocessing accepts anything (NaN cells
    /// are ignored here).
    /// - Complexity: `O(rows · columns)`, one pass, stopping at the first fractional value.
    public func mismatch(with x: Matrix<Double>) -> String? {
        guard scale == 1.0 / 255 else { return nil }
        var largest = -Double.infinity
        for (i, v) in x.elements.enumerated() where !v.isNaN {
            if v != v.rounded() || v < 0 || v > 255 {
                let why = v != v.rounded() ? "give the raw values or the IDX file, not values scaled already" : "this is no pixel value"
                return "row \(i / x.columns + 1), column \(i % x.columns + 1) holds \(v), but the model was trained on raw pixel values (whole numbers 0–255, scaled by 1/255 when read); \(why)"
            }
            largest = max(largest, v)
        }
        if largest == 1 {   // every value 0 or 1 (whole numbers in 0…255 at most 1)
            return "every value is 0 or 1, but the model was trained on raw pixel values 0–255 (scaled by 1/255 when read), so each would become a blank pixel; give the raw values or the IDX file"
        }
        return nil
    }

    /// Applies the preprocessing.
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func apply<S: NeuralScalar>(_ x: Matrix<Double>) -> Matrix<S> {
        let scale = self.scale
        if let t = binarizeThreshold {
            return Matrix(rows: x.rows, columns: x.columns, storage: x.elements.map { $0 * scale > t ? 1 : 0 })
        }
        return Matrix(rows: x.rows, columns: x.columns, storage: x.elements.map { S($0 * scale) })
    }
}

/// A variational autoencoder: prior `p(z) = 𝒩(0, I)`, decoder `p(x | z)` with parameters `f(z; θ)`
/// from a dense network, and encoder `q(z | x) = 𝒩(μ(x), diag σ²(x))` from another, trained
/// jointly through the reparameterisation `z = μ + σ ⊙ ε`.
///
/// Generic over the scalar: `Float` for training and scoring (SGEMM), `Double` for gradient checks.
public struct VariationalAutoencoder<S: NeuralScalar>: Equatable, Sendable {
    /// Maps `x` to `[μ | log σ²]` (`2·latent` outputs, identity activation).
    public var encoder: DenseNetwork<S>
    /// Maps `z` to the decoder's parameters (logits or means, identity activation).
    public var decoder: DenseNetwork<S>
    public var likelihood: VAELikelihood
    /// log σ² per dimension for ``VAELikelihood/gaussianLearned``; empty otherwise.
    public var logVariance: [S]
    public var preprocessing: Preprocessing

    /// Bound on the magnitude of each entry of ``logVariance``: `exp(±80)` is still finite in single
    /// precision (whose largest value is about `e^88.7`). Training clamps to it and model files
    /// outside it are refused.
    public static var largestLogVariance: S { 80 }

    public var latentSize: Int { decoder.inputs }
    public var dimension: Int { decoder.outputs }
    public var parameterCount: Int { encoder.parameterCount + decoder.parameterCount + logVariance.count }

    /// A fresh model with hidden widths `hidden` in both networks (mirrored in the decoder).
    public init(dimension: Int, latent: Int, hidden: [Int], activation: Activation = .relu,
                likelihood: VAELikelihood, preprocessing: Preprocessing = Preprocessing(), using rng: inout Xoshiro256StarStar) {
        encoder = DenseNetwork(widths: [dimension] + hidden + [2 * latent], hidden: activation, output: .identity, using: &rng)
        decoder = DenseNetwork(widths: [latent] + hidden.reversed() + [dimension], hidden: activation, output: .identity, using: &rng)
        self.likelihood = likelihood
        logVariance = likelihood == .gaussianLearned ? [S](repeating: 0, count: dimension) : []
        self.preprocessing = preprocessing
    }

    public init(encoder: DenseNetwork<S>, decoder: DenseNetwork<S>, likelihood: VAELikelihood, logVariance: [S] = [],
                preprocessing: Preprocessing = Preprocessing()) {
        precondition(encoder.outputs == 2 * decoder.inputs && encoder.inputs == decoder.outputs, "Encoder and decoder shapes disagree")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.logVariance = likelihood == .gaussianLearned && logVariance.isEmpty ? [S](repeating: 0, count: decoder.outputs) : logVariance
        self.preprocessing = preprocessing
    }

    /// The encoder's `μ(x)` and `σ(x)` for each row (preprocessed data).
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func encode(_ x: Matrix<S>) -> (mean: Matrix<S>, standardDeviation: Matrix<S>) {
        let out = encoder.forward(x).last!
        let l = latentSize
        var mean = Matrix<S>(rows: x.rows, columns: l), sd = mean
        for i in 0..<x.rows {
            for j in 0..<l {
                mean[i, j] = out[i, j]
                sd[i, j] = S.exponential(out[i, l + j] / 2)
            }
        }
        return (mean, sd)
    }

    /// The decoder's output for latent points: probabilities (Bernoulli) or means (Gaussian).
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func decode(_ z: Matrix<S>) -> Matrix<S> {
        var out = decoder.forward(z).last!
        if likelihood == .bernoulli { out.withUnsafeMutableBufferPointer { Activation.sigmoid.apply($0) } }
        return out
    }

    /// `decode(μ(x))`: the reconstruction of each row through its latent mean.
    public func reconstruct(_ x: Matrix<S>) -> Matrix<S> { decode(encode(x).mean) }

    /// `count` draws of `x`'s expected value under `p(x | z)`, `z ~ 𝒩(0, I)`, with their latents.
    public func sample(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<S>, latents: Matrix<S>) {
        var z = Matrix<S>(rows: count, columns: latentSize)
        z.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = S(rng.nextNormal()) } }
        return (decode(z), z)
    }

    /// `log p(x | z)` for each row pair of data `x` and decoder outputs `f` (rows of `f` may repeat
    /// each row of `x` `repeats` times, consecutively; the first row of `f` is draw `firstDraw` of
    /// that sequence, so row `r` belongs to row `(firstDraw + r) / repeats` of `x`).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func logLikelihood(of x: Matrix<S>, outputs f: Matrix<S>, repeats: Int, firstDraw: Int = 0) -> [S] {
        let d = dimension
        precondition(f.rows == 0 || (firstDraw + f.rows - 1) / repeats < x.rows, "More decoder outputs than draws of the rows of x")
        var out = [S](repeating: 0, count: f.rows)
        let halfLog2Pi = S(0.5 * Foundation.log(2 * Double.pi))
        x.withUnsafeBufferPointer { xp in
            f.withUnsafeBufferPointer { fp in
                for r in 0..<f.rows {
                    let xr = xp.start + ((firstDraw + r) / repeats) * d, fr = fp.start + r * d
                    var s: S = 0
                    switch likelihood {
                    case .bernoulli where S.self == Float.self:
                        s = S(VectorMath.bernoulli(targets: UnsafeRawPointer(xr).assumingMemoryBound(to: Float.self),
                                                   logits: UnsafeRawPointer(fr).assumingMemoryBound(to: Float.self),
                                                   count: d, gradientWeight: 0, gradient: nil))
                    case .bernoulli:
                        for j in 0..<d { s += xr[j] * fr[j] - S.softplus(fr[j]) }
                    case .gaussianFixed(let v):
                        let inv = S(1 / v), c = S(0.5 * Foundation.log(v)) + halfLog2Pi
                        for j in 0..<d { let t = xr[j] - fr[j]; s -= c + S(0.5) * t * t * inv }
                    case .gaussianLearned:
                        for j in 0..<d {
                            let t = xr[j] - fr[j]
                            s -= halfLog2Pi + S(0.5) * logVariance[j] + S(0.5) * t * t * S.exponential(-logVariance[j])
                        }
                    }
                    out[r] = s
                }
            }
        }
        return out
    }
}
