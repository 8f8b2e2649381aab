import Foundation

/// Settings for ``BayesianGaussianMixture/fit(_:components:prior:options:)``.
public struct BayesianMixtureFitOptions: Sendable {
    /// The shape of the components' precisions (see ``BayesianGaussianMixture``).
    public var covarianceType: CovarianceType
    /// Independent starts; the highest lower bound wins.
    public var restarts: Int
    /// Short coordinate-ascent runs per start, from different initialisations (the em-EM search of
    /// the maximum-likelihood mixture, with the same k-means and random-point starts in standardised
    /// or sphered coordinates); the best is continued to convergence.
    public var shortRuns: Int
    public var shortRunIterations: Int
    /// Stopping rules on the lower bound per row: at most 1,000 sweeps, tolerance 1e-6.
    public var em: EMOptions
    public var seed: UInt64
    /// A posterior to continue coordinate ascent from instead of the start search (its prior then
    /// applies, and the `prior` argument of the fit is ignored).
    public var warmStart: BayesianGaussianMixture?
    public var progress: (@Sendable (FitEvent) -> Void)?

    public init(covarianceType: CovarianceType = .full, restarts: Int = 1, shortRuns: Int = 10, shortRunIterations: Int = 10,
                em: EMOptions = EMOptions(maxIterations: 1_000, tolerance: 1e-6), seed: UInt64 = 0,
                warmStart: BayesianGaussianMixture? = nil, progress: (@Sendable (FitEvent) -> Void)? = nil) {
        self.warmStart = warmStart
        self.covarianceType = covarianceType
        self.restarts = restarts
        self.shortRuns = shortRuns
        self.shortRunIterations = shortRunIterations
        self.em = em
        self.seed = seed
        self.progress = progress
    }
}

extension BayesianGaussianMixture {
    /// Fits a variational posterior with at most `components` components (precisions shaped by
    /// ``BayesianMixtureFitOptions/covarianceType``) to the rows of `x` by coordinate ascent on the
    /// evidence lower bound.
    ///
    /// Each start takes its first responsibilities from a k-means or random-point clustering (as
    /// the maximum-likelihood mixture's starts) and runs the variational updates; the bound never
    /// decreases and ``FitReport/trace`` holds it per sweep (`logLikelihood` there is the bound).
    /// - Parameters:
    ///   - x: `N × D` complete, finite rows.
    ///   - components: the most components the posterior may use (superfluous ones empty).
    ///   - prior: by default ``BayesianMixturePrior/defaults(for:components:)``.
    ///   - options: the covariance type, weight prior, starts, stopping rules and seed.
    /// - Throws: ``ModelError`` for empty data, missing or non-finite values, fewer rows than
    ///   components, or an invalid prior.
    /// - Complexity: per sweep that of a maximum-likelihood EM iteration, `O(N·K·D²)` (full) or
    ///   `O(N·K·D)` (diag, spherical), in BLAS-3 blocks.
    public static func fit(_ x: Matrix<Double>, components: Int, prior: BayesianMixturePrior? = nil,
                           options: BayesianMixtureFitOptions = BayesianMixtureFitOptions()) throws
        -> (model: BayesianGaussianMixture, report: FitReport)
    {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard components >= 1 else { throw ModelError.invalidSetting("the number of components must be at least 1") }
        guard x.rows >= components else { throw ModelError.tooFewPoints(points: x.rows, needed: components, what: "a mixture of \(components) components") }
        if let i = x.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) holds \(x.elements[i]); the variational mixture needs complete, finite rows")
        }
        try DataChecks.requireSpread(x)
        let type = options.covarianceType
        if let warm = options.warmStart {
            guard warm.dimension == x.columns, warm.componentCount == components, warm.covarianceType == type else {
                throw ModelError.invalidSetting("the starting posterior has \(warm.componentCount) \(warm.covarianceType.rawValue) components in \(warm.dimension) dimensions; the fit asks for \(components) \(type.rawValue) components in \(x.columns)")
            }
            let data = BayesianMixtureTrainingData(x: x, prior: warm.prior, covarianceType: type)
            return try MultiStart.continueRun(warm, data: data, count: x.rows, em: options.em, degenerateAdvice: "", progress: options.progress)
        }
        let prior = prior ?? BayesianMixturePrior.defaults(for: x, components: components)
        try prior.validate(dimension: x.columns, type: type)
        if type == .full || type == .tied { try DataChecks.requireIndependentColumns(x) }
        let data = BayesianMixtureTrainingData(x: x, prior: prior, covarianceType: type)
        let spaces = InitializationSpaces(data.mixture)
        let search = StartSearchOptions(restarts: options.restarts, shortRuns: options.shortRuns,
                                        shortRunIterations: options.shortRunIterations, em: options.em, seed: options.seed)
        return try MultiStart.fit(data: data, count: x.rows, options: search, initialize: { rng in
            let method: MixtureInitialization = rng.nextUniform() < 0.5 ? .kmeans : .randomFromData
            let start = try GaussianMixture.initialize(data: data.mixture, space: spaces.draw(using: &rng), components: components,
                                                       type: type, method: method, rng: &rng)
            return BayesianGaussianMixture(responsibilities: start.responsibilities(for: x, threads: 1), data: data)
        }, degenerateAdvice: "", progress: options.progress)
    }

    /// The posterior one variational M-step makes from responsibilities `r` (`N × K`) of the rows
    /// of `x` (complete), with precisions of the given type.
    public init(prior: BayesianMixturePrior, responsibilities r: Matrix<Double>, x: Matrix<Double>, covarianceType: CovarianceType = .full) {
        self.init(responsibilities: r, data: BayesianMixtureTrainingData(x: x, prior: prior, covarianceType: covarianceType))
    }

    init(responsibilities r: Matrix<Double>, data: BayesianMixtureTrainingData) {
        let k = r.columns, d = data.x.columns, type = data.covarianceType
        self.init(uncheckedPrior: data.prior, weightConcentration: [Double](repeating: 1, count: k), weightConcentration2: [],
                  meanPrecision: [Double](repeating: 1, count: k), means: Matrix(rows: k, columns: d),
                  degreesOfFreedom: [Double](repeating: data.prior.degreesOfFreedom, count: k),
                  scaleInverses: data.prior.scaleInverse(for: type, components: k))
        let stats = GaussianMixture.responsibilityStatistics(r, type: type, data: data.mixture)
        update(from: MixtureMoments(stats, components: k, type: type, data: data.mixture,
                                    referenceMeans: [Double](repeating: 0, count: k * d)), shift: data.mixture.shift)
    }
}
