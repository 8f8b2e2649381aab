import Foundation
import Testing
import Latent
import TestSupport

@Suite struct VariationalAutoencoderTests {
    static func smallModel(_ likelihood: VAELikelihood, activation: Activation = .tanh, seed: UInt64 = 1,
                           hidden: [Int] = [4]) -> VariationalAutoencoder<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        var m = VariationalAutoencoder<Double>(dimension: 5, latent: 2, hidden: hidden, activation: activation, likelihood: likelihood, using: &rng)
        if likelihood == .gaussianLearned { m.logVariance = [0.3, -0.2, 0.1, 0.5, -0.4] }
        return m
    }

    /// Every parameter's analytic gradient against a central difference of the objective.
    func checkGradients(_ model: VariationalAutoencoder<Double>, x: Matrix<Double>, objective: VAEObjective) {
        var rng = Xoshiro256StarStar(seed: 9)
        let k = objective.samples
        let epsilon = Matrix<Double>(rows: x.rows * k, columns: model.latentSize,
                                     storage: (0..<(x.rows * k * model.latentSize)).map { _ in rng.nextNormal() })
        let analytic = model.objective(x, epsilon: epsilon, objective: objective).gradients
        let h = 1e-6
        func numeric(_ modify: (inout VariationalAutoencoder<Double>, Double) -> Void) -> Double {
            var plus = model, minus = model
            modify(&plus, h)
            modify(&minus, -h)
            return (plus.objective(x, epsilon: epsilon, objective: objective).value
                    - minus.objective(x, epsilon: epsilon, objective: objective).value) / (2 * h)
        }
        func close(_ a: Double, _ b: Double, _ what: String) {
            #expect(abs(a - b) <= 1e-5 * max(1, abs(a), abs(b)), "\(what): analytic \(a), numeric \(b)")
        }
        for l in model.encoder.layers.indices {
            for i in model.encoder.layers[l].weights.elements.indices {
                close(analytic.encoder[l].weights.elements[i], numeric { model, h in model.encoder.layers[l].weights.withUnsafeMutableBufferPointer { $0[i] += h } }, "encoder \(l) W[\(i)]")
            }
            for i in model.encoder.layers[l].bias.indices {
                close(analytic.encoder[l].bias[i], numeric { $0.encoder.layers[l].bias[i] += $1 }, "encoder \(l) b[\(i)]")
            }
        }
        for l in model.decoder.layers.indices {
            for i in model.decoder.layers[l].weights.elements.indices {
                close(analytic.decoder[l].weights.elements[i], numeric { model, h in model.decoder.layers[l].weights.withUnsafeMutableBufferPointer { $0[i] += h } }, "decoder \(l) W[\(i)]")
            }
            for i in model.decoder.layers[l].bias.indices {
                close(analytic.decoder[l].bias[i], numeric { $0.decoder.layers[l].bias[i] += $1 }, "decoder \(l) b[\(i)]")
            }
        }
        for i in model.logVariance.indices {
            close(analytic.logVariance[i], numeric { $0.logVariance[i] += $1 }, "log variance [\(i)]")
        }
    }

    @Test func elboAndIWAEGradientsEqualFiniteDifferences() {
        var rng = Xoshiro256StarStar(seed: 3)
        let binary = Matrix<Double>(rows: 6, columns: 5, storage: (0..<30).map { _ in rng.nextUniform() < 0.4 ? 1 : 0 })
        let real = Matrix<Double>(rows: 6, columns: 5, storage: (0..<30).map { _ in rng.nextNormal() })
        checkGradients(Self.smallModel(.bernoulli), x: binary, objective: .elbo(beta: 1))
        checkGradients(Self.smallModel(.bernoulli, activation: .softplus), x: binary, objective: .iwae(samples: 3))
        checkGradients(Self.smallModel(.gaussianFixed(variance: 0.5), activation: .sigmoid), x: real, objective: .elbo(beta: 0.7))
        checkGradients(Self.smallModel(.gaussianLearned, activation: .relu, seed: 4), x: real, objective: .iwae(samples: 4))
        checkGradients(Self.smallModel(.gaussianLearned, activation: .identity), x: real, objective: .elbo(beta: 1))
        // Mostly zeros (one row entirely): the first layer takes the sparse products, and 70 hidden
        // units cover both their 64-column strips and the remainder.
        let sparse = Matrix<Double>(rows: 6, columns: 5, storage: (0..<30).map { i in i < 5 ? 0 : (rng.nextUniform() < 0.2 ? 1 : 0) })
        #expect(sparse.elements.filter { $0 != 0 }.count <= 9)
        var wide = Self.smallModel(.bernoulli, activation: .relu, seed: 5, hidden: [70])
        // Nonzero biases, so that the all-zero row does not sit on ReLU's kink.
        wide.encoder.layers[0].bias = (0..<70).map { _ in 0.2 * rng.nextNormal() }
        checkGradients(wide, x: sparse, objective: .elbo(beta: 1))
    }

    /// Training with two threads gives the model one thread gives (the batch is always split in two
    /// halves whose gradients are added in a fixed order). Small enough to run under ThreadSanitizer
    /// (`swift test --sanitize=thread --filter twoThreadTraining`).
    @Test func twoThreadTrainingEqualsOneThread() throws {
        let x: Matrix<Float> = try TestData.csv("faithful.csv").values.float
        var models: [VariationalAutoencoder<Float>] = []
        for threads in [1, 2] {
            var rng = Xoshiro256StarStar(seed: 3)
            var model = VariationalAutoencoder<Float>(dimension: 2, latent: 1, hidden: [8], likelihood: .gaussianLearned,
                                                      preprocessing: Preprocessing(), using: &rng)
            var options = VAETrainingOptions()
            options.epochs = 3
            options.batchSize = 64
            options.seed = 4
            options.threads = threads
            _ = model.train(on: x, options: options)
            models.append(model)
        }
        #expect(models[0] == models[1])
    }

    @Test func closedFormKLEqualsMonteCarlo() {
        // KL(𝒩(μ, σ²) ‖ 𝒩(0, 1)) per dimension, closed form against E_q[log q − log p].
        let mu = [0.7, -1.2, 0.1], logVar = [-0.5, 0.8, 0.0]
        let closed = zip(mu, logVar).reduce(0.0) { $0 + 0.5 * ($1.0 * $1.0 + exp($1.1) - 1 - $1.1) }
        var rng = Xoshiro256StarStar(seed: 12)
        let n = 400_000
        var total = 0.0
        for _ in 0..<n {
            for j in 0..<3 {
                let e = rng.nextNormal(), z = mu[j] + exp(logVar[j] / 2) * e
                total += (-0.5 * logVar[j] - 0.5 * e * e) - (-0.5 * z * z)
            }
        }
        #expect(abs(total / Double(n) - closed) < 0.01, "MC \(total / Double(n)) vs closed \(closed)")
    }

    static let mnist: Matrix<Double> = try! IDX.read(path: TestData.path("mnist5k-train-images.idx3-ubyte"))

    @Test func shortMNISTTrainingImprovesAndEstimatorsAreOrdered() throws {
        let raw = Self.mnist.selectingRows(0..<1000)
        let preprocessing = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
        let x: Matrix<Float> = preprocessing.apply(raw)
        var rng = Xoshiro256StarStar(seed: 5)
        var model = VariationalAutoencoder<Float>(dimension: 784, latent: 10, hidden: [200], likelihood: .bernoulli,
                                                  preprocessing: preprocessing, using: &rng)
        var options = VAETrainingOptions()
        options.epochs = 5
        options.seed = 6
        options.threads = 2
        let reports = model.train(on: x, options: options)
        let elbos = reports.map(\.meanObjective)
        print("short MNIST ELBO by epoch:", elbos, "seconds:", reports.map(\.seconds))
        #expect(zip(elbos, elbos.dropFirst()).allSatisfy { $0 < $1 })
        #expect(elbos.last! > -215)
        // Same seed, same weights.
        var rng2 = Xoshiro256StarStar(seed: 5)
        var again = VariationalAutoencoder<Float>(dimension: 784, latent: 10, hidden: [200], likelihood: .bernoulli,
                                              preprocessing: preprocessing, using: &rng2)
        _ = again.train(on: x, options: options)
        #expect(again == model)
        // ELBO ≤ IWAE-1…IWAE-K, non-decreasing in K (beyond the standard errors), stable for large K.
        let test = x.selectingRows(0..<200)
        let elbo = model.estimateLogLikelihood(test, estimator: .elbo, samples: 10, seed: 1)
        let iwae = [1, 10, 100].map { model.estimateLogLikelihood(test, estimator: .iwae, samples: $0, seed: 2) }
        let iwaeAgain = model.estimateLogLikelihood(test, estimator: .iwae, samples: 100, seed: 3)
        let naive = model.estimateLogLikelihood(test, estimator: .naiveMC, samples: 100, seed: 4)
        print("ELBO \(elbo.mean) ± \(elbo.standardError); IWAE 1/10/100: \(iwae.map(\.mean)); again \(iwaeAgain.mean); naive MC \(naive.mean)")
        #expect(iwae[1].mean >= elbo.mean)
        #expect(iwae[1].mean >= iwae[0].mean && iwae[2].mean >= iwae[1].mean)
        #expect(abs(iwaeAgain.mean - iwae[2].mean) < 0.5)
        #expect(naive.mean < iwae[2].mean)
        // The decoder's output layer on bfloat16 operands (the default for a Bernoulli decoder where the
        // CPU has AVX-512 BF16): the same draws, an estimate within a hundredth of its standard error.
        let single = model.estimateLogLikelihood(test, estimator: .iwae, samples: 100, seed: 2, precision: .single)
        let reduced = model.estimateLogLikelihood(test, estimator: .iwae, samples: 100, seed: 2, precision: .bfloat16)
        #expect(single.precision == .single)
        #expect(reduced.precision == (BFloat16Matrix.isSupported ? .bfloat16 : .single))
        #expect(iwae[2].precision == reduced.precision)
        print("IWAE-100 fp32 \(single.mean) ± \(single.standardError), \(reduced.precision.rawValue) \(reduced.mean)")
        #expect(abs(reduced.mean - single.mean) < 0.01 * single.standardError)
        #expect(zip(reduced.perExample, single.perExample).allSatisfy { abs($0 - $1) < 0.1 })
        // The file round-trips through safetensors; a damaged file is refused by name.
        let dir = TestData.temporaryDirectory()
        let path = dir.appendingPathComponent("vae.safetensors").path
        try ModelFile(model: .variationalAutoencoder(model), columns: (0..<784).map { "x\($0 + 1)" }).write(to: path)
        guard case .variationalAutoencoder(let back) = try ModelFile.read(path: path).model else { Issue.record("wrong kind"); return }
        #expect(back == model)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes = bytes.prefix(bytes.count - 100)
        #expect(throws: DataError.self) { try ModelFile.decode(bytes, source: "damaged.safetensors") }
    }

    @Test func refiningEachPosteriorClosesPartOfTheAmortisationGap() {
        let preprocessing = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
        let x: Matrix<Float> = preprocessing.apply(Self.mnist.selectingRows(0..<600))
        var rng = Xoshiro256StarStar(seed: 8)
        var model = VariationalAutoencoder<Float>(dimension: 784, latent: 8, hidden: [100], likelihood: .bernoulli,
                                                  preprocessing: preprocessing, using: &rng)
        var options = VAETrainingOptions()
        options.epochs = 3
        _ = model.train(on: x, options: options)
        let report = model.refinePosteriors(x.selectingRows(0..<100), steps: 60, evaluationSamples: 50, seed: 2)
        print("amortised ELBO \(report.amortizedELBO), refined \(report.refinedELBO), gap \(report.gap)")
        #expect(report.gap > 0.5)
        #expect(report.perExample.count == 100)
    }

    @Test(arguments: [(3, 1_500), (25, 50)])
    func theRefinementsELBOInPassesEqualsOneDirectComputation(_ rows: Int, _ samples: Int) {
        // 3 rows × 1,500 draws: more than one pass (1,024 draws for 784 columns) per row, so a row's
        // draws span passes; 25 rows × 50 draws: 20 rows per pass, and a last pass of 5. With no
        // steps, the report's per-row ELBO is the second evaluation: the same generator, past the
        // first evaluation's draws, gives the same draws in order.
        let preprocessing = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
        let x: Matrix<Float> = preprocessing.apply(Self.mnist.selectingRows(0..<rows))
        var rng = Xoshiro256StarStar(seed: 4)
        let model = VariationalAutoencoder<Float>(dimension: 784, latent: 2, hidden: [8], likelihood: .bernoulli,
                                                  preprocessing: preprocessing, using: &rng)
        let passDraws = 4 * VariationalAutoencoder<Float>.scoringPassRows(dimension: 784)
        #expect(samples > passDraws || (rows * samples > passDraws && rows % (passDraws / samples) != 0))
        let report = model.refinePosteriors(x, steps: 0, evaluationSamples: samples, seed: 9)

        let out = model.encoder.forward(x).last!
        var direct = Xoshiro256StarStar(seed: 9)
        for _ in 0..<(rows * samples * 2) { _ = direct.nextNormal() }
        var z = Matrix<Float>(rows: rows * samples, columns: 2)
        for r in 0..<z.rows {
            for j in 0..<2 { z[r, j] = out[r / samples, j] + Float.exponential(out[r / samples, 2 + j] / 2) * Float(direct.nextNormal()) }
        }
        let logits = model.decoder.forward(z).last!
        for i in 0..<rows {
            var reconstruction = 0.0
            for r in (i * samples)..<((i + 1) * samples) {
                for j in 0..<784 {
                    let f = Double(logits[r, j])
                    reconstruction += Double(x[i, j]) * f - (max(f, 0) + log1p(exp(-abs(f))))
                }
            }
            reconstruction /= Double(samples)
            let kl = (0..<2).reduce(0.0) { s, j in
                let mu = Double(out[i, j]), lv = Double(out[i, 2 + j])
                return s + 0.5 * (mu * mu + exp(lv) - 1 - lv)
            }
            #expect(abs(report.perExample[i] - (reconstruction - kl)) <= 1e-5 * abs(reconstruction - kl), "row \(i)")
        }
    }

    @Test func autoencoderGradientsEqualFiniteDifferencesAndTrainingImproves() {
        var rng = Xoshiro256StarStar(seed: 2)
        let ae = Autoencoder<Double>(dimension: 5, code: 2, hidden: [3], activation: .tanh, likelihood: .bernoulli, using: &rng)
        let x = Matrix<Double>(rows: 4, columns: 5, storage: (0..<20).map { _ in rng.nextUniform() < 0.5 ? 1 : 0 })
        func value(_ m: Autoencoder<Double>) -> Double { m.reconstructionLogLikelihoods(of: x).reduce(0, +) }
        // One gradient-ascent step of plain SGD with a tiny rate moves every parameter by rate × gradient:
        // compare that move with central differences.
        var options = VAETrainingOptions()
        options.epochs = 1
        options.batchSize = 4
        options.optimizer = .sgd
        options.learningRate = 1e-3
        var stepped = ae
        _ = stepped.train(on: x, options: options)
        let h = 1e-6
        for l in ae.encoder.layers.indices {
            for i in ae.encoder.layers[l].weights.elements.indices {
                var plus = ae, minus = ae
                plus.encoder.layers[l].weights.withUnsafeMutableBufferPointer { $0[i] += h }
                minus.encoder.layers[l].weights.withUnsafeMutableBufferPointer { $0[i] -= h }
                let numeric = (value(plus) - value(minus)) / (2 * h) / 4   // mean over the 4 rows
                let analytic = (stepped.encoder.layers[l].weights.elements[i] - ae.encoder.layers[l].weights.elements[i]) / 1e-3
                #expect(abs(numeric - analytic) < 1e-5 * max(1, abs(numeric)), "encoder \(l) W[\(i)]")
            }
        }
        for l in ae.decoder.layers.indices {
            for i in ae.decoder.layers[l].bias.indices {
                var plus = ae, minus = ae
                plus.decoder.layers[l].bias[i] += h
                minus.decoder.layers[l].bias[i] -= h
                let numeric = (value(plus) - value(minus)) / (2 * h) / 4
                let analytic = (stepped.decoder.layers[l].bias[i] - ae.decoder.layers[l].bias[i]) / 1e-3
                #expect(abs(numeric - analytic) < 1e-5 * max(1, abs(numeric)), "decoder \(l) b[\(i)]")
            }
        }
        // On MNIST the reconstruction improves epoch after epoch, and the same seed gives the same weights.
        let preprocessing = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
        let images: Matrix<Float> = preprocessing.apply(Self.mnist.selectingRows(0..<500))
        var r1 = Xoshiro256StarStar(seed: 4), r2 = Xoshiro256StarStar(seed: 4)
        var a = Autoencoder<Float>(dimension: 784, code: 16, hidden: [100], likelihood: .bernoulli, preprocessing: preprocessing, using: &r1)
        var b = Autoencoder<Float>(dimension: 784, code: 16, hidden: [100], likelihood: .bernoulli, preprocessing: preprocessing, using: &r2)
        var mnistOptions = VAETrainingOptions()
        mnistOptions.epochs = 3
        let reports = a.train(on: images, options: mnistOptions)
        _ = b.train(on: images, options: mnistOptions)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.meanObjective < $1.meanObjective })
        #expect(a == b)
    }

    @Test func pixelPreprocessingRefusesDataThatAreNoRawPixels() {
        let pixels = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
        func data(_ values: [Double]) -> Matrix<Double> { Matrix(rows: 2, columns: values.count / 2, storage: values) }
        #expect(pixels.mismatch(with: data([0, 17, 255, .nan, 3, 0])) == nil)
        #expect(pixels.mismatch(with: data([0, 0, 0, 0])) == nil)   // blank images are pixels too
        for (values, phrase) in [([0, 0.5, 1, 0], "row 1, column 2 holds 0.5"), ([0, 1, 1, 0], "every value is 0 or 1"),
                                 ([0, 3, 256, 0], "row 2, column 1 holds 256.0"), ([0, 3, -1, 0], "row 2, column 1 holds -1.0")] {
            let message = pixels.mismatch(with: data(values)) ?? ""
            #expect(message.contains(phrase) && message.contains("raw pixel values"), "\(values): \(message)")
        }
        // Preprocessing without the pixel scale takes any values.
        #expect(Preprocessing(binarizeThreshold: 0.5).mismatch(with: data([0, 0.5, -3, 1e6])) == nil)
    }

    @Test func aLinearGaussianVAESetToAFactorModelMatchesItsExactLikelihood() throws {
        // Factor analysis on iris; a VAE with a linear decoder W z + μ, learned variances Ψ, and a
        // linear encoder giving the exact posterior mean (and its marginal variances): IWAE with many
        // samples converges to the factor model's exact log-likelihood.
        let x = try TestData.csv("iris.csv").values
        let (fa, _) = try FactorAnalysis.fit(x, factors: 1)
        let exact = fa.meanLogLikelihood(of: x)
        let d = 4
        let post = fa.posterior(of: x)
        // E[z|x] = B (x − μ) with B = V Wᵀ Ψ⁻¹ (k = 1).
        let v = post.covariances[0][0, 0]
        let b = (0..<d).map { v * fa.loadings[$0, 0] / fa.noiseVariances[$0] }
        let encoder = DenseNetwork<Double>(layers: [DenseLayer(
            weights: Matrix(rows: d, columns: 2, storage: (0..<d).flatMap { [b[$0], 0] }),
            bias: [-(0..<d).reduce(0) { $0 + b[$1] * fa.mean[$1] }, log(v)], activation: .identity)])
        let decoder = DenseNetwork<Double>(layers: [DenseLayer(
            weights: Matrix(rows: 1, columns: d, storage: (0..<d).map { fa.loadings[$0, 0] }), bias: fa.mean, activation: .identity)])
        let vae = VariationalAutoencoder(encoder: encoder, decoder: decoder, likelihood: .gaussianLearned,
                                         logVariance: fa.noiseVariances.map { log($0) })
        let estimate = vae.estimateLogLikelihood(x, estimator: .iwae, samples: 2000, seed: 1)
        #expect(estimate.precision == .single)   // a double-precision Gaussian decoder
        let elbo = vae.estimateLogLikelihood(x, estimator: .elbo, samples: 2000, seed: 1)
        print("FA exact \(exact), IWAE-2000 \(estimate.mean), ELBO \(elbo.mean)")
        #expect(abs(estimate.mean - exact) < 2e-3)
        // The same estimate on one core or two: with 30,000 draws per row (passes of 25,088 here,
        // blocks of 3 rows) a row's draws span passes and a pass spans rows.
        let one = vae.estimateLogLikelihood(x, estimator: .iwae, samples: 30_000, seed: 2, threads: 1)
        let two = vae.estimateLogLikelihood(x, estimator: .iwae, samples: 30_000, seed: 2, threads: 2)
        #expect(VariationalAutoencoder<Double>.scoringPassRows(dimension: d) == 25_088)
        #expect(one.perExample == two.perExample)
        #expect(abs(one.mean - exact) < 2e-3)
        // With a one-dimensional latent the encoder's Gaussian is the exact posterior: the ELBO is tight too.
        #expect(abs(elbo.mean - exact) < 2e-2)
    }
}

/// VAE files in PyTorch's layout (version 2), and files of version 1 still read.
struct VAEFileLayoutTests {
    @Test func weightsAreStoredOutputsByInputsAndVersionOneFilesStillRead() throws {
        var rng = Xoshiro256StarStar(seed: 3)
        let model = VariationalAutoencoder<Float>(dimension: 6, latent: 2, hidden: [5], likelihood: .gaussianLearned,
                                                  preprocessing: Preprocessing(), using: &rng)
        let columns = (1...6).map { "x\($0)" }
        let bytes = try ModelFile(model: .variationalAutoencoder(model), columns: columns).encoded()
        let (tensors, metadata) = try SafeTensors.decode(bytes, source: "vae.safetensors")
        #expect(metadata["version"] == "2")
        // encoder: 6 → 5 → 4 (mean and log-variance of 2 latents); decoder: 2 → 5 → 6.
        #expect(tensors["encoder.0.weight"]?.shape == [5, 6] && tensors["encoder.1.weight"]?.shape == [4, 5])
        #expect(tensors["decoder.0.weight"]?.shape == [5, 2] && tensors["decoder.1.weight"]?.shape == [6, 5])
        #expect(tensors["encoder.0.weight"]?.values == model.encoder.layers[0].weights.transposed.elements)
        guard case .variationalAutoencoder(let back) = try ModelFile.decode(bytes, source: "vae.safetensors").model else {
            Issue.record("wrong kind"); return
        }
        #expect(back == model)
        // The same model written the version-1 way: weights [inputs, outputs], version "1".
        var old = tensors
        for (name, tensor) in tensors where name.hasSuffix(".weight") {
            let stored = Matrix<Float>(rows: tensor.shape[0], columns: tensor.shape[1], storage: tensor.values)
            old[name] = SafeTensors.Tensor(shape: [tensor.shape[1], tensor.shape[0]], values: stored.transposed.elements)
        }
        var oldMetadata = metadata
        oldMetadata["version"] = "1"
        let oldBytes = try SafeTensors.encode(old, metadata: oldMetadata)
        guard case .variationalAutoencoder(let fromOld) = try ModelFile.decode(oldBytes, source: "old.safetensors").model else {
            Issue.record("wrong kind"); return
        }
        #expect(fromOld == model)
    }
}
