import Foundation

/// Settings for training a VAE.
public struct VAETrainingOptions: Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var optimizer: OptimizerKind
    public var objective: VAEObjective
    public var seed: UInt64
    /// Cores to use: each mini-batch is split into two fixed halves whose gradients are computed in
    /// parallel and added in order, so the weights do not depend on the thread count.
    public var threads: Int
    /// Called after each epoch.
    public var progress: (@Sendable (VAEEpochReport) -> Void)?

    /// Every setting, each defaulting to the value documented on its property.
    public init(epochs: Int = 10,
                batchSize: Int = 100,
                learningRate: Double = 1e-3,
                optimizer: OptimizerKind = .adam,
                objective: VAEObjective = .elbo(beta: 1),
                seed: UInt64 = 0,
                threads: Int = availableCores,
                progress: (@Sendable (VAEEpochReport) -> Void)? = nil) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.objective = objective
        self.seed = seed
        self.threads = threads
        self.progress = progress
    }
}

/// One epoch of training.
public struct VAEEpochReport: Sendable {
    public var epoch: Int
    /// The objective per example, averaged over the epoch's batches (as the parameters moved).
    public var meanObjective: Double
    public var seconds: Double
    public var examplesPerSecond: Double
}

extension VariationalAutoencoder {
    /// Trains on the rows of `x` (already preprocessed) with mini-batches shuffled by a seeded
    /// generator; the same seed gives the same weights.
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public mutating func train(on x: Matrix<S>, options: VAETrainingOptions) -> [VAEEpochReport] {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        var rng = Xoshiro256StarStar(seed: options.seed)
        var optimizer = Optimizer<S>(options.optimizer, learningRate: S(options.learningRate))
        optimizer.threads = options.threads
        let k = options.objective.samples, l = latentSize
        // The data's nonzeros, found once: each half-batch gathers its rows' (when the data are mostly zeros).
        let nonzeros = SparseRows(x)
        return MiniBatches.run(count: x.rows, options: options, rng: &rng) { rows, rng in
            var epsilon = Matrix<S>(rows: rows.count * k, columns: l)
            epsilon.withUnsafeMutableBufferPointer { rng.fillNormalPairs($0) }
            let (value, gradients, second) = splitObjective(x, rows: rows, epsilon: epsilon, objective: options.objective,
                                                            threads: options.threads, nonzeros: nonzeros)
            // Ascend the mean objective of the batch.
            optimizer.beginStep()
            apply(gradients, adding: second, scale: 1 / S(rows.count), optimizer: &optimizer)
            return Double(value)
        }
    }

    /// The objective of the batch `rows` of `x` as the sum over two fixed halves (in parallel on two
    /// cores), and the halves' gradients (the second nil for a batch too small to split), which the
    /// step adds. Each half gathers its rows straight from `x`, and its nonzeros from `nonzeros`
    /// (those of the whole of `x`; nil: found in the half, or none when it is dense).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func splitObjective(_ x: Matrix<S>, rows: [Int], epsilon: Matrix<S>, objective: VAEObjective, threads: Int,
                        nonzeros: SparseRows<S>? = nil) -> (S, VAEGradients<S>, VAEGradients<S>?)
    {
        let k = objective.samples
        func part(_ range: Range<Int>) -> (S, VAEGradients<S>) {
            let chosen = rows[range], data = x.selectingRows(chosen)
            let sparse = nonzeros.map { $0.selecting(chosen) } ?? SparseRows(data)
            return self.objective(data, epsilon: epsilon.selectingRows((range.lowerBound * k)..<(range.upperBound * k)),
                                  objective: objective, sparse: sparse)
        }
        guard rows.count >= 16 else {
            let whole = part(0..<rows.count)
            return (whole.0, whole.1, nil)
        }
        let middle = rows.count / 2
        let halves = [0..<middle, middle..<rows.count]
        var results = [(S, VAEGradients<S>)?](repeating: nil, count: 2)
        results.withUnsafeMutableBufferPointer { out in
            let base = out.start
            ChunkedWork(count: 2, minimumChunk: 1, maxChunks: 2).run(threads: threads) { index, _ in
                base[index] = part(halves[index])
            }
        }
        let (value, first) = results[0]!, (value2, second) = results[1]!
        return (value + value2, first, second)
    }

    /// One optimiser step along `(gradients + second) × scale`; the halves are added inside the step.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    mutating func apply(_ gradients: VAEGradients<S>, adding second: VAEGradients<S>? = nil, scale: S, optimizer: inout Optimizer<S>) {
        var index = 0
        func step(_ parameters: inout [S], _ gradient: [S], _ other: [S]?) {
            optimizer.update(index, parameters: &parameters, gradient: gradient, adding: other, scale: scale, ascend: true)
            index += 1
        }
        func step(_ parameters: inout Matrix<S>, _ gradient: Matrix<S>, _ other: Matrix<S>?) {
            optimizer.update(index, parameters: &parameters, gradient: gradient, adding: other, scale: scale, ascend: true)
            index += 1
        }
        for l in encoder.layers.indices {
            step(&encoder.layers[l].weights, gradients.encoder[l].weights, second?.encoder[l].weights)
            step(&encoder.layers[l].bias, gradients.encoder[l].bias, second?.encoder[l].bias)
        }
        for l in decoder.layers.indices {
            step(&decoder.layers[l].weights, gradients.decoder[l].weights, second?.decoder[l].weights)
            step(&decoder.layers[l].bias, gradients.decoder[l].bias, second?.decoder[l].bias)
        }
        if !logVariance.isEmpty {
            step(&logVariance, gradients.logVariance, second?.logVariance)
            let bound = Self.largestLogVariance
            for j in logVariance.indices { logVariance[j] = min(max(logVariance[j], -bound), bound) }
        }
    }
}
