import Foundation

/// What a VAE is trained to maximise.
public enum VAEObjective: Equatable, Sendable {
    /// The evidence lower bound with the KL term in closed form, weighted by β (1 is the ELBO).
    case elbo(beta: Double)
    /// The importance-weighted bound with K samples (Burda, Grosse & Salakhutdinov 2016).
    case iwae(samples: Int)

    /// Latent draws per example: K for IWAE, 1 for the ELBO.
    public var samples: Int {
        if case .iwae(let k) = self { return k }
        return 1
    }
}

/// The gradient of a VAE objective with respect to every parameter.
public struct VAEGradients<S: NeuralScalar>: Sendable {
    public var encoder: [DenseGradient<S>]
    public var decoder: [DenseGradient<S>]
    public var logVariance: [S]
}

extension VariationalAutoencoder {
    /// The objective summed over the rows of `x`, and its gradient, for given standard-normal noise
    /// `epsilon` (`rows·K × latent`, the K draws of row `b` in rows `b·K ..< (b+1)·K`).
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func objective(_ x: Matrix<S>, epsilon: Matrix<S>, objective: VAEObjective) -> (value: S, gradients: VAEGradients<S>) {
        self.objective(x, epsilon: epsilon, objective: objective, sparse: SparseRows(x))
    }

    /// ``objective(_:epsilon:objective:)`` with the nonzeros of `x` already found (nil: `x` is dense).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func objective(_ x: Matrix<S>, epsilon: Matrix<S>, objective: VAEObjective, sparse: SparseRows<S>?)
        -> (value: S, gradients: VAEGradients<S>)
    {
        let encoded = encoder.forward(x, sparseInput: sparse)
        let part = self.objective(x, encoderOutput: encoded.last!, epsilon: epsilon, objective: objective)
        let encoderGradients = encoder.backward(encoded, gradient: part.encoderOutputGradient, inputGradient: false,
                                                sparseInput: sparse).layers
        return (part.value, VAEGradients(encoder: encoderGradients, decoder: part.decoder, logVariance: part.logVariance))
    }

    /// The objective and its gradient given the encoder's outputs `[μ | log σ²]` (`rows × 2·latent`):
    /// the gradient with respect to those outputs, the decoder's parameters and the learned variances.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func objective(_ x: Matrix<S>, encoderOutput out: Matrix<S>, epsilon: Matrix<S>, objective: VAEObjective)
        -> (value: S, encoderOutputGradient: Matrix<S>, decoder: [DenseGradient<S>], logVariance: [S])
    {
        let b = x.rows, l = latentSize, d = dimension, k = objective.samples
        precondition(epsilon.rows == b * k && epsilon.columns == l, "Need K noise rows of the latent size per data row")
        // z = μ + σ ε
        var z = Matrix<S>(rows: b * k, columns: l)
        var sigma = Matrix<S>(rows: b, columns: l)
        for i in 0..<b {
            for j in 0..<l { sigma[i, j] = S.exponential(out[i, l + j] / 2) }
            for s in 0..<k {
                let r = i * k + s
                for j in 0..<l { z[r, j] = out[i, j] + sigma[i, j] * epsilon[r, j] }
            }
        }
        let decoded = decoder.forward(z)
        let f = decoded.last!
        // Bernoulli in single precision: log p(x|z) and ∂/∂logits in one vectorised pass.
        let fusedBernoulli = likelihood == .bernoulli && S.self == Float.self
        // The ELBO weighs every draw's gradient by 1/K, known before the likelihoods: the kernel then
        // applies it (the same product as scaling afterwards); IWAE's weights are applied below.
        var elboWeight: Float? = nil
        if case .elbo = objective { elboWeight = 1 / Float(k) }
        var df = Matrix<S>(rows: b * k, columns: d) { _ in }   // every element written below
        var logPxz = [S](repeating: 0, count: b * k)
        if fusedBernoulli {
            x.withUnsafeBufferPointer { xp in
                f.withUnsafeBufferPointer { fp in
                    df.withUnsafeMutableBufferPointer { gp in
                        let xf = UnsafeRawPointer(xp.start).assumingMemoryBound(to: Float.self)
                        let ff = UnsafeRawPointer(fp.start).assumingMemoryBound(to: Float.self)
                        let gf = UnsafeMutableRawPointer(gp.start).assumingMemoryBound(to: Float.self)
                        for r in 0..<(b * k) {
                            logPxz[r] = S(VectorMath.bernoulli(targets: xf + (r / k) * d, logits: ff + r * d, count: d,
                                                               gradientWeight: elboWeight ?? 1, gradient: gf + r * d))
                        }
                    }
                }
            }
        } else {
            logPxz = logLikelihood(of: x, outputs: f, repeats: k)
        }

        // Per-sample weights c_bk of ∂objective/∂log p(x|z_bk), and the objective.
        var weights = [S](repeating: 1 / S(k), count: b * k)
        var value: S = 0
        var klTerms = [S](repeating: 0, count: b)
        switch objective {
        case .elbo(let beta):
            for i in 0..<b {
                var kl: S = 0
                for j in 0..<l {
                    let mu = out[i, j], lv = out[i, l + j]
                    kl += S(0.5) * (mu * mu + S.exponential(lv) - 1 - lv)
                }
                klTerms[i] = kl
                var rec: S = 0
                for s in 0..<k { rec += logPxz[i * k + s] }
                value += rec / S(k) - S(beta) * kl
            }
        case .iwae:
            for i in 0..<b {
                var w = [S](repeating: 0, count: k)
                for s in 0..<k {
                    let r = i * k + s
                    var logPrior: S = 0, logQ: S = 0
                    for j in 0..<l {
                        logPrior -= S(0.5) * z[r, j] * z[r, j]
                        logQ -= S(0.5) * out[i, l + j] + S(0.5) * epsilon[r, j] * epsilon[r, j]
                    }
                    w[s] = logPxz[r] + logPrior - logQ      // the ½ log 2π terms cancel
                }
                let m = w.max()!
                var total: S = 0
                for s in 0..<k { w[s] = S.exponential(w[s] - m); total += w[s] }
                value += m + S.logarithm(total / S(k))
                for s in 0..<k { weights[i * k + s] = w[s] / total }
            }
        }

        // ∂/∂f (decoder outputs) and the learned variances.
        var dLogVariance = [S](repeating: 0, count: logVariance.count)
        if fusedBernoulli && elboWeight == nil {
            df.withUnsafeMutableBufferPointer { gp in
                for r in 0..<(b * k) { for j in 0..<d { gp[r * d + j] *= weights[r] } }
            }
        }
        for r in 0..<(b * k) where !fusedBernoulli {
            let c = weights[r], i = r / k
            for j in 0..<d {
                let xv = x[i, j], fv = f[r, j]
                switch likelihood {
                case .bernoulli: df[r, j] = c * (xv - S.sigmoid(fv))
                case .gaussianFixed(let v): df[r, j] = c * (xv - fv) / S(v)
                case .gaussianLearned:
                    let precision = S.exponential(-logVariance[j]), t = xv - fv
                    df[r, j] = c * t * precision
                    dLogVariance[j] += c * (S(0.5) * t * t * precision - S(0.5))
                }
            }
        }
        let (decoderGradients, dz) = decoder.backward(decoded, gradient: df)
        // ∂/∂[μ | log σ²]
        var dOut = Matrix<S>(rows: b, columns: 2 * l)
        for i in 0..<b {
            for s in 0..<k {
                let r = i * k + s, c = weights[r]
                for j in 0..<l {
                    var g = dz[r, j]
                    if case .iwae = objective { g -= c * z[r, j] }                       // log p(z)
                    dOut[i, j] += g
                    dOut[i, l + j] += g * epsilon[r, j] * sigma[i, j] / 2
                    if case .iwae = objective { dOut[i, l + j] += c / 2 }                // −log q(z|x)
                }
            }
            if case .elbo(let beta) = objective {
                for j in 0..<l {
                    dOut[i, j] -= S(beta) * out[i, j]
                    dOut[i, l + j] -= S(beta) * (S.exponential(out[i, l + j]) - 1) / 2
                }
            }
        }
        return (value, dOut, decoderGradients, dLogVariance)
    }
}
