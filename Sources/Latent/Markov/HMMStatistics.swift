import Foundation

/// The sufficient statistics of one Baum-Welch E-step over some sequences: what the M-step needs,
/// in a form that adds up across sequences, files and machines.
///
/// Expected start counts, expected transition counts and the emission's own statistics (its
/// ``HMMEmission/Statistics``: the states' mixture statistics for Gaussian emissions, weighted sums
/// for Poisson and categorical ones) are sums over sequences, so statistics of any partition of the
/// sequences, made by the same model, merge by addition into those of the whole (up to the order of
/// floating-point sums); the model's ``HiddenMarkovModel/maximizing(_:fixed:regularization:relativeRegularization:)``
/// then takes the EM step over all of them. A sequence must not be cut between parts.
///
/// ```swift
/// var total = try model.statistics(of: part1, sequences: ranges1)
/// try total.merge(model.statistics(of: part2, sequences: ranges2))
/// let next = try model.maximizing(total)          // one Baum-Welch step over both parts
/// ```
public struct HMMStatistics<Emission: HMMEmission>: MergeableStatistics {
    /// Bumped when the layout changes; other versions are refused when merged or maximised.
    public static var version: Int { 1 }

    public let version: Int
    /// The emission's kind (``HMMEmission/kind``).
    public let emissionKind: String
    /// States `K`.
    public let states: Int
    /// ``HiddenMarkovModel/fingerprint`` of the model whose E-step these are.
    public let modelFingerprint: String
    /// Sequences and rows accumulated.
    public private(set) var sequences: Int
    public private(set) var rows: Int
    /// `Σ log p(x)` of the sequences under the model.
    public private(set) var logLikelihood: Double
    /// Expected number of sequences starting in each state, `K`.
    public private(set) var startCounts: [Double]
    /// Expected number of transitions `i → j`, `K × K` row-major.
    public private(set) var transitionCounts: [Double]
    /// The emission's statistics.
    public private(set) var emission: Emission.Statistics

    init(model: HiddenMarkovModel<Emission>, sequences: Int, rows: Int, logLikelihood: Double, startCounts: [Double],
         transitionCounts: [Double], emission: Emission.Statistics) {
        version = Self.version
        emissionKind = Emission.kind
        states = model.stateCount
        modelFingerprint = model.fingerprint
        self.sequences = sequences
        self.rows = rows
        self.logLikelihood = logLikelihood
        self.startCounts = startCounts
        self.transitionCounts = transitionCounts
        self.emission = emission
    }

    /// Adds `other`'s sequences. - Throws: ``ModelError/invalidSetting(_:)`` when `other` comes
    /// from another model or version.
    public mutating func merge(_ other: HMMStatistics) throws {
        guard other.version == version else {
            throw ModelError.invalidSetting("statistics of version \(other.version) cannot merge with version \(version); recompute them with this version of Latent")
        }
        guard other.modelFingerprint == modelFingerprint, other.states == states, other.emissionKind == emissionKind else {
            throw ModelError.invalidSetting("these statistics come from different models (fingerprints \(modelFingerprint) and \(other.modelFingerprint)); merge only statistics computed with the same model file")
        }
        try emission.merge(other.emission)
        sequences += other.sequences
        rows += other.rows
        logLikelihood += other.logLikelihood
        for i in startCounts.indices { startCounts[i] += other.startCounts[i] }
        for i in transitionCounts.indices { transitionCounts[i] += other.transitionCounts[i] }
    }

}

extension HiddenMarkovModel {
    /// A fingerprint of the parameters (start probabilities, transitions and the emission's
    /// parameters), 16 hexadecimal digits: statistics carry it so that only this model merges or
    /// maximises them.
    public var fingerprint: String {
        Fingerprint.of(shape: [stateCount, emission.dimension], tag: Emission.kind,
                       values: startProbabilities + transitions.elements + emission.parameterValues)
    }

    /// The E-step statistics of the sequences of `x` (each range of `sequences` one sequence; the
    /// whole of `x` by default) under this model.
    ///
    /// - Parameters:
    ///   - x: the rows of every sequence, `T × D`.
    ///   - sequences: each sequence's row range (the whole of `x` when nil); a sequence must not be
    ///     cut between calls whose statistics are merged.
    ///   - regularization: Gaussian emissions' absolute variance floor, used here only to prepare
    ///     the rows as a fit does.
    ///   - relativeRegularization: their floor relative to each column's variance, likewise.
    ///   - threads: cores for forward-backward and the emission's statistics.
    /// - Throws: ``ModelError`` for data the emission cannot model, or a sequence of probability zero.
    /// - Complexity: one forward-backward pass and the emission's statistics, as one Baum-Welch E-step.
    public func statistics(of x: Matrix<Double>, sequences: [SequenceRange]? = nil, regularization: Double = 0,
                           relativeRegularization: Double = 1e-6, threads: Int = availableCores) throws -> HMMStatistics<Emission> {
        guard x.columns == emission.dimension else {
            throw ModelError.invalidSetting("the data has \(x.columns) columns; the model \(emission.dimension)")
        }
        try emission.validateScored(x)
        let seqs = sequences ?? .single(x.rows)
        precondition(seqs.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 && $0.upperBound <= x.rows }, "Sequences must be non-empty row ranges")
        let context = try emission.context(for: x, regularization: regularization, relativeRegularization: relativeRegularization, threads: threads)
        let data = HMMTrainingData<Emission>(data: x, sequences: seqs, context: context, fixed: [], threads: max(1, threads),
                                             regularization: regularization, relativeRegularization: relativeRegularization)
        return try expectation(on: data)
    }

    /// The M-step from statistics of this model's E-step: one Baum-Welch step over the sequences
    /// they hold. Parameters in `fixed` stay as they are; a state never left keeps its row of
    /// transitions.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the statistics come from another model or
    ///   version; the emission's errors (a covariance that is not positive definite, say).
    public func maximizing(_ s: HMMStatistics<Emission>, fixed: HMMFixedParameters = [], regularization: Double = 0,
                           relativeRegularization: Double = 1e-6) throws -> HiddenMarkovModel {
        guard s.version == HMMStatistics<Emission>.version else {
            throw ModelError.invalidSetting("statistics of version \(s.version); this Latent reads version \(HMMStatistics<Emission>.version): recompute them")
        }
        let k = stateCount
        guard s.modelFingerprint == fingerprint, s.states == k, s.startCounts.count == k, s.transitionCounts.count == k * k else {
            throw ModelError.invalidSetting("these statistics were computed with another model (fingerprint \(s.modelFingerprint), this model's \(fingerprint)); compute them with this model file")
        }
        var start = startProbabilities
        if !fixed.contains(.start) {
            let total = s.startCounts.reduce(0, +)
            if total > 0 { start = s.startCounts.map { $0 / total } }
        }
        var a = transitions
        if !fixed.contains(.transitions) {
            for i in 0..<k {
                let total = (0..<k).reduce(0) { $0 + s.transitionCounts[i * k + $1] }
                // A state never left (or never visited) keeps its row.
                if total > 0 { for j in 0..<k { a[i, j] = s.transitionCounts[i * k + j] / total } }
            }
        }
        let e = fixed.contains(.emissions) ? emission
            : try emission.maximizing(s.emission, regularization: regularization, relativeRegularization: relativeRegularization)
        return try HiddenMarkovModel(startProbabilities: start, transitions: a, emission: e)
    }

    /// The E-step over prepared data: forward-backward over every sequence (in parallel), then the
    /// expected counts and the emission's statistics of the state posteriors.
    func expectation(on data: HMMTrainingData<Emission>) throws -> HMMStatistics<Emission> {
        let k = stateCount
        let logB = emission.logLikelihoods(of: data.data, threads: data.threads)
        // Forward-backward writes every row of every sequence; rows outside all sequences get zeros.
        var results: [ForwardBackwardResult] = []
        let gamma = Matrix<Double>(rows: data.data.rows, columns: k) { gp in
            if !data.coversAllRows { gp.initialize(repeating: 0) }
            results = logB.withUnsafeBufferPointer { lb in
                forwardBackward(logB: lb.start, sequences: data.sequences, gamma: gp.start, wantTransitions: true, threads: data.threads)
            }
        }
        let logLikelihood = results.reduce(0) { $0 + $1.logLikelihood }
        guard logLikelihood.isFinite else {
            throw ModelError.fitFailed("a sequence has zero probability under the current parameters (a forbidden transition or an impossible observation)")
        }
        var start = [Double](repeating: 0, count: k)
        for range in data.sequences { for s in 0..<k { start[s] += gamma[range.lowerBound, s] } }
        var counts = [Double](repeating: 0, count: k * k)
        for r in results { for i in 0..<(k * k) { counts[i] += r.transitionCounts[i] } }
        let rows = data.sequences.reduce(0) { $0 + $1.count }
        return HMMStatistics(model: self, sequences: data.sequences.count, rows: rows, logLikelihood: logLikelihood, startCounts: start,
                             transitionCounts: counts, emission: try emission.statistics(posteriors: gamma, context: data.context))
    }
}
