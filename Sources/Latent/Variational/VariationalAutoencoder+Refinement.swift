import Foundation

/// Amortised against per-datapoint inference: what optimising each example's own `q(z|x)` gains
/// over the encoder's output.
public struct AmortizationReport: Sendable {
    /// Mean ELBO per example with the encoder's `(μ, σ)`.
    public var amortizedELBO: Double
    /// Mean ELBO per example after optimising each example's `(μ, σ)`.
    public var refinedELBO: Double
    /// `refinedELBO − amortizedELBO`: the amortisation gap that the refinement closed.
    public var gap: Double { refinedELBO - amortizedELBO }
    /// Per-example refined ELBOs.
    public var perExample: [Double]
    /// Gradient steps per example.
    public var steps: Int
    public var seconds: Double
}

extension VariationalAutoencoder {
    /// With the decoder fixed, optimises a separate `(μᵢ, log σᵢ²)` for every row by Adam on its
    /// ELBO (one reparameterised sample per step), starting from the encoder's output, and reports
    /// the ELBO before and after, each estimated with `evaluationSamples` draws.
    public func refinePosteriors(_ x: Matrix<S>, steps: Int, learningRate: Double = 1e-2, evaluationSamples: Int = 100,
                                 seed: UInt64) -> AmortizationReport {
        let start = DispatchTime.now().uptimeNanoseconds
        var rng = Xoshiro256StarStar(seed: seed)
        let l = latentSize
        var parameters = encoder.forward(x).last!   // rows × [μ | log σ²]
        let before = elbo(x, encoderOutput: parameters, samples: evaluationSamples, rng: &rng)
        var optimizer = Optimizer<S>(.adam, learningRate: S(learningRate))
        for _ in 0..<max(0, steps) {
            var epsilon = Matrix<S>(rows: x.rows, columns: l)
            epsilon.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = S(rng.nextNormal()) } }
            let gradient = objective(x, encoderOutput: parameters, epsilon: epsilon, objective: .elbo(beta: 1)).encoderOutputGradient
            // Each row's parameters get their own ELBO's gradient: rows are independent problems.
            optimizer.beginStep()
            optimizer.update(0, parameters: &parameters, gradient: gradient, ascend: true)
        }
        let after = elbo(x, encoderOutput: parameters, samples: evaluationSamples, rng: &rng)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return AmortizationReport(amortizedELBO: before.reduce(0, +) / Double(max(1, x.rows)),
                                  refinedELBO: after.reduce(0, +) / Double(max(1, x.rows)),
                                  perExample: after, steps: steps, seconds: seconds)
    }

    /// Per-row ELBO for given `[μ | log σ²]`, averaging `samples` reconstruction draws.
    func elbo(_ x: Matrix<S>, encoderOutput out: Matrix<S>, samples: Int, rng: inout Xoshiro256StarStar) -> [Double] {
        let l = latentSize, n = x.rows
        var z = Matrix<S>(rows: n * samples, columns: l)
        for r in 0..<(n * samples) {
            let i = r / samples
            for j in 0..<l { z[r, j] = out[i, j] + S.exponential(out[i, l + j] / 2) * S(rng.nextNormal()) }
        }
        let logPxz = logLikelihood(of: x, outputs: decoder.forward(z).last!, repeats: samples)
        return (0..<n).map { i in
            var kl = 0.0
            for j in 0..<l {
                let mu = Double(out[i, j]), lv = Double(out[i, l + j])
                kl += 0.5 * (mu * mu + Foundation.exp(lv) - 1 - lv)
            }
            let reconstruction = (0..<samples).reduce(0.0) { $0 + Double(logPxz[i * samples + $1]) } / Double(samples)
            return reconstruction - kl
        }
    }
}
