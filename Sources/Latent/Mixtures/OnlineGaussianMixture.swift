import Foundation

/// Stepwise (online) EM for a Gaussian mixture (Cappé & Moulines 2009; Liang & Klein 2009): after
/// each mini-batch, running averages of the per-row sufficient statistics move toward the batch's,
/// `s ← (1 − η) s + η s_batch`, and the M-step follows at once. The step counts rows: a batch of `B`
/// rows after `R` rows seen moves by `η = (B / (R + B))^κ` (the first batch sets `s`; with equal
/// batches this is the usual `t^(−κ)` of the `t`-th batch). With `κ ∈ (0.5, 1]` the steps meet the
/// Robbins–Monro conditions; with `κ = 1` the statistics are the average over every row seen. A large
/// first batch (``GaussianMixture/fitOnline(_:components:options:batchSize:passes:stepDecay:)`` feeds
/// the start's sample) keeps the small batches after it from overruling the start.
///
/// The statistics are raw moments about a fixed origin (the first batch's mean), so that averages of
/// batches taken under different models stay consistent: `n_k = E[r_k]`, `a_k = E[r_k (x − o)]`,
/// second moments `E[r_k (x − o)(x − o)ᵀ]` (full), their diagonals (diag, spherical), and the data's
/// `E[x − o]` and `E[(x − o)(x − o)ᵀ]` (for the variance floor and tied covariances).
public struct OnlineGaussianMixture: Sendable {
    /// The current model: the M-step of the running statistics.
    public private(set) var model: GaussianMixture
    /// Mini-batches seen.
    public private(set) var steps = 0
    /// Rows seen.
    public private(set) var rows = 0
    /// `κ` of the step sizes `(B / (R + B))^κ` (a batch of `B` rows after `R` rows seen).
    public let stepDecay: Double
    public let regularization: Double
    public let relativeRegularization: Double
    private var running: RunningMixtureMoments?

    /// - Parameters:
    ///   - start: the model before the first batch (its E-step weighs the first batch).
    ///   - stepDecay: `κ`, in (0.5, 1]: 1 (the default) averages every row seen, the most accurate from a
    ///     start near an optimum; a smaller κ forgets early batches sooner (a rough start, data that drift).
    ///   - regularization: added to every covariance diagonal, in squared data units (as ``MixtureFitOptions/regularization``).
    ///   - relativeRegularization: the variance floor relative to each column's variance (as ``MixtureFitOptions/relativeRegularization``).
    public init(start: GaussianMixture, stepDecay: Double = 1, regularization: Double = 0,
                relativeRegularization: Double = MixtureFitOptions().relativeRegularization) throws {
        guard stepDecay > 0.5, stepDecay <= 1 else { throw ModelError.invalidSetting("the step decay κ must lie in (0.5, 1]; it is \(stepDecay)") }
        model = start
        self.stepDecay = stepDecay
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
    }

    /// One step on a mini-batch (`B × D`, complete rows): its E-step under the current model, the
    /// running statistics moved toward it, the M-step.
    /// - Throws: ``ModelError`` for a missing value, a width other than the model's, or an M-step
    ///   whose covariances are not positive definite (the model is then left as it was).
    /// - Complexity: one E-step of the batch plus `O(K·D³)`.
    public mutating func partialFit(_ batch: Matrix<Double>) throws {
        guard batch.rows > 0 else { return }
        if let i = batch.elements.firstIndex(where: \.isNaN) {
            throw ModelError.invalidSetting("row \(i / batch.columns + 1), column \(i % batch.columns + 1) of the batch is missing; online EM needs complete rows (fit in memory or streamed to integrate missing values out)")
        }
        let batchMoments = RunningMixtureMoments(try model.statistics(of: batch), means: model.means, origin: running?.origin)
        var next = batchMoments
        if let running {
            next = running
            next.blend(toward: batchMoments, weight: pow(Double(batch.rows) / Double(rows + batch.rows), stepDecay))
        }
        model = try next.maximize(regularization: regularization, relativeRegularization: relativeRegularization)
        running = next
        steps += 1
        rows += batch.rows
    }
}

extension GaussianMixture {
    /// Fits a mixture by stepwise EM over mini-batches of `batchSize` rows (``OnlineGaussianMixture``).
    ///
    /// The start is the default search on at most ``streamedStartRows`` evenly spaced rows (or
    /// `options.warmStart`); that sample is the first batch; then `passes` passes over the source, the rows of an in-memory matrix in
    /// a fresh seeded random order each pass, a file's in its own order (which should then be
    /// random). After each pass one more pass scores the model: the report's history holds those
    /// totals, the start's first.
    /// - Throws: as ``fitStreamed(_:components:options:)``; ``ModelError/invalidSetting(_:)`` for a
    ///   batch size or pass count below 1 or a step decay outside (0.5, 1].
    /// - Complexity: two E-steps of every row per pass, plus one `O(K·D³)` M-step per batch.
    public static func fitOnline(_ data: StreamedMixtureData, components: Int, options: MixtureFitOptions = MixtureFitOptions(),
                                 batchSize: Int = 256, passes: Int = 2, stepDecay: Double = 1) throws -> (model: GaussianMixture, report: FitReport) {
        guard batchSize >= 1, passes >= 1 else { throw ModelError.invalidSetting("the batch size and the number of passes must be at least 1") }
        let source = data.source, n = source.rowCount
        guard n > 0, source.columnCount > 0 else { throw ModelError.emptyData }
        guard n >= components else {
            throw ModelError.tooFewPoints(points: n, needed: components, what: "a mixture of \(components) components")
        }
        let sample = try subsample(of: data, count: min(n, streamedStartRows))
        if let i = sample.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("\(source.sourceName): row \(i / sample.columns * n / sample.rows + 1), column \(i % sample.columns + 1) holds \(sample.elements[i]); an online fit needs complete rows of finite numbers")
        }
        let start = try options.warmStart ?? fit(sample, components: components, options: options).model
        var online = try OnlineGaussianMixture(start: start, stepDecay: stepDecay, regularization: data.regularization,
                                               relativeRegularization: data.relativeRegularization)
        var history = [try StreamedGaussianMixture(start).totalLogLikelihood(of: data)]
        // The sample first, as one large batch: its statistics under the start steady the small steps after it.
        try online.partialFit(sample)
        var rng = Xoshiro256StarStar(seed: options.seed).derived(1)
        let inMemory = source as? Matrix<Double>
        for pass in 0..<passes {
            if let x = inMemory {
                var order = Array(0..<n)
                order.shuffle(using: &rng)
                for b in stride(from: 0, to: n, by: batchSize) {
                    try online.partialFit(x.selectingRows(order[b..<min(n, b + batchSize)]))
                }
            } else {
                try StreamedMixtureData(source: source, blockRows: batchSize, threads: data.threads).forEachBlock { try online.partialFit($0) }
            }
            history.append(try StreamedGaussianMixture(online.model).totalLogLikelihood(of: data))
            options.progress?(.iteration(start: 0, iteration: pass, meanLogLikelihood: history.last! / Double(n)))
        }
        let trace = EMTrace(history: history, iterations: passes, converged: false, stoppedOnDecrease: false)
        let degeneracies = online.model.degeneracies(on: sample, regularization: options.regularization,
                                                     relativeRegularization: options.relativeRegularization)
        let warnings = degeneracies.isEmpty ? [] : ["\(degeneracies.map(\.description).joined(separator: "; ")) on the subsample. \(degenerateAdvice)"]
        return (online.model, FitReport(trace: trace, startLogLikelihoods: [history[0]], count: n, warnings: warnings,
                                        degeneracies: degeneracies, totalIterations: passes))
    }
}
