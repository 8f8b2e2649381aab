import Foundation

/// Estimators of `log p(x)` for a trained VAE.
public enum LogLikelihoodEstimator: String, CaseIterable, Codable, Sendable {
    /// The evidence lower bound `E_q[log p(x|z)] − KL(q ‖ p)` (a lower bound).
    case elbo
    /// Importance sampling with `q(z|x)` as proposal: `log (1/K) Σ p(x, z_k) / q(z_k | x)` (the
    /// IWAE bound; tightens towards `log p(x)` as K grows).
    case iwae
    /// Naive Monte Carlo with z from the prior: `log (1/K) Σ p(x | z_k)`. Unbiased for `p(x)` but
    /// with a variance so large in high dimension that it badly underestimates `log p(x)`.
    case naiveMC = "naive-mc"
}

/// The arithmetic of a VAE decoder's output layer when it is scored.
///
/// The decoder's last product (hidden width × data dimension per draw: 400 × 784 for MNIST) is nearly
/// all the work of an importance-sampled estimate. With ``bfloat16`` both of its factors are rounded
/// to bfloat16 and their products summed in single precision, at twice SGEMM's rate on CPUs with
/// AVX-512 BF16 (see `BFloat16Matrix` in LatentCore); everything else stays single precision.
///
/// Measured on the MNIST VAE of `make bench` (784-400-20, IWAE with 500 samples, 1,000 test images,
/// seeds 1–3): bfloat16 moved the mean estimate by 0.0002–0.0007 nats against a standard error of
/// 1.17 and a Monte Carlo spread between seeds of 0.08; per image the two differed by 0.014 nats
/// (standard deviation) against 1.6 between seeds.
public enum ScoringPrecision: String, CaseIterable, Codable, Sendable {
    /// The model's own arithmetic throughout: single precision for `Float` models (the command
    /// line's), double for `Double` ones.
    case single = "fp32"
    /// The decoder's output layer on bfloat16 operands where the CPU has AVX-512 BF16, single
    /// precision elsewhere (``LogLikelihoodEstimate/precision`` says which ran).
    case bfloat16 = "bf16"
    /// ``bfloat16`` for Bernoulli decoders, ``single`` for Gaussian ones. A Bernoulli log-likelihood
    /// moves by at most |δ| when one logit moves by δ (its derivative `x − σ(f)` lies in [−1, 1]), so
    /// the rounding's effect is bounded by the logits' error; a Gaussian one moves by `(x − f)·δ / σ²`,
    /// without bound as the variance shrinks.
    case automatic = "auto"
}

/// An estimate of the mean `log p(x)` over rows, with its standard error across rows.
public struct LogLikelihoodEstimate: Sendable {
    public var estimator: LogLikelihoodEstimator
    public var samples: Int
    /// The arithmetic the decoder's output layer ran in: ``ScoringPrecision/bfloat16`` or
    /// ``ScoringPrecision/single`` (the model's own), never ``ScoringPrecision/automatic``.
    public var precision: ScoringPrecision = .single
    /// One estimate per row.
    public var perExample: [Double]
    public var mean: Double { perExample.reduce(0, +) / Double(max(1, perExample.count)) }
    /// Standard deviation of the per-row estimates over √rows.
    public var standardError: Double {
        let n = Double(perExample.count)
        guard n > 1 else { return 0 }
        let m = mean
        return (perExample.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1) / n).squareRoot()
    }
}

extension VariationalAutoencoder {
    /// Estimates `log p(x)` for each row of `x` (preprocessed) with `samples` draws per row. The
    /// draws go through the decoder in passes of at most ``scoringPassRows(dimension:)`` (one GEMM
    /// per layer and pass; a block holds the rows of about four passes, and a row's draws may span
    /// passes), blocks of rows are split across
    /// `threads` cores, and each block of rows has its own derived generator, so the result does
    /// not depend on the thread count. `precision` (see ``ScoringPrecision``) applies to
    /// single-precision models on CPUs with AVX-512 BF16; elsewhere the decoder runs in the model's
    /// own precision. For single-precision models the output layer's weights are packed once per call
    /// (bfloat16, or single precision on CPUs with AVX-512 unless `LATENT_SIMD` caps Latent's kernels
    /// below it), not once per pass as a BLAS call would.
    /// - Complexity: `O(rows·samples·(latent·hidden + hidden·dimension))` multiply-adds, nearly all
    ///   in the decoder's output layer; memory per thread: one pass's decoder activations (about
    ///   0.8 MB of outputs) and the log-weights of one block's draws; shared by all threads, the packed
    ///   output weights (hidden width × dimension floats, rounded up to 16 columns; 1.25 MB for 400 × 784).
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func estimateLogLikelihood(_ x: Matrix<S>, estimator: LogLikelihoodEstimator, samples: Int, seed: UInt64,
                                      threads: Int = availableCores, precision: ScoringPrecision = .automatic) -> LogLikelihoodEstimate {
        precondition(samples >= 1, "At least one sample")
        let n = x.rows, l = latentSize
        let outputLayer = packedOutputLayer(precision: precision)
        let hiddenDecoder = DenseNetwork(layers: Array(decoder.layers.dropLast()))
        let passRows = Self.scoringPassRows(dimension: dimension)
        let rowsPerBlock = max(1, 4 * passRows / samples)
        let blocks = (n + rowsPerBlock - 1) / rowsPerBlock
        var perExample = [Double](repeating: 0, count: n)
        let root = Xoshiro256StarStar(seed: seed)
        perExample.withUnsafeMutableBufferPointer { out in
            let base = out.start
            let work = ChunkedWork(count: blocks, minimumChunk: 1, maxChunks: blocks)
            work.run(threads: threads) { _, range in
                for block in range {
                    var rng = root.derived(block)
                    let lo = block * rowsPerBlock, hi = min(n, lo + rowsPerBlock)
                    let part = x.selectingRows(lo..<hi), m = hi - lo
                    var mean = Matrix<S>(rows: m, columns: l), logVar = mean
                    if estimator != .naiveMC {
                        let out = encoder.forward(part).last!
                        for i in 0..<m { for j in 0..<l { mean[i, j] = out[i, j]; logVar[i, j] = out[i, l + j] } }
                    }
                    let sd = estimator == .naiveMC ? [] : logVar.elements.map { S.exponential($0 / 2) }
                    // Draw r (0..<m·samples) belongs to row r / samples. The draws go through the
                    // decoder in passes of at most `passRows`, so that its outputs stay in cache
                    // between the product and the likelihood that reads them.
                    var w = [Double](repeating: 0, count: m * samples)
                    for first in stride(from: 0, to: m * samples, by: passRows) {
                        let count = min(passRows, m * samples - first)
                        var epsilon = Matrix<S>(rows: count, columns: l)
                        epsilon.withUnsafeMutableBufferPointer { rng.fillNormalPairs($0) }
                        var z = epsilon
                        if estimator != .naiveMC {
                            z.withUnsafeMutableBufferPointer { zp in
                                mean.withUnsafeBufferPointer { mp in
                                    for t in 0..<count {
                                        let row = ((first + t) / samples) * l
                                        for j in 0..<l { zp[t * l + j] = mp[row + j] + sd[row + j] * zp[t * l + j] }
                                    }
                                }
                            }
                        }
                        let outputs = outputLayer.map { decode(z, hidden: hiddenDecoder, output: $0) } ?? decoder.forward(z).last!
                        let logPxz = logLikelihood(of: part, outputs: outputs, repeats: samples, firstDraw: first)
                        for t in 0..<count {
                            let r = first + t, i = r / samples
                            w[r] = Double(logPxz[t])
                            if estimator == .iwae {
                                for j in 0..<l {
                                    let zv = Double(z[t, j]), e = Double(epsilon[t, j])
                                    w[r] += -0.5 * zv * zv + 0.5 * Double(logVar[i, j]) + 0.5 * e * e   // log p(z) − log q(z|x)
                                }
                            }
                        }
                    }
                    for i in 0..<m {
                        let draws = w[(i * samples)..<((i + 1) * samples)]
                        if estimator == .elbo {
                            var kl = 0.0
                            for j in 0..<l {
                                let mu = Double(mean[i, j]), lv = Double(logVar[i, j])
                                kl += 0.5 * (mu * mu + Foundation.exp(lv) - 1 - lv)
                            }
                            base[lo + i] = draws.reduce(0, +) / Double(samples) - kl
                        } else {
                            base[lo + i] = VectorMath.logSumExp(Array(draws)) - Foundation.log(Double(samples))
                        }
                    }
                }
            }
        }
        return LogLikelihoodEstimate(estimator: estimator, samples: samples, precision: outputLayer?.precision ?? .single,
                                     perExample: perExample)
    }

    /// Draws that go through the decoder together when a VAE of this data `dimension` is scored:
    /// as many as keep its outputs within 0.8 MB (256 draws of 784 single-precision values; at
    /// least 16), so that they stay in a core's L2 cache between the decoder's product and the
    /// likelihood that reads them. Measured on a 2-core AVX2 EPYC (1 MB L2 per core), IWAE-500
    /// scoring of 1,000 MNIST images (medians of alternating runs): 1 thread 5.6 s with 256 draws
    /// per pass against 5.9 s with 1,000 (the earlier blocks of two whole rows), 2 threads 2.94
    /// against 3.15 s; OpenBLAS's SGEMM on the 400 → 784 product ran at 71 GFLOP/s with 256 rows
    /// against 66 with 1,000.
    public static func scoringPassRows(dimension: Int) -> Int {
        max(16, 256 * 784 * 4 / max(1, dimension * MemoryLayout<S>.size))
    }

    /// The decoder's output layer packed once for this scoring, for single-precision models on CPUs
    /// that run a packed product: on bfloat16 operands where `precision` asks for it and the CPU has
    /// AVX-512 BF16, else in single precision where it has AVX-512 (the same sums as SGEMM's, without
    /// packing the weights again for every pass); nil elsewhere (the decoder's own BLAS product).
    private func packedOutputLayer(precision: ScoringPrecision) -> PackedOutputLayer? {
        guard S.self == Float.self, let last = decoder.layers.last else { return nil }
        let weights = unsafeBitCast(last.weights, to: Matrix<Float>.self)
        let reduced = precision == .bfloat16 || (precision == .automatic && likelihood == .bernoulli)
        if reduced, BFloat16Matrix.isSupported { return .bfloat16(BFloat16Matrix(weights)) }
        if PackedFloatMatrix.isSupported { return .single(PackedFloatMatrix(weights)) }
        return nil
    }

    /// The decoder's output for the draws `z`: its hidden layers as usual, its output layer's product
    /// with the packed weights (`output`), then that layer's bias and activation.
    private func decode(_ z: Matrix<S>, hidden: DenseNetwork<S>, output: PackedOutputLayer) -> Matrix<S> {
        let layer = decoder.layers[decoder.layers.count - 1]
        let h = hidden.layers.isEmpty ? z : hidden.forward(z).last!
        var y = Matrix<S>(rows: z.rows, columns: layer.outputs) { _ in }   // overwritten by the product
        h.withUnsafeBufferPointer { hp in
            y.withUnsafeMutableBufferPointer { yp in
                hp.withMemoryRebound(to: Float.self) { hf in
                    yp.withMemoryRebound(to: Float.self) { yf in
                        output.multiply(hf.start, rows: h.rows, leadingDimension: h.columns, bias: unsafeBitCast(layer.bias, to: [Float].self),
                                        into: yf.start, leadingDimension: layer.outputs)
                    }
                }
                layer.activation.apply(yp)
            }
        }
        return y
    }
}

/// A decoder's output layer packed for the products of one scoring.
private enum PackedOutputLayer {
    case bfloat16(BFloat16Matrix)
    case single(PackedFloatMatrix)

    var precision: ScoringPrecision {
        switch self { case .bfloat16: return .bfloat16; case .single: return .single }
    }

    func multiply(_ a: UnsafePointer<Float>, rows m: Int, leadingDimension lda: Int, bias: [Float]?,
                  into c: UnsafeMutablePointer<Float>, leadingDimension ldc: Int) {
        switch self {
        case .bfloat16(let w): w.multiply(a, rows: m, leadingDimension: lda, bias: bias, into: c, leadingDimension: ldc)
        case .single(let w): w.multiply(a, rows: m, leadingDimension: lda, bias: bias, into: c, leadingDimension: ldc)
        }
    }
}
