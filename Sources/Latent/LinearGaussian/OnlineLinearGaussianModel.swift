import Foundation

/// Online (stepwise) EM for factor analysis and probabilistic PCA over mini-batches of complete rows.
///
/// A linear-Gaussian model's E-step statistics are linear in the data's mean and second moments,
/// which do not depend on the model (see ``LinearGaussianStatistics``). So the online fit keeps a
/// running average of those moments, `s ← (1 − η) s + η s_batch`, and after each batch takes
/// ``iterationsPerBatch`` EM steps on them from the current model (probabilistic PCA: its closed
/// form). The step counts rows: a batch of `B` rows after `R` rows seen moves by `η = (B / (R + B))^κ`
/// (the first batch sets `s`). With `κ = 1` (the default) the running moments are exactly those of
/// every row seen so far; `κ < 1` weighs recent batches more (for data that drift). The fits below
/// feed the start's sample first, as one batch, so its rows count twice in the first pass's moments.
public struct OnlineLinearGaussianModel: Sendable {
    /// The current model.
    public private(set) var model: LinearGaussianModel
    /// Mini-batches seen.
    public private(set) var steps = 0
    /// Rows seen.
    public private(set) var rows = 0
    /// `κ` of the step sizes `(B / (R + B))^κ` (a batch of `B` rows after `R` rows seen).
    public let stepDecay: Double
    /// EM steps on the running moments after each batch.
    public let iterationsPerBatch: Int
    private let options: LinearGaussianFitOptions
    private var mean: [Double] = [], covariance: [Double] = []

    /// - Parameters:
    ///   - start: the model before the first batch (the factor count and noise kind stay its own).
    ///   - stepDecay: `κ`, in (0.5, 1].
    ///   - iterationsPerBatch: EM steps after each batch (at least 1).
    ///   - options: the noise floor and rotation of the fits (the stopping rules are replaced).
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a step decay outside (0.5, 1] or fewer than one
    ///   iteration per batch.
    public init(start: LinearGaussianModel, stepDecay: Double = 1, iterationsPerBatch: Int = 1,
                options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws {
        guard stepDecay > 0.5, stepDecay <= 1 else { throw ModelError.invalidSetting("the step decay κ must lie in (0.5, 1]; it is \(stepDecay)") }
        guard iterationsPerBatch >= 1 else { throw ModelError.invalidSetting("at least one EM step per batch") }
        model = start
        self.stepDecay = stepDecay
        self.iterationsPerBatch = iterationsPerBatch
        var options = options
        options.em = EMOptions(maxIterations: iterationsPerBatch, tolerance: 0)
        options.progress = nil
        self.options = options
    }

    /// The running moments as statistics of the rows seen (their count, the running mean and the
    /// running covariance times that count); nil before the first batch.
    public var statistics: LinearGaussianStatistics? {
        guard rows > 0 else { return nil }
        return LinearGaussianStatistics(count: rows, mean: mean, scatter: covariance.map { $0 * Double(rows) })
    }

    /// One step on a mini-batch (`B × D`, complete rows): the running moments move toward the
    /// batch's, then ``iterationsPerBatch`` EM steps from the current model.
    /// - Throws: ``ModelError`` for a missing or non-finite value (naming its row and column in the
    ///   batch), a width other than the model's, or a fit that fails (the model is then left as it was).
    /// - Complexity: `O(B·D²)` for the batch's moments, `O(D²k)` per EM step.
    public mutating func partialFit(_ batch: Matrix<Double>) throws {
        guard batch.rows > 0 else { return }
        let d = model.dimension
        guard batch.columns == d else { throw ModelError.invalidSetting("the batch has \(batch.columns) columns; the model \(d)") }
        let b = try LinearGaussianStatistics(batch)
        let eta = pow(Double(batch.rows) / Double(rows + batch.rows), stepDecay)
        var nextMean = b.mean, nextCovariance = b.scatter.map { $0 / Double(b.count) }
        if !mean.isEmpty {
            // Mean and covariance of the mixture (1 − η)·old + η·batch.
            let delta = (0..<d).map { b.mean[$0] - mean[$0] }
            nextMean = (0..<d).map { mean[$0] + eta * delta[$0] }
            for a in 0..<d {
                for c in 0..<d {
                    nextCovariance[a * d + c] = (1 - eta) * covariance[a * d + c] + eta * nextCovariance[a * d + c]
                        + eta * (1 - eta) * delta[a] * delta[c]
                }
            }
        }
        let seen = rows + batch.rows
        let moments = LinearGaussianStatistics(count: max(2, seen), mean: nextMean, scatter: nextCovariance.map { $0 * Double(max(2, seen)) })
        var options = options
        options.warmStart = model
        model = try LinearGaussianFitting.fit(statistics: moments, factors: model.factorCount, noise: model.noise, options: options).model
        (mean, covariance, rows) = (nextMean, nextCovariance, seen)
        steps += 1
    }
}

extension LinearGaussianFitting {
    /// Online EM over mini-batches of a row source (see ``OnlineLinearGaussianModel``): the start
    /// fitted to at most ``GaussianMixture/streamedStartRows`` evenly spaced rows (or
    /// `options.warmStart`), that sample as the first batch, then `passes` passes of `batchSize` rows — an in-memory matrix's in a
    /// fresh seeded random order each pass, a file's in its own order. After each pass one more pass
    /// scores the model: the report's history holds those totals, the start's first.
    static func fitOnline(_ source: any RowBlocks, factors: Int, noise: LinearGaussianNoise, batchSize: Int, passes: Int,
                          stepDecay: Double, iterationsPerBatch: Int, seed: UInt64, options: LinearGaussianFitOptions) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        guard batchSize >= 1, passes >= 1 else { throw ModelError.invalidSetting("the batch size and the number of passes must be at least 1") }
        let n = source.rowCount, d = source.columnCount
        guard n > 0, d > 0 else { throw ModelError.emptyData }
        if let warm = options.warmStart, warm.noise != noise || warm.factorCount != factors || warm.dimension != d {
            throw ModelError.invalidSetting("the starting model has \(warm.factorCount) factor(s) over \(warm.dimension) columns with \(warm.noise.rawValue) noise; the fit asks for \(factors) over \(d) with \(noise.rawValue) noise")
        }
        // Evenly spaced rows (strictly increasing indices: count ≤ n).
        let count = min(n, GaussianMixture.streamedStartRows)
        let sample = Matrix(try (0..<count).map { try source.rows(($0 * n / count)..<($0 * n / count + 1)).row(0) })
        if let i = sample.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("\(source.sourceName): row \((i / d) * n / count + 1), column \(i % d + 1) holds \(sample.elements[i]); an online fit needs complete rows of finite numbers (the streamed fit without online updates integrates missing values out)")
        }
        var startOptions = options
        startOptions.progress = nil
        let start = try options.warmStart ?? (noise == .diagonal ? FactorAnalysis.fit(sample, factors: factors, options: startOptions).model
                                                                 : ProbabilisticPCA.fit(sample, components: factors, options: startOptions).model)
        var online = try OnlineLinearGaussianModel(start: start, stepDecay: stepDecay, iterationsPerBatch: iterationsPerBatch, options: options)
        func total(_ model: LinearGaussianModel) throws -> Double {
            var sum = 0.0
            for first in stride(from: 0, to: n, by: 65_536) {
                sum += model.logLikelihoods(of: try source.rows(first..<min(n, first + 65_536))).reduce(0, +)
            }
            return sum
        }
        var history = [try total(start)]
        // The sample first, as one large batch (its moments begin the running average).
        try online.partialFit(sample)
        var rng = Xoshiro256StarStar(seed: seed).derived(1)
        let inMemory = source as? Matrix<Double>
        for pass in 0..<passes {
            if let x = inMemory {
                var order = Array(0..<n)
                order.shuffle(using: &rng)
                for b in stride(from: 0, to: n, by: batchSize) { try online.partialFit(x.selectingRows(order[b..<min(n, b + batchSize)])) }
            } else {
                for b in stride(from: 0, to: n, by: batchSize) {
                    let batch = try source.rows(b..<min(n, b + batchSize))
                    if let i = batch.elements.firstIndex(where: { !$0.isFinite }) {
                        throw ModelError.invalidSetting("\(source.sourceName): row \(b + i / d + 1), column \(i % d + 1) holds \(batch.elements[i]); an online fit needs complete rows of finite numbers (the streamed fit without online updates integrates missing values out)")
                    }
                    try online.partialFit(batch)
                }
            }
            history.append(try total(online.model))
            options.progress?(.iteration(start: 0, iteration: pass, meanLogLikelihood: history.last! / Double(n)))
        }
        let trace = EMTrace(history: history, iterations: passes, converged: false, stoppedOnDecrease: false)
        return (online.model, FitReport(trace: trace, startLogLikelihoods: [history[0]], count: n, totalIterations: passes))
    }
}

extension FactorAnalysis {
    /// Fits `factors` factors by online EM over mini-batches of `batchSize` complete rows
    /// (``OnlineLinearGaussianModel``; κ = `stepDecay`), `passes` times over the source,
    /// `iterationsPerBatch` EM steps after each batch (EM on factor models converges slowly, and a
    /// step on the moments costs `O(D²k)`, little beside the batch's `O(B·D²)`). The start is fitted to at most 20,000 evenly spaced rows (or is
    /// `options.warmStart`). For the exact fit of rows that do not fit memory, one pass of
    /// ``fitStreamed(_:factors:blockRows:options:)`` is cheaper; the online fit has a model after
    /// every batch and, with `κ < 1`, follows data that drift.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` for a batch size or
    ///   pass count below 1, a step decay outside (0.5, 1], or a missing value.
    /// - Complexity: per pass `O(N·D²)` for the batches' moments, `O(N/B · D²k)` for the EM steps,
    ///   and one scoring pass.
    public static func fitOnline(_ source: any RowBlocks, factors: Int, batchSize: Int = 256, passes: Int = 1, stepDecay: Double = 1,
                                 iterationsPerBatch: Int = 10, seed: UInt64 = 0, options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fitOnline(source, factors: factors, noise: .diagonal, batchSize: batchSize, passes: passes,
                                            stepDecay: stepDecay, iterationsPerBatch: iterationsPerBatch, seed: seed, options: options)
    }
}

extension ProbabilisticPCA {
    /// Probabilistic PCA by online updates over mini-batches (see
    /// ``FactorAnalysis/fitOnline(_:factors:batchSize:passes:stepDecay:iterationsPerBatch:seed:options:)``): after each
    /// batch, the closed form from the running moments.
    public static func fitOnline(_ source: any RowBlocks, components: Int, batchSize: Int = 256, passes: Int = 1, stepDecay: Double = 1,
                                 seed: UInt64 = 0, options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fitOnline(source, factors: components, noise: .isotropic, batchSize: batchSize, passes: passes,
                                            stepDecay: stepDecay, iterationsPerBatch: 1, seed: seed, options: options)
    }
}
