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
    /// Rows whose posteriors are refined together: their encoder outputs, Adam moments and one
    /// step's activations are what the refinement holds at a time, whatever the number of rows.
    public static var refinementBlockRows: Int { 1_024 }

    /// With the decoder fixed, optimises a separate `(μᵢ, log σᵢ²)` for every row by Adam on its
    /// ELBO (one reparameterised sample per step), starting from the encoder's output, and reports
    /// the ELBO before and after, each estimated with `evaluationSamples` draws.
    ///
    /// Rows are independent problems, so they are refined in blocks of ``refinementBlockRows``
    /// (every step for one block, then the next) and the ELBOs evaluated in passes of at most four
    /// ``scoringPassRows(dimension:)`` draws: memory does not grow with the rows or the samples.
    /// Up to ``refinementBlockRows`` rows the draws come in the order of one block; beyond, the
    /// blocks' draws follow one another (the same estimate, other draws).
    /// - Precondition: `evaluationSamples ≥ 1`.
    /// - Complexity: `O(N · (steps + 2 · evaluationSamples))` passes of one row through the
    ///   decoder (forward and backward for each step), and one through the encoder.
    public func refinePosteriors(_ x: Matrix<S>, steps: Int, learningRate: Double = 1e-2, evaluationSamples: Int = 100,
                                 seed: UInt64) -> AmortizationReport {
        precondition(evaluationSamples >= 1, "At least one evaluation sample")
        let start = DispatchTime.now().uptimeNanoseconds
        var rng = Xoshiro256StarStar(seed: seed)
        let l = latentSize
        var before = [Double](), after = [Double]()
        before.reserveCapacity(x.rows)
        after.reserveCapacity(x.rows)
        for first in stride(from: 0, to: x.rows, by: Self.refinementBlockRows) {
            let block = x.selectingRows(first..<min(x.rows, first + Self.refinementBlockRows))
            var parameters = encoder.forward(block).last!   // rows × [μ | log σ²]
            before += elbo(block, encoderOutput: parameters, samples: evaluationSamples, rng: &rng)
            var optimizer = Optimizer<S>(.adam, learningRate: S(learningRate))
            for _ in 0..<max(0, steps) {
                var epsilon = Matrix<S>(rows: block.rows, columns: l)
                epsilon.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = S(rng.nextNormal()) } }
                let gradient = objective(block, encoderOutput: parameters, epsilon: epsilon, objective: .elbo(beta: 1)).encoderOutputGradient
                // Each row's parameters get their own ELBO's gradient: rows are independent problems.
                optimizer.beginStep()
                optimizer.update(0, parameters: &parameters, gradient: gradient, ascend: true)
            }
            after += elbo(block, encoderOutput: parameters, samples: evaluationSamples, rng: &rng)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return AmortizationReport(amortizedELBO: before.reduce(0, +) / Double(max(1, x.rows)),
                                  refinedELBO: after.reduce(0, +) / Double(max(1, x.rows)),
                                  perExample: after, steps: steps, seconds: seconds)
    }

    /// Per-row ELBO for given `[μ | log σ²]`, averaging `samples` reconstruction draws. The draws
    /// go through the decoder in passes of at most four ``scoringPassRows(dimension:)`` (a row's
    /// draws split across passes when there are more).
    func elbo(_ x: Matrix<S>, encoderOutput out: Matrix<S>, samples: Int, rng: inout Xoshiro256StarStar) -> [Double] {
        let l = latentSize, n = x.rows
        let passDraws = 4 * Self.scoringPassRows(dimension: dimension)
        let drawsPerRow = min(samples, passDraws)          // a row's draws in one pass
        let rowsPerPass = max(1, passDraws / drawsPerRow)
        var reconstruction = [Double](repeating: 0, count: n)
        for first in stride(from: 0, to: n, by: rowsPerPass) {
            let rows = first..<min(n, first + rowsPerPass)
            let part = x.selectingRows(rows)
            var done = 0
            while done < samples {
                let m = min(drawsPerRow, samples - done)
                var z = Matrix<S>(rows: rows.count * m, columns: l)
                for r in 0..<z.rows {
                    let i = first + r / m
                    for j in 0..<l { z[r, j] = out[i, j] + S.exponential(out[i, l + j] / 2) * S(rng.nextNormal()) }
                }
                let logPxz = logLikelihood(of: part, outputs: decoder.forward(z).last!, repeats: m)
                for r in 0..<z.rows { reconstruction[first + r / m] += Double(logPxz[r]) }
                done += m
            }
        }
        return (0..<n).map { i in
            var kl = 0.0
            for j in 0..<l {
                let mu = Double(out[i, j]), lv = Double(out[i, l + j])
                kl += 0.5 * (mu * mu + Foundation.exp(lv) - 1 - lv)
            }
            return reconstruction[i] / Double(samples) - kl
        }
    }
}
