import Foundation

/// Data read a block of rows at a time, with the settings of a streamed mixture fit.
public struct StreamedMixtureData {
    public let source: any RowBlocks
    /// Rows per block: memory holds one block (and one block of responsibilities).
    public let blockRows: Int
    public let regularization: Double
    public let relativeRegularization: Double
    public let threads: Int

    public init(source: any RowBlocks, blockRows: Int = 65_536, regularization: Double = 0,
                relativeRegularization: Double = MixtureFitOptions().relativeRegularization, threads: Int = availableCores) {
        self.source = source
        self.blockRows = max(1, blockRows)
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.threads = max(1, threads)
    }

    /// Calls `body` with each block of rows in order.
    func forEachBlock(_ body: (Matrix<Double>) throws -> Void) throws {
        var start = 0
        while start < source.rowCount {
            let end = min(source.rowCount, start + blockRows)
            try body(source.rows(start..<end))
            start = end
        }
    }
}

/// A Gaussian mixture whose EM reads its data a block at a time: each step merges the blocks'
/// ``MixtureStatistics`` and takes the M-step, so it follows the in-memory EM from the same start
/// (to rounding), with memory independent of the number of rows.
public struct StreamedGaussianMixture: ExpectationMaximizable {
    public var model: GaussianMixture

    public init(_ model: GaussianMixture) { self.model = model }

    /// The statistics of every row under the current model.
    public func statistics(of data: StreamedMixtureData) throws -> MixtureStatistics {
        var first = 0
        let total = try MixtureStatistics.accumulated { add in
            try data.forEachBlock { block in
                try Self.check(block, firstRow: first, source: data.source.sourceName)
                try add(model.statistics(of: block, threads: data.threads))
                first += block.rows
            }
        }
        guard let total else { throw ModelError.emptyData }
        return total
    }

    public mutating func expectationMaximizationStep(on data: StreamedMixtureData) throws -> Double {
        let s = try statistics(of: data)
        model = try model.maximizing(s, regularization: data.regularization, relativeRegularization: data.relativeRegularization)
        return s.logLikelihood
    }

    /// Refuses infinite values and rows with every value missing, naming the source's row.
    static func check(_ block: Matrix<Double>, firstRow: Int, source: String) throws {
        let d = block.columns
        if let i = block.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("\(source): row \(firstRow + i / d + 1), column \(i % d + 1) holds \(block.elements[i]); a streamed fit needs finite numbers (NaN marks a missing value)")
        }
        if let i = (0..<block.rows).first(where: { i in (0..<d).allSatisfy { block[i, $0].isNaN } }) {
            throw ModelError.invalidSetting("\(source): row \(firstRow + i + 1) has every value missing; drop it")
        }
    }

    public func totalLogLikelihood(of data: StreamedMixtureData) throws -> Double {
        var total = 0.0
        try data.forEachBlock { total += model.totalLogLikelihood(of: $0, threads: data.threads) }
        return total
    }
}

extension GaussianMixture {
    /// Rows of the start's subsample in a streamed fit (evenly spaced over the source).
    public static let streamedStartRows = 20_000

    /// Fits a mixture to data read a block at a time (`RowBlocks`: a `.npy` file, say), for data
    /// larger than memory.
    ///
    /// The start is the default search (``fit(_:components:options:)`` with `options`) on a
    /// subsample of at most ``streamedStartRows`` evenly spaced rows, read in one pass (or
    /// `options.warmStart`, or `options.initialMeans` with the subsample's rows assigned to the
    /// nearest and one M-step); EM then runs on
    /// every row, each iteration one pass over the source (and one more at the end to score the
    /// returned model), with `options.em`'s stopping rules. From the same start it follows the
    /// in-memory EM to rounding.
    /// Missing values (NaN) are integrated out as in ``fit(_:components:options:)``, block by block;
    /// the variance floor uses the observed values' column variances, as in memory.
    /// - Throws: as ``fit(_:components:options:)``; ``ModelError/invalidSetting(_:)`` naming the row of
    ///   an infinite value or of a row with every value missing.
    /// - Complexity: memory `O(blockRows·(D + K) + K·D²)` plus the subsample; time one E-step per iteration.
    public static func fitStreamed(_ data: StreamedMixtureData, components: Int, options: MixtureFitOptions = MixtureFitOptions())
        throws -> (model: GaussianMixture, report: FitReport)
    {
        let n = data.source.rowCount
        guard n > 0, data.source.columnCount > 0 else { throw ModelError.emptyData }
        guard n >= components else {
            throw ModelError.tooFewPoints(points: n, needed: components, what: "a mixture of \(components) components")
        }
        let sample = try subsample(of: data, count: min(n, streamedStartRows))
        if let i = sample.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("\(data.source.sourceName): row \(i / sample.columns * n / sample.rows + 1), column \(i % sample.columns + 1) holds \(sample.elements[i]); a streamed fit needs finite numbers (NaN marks a missing value)")
        }
        let start: GaussianMixture
        let startReport: FitReport?
        if let warm = options.warmStart {
            start = warm
            startReport = nil
        } else if let means = options.initialMeans {
            // The given means, each subsample row assigned to the nearest, then one M-step.
            guard means.rows == components, means.columns == sample.columns else {
                throw ModelError.invalidSetting("the initial means must be a \(components) × \(sample.columns) matrix")
            }
            start = try startFromMeans(means, data: MixtureTrainingData(sample, covarianceType: options.covarianceType,
                                                                        regularization: options.regularization,
                                                                        relativeRegularization: options.relativeRegularization, threads: data.threads),
                                       type: options.covarianceType)
            startReport = nil
        } else {
            (start, startReport) = try fit(sample, components: components, options: options)
        }
        var streamed = StreamedGaussianMixture(start)
        let trace = try ExpectationMaximization.run(&streamed, on: data, count: n, options: options.em) { i, mean in
            options.progress?(.iteration(start: 0, iteration: i, meanLogLikelihood: mean))
        }
        var warnings = startReport?.warnings.map { "the start (on a subsample): \($0)" } ?? []
        let degeneracies = streamed.model.degeneracies(on: sample,
                                                       regularization: options.regularization,
                                                       relativeRegularization: options.relativeRegularization)
        if !degeneracies.isEmpty {
            warnings.append("\(degeneracies.map(\.description).joined(separator: "; ")) on the subsample. \(degenerateAdvice)")
        }
        return (streamed.model, FitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: n, warnings: warnings,
                                          degeneracies: degeneracies,
                                          totalIterations: trace.iterations + (startReport?.totalIterations ?? 0)))
    }

    /// `count` evenly spaced rows of the source (rows `⌊i·N/count⌋`), read block by block.
    static func subsample(of data: StreamedMixtureData, count: Int) throws -> Matrix<Double> {
        let n = data.source.rowCount, d = data.source.columnCount
        var out = Matrix<Double>(rows: count, columns: d)
        var next = 0, first = 0
        try data.forEachBlock { block in
            while next < count {
                let row = next * n / count
                guard row < first + block.rows else { break }
                for j in 0..<d { out[next, j] = block[row - first, j] }
                next += 1
            }
            first += block.rows
        }
        return out
    }
}
