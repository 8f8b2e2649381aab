import Foundation

/// Many sequences read a block of whole sequences at a time, with the settings of a streamed
/// hidden-Markov-model fit.
public struct StreamedSequenceData {
    public let source: any RowBlocks
    /// The sequences, row ranges of the source in order.
    public let sequences: [SequenceRange]
    /// Rows per block: consecutive sequences are read together up to this many rows; a longer
    /// sequence is read alone (forward-backward needs a sequence whole).
    public let blockRows: Int
    /// Gaussian emissions' variance floor (see ``HMMFitOptions``).
    public let regularization: Double
    public let relativeRegularization: Double
    public let threads: Int

    /// - Precondition: `sequences` are non-empty, in order, within the source's rows.
    public init(source: any RowBlocks, sequences: [SequenceRange], blockRows: Int = 65_536, regularization: Double = 0,
                relativeRegularization: Double = 1e-6, threads: Int = availableCores) {
        precondition(zip(sequences, sequences.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }
                     && sequences.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 && $0.upperBound <= source.rowCount },
                     "Sequences must be non-empty row ranges of the source, in order")
        self.source = source
        self.sequences = sequences
        self.blockRows = max(1, blockRows)
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.threads = max(1, threads)
    }

    /// Rows in all sequences.
    public var rowCount: Int { sequences.reduce(0) { $0 + $1.count } }

    /// Calls `body` with each block of whole consecutive sequences: their rows and their ranges
    /// within the block.
    func forEachBlock(_ body: (Matrix<Double>, [SequenceRange]) throws -> Void) throws {
        var i = 0
        while i < sequences.count {
            var j = i + 1
            while j < sequences.count && sequences[j].upperBound - sequences[i].lowerBound <= blockRows { j += 1 }
            let first = sequences[i].lowerBound
            let block = try source.rows(first..<sequences[j - 1].upperBound)
            try body(block, sequences[i..<j].map { ($0.lowerBound - first)..<($0.upperBound - first) })
            i = j
        }
    }
}

extension Array where Element == SequenceRange {
    /// Sequences where the value in column `column` of `ids` changes from one row to the next,
    /// read a block of `blockRows` rows at a time (memory `O(blockRows + sequences)`).
    public static func split(by ids: any RowBlocks, column: Int = 0, blockRows: Int = 65_536) throws -> [SequenceRange] {
        var out: [SequenceRange] = []
        var start = 0
        var previous: Double?
        var first = 0
        while first < ids.rowCount {
            let block = try ids.rows(first..<Swift.min(ids.rowCount, first + Swift.max(1, blockRows)))
            for r in 0..<block.rows {
                let v = block[r, column]
                if let previous, v != previous {
                    out.append(start..<(first + r))
                    start = first + r
                }
                previous = v
            }
            first += block.rows
        }
        if ids.rowCount > 0 { out.append(start..<ids.rowCount) }
        return out
    }
}

/// A hidden Markov model whose Baum-Welch reads its sequences a block at a time: each step
/// merges the blocks' ``HMMStatistics`` and takes the M-step, so it follows the in-memory
/// Baum-Welch from the same start (to rounding), with memory independent of the number of
/// sequences.
public struct StreamedHiddenMarkovModel<Emission: HMMEmission>: ExpectationMaximizable {
    public var model: HiddenMarkovModel<Emission>

    public init(_ model: HiddenMarkovModel<Emission>) { self.model = model }

    /// The statistics of every sequence under the current model.
    public func statistics(of data: StreamedSequenceData) throws -> HMMStatistics<Emission> {
        var first = 0
        let total = try HMMStatistics<Emission>.accumulated { add in
            try data.forEachBlock { block, ranges in
                do {
                    try add(model.statistics(of: block, sequences: ranges, regularization: data.regularization,
                                             relativeRegularization: data.relativeRegularization, threads: data.threads))
                } catch ModelError.invalidSetting(let message) {
                    throw ModelError.invalidSetting("\(data.source.sourceName), in the block of rows \(first + 1)–\(first + block.rows): \(message)")
                }
                first += block.rows
            }
        }
        guard let total else { throw ModelError.emptyData }
        return total
    }

    public mutating func expectationMaximizationStep(on data: StreamedSequenceData) throws -> Double {
        let s = try statistics(of: data)
        model = try model.maximizing(s, regularization: data.regularization, relativeRegularization: data.relativeRegularization)
        return s.logLikelihood
    }

    public func totalLogLikelihood(of data: StreamedSequenceData) throws -> Double {
        var total = 0.0
        try data.forEachBlock { block, ranges in total += model.logLikelihood(of: block, sequences: ranges, threads: data.threads) }
        return total
    }
}

extension HiddenMarkovModel {
    /// Rows of the start's sample of whole sequences in a streamed fit.
    public static var streamedStartRows: Int { 20_000 }

    /// Fits a `states`-state model to many sequences read a block of whole sequences at a time
    /// (a `.npy` or CSV file larger than memory, through `RowBlocks`).
    ///
    /// The start is the default search (``fit(_:sequences:states:options:)`` with `options`) on
    /// evenly spaced whole sequences holding at most ``streamedStartRows`` rows (at least one
    /// sequence); Baum-Welch then runs on every sequence, each iteration one pass over the source,
    /// with `options.em`'s stopping rules. From the same start it follows the in-memory
    /// Baum-Welch to rounding.
    /// - Throws: as ``fit(_:sequences:states:options:)``; ``ModelError/invalidSetting(_:)`` for rows the
    ///   emission cannot model.
    /// - Complexity: memory `O((blockRows + longest sequence)·(D + K))` plus the start's sample; time one
    ///   E-step per iteration.
    public static func fitStreamed(_ data: StreamedSequenceData, states: Int, options: HMMFitOptions<Emission> = HMMFitOptions())
        throws -> (model: HiddenMarkovModel, report: FitReport)
    {
        let n = data.rowCount
        guard n > 0, data.source.columnCount > 0 else { throw ModelError.emptyData }
        guard options.fixed.isEmpty else { throw ModelError.invalidSetting("a streamed fit updates every parameter; fixed parameters need the data in memory") }
        guard n >= states else { throw ModelError.tooFewPoints(points: n, needed: states, what: "an HMM with \(states) states") }
        let (start, startReport) = try streamedStart(data, states: states, options: options)
        var streamed = StreamedHiddenMarkovModel(start)
        let trace = try ExpectationMaximization.run(&streamed, on: data, count: n, options: options.em) { i, mean in
            options.progress?(.iteration(start: 0, iteration: i, meanLogLikelihood: mean))
        }
        let warnings = startReport?.warnings.map { "the start (on a sample of sequences): \($0)" } ?? []
        return (streamed.model, FitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: n, warnings: warnings,
                                          degeneracies: startReport?.degeneracies ?? [],
                                          totalIterations: trace.iterations + (startReport?.totalIterations ?? 0)))
    }

    /// The start of a streamed or online fit: `options.warmStart`, or the default search on `sample`
    /// (``sampleSequences(of:)`` when nil), with its report.
    static func streamedStart(_ data: StreamedSequenceData, sample given: (Matrix<Double>, [SequenceRange])? = nil, states: Int,
                              options: HMMFitOptions<Emission>) throws
        -> (model: HiddenMarkovModel, report: FitReport?)
    {
        if let given = options.warmStart {
            guard given.stateCount == states, given.emission.dimension == data.source.columnCount else {
                throw ModelError.invalidSetting("the starting model has \(given.stateCount) states over \(given.emission.dimension) columns; the fit asks for \(states) over \(data.source.columnCount)")
            }
            return (given, nil)
        }
        let (sample, ranges) = try given ?? sampleSequences(of: data)
        var startOptions = options
        startOptions.threads = data.threads
        let fitted = try fit(sample, sequences: ranges, states: states, options: startOptions)
        return (fitted.model, fitted.report)
    }

    /// Every `s`-th sequence, `s` chosen so that the sample holds at most ``streamedStartRows`` rows
    /// (at least the first sequence), concatenated, with their ranges.
    static func sampleSequences(of data: StreamedSequenceData) throws -> (Matrix<Double>, [SequenceRange]) {
        let n = data.rowCount
        let stride = max(1, (n + streamedStartRows - 1) / streamedStartRows)
        var chosen = Swift.stride(from: 0, to: data.sequences.count, by: stride).map { data.sequences[$0] }
        var rows = 0
        chosen = chosen.prefix { range in
            defer { rows += range.count }
            return rows == 0 || rows + range.count <= streamedStartRows
        }
        let d = data.source.columnCount
        var sample = Matrix<Double>(rows: chosen.reduce(0) { $0 + $1.count }, columns: d)
        var ranges: [SequenceRange] = []
        var at = 0
        for range in chosen {
            let block = try data.source.rows(range)
            for r in 0..<block.rows { for j in 0..<d { sample[at + r, j] = block[r, j] } }
            ranges.append(at..<(at + block.rows))
            at += block.rows
        }
        return (sample, ranges)
    }
}
