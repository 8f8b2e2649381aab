import Foundation

extension GaussianMixture {
    /// Fits a `components`-component mixture to the rows of `x` by EM.
    ///
    /// Each of `options.restarts` starts runs `options.shortRunCount(components:)` short EM runs
    /// from independent initialisations and continues the best one to convergence, except that with
    /// two or more starts and ``MixtureFitOptions/dataUnitsStart`` the first is k-means in the data's
    /// own units, run to convergence alone; the start with the highest final likelihood wins. Starts
    /// are seeded from `options.seed`, so the same seed gives the same model.
    ///
    /// - Throws: ``ModelError`` for empty data, missing or non-finite values, more components than
    ///   rows, or when every start fails (a covariance that stays singular).
    public static func fit(_ x: Matrix<Double>, components: Int, options: MixtureFitOptions = MixtureFitOptions())
        throws -> (model: GaussianMixture, report: FitReport)
    {
        try validate(x, components: components, options: options)
        var data = MixtureTrainingData(x, covarianceType: options.covarianceType,
                                       regularization: options.regularization,
                                       relativeRegularization: options.relativeRegularization,
                                       threads: max(1, options.threads))
        data.seededMoves = max(0, options.seededMoves)
        if let warm = options.warmStart ?? options.initialMeans.map({ try? startFromMeans($0, data: data, type: options.covarianceType) }) ?? nil {
            guard warm.dimension == x.columns, warm.componentCount == components, warm.covarianceType == options.covarianceType else {
                throw ModelError.invalidSetting("the starting model has \(warm.componentCount) \(warm.covarianceType.rawValue) components in \(warm.dimension) dimensions; the fit asks for \(components) \(options.covarianceType.rawValue) components in \(x.columns)")
            }
            return try MultiStart.continueRun(warm, data: data, count: x.rows, em: options.em,
                                              degenerateAdvice: degenerateAdvice, progress: options.progress)
        } else if options.initialMeans != nil {
            throw ModelError.invalidSetting("the initial means must be a \(components) × \(x.columns) matrix whose assignment gives positive-definite covariances")
        }
        let search = StartSearchOptions(restarts: options.restarts, shortRuns: options.shortRunCount(components: components),
                                        shortRunIterations: options.shortRunIterations, em: options.em, seed: options.seed,
                                        searchTolerance: 1e-4, screeningIterations: 4)
        let spaces = InitializationSpaces(data)
        return try MultiStart.fit(data: data, count: x.rows, options: search, initialize: { rng in
            try initialize(data: data, space: spaces.draw(using: &rng), components: components, type: options.covarianceType,
                           method: options.initialization, rng: &rng)
        }, firstStart: options.makesDataUnitsStart ? { rng in
            try initialize(data: data, space: data.initializationData, components: components, type: options.covarianceType,
                           method: .kmeans, rng: &rng)
        } : nil, refine: { model, trace, em, rng in
            SplitAndMerge.refine(model, trace: trace, data: data, count: x.rows, em: em, trials: options.splitMergeTrials, rng: &rng)
        }, degenerateAdvice: degenerateAdvice, progress: options.progress)
    }

    /// What to do when every start is degenerate.
    static let degenerateAdvice = "Use fewer components, or a variance floor relative to each column's scale (relativeRegularization, e.g. 1e-3)."

    static func validate(_ x: Matrix<Double>, components: Int, options: MixtureFitOptions) throws {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard components >= 1 else { throw ModelError.invalidSetting("the number of components must be at least 1") }
        guard x.rows >= components else {
            throw ModelError.tooFewPoints(points: x.rows, needed: components, what: "a mixture of \(components) components")
        }
        if let i = x.elements.firstIndex(where: { $0.isInfinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) holds \(x.elements[i]); Gaussian mixture fitting needs finite values (NaN marks a missing one)")
        }
        let empty = (0..<x.rows).filter { i in (0..<x.columns).allSatisfy { x[i, $0].isNaN } }
        if !empty.isEmpty {
            throw ModelError.invalidSetting("row(s) \(empty.prefix(10).map { String($0 + 1) }.joined(separator: ", ")) have every value missing; drop them")
        }
        try DataChecks.requireSpread(x)
        if options.covarianceType == .full || options.covarianceType == .tied { try DataChecks.requireIndependentColumns(x) }
        guard options.regularization >= 0, options.regularization.isFinite,
              options.relativeRegularization >= 0, options.relativeRegularization.isFinite else {
            throw ModelError.invalidSetting("the regularisation must be a non-negative number")
        }
        guard options.em.tolerance >= 0 else { throw ModelError.invalidSetting("the tolerance must be non-negative") }
        guard options.em.maxIterations >= 1 else { throw ModelError.invalidSetting("the iteration limit must be at least 1") }
    }

    /// Starting parameters by the chosen method; seeds and assignments use distances between rows
    /// of `x`, the data in one of the ``InitializationSpaces``.
    static func initialize(data: MixtureTrainingData, space x: Matrix<Double>, components k: Int, type: CovarianceType,
                           method: MixtureInitialization, rng: inout Xoshiro256StarStar) throws -> GaussianMixture {
        let n = x.rows
        var r = Matrix<Double>(rows: n, columns: k)
        switch method {
        case .kmeans, .kmeansPlusPlus, .randomFromData:
            let seeds = method == .randomFromData
                ? rng.sampleWithoutReplacement(k, from: n)
                : KMeans.plusPlusSeeds(x, count: k, using: &rng)
            var centers = x.selectingRows(seeds)
            var labels: [Int]
            if method == .kmeans {
                (centers, labels) = KMeans.lloyd(x, centers: centers)
            } else {
                labels = KMeans.nearest(x, centers)
            }
            for i in 0..<n { r[i, labels[i]] = 1 }
        case .random:
            for i in 0..<n {
                var s = 0.0
                for c in 0..<k { r[i, c] = rng.nextUniform(); s += r[i, c] }
                for c in 0..<k { r[i, c] /= s }
            }
        }
        return try fromResponsibilities(r, type: type, data: data)
    }

    /// Starting parameters from given means: hard assignment to the nearest mean, then one M-step.
    static func startFromMeans(_ means: Matrix<Double>, data: MixtureTrainingData, type: CovarianceType) throws -> GaussianMixture {
        precondition(means.columns == data.data.columns, "Initial means must have one column per data column")
        let labels = KMeans.nearest(data.initializationData, means)   // the user's means, in the data's units
        var r = Matrix<Double>(rows: data.data.rows, columns: means.rows)
        for (i, l) in labels.enumerated() { r[i, l] = 1 }
        return try fromResponsibilities(r, type: type, data: data)
    }
}

extension GaussianMixture: DegeneracyChecking {
    /// Components that collapsed onto repeated values or hold less than one row (see ``Degeneracy``).
    public func degeneracies(on data: MixtureTrainingData) -> [Degeneracy] {
        let n = Double(data.data.rows)
        return Degeneracy.gaussian(covariances: covariances, occupancies: weights.map { $0 * n },
                                   floors: data.floors, columnVariances: data.columnVariances, resolutions: data.resolutions)
    }

    /// The degenerate components re-placed by splitting proper ones. Each takes half of a proper
    /// component drawn with odds `w_c · (1 − r_c)`, where `r_c` is that component's share of the
    /// collapsed component's mean among the proper ones: a heavy component away from the repeated
    /// values (splitting the one that holds them would collapse again). The donor's mean moves half
    /// a standard deviation each way along its widest axis, both halves keeping its covariance.
    /// Nil when no proper component is left to split.
    public func repaired(_ degeneracies: [Degeneracy], on data: MixtureTrainingData,
                         using rng: inout Xoshiro256StarStar) -> GaussianMixture? {
        guard Self.movesFit(covarianceType, dimension: dimension) else { return nil }
        let bad = Set(degeneracies.map(\.component))
        var donors = Set((0..<componentCount).filter { !bad.contains($0) })
        guard !donors.isEmpty else { return nil }
        let d = dimension
        var w = weights, mu = means
        var full = (0..<componentCount).map { covariances.matrix(component: $0, dimension: d) }
        let logDensities = componentLogDensities(of: Matrix((0..<componentCount).map { means.row($0) }), threads: 1)
        for c in bad.sorted() {
            let candidates = donors.sorted()
            guard !candidates.isEmpty else { break }
            let top = candidates.map { logDensities[c, $0] + log(weights[$0]) }.max()!
            let shares = candidates.map { exp(logDensities[c, $0] + log(weights[$0]) - top) }
            let totalShare = shares.reduce(0, +)
            let odds = zip(candidates, shares).map { weights[$0] * (1 - $1 / totalShare) + 1e-12 }
            let donor = candidates[rng.nextCategorical(odds)]
            donors.remove(donor)
            guard let (plus, minus) = Self.split(mean: means.row(donor), covariance: full[donor], scales: data.columnScales, rng: &rng) else { return nil }
            for j in 0..<d { mu[c, j] = plus[j]; mu[donor, j] = minus[j] }
            full[c] = full[donor]
            w[donor] /= 2
            w[c] = w[donor]
        }
        let total = w.reduce(0, +)
        return try? GaussianMixture(weights: w.map { $0 / total }, means: mu, covariances: covariances.replacing(withFull: full))
    }

    /// Two means half a standard deviation each way from `mean` along the widest axis of
    /// `covariance` measured in standardised units (each column divided by its entry of
    /// `scales`, so that a column in large units does not decide the axis); which way is `+` is
    /// drawn at random. Nil if the eigendecomposition fails.
    static func split(mean: [Double], covariance: Matrix<Double>, scales: [Double],
                      rng: inout Xoshiro256StarStar) -> ([Double], [Double])? {
        let d = mean.count
        var standardized = covariance
        for a in 0..<d { for b in 0..<d { standardized[a, b] /= scales[a] * scales[b] } }
        guard let eigen = try? SymmetricEigen(standardized) else { return nil }
        let step = 0.5 * max(eigen.values[d - 1], 0).squareRoot() * (rng.nextUniform() < 0.5 ? -1 : 1)
        let delta = (0..<d).map { step * eigen.vectors[$0, d - 1] * scales[$0] }
        return (zip(mean, delta).map { $0 + $1 }, zip(mean, delta).map { $0 - $1 })
    }

    /// Degenerate components on the rows of `x` (NaN = missing), judged with the variance floor of
    /// the given regularisation (by default that of ``MixtureFitOptions``).
    /// - Complexity: `O(N·D)` for the column variances, plus one `D × D` eigendecomposition per component.
    public func degeneracies(on x: Matrix<Double>, regularization: Double = MixtureFitOptions().regularization,
                             relativeRegularization: Double = MixtureFitOptions().relativeRegularization) -> [Degeneracy] {
        degeneracies(on: MixtureTrainingData(x, covarianceType: covarianceType, regularization: regularization,
                                             relativeRegularization: relativeRegularization, threads: 1))
    }
}

/// A number with 6 significant digits for messages.
func formatted(_ v: Double) -> String { String(format: "%.6g", v) }
