import Foundation

/// A plain deterministic autoencoder from the same parts as ``VariationalAutoencoder``: an encoder
/// network maps `x` to a code `z`, a decoder maps `z` back to the parameters of `p(x | z)`, and
/// training maximises the reconstruction log-likelihood `log p(x | decode(encode(x)))`. It has no
/// prior, so it gives codes and reconstructions but no `log p(x)` and no samples.
public struct Autoencoder<S: NeuralScalar>: Equatable, Sendable {
    public var encoder: DenseNetwork<S>
    public var decoder: DenseNetwork<S>
    /// ``VAELikelihood/bernoulli`` or ``VAELikelihood/gaussianFixed(variance:)``.
    public var likelihood: VAELikelihood
    public var preprocessing: Preprocessing

    public var codeSize: Int { decoder.inputs }
    public var dimension: Int { decoder.outputs }
    public var parameterCount: Int { encoder.parameterCount + decoder.parameterCount }

    public init(dimension: Int, code: Int, hidden: [Int], activation: Activation = .relu, likelihood: VAELikelihood,
                preprocessing: Preprocessing = Preprocessing(), using rng: inout Xoshiro256StarStar) {
        precondition(likelihood != .gaussianLearned, "An autoencoder takes a Bernoulli or fixed-variance Gaussian likelihood")
        encoder = DenseNetwork(widths: [dimension] + hidden + [code], hidden: activation, output: .identity, using: &rng)
        decoder = DenseNetwork(widths: [code] + hidden.reversed() + [dimension], hidden: activation, output: .identity, using: &rng)
        self.likelihood = likelihood
        self.preprocessing = preprocessing
    }

    public init(encoder: DenseNetwork<S>, decoder: DenseNetwork<S>, likelihood: VAELikelihood, preprocessing: Preprocessing) {
        precondition(encoder.outputs == decoder.inputs && encoder.inputs == decoder.outputs, "Encoder and decoder shapes disagree")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.preprocessing = preprocessing
    }

    /// The code of each row.
    public func encode(_ x: Matrix<S>) -> Matrix<S> { encoder.forward(x).last! }

    /// The reconstruction of each row: probabilities (Bernoulli) or means (Gaussian).
    public func reconstruct(_ x: Matrix<S>) -> Matrix<S> {
        var out = decoder.forward(encode(x)).last!
        if likelihood == .bernoulli { out.withUnsafeMutableBufferPointer { Activation.sigmoid.apply($0) } }
        return out
    }

    /// `log p(x | decode(encode(x)))` for each row, and optionally its gradient with respect to
    /// the decoder's outputs.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func reconstructionLogLikelihood(_ x: Matrix<S>, outputs f: Matrix<S>, gradient: UnsafeMutablePointer<S>?) -> [S] {
        let d = dimension
        var out = [S](repeating: 0, count: x.rows)
        for i in 0..<x.rows {
            var s: S = 0
            for j in 0..<d {
                let xv = x[i, j], fv = f[i, j]
                switch likelihood {
                case .gaussianFixed(let v):
                    let t = xv - fv
                    s -= S(0.5 * Foundation.log(2 * Double.pi * v)) + S(0.5) * t * t / S(v)
                    gradient?[i * d + j] = t / S(v)
                default:
                    s += xv * fv - S.softplus(fv)
                    gradient?[i * d + j] = xv - S.sigmoid(fv)
                }
            }
            out[i] = s
        }
        return out
    }

    /// Per-row reconstruction log-likelihood in nats.
    public func reconstructionLogLikelihoods(of x: Matrix<S>) -> [S] {
        reconstructionLogLikelihood(x, outputs: decoder.forward(encode(x)).last!, gradient: nil)
    }

    /// Trains on the rows of `x` (preprocessed) by mini-batch gradient ascent on the mean
    /// reconstruction log-likelihood; the same seed gives the same weights.
    @_specialize(exported: true, where S == Float)
    public mutating func train(on x: Matrix<S>, options: VAETrainingOptions) -> [VAEEpochReport] {
        var rng = Xoshiro256StarStar(seed: options.seed)
        var optimizer = Optimizer<S>(options.optimizer, learningRate: S(options.learningRate))
        return MiniBatches.run(count: x.rows, options: options, rng: &rng) { rows, _ in
            let batch = x.selectingRows(rows)
            let sparse = SparseRows(batch)
            let encoded = encoder.forward(batch, sparseInput: sparse)
            let decoded = decoder.forward(encoded.last!)
            var df = Matrix<S>(rows: rows.count, columns: dimension)
            let values = df.withUnsafeMutableBufferPointer { reconstructionLogLikelihood(batch, outputs: decoded.last!, gradient: $0.start) }
            let (decoderGradients, dz) = decoder.backward(decoded, gradient: df)
            let encoderGradients = encoder.backward(encoded, gradient: dz, inputGradient: false, sparseInput: sparse).layers
            let scale = 1 / S(rows.count)
            optimizer.beginStep()
            var index = 0
            for (l, g) in encoderGradients.enumerated() {
                optimizer.update(index, parameters: &encoder.layers[l].weights, gradient: g.weights, scale: scale, ascend: true)
                optimizer.update(index + 1, parameters: &encoder.layers[l].bias, gradient: g.bias, scale: scale, ascend: true)
                index += 2
            }
            for (l, g) in decoderGradients.enumerated() {
                optimizer.update(index, parameters: &decoder.layers[l].weights, gradient: g.weights, scale: scale, ascend: true)
                optimizer.update(index + 1, parameters: &decoder.layers[l].bias, gradient: g.bias, scale: scale, ascend: true)
                index += 2
            }
            return values.reduce(0.0) { $0 + Double($1) }
        }
    }
}
