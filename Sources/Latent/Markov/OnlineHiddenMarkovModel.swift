import Foundation

/// An emission whose E-step statistics online EM can average across the models that made them:
/// it turns its ``HMMEmission/Statistics`` into per-row averages that do not depend on the model,
/// and takes its M-step from such averages. Gaussian emissions (raw moments about a fixed origin,
/// ``RunningMixtureMoments``), Poisson and categorical emissions (their weighted sums per row) adopt it.
public protocol OnlineHMMEmission: HMMEmission {
    /// Per-row averages of the statistics, the same whatever model made them.
    associatedtype RunningStatistics: Sendable

    /// Statistics this emission made over `rows` rows as per-row averages, in the form of
    /// `previous` (its origin, say) when given.
    func running(_ statistics: Statistics, rows: Int, like previous: RunningStatistics?) -> RunningStatistics

    /// `(1 − η)·old + η·new`.
    static func blend(_ old: RunningStatistics, toward new: RunningStatistics, weight eta: Double) -> RunningStatistics

    /// The M-step from averaged statistics (the variance floor as in ``HMMEmission/maximizing(_:regularization:relativeRegularization:)``).
    func maximizing(running: RunningStatistics, regularization: Double, relativeRegularization: Double) throws -> Self
}

extension GaussianEmission: OnlineHMMEmission {
    public func running(_ statistics: MixtureStatistics, rows: Int, like previous: RunningMixtureMoments?) -> RunningMixtureMoments {
        RunningMixtureMoments(statistics, means: states.means, origin: previous?.origin)
    }

    public static func blend(_ old: RunningMixtureMoments, toward new: RunningMixtureMoments, weight eta: Double) -> RunningMixtureMoments {
        var out = old
        out.blend(toward: new, weight: eta)
        return out
    }

    public func maximizing(running: RunningMixtureMoments, regularization: Double, relativeRegularization: Double) throws -> GaussianEmission {
        try GaussianEmission(uniform: running.maximize(regularization: regularization, relativeRegularization: relativeRegularization))
    }
}

/// Count emissions' weighted sums do not depend on the model: their per-row averages blend as they are.
extension OnlineHMMEmission where Statistics == WeightedSums, RunningStatistics == WeightedSums {
    public func running(_ statistics: WeightedSums, rows: Int, like previous: WeightedSums?) -> WeightedSums {
        statistics.scaled(by: 1 / Double(max(1, rows)))
    }

    public static func blend(_ old: WeightedSums, toward new: WeightedSums, weight eta: Double) -> WeightedSums {
        old.blended(toward: new, weight: eta)
    }

    public func maximizing(running: WeightedSums, regularization: Double, relativeRegularization: Double) throws -> Self {
        try maximizing(running, regularization: regularization, relativeRegularization: relativeRegularization)
    }
}

extension PoissonEmission: OnlineHMMEmission {
    public typealias RunningStatistics = WeightedSums
}

extension CategoricalEmission: OnlineHMMEmission {
    public typealias RunningStatistics = WeightedSums
}

/// Stepwise (online) EM for a hidden Markov model over many sequences (Cappé & Moulines 2009;
/// Liang & Klein 2009): after each mini-batch of whole sequences, running averages of the Baum-Welch
/// statistics move toward the batch's, `s ← (1 − η) s + η s_batch`, and the M-step follows at once.
/// The step counts rows: a batch of `B` rows after `R` rows seen moves by `η = (B / (R + B))^κ` (the
/// first batch sets `s`; `κ = 1` averages over every row seen). The start counts are averaged per
/// sequence, the transition counts and the emission's statistics per row (``OnlineHMMEmission``).
public struct OnlineHiddenMarkovModel<Emission: OnlineHMMEmission>: Sendable {
    /// The current model.
    public private(set) var model: HiddenMarkovModel<Emission>
    /// Mini-batches seen.
    public private(set) var steps = 0
    /// Rows seen.
    public private(set) var rows = 0
    /// `κ` of the step sizes `(B / (R + B))^κ` (a batch of `B` rows after `R` rows seen).
    public let stepDecay: Double
    public let regularization: Double
    public let relativeRegularization: Double
    /// Cores for forward-backward over a batch's sequences (the result does not depend on them).
    public let threads: Int
    private var startAverage: [Double] = [], transitionAverage: [Double] = []
    private var emissionAverage: Emission.RunningStatistics?

    /// - Parameters:
    ///   - start: the model before the first batch.
    ///   - stepDecay: `κ`, in (0.5, 1].
    ///   - regularization: Gaussian emissions' absolute variance floor (as ``HMMFitOptions/regularization``).
    ///   - relativeRegularization: their floor relative to each column's variance (as
    ///     ``HMMFitOptions/relativeRegularization``).
    ///   - threads: cores for forward-backward over a batch's sequences.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a step decay outside (0.5, 1].
    public init(start: HiddenMarkovModel<Emission>, stepDecay: Double = 1, regularization: Double = 0,
                relativeRegularization: Double = 1e-6, threads: Int = 1) throws {
        guard stepDecay > 0.5, stepDecay <= 1 else { throw ModelError.invalidSetting("the step decay κ must lie in (0.5, 1]; it is \(stepDecay)") }
        model = start
        self.stepDecay = stepDecay
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.threads = max(1, threads)
    }

    /// One step on a mini-batch of whole sequences (`x`'s rows, each range of `sequences` one
    /// sequence; all of `x` by default): its E-step under the current model, the running statistics
    /// moved toward it, the M-step.
    /// - Throws: ``ModelError`` for data the emission cannot model, a sequence of probability zero,
    ///   or an M-step that fails (the model is then left as it was).
    /// - Complexity: one forward-backward pass over the batch, `O(T·K²)`, plus the emission's statistics.
    public mutating func partialFit(_ x: Matrix<Double>, sequences: [SequenceRange]? = nil) throws {
        guard x.rows > 0 else { return }
        if let i = x.elements.firstIndex(where: \.isNaN) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) of the batch is missing; online EM needs complete rows (a batch fit integrates missing values out)")
        }
        let s = try model.statistics(of: x, sequences: sequences, regularization: regularization,
                                     relativeRegularization: relativeRegularization, threads: threads)
        let start = s.startCounts.map { $0 / Double(s.sequences) }
        let transitions = s.transitionCounts.map { $0 / Double(s.rows) }
        var emission = model.emission.running(s.emission, rows: s.rows, like: emissionAverage)
        var (nextStart, nextTransitions) = (start, transitions)
        if let previous = emissionAverage {
            let eta = pow(Double(x.rows) / Double(rows + x.rows), stepDecay)
            nextStart = zip(startAverage, start).map { (1 - eta) * $0 + eta * $1 }
            nextTransitions = zip(transitionAverage, transitions).map { (1 - eta) * $0 + eta * $1 }
            emission = Emission.blend(previous, toward: emission, weight: eta)
        }
        let k = model.stateCount
        let startTotal = nextStart.reduce(0, +)
        let startProbabilities = startTotal > 0 ? nextStart.map { $0 / startTotal } : model.startProbabilities
        var a = model.transitions
        for i in 0..<k {
            let total = (0..<k).reduce(0) { $0 + nextTransitions[i * k + $1] }
            // A state never left (or never visited) keeps its row.
            if total > 0 { for j in 0..<k { a[i, j] = nextTransitions[i * k + j] / total } }
        }
        let e = try model.emission.maximizing(running: emission, regularization: regularization, relativeRegularization: relativeRegularization)
        model = try HiddenMarkovModel(startProbabilities: startProbabilities, transitions: a, emission: e)
        (startAverage, transitionAverage, emissionAverage) = (nextStart, nextTransitions, emission)
        steps += 1
        rows += x.rows
    }
}

extension HiddenMarkovModel where Emission: OnlineHMMEmission {
    /// Fits a `states`-state model by stepwise EM over mini-batches of `batchSequences` whole
    /// sequences (``OnlineHiddenMarkovModel``).
    ///
    /// The start is the default search (``fit(_:sequences:states:options:)`` with `options`) on
    /// evenly spaced whole sequences holding at most ``streamedStartRows`` rows (or
    /// `options.warmStart`); that sample is the first batch; then `passes` passes over the sequences — an in-memory matrix's in a
    /// fresh seeded random order each pass, a file's in its own order. After each pass one more pass
    /// scores the model: the report's history holds those totals, the start's first.
    /// - Throws: as ``fit(_:sequences:states:options:)``; ``ModelError/invalidSetting(_:)`` for a batch
    ///   size or pass count below 1, a step decay outside (0.5, 1], fixed parameters, or a missing
    ///   value (NaN) in the data: in the start's sample before the search, elsewhere at its batch.
    /// - Complexity: per pass one forward-backward over every sequence for the steps and one for the score.
    public static func fitOnline(_ data: StreamedSequenceData, states: Int, options: HMMFitOptions<Emission> = HMMFitOptions(),
                                 batchSequences: Int = 16, passes: Int = 2, stepDecay: Double = 1) throws
        -> (model: HiddenMarkovModel, report: FitReport)
    {
        guard batchSequences >= 1, passes >= 1 else { throw ModelError.invalidSetting("the batch size and the number of passes must be at least 1") }
        guard options.fixed.isEmpty else { throw ModelError.invalidSetting("an online fit updates every parameter; fixed parameters need a batch fit") }
        let n = data.rowCount
        guard n > 0, data.source.columnCount > 0 else { throw ModelError.emptyData }
        guard n >= states else { throw ModelError.tooFewPoints(points: n, needed: states, what: "an HMM with \(states) states") }
        let sample = try sampleSequences(of: data)
        // Refused before the start search spends its time: stepwise averages need every value.
        if let i = sample.0.elements.firstIndex(where: \.isNaN) {
            throw ModelError.invalidSetting("\(data.source.sourceName): the start's sample of sequences has missing values (column \(i % sample.0.columns + 1)); online EM needs complete rows (a streamed fit without online updates integrates missing values out)")
        }
        let (start, startReport) = try streamedStart(data, sample: sample, states: states, options: options)
        var online = try OnlineHiddenMarkovModel(start: start, stepDecay: stepDecay, regularization: data.regularization,
                                                 relativeRegularization: data.relativeRegularization, threads: data.threads)
        func total(_ model: HiddenMarkovModel) throws -> Double {
            var sum = 0.0
            try data.forEachBlock { block, ranges in sum += model.logLikelihood(of: block, sequences: ranges, threads: data.threads) }
            return sum
        }
        var history = [try total(start)]
        // The sample first, as one large batch: its statistics under the start steady the small steps after it.
        try online.partialFit(sample.0, sequences: sample.1)
        var rng = Xoshiro256StarStar(seed: options.seed).derived(2)
        let d = data.source.columnCount
        for pass in 0..<passes {
            var order = Array(data.sequences.indices)
            if data.source is Matrix<Double> { order.shuffle(using: &rng) }
            for first in stride(from: 0, to: order.count, by: batchSequences) {
                let chosen = order[first..<min(order.count, first + batchSequences)].map { data.sequences[$0] }
                var batch = Matrix<Double>(rows: chosen.reduce(0) { $0 + $1.count }, columns: d)
                var ranges: [SequenceRange] = []
                var at = 0
                for range in chosen {
                    let rows = try data.source.rows(range)
                    batch.withUnsafeMutableBufferPointer { out in
                        rows.withUnsafeBufferPointer { src in for i in src.indices { out[at * d + i] = src[i] } }
                    }
                    ranges.append(at..<(at + range.count))
                    at += range.count
                }
                try online.partialFit(batch, sequences: ranges)
            }
            history.append(try total(online.model))
            options.progress?(.iteration(start: 0, iteration: pass, meanLogLikelihood: history.last! / Double(n)))
        }
        let trace = EMTrace(history: history, iterations: passes, converged: false, stoppedOnDecrease: false)
        let warnings = startReport?.warnings.map { "the start (on a sample of sequences): \($0)" } ?? []
        return (online.model, FitReport(trace: trace, startLogLikelihoods: [history[0]], count: n, warnings: warnings,
                                        degeneracies: startReport?.degeneracies ?? [],
                                        totalIterations: passes + (startReport?.totalIterations ?? 0)))
    }
}
