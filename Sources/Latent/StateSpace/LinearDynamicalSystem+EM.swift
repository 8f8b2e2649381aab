import Foundation

/// Sequences of observations for fitting a ``LinearDynamicalSystem``: rows are time steps, NaN a
/// missing value.
public struct StateSpaceTrainingData: Sendable {
    public let data: Matrix<Double>
    public let sequences: [SequenceRange]
    /// Each column's variance over its observed values (the scale of the variance floor).
    public let columnVariances: [Double]
    /// Per sequence, `Σ yₜyₜᵀ` over its fully observed rows: data alone, the same in every E-step.
    let completeSecondMoments: [Matrix<Double>]

    public init(_ data: Matrix<Double>, sequences: [SequenceRange]) {
        self.data = data
        self.sequences = sequences
        var variances: [Double] = []
        for j in 0..<data.columns {
            let values = (0..<data.rows).map { data[$0, j] }.filter { !$0.isNaN }
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            variances.append(values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count - 1)))
        }
        columnVariances = variances
        completeSecondMoments = sequences.map { range in
            let d = data.columns
            var m = Matrix<Double>(rows: d, columns: d)
            for t in range where (0..<d).allSatisfy({ !data[t, $0].isNaN }) {
                for i in 0..<d { for j in i..<d { m[i, j] += data[t, i] * data[t, j] } }
            }
            m.symmetrizeFromUpper()
            return m
        }
    }
}

/// The expected complete-data sufficient statistics of a linear dynamical system, summed over
/// time steps and sequences: what one EM M-step needs. Missing observations are part of the
/// complete data, so the M-step is exact and EM never decreases the likelihood.
///
/// Every field is a sum over sequences, so statistics of disjoint sets of whole sequences, made by
/// the same model, merge by addition into those of all of them (``merge(_:)``); the observed
/// values' own moments ride along, so that ``LinearDynamicalSystem/maximizing(_:floor:)`` sets the
/// variance floor from the columns' variances over every part, as an in-memory fit does.
///
/// ```swift
/// var total = try model.statistics(of: StateSpaceTrainingData(part1, sequences: sequences1))
/// try total.merge(model.statistics(of: StateSpaceTrainingData(part2, sequences: sequences2)))
/// let next = try model.maximizing(total)        // one EM step over both parts
/// ```
public struct StateSpaceStatistics: MergeableStatistics {
    /// Bumped when the layout changes; other versions are refused when merged or maximised.
    public static let version = 1

    public private(set) var version = StateSpaceStatistics.version
    /// ``LinearDynamicalSystem/fingerprint`` of the model whose E-step these are ("" for statistics
    /// made empty): only statistics of the same model merge, and only that model's M-step takes them.
    public private(set) var modelFingerprint: String
    /// Σ over sequences of `E[x₁]` and `E[x₁x₁ᵀ]`, and the number of sequences.
    public var initialMean: [Double], initialSecondMoment: Matrix<Double>, sequences = 0
    /// Σ over `t ≥ 2` of `E[xₜ₋₁xₜ₋₁ᵀ]`, `E[xₜxₜ₋₁ᵀ]`, `E[xₜxₜᵀ]`, and the number of transitions.
    public var previousSecondMoment: Matrix<Double>, crossMoment: Matrix<Double>, nextSecondMoment: Matrix<Double>, transitions = 0
    /// Σ over all `t` of `E[xₜ]`, `E[xₜxₜᵀ]`, `E[yₜ]`, `E[yₜxₜᵀ]`, `E[yₜyₜᵀ]`, and the number of time steps.
    public var stateSum: [Double], stateSecondMoment: Matrix<Double>
    public var observationSum: [Double], observationStateMoment: Matrix<Double>, observationSecondMoment: Matrix<Double>, steps = 0
    /// Per column, the number of observed values, their sum and their sum of squares (data alone:
    /// the scale of the variance floor).
    public var observedCounts: [Double], observedSums: [Double], observedSquares: [Double]
    /// Log-likelihood of the parameters the statistics were computed with.
    public var logLikelihood = 0.0

    /// Empty statistics for `states` hidden states and `dimension` observed columns, made by the
    /// model with `modelFingerprint`.
    public init(states l: Int, dimension d: Int, modelFingerprint: String = "") {
        self.modelFingerprint = modelFingerprint
        initialMean = [Double](repeating: 0, count: l)
        initialSecondMoment = Matrix(rows: l, columns: l)
        previousSecondMoment = Matrix(rows: l, columns: l)
        crossMoment = Matrix(rows: l, columns: l)
        nextSecondMoment = Matrix(rows: l, columns: l)
        stateSum = [Double](repeating: 0, count: l)
        stateSecondMoment = Matrix(rows: l, columns: l)
        observationSum = [Double](repeating: 0, count: d)
        observationStateMoment = Matrix(rows: d, columns: l)
        observationSecondMoment = Matrix(rows: d, columns: d)
        observedCounts = [Double](repeating: 0, count: d)
        observedSums = [Double](repeating: 0, count: d)
        observedSquares = [Double](repeating: 0, count: d)
    }

    /// Hidden states `L`.
    public var states: Int { initialMean.count }
    /// Observed columns `D`.
    public var dimension: Int { observationSum.count }

    /// Each column's variance over its observed values (`n − 1` in the denominator; 0 with fewer
    /// than two values), from ``observedCounts``, ``observedSums`` and ``observedSquares``.
    public var columnVariances: [Double] {
        (0..<dimension).map { j in
            let n = observedCounts[j]
            guard n > 1 else { return 0 }
            return max(0, observedSquares[j] - observedSums[j] * observedSums[j] / n) / (n - 1)
        }
    }

    /// Adds `other`'s sequences. - Throws: ``ModelError/invalidSetting(_:)`` when `other` comes from
    /// another model (fingerprint, shape) or another version.
    public mutating func merge(_ other: StateSpaceStatistics) throws {
        guard other.version == version else {
            throw ModelError.invalidSetting("statistics of version \(other.version) cannot merge with version \(version); recompute them with this version of Latent")
        }
        guard other.modelFingerprint == modelFingerprint, other.states == states, other.dimension == dimension else {
            throw ModelError.invalidSetting("these statistics were computed with another model (fingerprint \(other.modelFingerprint), \(other.states) states × \(other.dimension) columns; these \(modelFingerprint), \(states) × \(dimension)); compute every part with the same model file")
        }
        try validateShape()
        try other.validateShape()
        func add(_ a: inout [Double], _ b: [Double]) { for i in a.indices { a[i] += b[i] } }
        add(&initialMean, other.initialMean)
        SmallDense.accumulate(&initialSecondMoment, other.initialSecondMoment)
        SmallDense.accumulate(&previousSecondMoment, other.previousSecondMoment)
        SmallDense.accumulate(&crossMoment, other.crossMoment)
        SmallDense.accumulate(&nextSecondMoment, other.nextSecondMoment)
        add(&stateSum, other.stateSum)
        SmallDense.accumulate(&stateSecondMoment, other.stateSecondMoment)
        add(&observationSum, other.observationSum)
        SmallDense.accumulate(&observationStateMoment, other.observationStateMoment)
        SmallDense.accumulate(&observationSecondMoment, other.observationSecondMoment)
        add(&observedCounts, other.observedCounts)
        add(&observedSums, other.observedSums)
        add(&observedSquares, other.observedSquares)
        sequences += other.sequences
        transitions += other.transitions
        steps += other.steps
        logLikelihood += other.logLikelihood
    }

    /// Whether every array has the size the shape implies and every number is finite (a file read
    /// back may be damaged).
    func validateShape() throws {
        let l = states, d = dimension
        let matrices: [(Matrix<Double>, Int, Int)] = [
            (initialSecondMoment, l, l), (previousSecondMoment, l, l), (crossMoment, l, l), (nextSecondMoment, l, l),
            (stateSecondMoment, l, l), (observationStateMoment, d, l), (observationSecondMoment, d, d),
        ]
        let values = initialMean + stateSum + observationSum + observedCounts + observedSums + observedSquares + [logLikelihood]
            + matrices.flatMap(\.0.elements)
        guard l >= 1, d >= 1, matrices.allSatisfy({ $0.0.rows == $0.1 && $0.0.columns == $0.2 }), stateSum.count == l,
              [observedCounts, observedSums, observedSquares].allSatisfy({ $0.count == d }), values.allSatisfy(\.isFinite),
              sequences >= 0, transitions >= 0, steps >= 0 else {
            throw ModelError.invalidSetting("the statistics do not have the sizes their shape (L = \(l), D = \(d)) implies, or hold a non-finite number")
        }
    }
}

extension LinearDynamicalSystem: ExpectationMaximizable {
    public typealias TrainingData = StateSpaceTrainingData

    /// The E-step: smooths every sequence and sums the expected statistics.
    public func statistics(of data: StateSpaceTrainingData) throws -> StateSpaceStatistics {
        var stats = StateSpaceStatistics(states: latentDimension, dimension: dimension, modelFingerprint: fingerprint)
        for (s, range) in data.sequences.enumerated() where !range.isEmpty {
            try accumulate(data.data.selectingRows(range), into: &stats, completeSecondMoment: data.completeSecondMoments[s])
        }
        return stats
    }

    /// Adds one sequence's expected statistics.
    /// `completeSecondMoment`, when given, is `Σ yₜyₜᵀ` over the sequence's fully observed rows.
    func accumulate(_ y: Matrix<Double>, into stats: inout StateSpaceStatistics, completeSecondMoment: Matrix<Double>? = nil) throws {
        let smoothing = try smooth(y)
        stats.logLikelihood += smoothing.filtering.logLikelihood
        let t = y.rows, l = latentDimension, d = dimension, ll = l * l
        let means = smoothing.means.elements, covariances = smoothing.covariances.elements, lagOne = smoothing.lagOneCovariances.elements
        // Sums kept in local buffers (written back once) and each step's E[xₜxₜᵀ] formed once.
        var stateSum = stats.stateSum, all = stats.stateSecondMoment.elements
        var previous = stats.previousSecondMoment.elements, next = stats.nextSecondMoment.elements, cross = stats.crossMoment.elements
        var observationSum = stats.observationSum, observationState = stats.observationStateMoment.elements
        var second = [Double](repeating: 0, count: ll)
        defer {
            stats.observationSum = observationSum
            stats.observationStateMoment = Matrix(rows: stats.observationStateMoment.rows, columns: stats.observationStateMoment.columns, storage: observationState)
            stats.stateSum = stateSum
            stats.stateSecondMoment = Matrix(rows: stats.stateSecondMoment.rows, columns: stats.stateSecondMoment.columns, storage: all)
            stats.previousSecondMoment = Matrix(rows: stats.previousSecondMoment.rows, columns: stats.previousSecondMoment.columns, storage: previous)
            stats.nextSecondMoment = Matrix(rows: stats.nextSecondMoment.rows, columns: stats.nextSecondMoment.columns, storage: next)
            stats.crossMoment = Matrix(rows: stats.crossMoment.rows, columns: stats.crossMoment.columns, storage: cross)
        }
        stats.sequences += 1
        for step in 0..<t {
            for j in 0..<d where !y[step, j].isNaN {
                let value = y[step, j]
                stats.observedCounts[j] += 1
                stats.observedSums[j] += value
                stats.observedSquares[j] += value * value
            }
        }
        for i in 0..<l {
            stats.initialMean[i] += means[i]
            for j in 0..<l { stats.initialSecondMoment[i, j] += covariances[i * l + j] + means[i] * means[j] }
        }
        // Sums over the steps on raw pointers; rows with a missing value are collected and added after.
        var incomplete: [Int] = []
        var transitions = 0
        var observationSecond = completeSecondMoment == nil ? stats.observationSecondMoment.elements : []
        means.withUnsafeBufferPointer { mp in
        covariances.withUnsafeBufferPointer { cp in
        lagOne.withUnsafeBufferPointer { lp in
        y.withUnsafeBufferPointer { yp in
        second.withUnsafeMutableBufferPointer { second in
        stateSum.withUnsafeMutableBufferPointer { stateSum in
        all.withUnsafeMutableBufferPointer { all in
        previous.withUnsafeMutableBufferPointer { previous in
        next.withUnsafeMutableBufferPointer { next in
        cross.withUnsafeMutableBufferPointer { cross in
        observationSum.withUnsafeMutableBufferPointer { observationSum in
        observationState.withUnsafeMutableBufferPointer { observationState in
        observationSecond.withUnsafeMutableBufferPointer { observationSecond in
            let means = mp.start, covariances = cp.start, y = yp.start
            for step in 0..<t {
                let m = means + step * l, c = covariances + step * ll
                for i in 0..<l {
                    stateSum[i] += m[i]
                    let mi = m[i]
                    for j in 0..<l { second[i * l + j] = c[i * l + j] + mi * m[j] }
                }
                for x in 0..<ll { all[x] += second[x] }
                if step > 0 { for x in 0..<ll { next[x] += second[x] } }
                if step < t - 1 {
                    for x in 0..<ll { previous[x] += second[x] }
                    // E[xₜ₊₁xₜᵀ] = Cov[xₜ₊₁, xₜ] + mₜ₊₁mₜᵀ.
                    let lag = lp.start + step * ll
                    for i in 0..<l {
                        let mi = m[l + i]
                        for j in 0..<l { cross[i * l + j] += lag[i * l + j] + mi * m[j] }
                    }
                    transitions += 1
                }
                let row = y + step * d
                var complete = true
                for j in 0..<d where row[j].isNaN { complete = false; break }
                if !complete { incomplete.append(step); continue }
                for i in 0..<d {
                    let yi = row[i]
                    observationSum[i] += yi
                    for k in 0..<l { observationState[i * l + k] += yi * m[k] }
                    if !observationSecond.isEmpty { for j in 0..<d { observationSecond[i * d + j] += yi * row[j] } }
                }
            }
        } } } } } } } } } } } } }
        stats.transitions += transitions
        stats.steps += t
        if completeSecondMoment == nil { stats.observationSecondMoment = Matrix(rows: stats.observationSecondMoment.rows, columns: stats.observationSecondMoment.columns, storage: observationSecond) }
        for step in incomplete {
            let m = Array(means[(step * l)..<((step + 1) * l)])
            let (ey, eyx, eyy) = expectedObservation(y.row(step), stateMean: m, stateSecondMoment: smoothing.covariances.covariance(l, at: step) + SmallDense.outer(m, m))
            for j in 0..<d { observationSum[j] += ey[j] }
            for x in 0..<(d * l) { observationState[x] += eyx.elements[x] }
            SmallDense.accumulate(&stats.observationSecondMoment, eyy)
        }
        if let completeSecondMoment { SmallDense.accumulate(&stats.observationSecondMoment, completeSecondMoment) }
    }

    /// `E[y]`, `E[y xᵀ]` and `E[y yᵀ]` of one time step given the smoothed moments of its state.
    /// Observed coordinates are fixed; missing ones are `y_m = G x + h + e` with `G = C_m − B C_o`,
    /// `h = d_m + B (y_o − d_o)`, `B = R_mo R_oo⁻¹` and `e ~ 𝒩(0, R_mm − B R_om)`.
    func expectedObservation(_ y: [Double], stateMean m: [Double], stateSecondMoment exx: Matrix<Double>)
        -> ([Double], Matrix<Double>, Matrix<Double>)
    {
        let d = dimension, l = latentDimension
        let missing = (0..<d).filter { y[$0].isNaN }
        if missing.isEmpty {
            return (y, SmallDense.outer(y, m), SmallDense.outer(y, y))
        }
        let observed = (0..<d).filter { !y[$0].isNaN }
        var g = observation.selectingRows(missing)
        var h = missing.map { offset[$0] }
        var conditional = SmallDense.submatrix(observationNoise, rows: missing, columns: missing)
        if !observed.isEmpty, observationNoiseType == .full,
           let factor = try? Cholesky(SmallDense.submatrix(observationNoise, rows: observed, columns: observed)) {
            let rmo = SmallDense.submatrix(observationNoise, rows: missing, columns: observed)
            let b = SmallDense.rightSolve(rmo, factor)                                   // R_mo R_oo⁻¹
            SmallDense.accumulate(&g, SmallDense.product(b, observation.selectingRows(observed)), scale: -1)
            let residual = observed.map { y[$0] - offset[$0] }
            let shift = SmallDense.apply(b, residual)
            for a in h.indices { h[a] += shift[a] }
            SmallDense.accumulate(&conditional, SmallDense.productTransposed(b, rmo), scale: -1)
        }
        // Moments of the missing block.
        let gm = SmallDense.apply(g, m)
        let eyMissing = zip(gm, h).map { $0 + $1 }
        let gExx = SmallDense.product(g, exx)                                            // G E[xxᵀ]
        var eyyMissing = SmallDense.productTransposed(gExx, g)                          // G E[xxᵀ] Gᵀ
        let ghT = SmallDense.outer(gm, h)
        SmallDense.accumulate(&eyyMissing, ghT)
        SmallDense.accumulate(&eyyMissing, ghT.transposed)
        SmallDense.accumulate(&eyyMissing, SmallDense.outer(h, h))
        SmallDense.accumulate(&eyyMissing, conditional)
        var ey = y
        for (a, j) in missing.enumerated() { ey[j] = eyMissing[a] }
        var eyx = Matrix<Double>(rows: d, columns: l)
        for j in observed { for k in 0..<l { eyx[j, k] = y[j] * m[k] } }
        for (a, j) in missing.enumerated() { for k in 0..<l { eyx[j, k] = gExx[a, k] + h[a] * m[k] } }
        var eyy = SmallDense.outer(ey, ey)   // right for observed × anything (E[y_o y_mᵀ] = y_o E[y_m]ᵀ)
        for (a, i) in missing.enumerated() { for (b, j) in missing.enumerated() { eyy[i, j] = eyyMissing[a, b] } }
        return (ey, eyx, eyy)
    }

    /// The M-step: the parameters that maximise the expected complete-data log-likelihood, block by
    /// block (`μ₀, V₀`; `A, Q`; `C, d, R`), each held fixed if asked. Variances are floored at
    /// `floor` times each column's variance (and `Q`'s diagonal at that relative to `V₀`'s scale).
    public mutating func maximize(_ s: StateSpaceStatistics, columnVariances: [Double], floor: Double = 1e-9) throws {
        let l = latentDimension, d = dimension
        if initialState == .learned && !fixed.contains(.initial) && s.sequences > 0 {
            let n = Double(s.sequences)
            let mu = s.initialMean.map { $0 / n }
            var v = (1 / n) * s.initialSecondMoment
            SmallDense.accumulate(&v, SmallDense.outer(mu, mu), scale: -1)
            initialMean = mu
            initialCovariance = SmallDense.symmetrized(v)
            let scale = (0..<l).reduce(0) { $0 + abs(initialCovariance[$1, $1]) } / Double(l)
            for j in 0..<l { initialCovariance[j, j] = max(initialCovariance[j, j], floor * max(scale, 1e-300)) }
        }
        if s.transitions > 0 {
            if !fixed.contains(.transition) {
                let factor = try SmallDense.robustCholesky(s.previousSecondMoment)
                transition = SmallDense.rightSolve(s.crossMoment, factor)                  // S₁₀ S₀₀⁻¹
            }
            if !fixed.contains(.stateNoise) {
                // Q = (S₁₁ − A S₁₀ᵀ − S₁₀ Aᵀ + A S₀₀ Aᵀ) / n
                var q = s.nextSecondMoment
                let asT = SmallDense.productTransposed(transition, s.crossMoment)
                SmallDense.accumulate(&q, asT, scale: -1)
                SmallDense.accumulate(&q, asT.transposed, scale: -1)
                SmallDense.accumulate(&q, SmallDense.sandwich(transition, s.previousSecondMoment))
                q = SmallDense.symmetrized((1 / Double(s.transitions)) * q)
                let scale = max((0..<l).reduce(0) { $0 + abs(s.nextSecondMoment[$1, $1]) } / Double(l * s.transitions), 1e-300)
                for j in 0..<l { q[j, j] = max(q[j, j], floor * scale) }
                stateNoise = q
            }
        }
        guard s.steps > 0 else { return }
        let n = Double(s.steps)
        switch (fixed.contains(.observation), fixed.contains(.offset)) {
        case (false, false):
            // [C d] = [S_yx S_y] [[S_xx, S_x], [S_xᵀ, n]]⁻¹
            var augmented = Matrix<Double>(rows: l + 1, columns: l + 1)
            for i in 0..<l { for j in 0..<l { augmented[i, j] = s.stateSecondMoment[i, j] }; augmented[i, l] = s.stateSum[i]; augmented[l, i] = s.stateSum[i] }
            augmented[l, l] = n
            var right = Matrix<Double>(rows: d, columns: l + 1)
            for i in 0..<d { for j in 0..<l { right[i, j] = s.observationStateMoment[i, j] }; right[i, l] = s.observationSum[i] }
            let w = SmallDense.rightSolve(right, try SmallDense.robustCholesky(augmented))
            for i in 0..<d { for j in 0..<l { observation[i, j] = w[i, j] }; offset[i] = w[i, l] }
        case (false, true):
            var right = s.observationStateMoment
            SmallDense.accumulate(&right, SmallDense.outer(offset, s.stateSum), scale: -1)
            observation = SmallDense.rightSolve(right, try SmallDense.robustCholesky(s.stateSecondMoment))
        case (true, false):
            let cx = SmallDense.apply(observation, s.stateSum)
            offset = (0..<d).map { (s.observationSum[$0] - cx[$0]) / n }
        case (true, true):
            break
        }
        if !fixed.contains(.observationNoise) {
            // R = E[(y − Cx − d)(y − Cx − d)ᵀ] averaged over steps.
            var r = s.observationSecondMoment
            let cSxy = SmallDense.productTransposed(observation, s.observationStateMoment)      // C S_yxᵀ
            SmallDense.accumulate(&r, cSxy, scale: -1)
            SmallDense.accumulate(&r, cSxy.transposed, scale: -1)
            SmallDense.accumulate(&r, SmallDense.sandwich(observation, s.stateSecondMoment))
            let cx = SmallDense.apply(observation, s.stateSum)
            let dy = SmallDense.outer(offset, s.observationSum)
            SmallDense.accumulate(&r, dy, scale: -1)
            SmallDense.accumulate(&r, dy.transposed, scale: -1)
            let dcx = SmallDense.outer(offset, cx)
            SmallDense.accumulate(&r, dcx)
            SmallDense.accumulate(&r, dcx.transposed)
            SmallDense.accumulate(&r, SmallDense.outer(offset, offset), scale: n)
            r = SmallDense.symmetrized((1 / n) * r)
            if observationNoiseType == .diagonal {
                r = Matrix.diagonal(r.diagonal)
            }
            for j in 0..<d { r[j, j] = max(r[j, j], floor * max(columnVariances[j], 1e-300)) }
            observationNoise = r
        }
    }

    /// A fingerprint of the parameters, the noise and start forms and the fixed parameters
    /// (16 hexadecimal digits): statistics carry it so that only the model that made them merges or
    /// maximises them.
    public var fingerprint: String {
        let tag = [observationNoiseType.rawValue, initialState.rawValue] + fixed.sorted().map(\.rawValue)
        return Fingerprint.of(shape: [latentDimension, dimension], tag: tag.joined(separator: ","),
                              values: transition.elements + stateNoise.elements + observation.elements + offset
                                  + observationNoise.elements + initialMean + initialCovariance.elements)
    }

    /// The M-step from statistics of this model's E-step (merged over any parts of the sequences):
    /// one EM step over the sequences they hold. The variance floor is `floor` times each column's
    /// variance over those sequences, as in ``fit(_:sequences:latent:options:)``.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the statistics come from another model or
    ///   are damaged; ``ModelError`` when a moment matrix is not positive definite.
    /// - Complexity: `O(L³ + D·L² + D²·L)`.
    public func maximizing(_ s: StateSpaceStatistics, floor: Double = 1e-9) throws -> LinearDynamicalSystem {
        try s.validateShape()
        guard s.version == StateSpaceStatistics.version else {
            throw ModelError.invalidSetting("statistics of version \(s.version); this Latent reads version \(StateSpaceStatistics.version): recompute them")
        }
        guard s.modelFingerprint == fingerprint, s.states == latentDimension, s.dimension == dimension else {
            throw ModelError.invalidSetting("these statistics were computed with another model (fingerprint \(s.modelFingerprint), this model's \(fingerprint)); compute them with this model file")
        }
        guard s.steps > 0 else { throw ModelError.emptyData }
        var next = self
        try next.maximize(s, columnVariances: s.columnVariances, floor: floor)
        return next
    }

    public mutating func expectationMaximizationStep(on data: StateSpaceTrainingData) throws -> Double {
        let stats = try statistics(of: data)
        try maximize(stats, columnVariances: data.columnVariances)
        return stats.logLikelihood
    }

    public func totalLogLikelihood(of data: StateSpaceTrainingData) throws -> Double {
        try logLikelihood(of: data.data, sequences: data.sequences)
    }
}
