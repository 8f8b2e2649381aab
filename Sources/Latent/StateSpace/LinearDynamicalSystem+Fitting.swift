import Foundation

/// Settings for ``LinearDynamicalSystem/fit(_:sequences:latent:options:)``.
public struct StateSpaceFitOptions: Sendable {
    /// How `R` is parametrised.
    public var observationNoise: LinearDynamicalSystem.ObservationNoise
    /// A learned first-state distribution or an approximately diffuse one.
    public var initialState: LinearDynamicalSystem.InitialState
    /// Starting (and, if fixed, final) transition `A`; by default a regression of the principal
    /// component scores on their previous values.
    public var transition: Matrix<Double>?
    /// Starting (and, if fixed, final) observation matrix `C`; by default the leading principal axes.
    public var observation: Matrix<Double>?
    /// Starting (and, if fixed, final) offset `d`; by default the column means, or 0 when the
    /// offset is held fixed (a local-level model, say, has none).
    public var offset: [Double]?
    /// Parameters held at their starting values.
    public var fixed: Set<LinearDynamicalSystem.Parameter>
    /// Stopping rules: at most 10,000 EM iterations (EM converges slowly on the noise variances of
    /// state-space models) and 1e-8 nats per time step.
    public var em: EMOptions
    /// Seed of the random columns of `C` when there are more states than observed columns.
    public var seed: UInt64
    /// A system to continue EM from instead of the principal-component start (its own noise form,
    /// first-state form and fixed parameters then apply; the matrices above are ignored).
    public var warmStart: LinearDynamicalSystem?
    /// Receives progress events.
    public var progress: (@Sendable (FitEvent) -> Void)?

    public init(observationNoise: LinearDynamicalSystem.ObservationNoise = .diagonal,
                initialState: LinearDynamicalSystem.InitialState = .learned,
                transition: Matrix<Double>? = nil, observation: Matrix<Double>? = nil, offset: [Double]? = nil,
                fixed: Set<LinearDynamicalSystem.Parameter> = [],
                em: EMOptions = EMOptions(maxIterations: 10_000, tolerance: 1e-8), seed: UInt64 = 0,
                warmStart: LinearDynamicalSystem? = nil, progress: (@Sendable (FitEvent) -> Void)? = nil) {
        self.warmStart = warmStart
        self.observationNoise = observationNoise
        self.initialState = initialState
        self.transition = transition
        self.observation = observation
        self.offset = offset
        self.fixed = fixed
        self.em = em
        self.seed = seed
        self.progress = progress
    }
}

extension LinearDynamicalSystem {
    /// Fits a system with `latent` hidden states to the rows of `y` (NaN = missing) by EM.
    ///
    /// The start comes from principal components of the observed values (missing ones set to
    /// their column's mean): `C` spans the leading axes, `d` is the column means (0 if held fixed), `A` and `Q` come
    /// from regressing each step's component scores on the previous step's, `R` from what the
    /// components leave unexplained. Given matrices replace the start's; fixed parameters stay at
    /// their start. EM never decreases the likelihood (the M-step is exact, missing values
    /// included); ``FitReport/trace`` holds its history.
    /// - Throws: ``ModelError`` for empty data, a column with no observed value or no spread,
    ///   shapes that disagree, or a fixed parameter that makes a covariance singular.
    /// - Complexity: per iteration `O(T·(L³ + D³ + D·L²))` for `T` time steps in all.
    public static func fit(_ y: Matrix<Double>, sequences: [SequenceRange] = [], latent: Int,
                           options: StateSpaceFitOptions = StateSpaceFitOptions()) throws
        -> (model: LinearDynamicalSystem, report: FitReport)
    {
        let sequences = sequences.isEmpty ? .single(y.rows) : sequences
        guard y.rows > 0, y.columns > 0 else { throw ModelError.emptyData }
        guard latent >= 1 else { throw ModelError.invalidSetting("the number of hidden states must be at least 1") }
        if let i = y.elements.firstIndex(where: { $0.isInfinite }) {
            throw ModelError.invalidSetting("row \(i / y.columns + 1), column \(i % y.columns + 1) holds \(y.elements[i]); a linear dynamical system needs finite values (NaN marks a missing one)")
        }
        guard options.em.maxIterations >= 1, options.em.tolerance >= 0 else {
            throw ModelError.invalidSetting("the iteration limit must be at least 1 and the tolerance non-negative")
        }
        let data = StateSpaceTrainingData(y, sequences: sequences)
        for j in 0..<y.columns {
            guard (0..<y.rows).contains(where: { !y[$0, j].isNaN }) else {
                throw ModelError.invalidSetting("column \(j + 1) has no observed value")
            }
            guard data.columnVariances[j] > 0 else {
                throw ModelError.invalidSetting("column \(j + 1) has the same value in every observed row; a linear dynamical system needs spread in every column (drop it)")
            }
        }
        var model: LinearDynamicalSystem
        if let warm = options.warmStart {
            guard warm.latentDimension == latent, warm.dimension == y.columns else {
                throw ModelError.invalidSetting("the starting system has \(warm.latentDimension) hidden states over \(warm.dimension) columns; the fit asks for \(latent) over \(y.columns)")
            }
            model = warm
        } else {
            model = try start(data, latent: latent, options: options)
        }
        let trace = try ExpectationMaximization.run(&model, on: data, count: y.rows, options: options.em) { i, mean in
            options.progress?(.iteration(start: 0, iteration: i, meanLogLikelihood: mean))
        }
        return (model, FitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: y.rows))
    }

    /// The principal-component start (see ``fit(_:sequences:latent:options:)``).
    static func start(_ data: StateSpaceTrainingData, latent l: Int, options: StateSpaceFitOptions) throws -> LinearDynamicalSystem {
        let y = data.data, d = y.columns
        let means = (0..<d).map { j -> Double in
            let values = (0..<y.rows).map { y[$0, j] }.filter { !$0.isNaN }
            return values.reduce(0, +) / Double(values.count)
        }
        var centred = Matrix<Double>(rows: y.rows, columns: d)
        for i in 0..<y.rows { for j in 0..<d { centred[i, j] = y[i, j].isNaN ? 0 : y[i, j] - means[j] } }
        var covariance = centred.gram
        covariance.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] /= Double(max(1, y.rows - 1)) } }
        // With fewer states than columns the principal components leave a residual that starts R
        // (as probabilistic PCA). With as many states as columns or more they leave none, so each
        // column's white-noise variance is estimated from its autocovariances first (an AR(1)
        // signal plus white noise has signal variance γ₁²/γ₂) and the axes come from what remains.
        let kept = min(l, d)
        var noiseVariances = [Double](repeating: 0, count: d)
        if kept == d {
            for j in 0..<d {
                let (g1, g2) = autocovariances(centred, column: j, sequences: data.sequences)
                let total = data.columnVariances[j]
                let signal = g1 > 0 && g2 > 0 ? min(g1 * g1 / g2, total) : 0.5 * total
                noiseVariances[j] = min(max(total - signal, 0.05 * total), 0.95 * total)
                covariance[j, j] -= noiseVariances[j]
            }
        }
        let eigen = try SymmetricEigen(covariance)   // ascending
        let noise = kept < d ? max(eigen.values.prefix(d - kept).reduce(0, +) / Double(d - kept), 0) : 0
        var rng = Xoshiro256StarStar(seed: options.seed)
        var c = Matrix<Double>(rows: d, columns: l)
        for a in 0..<l {
            if a < kept {
                let index = d - 1 - a
                let top = max(eigen.values[d - 1], 1e-300)
                let scale = max(eigen.values[index] - noise, 1e-3 * top).squareRoot()
                for j in 0..<d { c[j, a] = eigen.vectors[j, index] * scale }
            } else {
                // More states than columns: small random directions, so that each state is seen.
                for j in 0..<d { c[j, a] = 0.1 * data.columnVariances[j].squareRoot() * rng.nextNormal() }
            }
        }
        if let given = options.observation {
            guard given.rows == d, given.columns == l else {
                throw ModelError.invalidSetting("the observation matrix is \(given.rows) × \(given.columns); the model needs \(d) × \(l) (columns × states)")
            }
            c = given
        }
        // Scores z = (CᵀC)⁻¹ Cᵀ (y − d): the state path the start implies.
        let ctc = SmallDense.symmetrized(c.multiplied(by: c, transposeSelf: true))
        var ridge = ctc
        let ridgeScale = (0..<l).reduce(0) { $0 + ctc[$1, $1] } / Double(l)
        for a in 0..<l { ridge[a, a] += 1e-9 * max(ridgeScale, 1e-300) }
        let projection = SmallDense.rightSolve(c, try SmallDense.robustCholesky(ridge))   // C (CᵀC)⁻¹, D × L
        var scores = centred.multiplied(by: projection)                                    // T × L
        // The offset: given, 0 when held fixed without a value, the column means otherwise. The
        // scores take up what the offset leaves of the means.
        let offset = options.offset ?? (options.fixed.contains(.offset) ? [Double](repeating: 0, count: d) : means)
        guard offset.count == d else {
            throw ModelError.invalidSetting("the offset has \(offset.count) entries; the data has \(d) columns")
        }
        let shift = SmallDense.apply(projection.transposed, zip(means, offset).map { $0 - $1 })
        for t in 0..<scores.rows { for a in 0..<l { scores[t, a] += shift[a] } }
        // A and Q: regression of zₜ on zₜ₋₁ within sequences.
        var previous = Matrix<Double>(rows: l, columns: l), cross = Matrix<Double>(rows: l, columns: l)
        var pairs = 0
        for range in data.sequences where range.count >= 2 {
            for t in (range.lowerBound + 1)..<range.upperBound {
                let a = scores.row(t - 1), b = scores.row(t)
                SmallDense.accumulate(&previous, SmallDense.outer(a, a))
                SmallDense.accumulate(&cross, SmallDense.outer(b, a))
                pairs += 1
            }
        }
        var a = Matrix<Double>.identity(l)
        if pairs > l, let factor = try? SmallDense.robustCholesky(previous) {
            a = SmallDense.rightSolve(cross, factor)
        }
        if let given = options.transition {
            guard given.rows == l, given.columns == l else {
                throw ModelError.invalidSetting("the transition matrix is \(given.rows) × \(given.columns); the model needs \(l) × \(l)")
            }
            a = given
        }
        var q = Matrix<Double>(rows: l, columns: l)
        var scoreVariance = Matrix<Double>(rows: l, columns: l)
        for t in 0..<scores.rows { let z = scores.row(t); SmallDense.accumulate(&scoreVariance, SmallDense.outer(z, z)) }
        scoreVariance = (1 / Double(max(1, scores.rows))) * scoreVariance
        for range in data.sequences where range.count >= 2 {
            for t in (range.lowerBound + 1)..<range.upperBound {
                let predicted = SmallDense.apply(a, scores.row(t - 1))
                let residual = zip(scores.row(t), predicted).map { $0 - $1 }
                SmallDense.accumulate(&q, SmallDense.outer(residual, residual))
            }
        }
        q = pairs > 0 ? (1 / Double(pairs)) * q : scoreVariance
        q = SmallDense.symmetrized(q)
        for j in 0..<l { q[j, j] = max(q[j, j], 1e-2 * max(scoreVariance[j, j], 1e-12)) }
        // R: what the start's components leave, floored at a share of each column's variance.
        let fitted = centred.multiplied(by: projection).multiplied(by: c, transposeOther: true)
        var r = Matrix<Double>(rows: d, columns: d)
        for j in 0..<d {
            var s = 0.0, n = 0
            for i in 0..<y.rows where !y[i, j].isNaN { let e = centred[i, j] - fitted[i, j]; s += e * e; n += 1 }
            r[j, j] = kept == d ? noiseVariances[j] : max(s / Double(max(1, n)), 1e-2 * data.columnVariances[j])
        }
        var initialMean = [Double](repeating: 0, count: l)
        var initialCovariance = scoreVariance
        for j in 0..<l { initialCovariance[j, j] = max(initialCovariance[j, j], 1e-6) }
        if options.initialState == .diffuse {
            initialCovariance = diffuseCovariance(states: l, observation: c, variance: data.columnVariances.max() ?? 1)
        } else {
            for range in data.sequences where !range.isEmpty {
                for j in 0..<l { initialMean[j] += scores[range.lowerBound, j] / Double(data.sequences.count) }
            }
        }
        return try LinearDynamicalSystem(transition: a, stateNoise: q, observation: c, offset: offset, observationNoise: r,
                                         observationNoiseType: options.observationNoise, initialMean: initialMean,
                                         initialCovariance: initialCovariance, initialState: options.initialState,
                                         fixed: options.initialState == .diffuse ? options.fixed.union([.initial]) : options.fixed)
    }

    /// Lag-one and lag-two autocovariances of column `j` of centred data (zeros for missing
    /// values), within sequences.
    static func autocovariances(_ centred: Matrix<Double>, column j: Int, sequences: [SequenceRange]) -> (Double, Double) {
        var s1 = 0.0, s2 = 0.0, n1 = 0, n2 = 0
        for range in sequences {
            for t in range {
                if t + 1 < range.upperBound { s1 += centred[t, j] * centred[t + 1, j]; n1 += 1 }
                if t + 2 < range.upperBound { s2 += centred[t, j] * centred[t + 2, j]; n2 += 1 }
            }
        }
        return (s1 / Double(max(1, n1)), s2 / Double(max(1, n2)))
    }
}
