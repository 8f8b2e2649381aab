/// How a Gaussian mixture's EM is started.
public enum MixtureInitialization: String, CaseIterable, Codable, Sendable {
    /// k-means++ seeds refined by Lloyd iterations; hard assignments give the first M-step.
    case kmeans
    /// k-means++ seeds alone; each point goes to its nearest seed.
    case kmeansPlusPlus = "kmeans++"
    /// `K` distinct data points drawn uniformly; each point goes to its nearest.
    case randomFromData = "random-from-data"
    /// Random responsibilities, normalised per row.
    case random
}

/// Settings for ``GaussianMixture/fit(_:components:options:)``.
public struct MixtureFitOptions: Sendable {
    /// The covariance structure.
    public var covarianceType: CovarianceType
    /// How each EM run is started (but for the start in data units, see ``dataUnitsStart``). The
    /// default, random data points as centres, gives the short runs of the em-EM start the diversity
    /// they need: on the 32 reference cases of DESIGN.md (faithful and
    /// iris, K = 1…4, four covariance types), 10 starts reach scikit-learn's best-of-60 optimum in
    /// all 32 with this start and in 28 with k-means (Lloyd refinement makes the short runs alike).
    public var initialization: MixtureInitialization
    /// Number of independent starts; the best final likelihood wins. The default search (4 starts:
    /// the first k-means in data units, see ``dataUnitsStart``; the others of 5 short runs each, 3 for
    /// two components and 1 for one (see ``shortRuns``), the better half of a start's short runs
    /// continued past their 4th iteration; then up to 35 split-and-merge moves from the best, the
    /// last 5 of them seeded; EM accelerated by SQUAREM, see ``em``) reached scikit-learn's best of
    /// 60 k-means starts in 95.2% of the 280 mixture entries of the reference suite × seeds 0–5
    /// (1,600 of 1,680 fits) at 4.58 plain EM runs' worth of E-steps (1,598 at 4.34 before SQUAREM's
    /// stopping rule was confirmed after jumps and the start in data units ran at the final
    /// tolerance; 1,598 at 4.49 with the first change alone). Four starts of short runs alone
    /// (the previous default): the same 1,598 at 4.68 (4.82 with 5 short runs for two components as
    /// well). With plain EM, 3 starts: 94.8% at
    /// 4.85; with SQUAREM (its coordinates then in data units) and 3 starts: 94.9% at 4.22, 4 starts
    /// 95.8% at 4.87. Earlier choices (seeds 0–2, plain EM): without the seeded moves (40 ranked ones)
    /// 94.9% at 4.65; 4 starts of 5 full short runs and 10 moves from 15 candidates 93.2% at 4.92, 3
    /// starts with those 10 moves 92.5%, and 4 starts with 20 moves 93.9% (5.19).
    public var restarts: Int
    /// With two or more ``restarts`` (and no ``warmStart`` or ``initialMeans``), the first start is
    /// k-means in the data's own units (k-means++ seeds and at most 100 Lloyd iterations on the
    /// columns as given, like scikit-learn's start) continued to convergence alone, without short
    /// runs and at ``em``'s tolerance, not the search's; true by default. Its Lloyd iterations
    /// (`O(N·K·D)` each, on one core) are not counted among the fit's EM iterations; the other
    /// starts measure distances in standardised or sphered
    /// coordinates. Where one column's units dominate the distances, that start lands in optima the
    /// scale-free starts rarely reach. Its partition does not change when every column is scaled by
    /// the same factor (up to rounding), but does when columns are rescaled differently. Measured:
    /// on the reference suite (seeds 0–5) the same 1,598 of 1,680 hits at 4.34 instead of 4.68 plain
    /// runs' worth of EM iterations (wall time 4.67× instead of 4.99×), over seeds 0–11 3,198
    /// instead of 3,189 of 3,360 (4.34× against 4.68×); on 36 held-out configurations of 9 further
    /// real data sets (K = 2–6, seeds 0–2), 99 instead of 95 of 108 fits reached scikit-learn's
    /// best of 60 k-means starts. Run at the final tolerance rather than the search's 1e-4 per row
    /// it crosses plateaus that stopped it (Carseats, two full components): 101 of those 108, and
    /// on the suite 1,600 of 1,680 at 4.58 plain runs (seeds 0–11: 3,199 of 3,360 at 4.59).
    public var dataUnitsStart: Bool
    /// Each start runs this many short EM runs from different initialisations and continues only
    /// the best to convergence (the em-EM strategy of Biernacki, Celeux & Govaert 2003). 1 gives
    /// plain EM from one initialisation. Nil, the default, gives `2K − 1` and at most 5 (see
    /// ``shortRunCount(components:)``): one for a single component, three for two, five from three
    /// on. Two components have few optima to choose between: on the reference suite (seeds 0–5)
    /// three short runs per start found the same optima as five for all 56 two-component entries,
    /// and cut the search's cost on them from 6.04 to 4.21 plain runs' worth of EM iterations
    /// (before the start in data units; 3.65 with it)
    /// (three components with four short runs lost 8 of 336 fits).
    public var shortRuns: Int?
    /// M-steps per short run.
    public var shortRunIterations: Int
    /// Split-and-merge moves tried from the best start's model (0: none). Each merges two
    /// overlapping components, splits a broad one and reruns EM, kept if better; a move that has
    /// not passed the current likelihood within 20 iterations, or is converging below it, is
    /// dropped. 35 tries every candidate up to `K = 5` (10 pairs × 3 splits, then the seeded moves).
    public var splitMergeTrials: Int
    /// Seeded moves offered after the ranked ones, with three or more components: each merges the
    /// most overlapping pair and restarts the freed component on the `max(D + 2, N/20)` rows
    /// nearest one of the rows the mixture explains worst (farthest, in standardised units, from
    /// the mean of their component). They find optima with a small, tight component that no split
    /// of a broad one reaches. On the reference suite's mixtures (seeds 0–5), 5 seeded moves within
    /// 35 trials took the hits from 94.2% to 94.8% of scikit-learn's best of 60 k-means starts
    /// (87.7% to 89.1% of its best of all 60 mixed starts) at 4.85 instead of 4.68 plain runs
    /// (then: plain EM, before SQUAREM).
    public var seededMoves: Int
    /// Stopping rules of the runs to convergence: at most 1,000 iterations, and a tolerance of 1e-6
    /// nats per row on both the last improvement and Aitken's estimate of what is still to come,
    /// so that a slowly converging run is not stopped short of its optimum. (With the earlier
    /// defaults, 1e-3 and 100 iterations, and the same search, default fits reached 158 of the 280
    /// reference entries; with these, 188.) EM is accelerated by SQUAREM
    /// (``EMAcceleration/squarem``) in the short runs and the runs to convergence (split-and-merge
    /// looks stay plain): from the same start it ends at the same optimum in fewer E-steps (on the
    /// reference suite, the same search cost 4.22 instead of 4.85 plain runs' worth, measured with
    /// coordinates in data units), and the saving pays for the fourth start. `.none` gives plain EM.
    public var em: EMOptions
    /// Added to the diagonal of every covariance estimate, in squared data units (scikit-learn's
    /// `reg_covar`; 0 by default, since a fixed number means different things in different units).
    public var regularization: Double
    /// Added to each column's variance, times that column's sample variance: the variance floor
    /// that keeps covariances positive definite. Relative to each column's scale, so that a fit of
    /// `c·x` gives the same clusters as a fit of `x` whatever the units. The default, 1e-6, is far
    /// below any proper component's spread; a larger value (1e-3) also stops components from
    /// collapsing onto repeated values, at a small cost in likelihood.
    public var relativeRegularization: Double
    /// Seed of every random choice.
    public var seed: UInt64
    /// Cores to use.
    public var threads: Int
    /// If set, EM starts from these means (`K × D`): each point is assigned to its nearest mean and
    /// one M-step gives the starting parameters; no restarts.
    public var initialMeans: Matrix<Double>?
    /// If set, EM continues from this model; no restarts.
    public var warmStart: GaussianMixture?
    /// Receives progress events (for a terminal's standard error, say).
    public var progress: (@Sendable (FitEvent) -> Void)?

    /// Every setting, each defaulting to the value documented on its property.
    public init(covarianceType: CovarianceType = .full,
                initialization: MixtureInitialization = .randomFromData,
                restarts: Int = 4,
                dataUnitsStart: Bool = true,
                shortRuns: Int? = nil,
                shortRunIterations: Int = 10,
                splitMergeTrials: Int = 35,
                seededMoves: Int = 5,
                em: EMOptions = EMOptions(maxIterations: 1_000, tolerance: 1e-6, acceleration: .squarem),
                regularization: Double = 0,
                relativeRegularization: Double = 1e-6,
                seed: UInt64 = 0,
                threads: Int = availableCores,
                initialMeans: Matrix<Double>? = nil,
                warmStart: GaussianMixture? = nil,
                progress: (@Sendable (FitEvent) -> Void)? = nil) {
        self.covarianceType = covarianceType
        self.initialization = initialization
        self.restarts = restarts
        self.dataUnitsStart = dataUnitsStart
        self.shortRuns = shortRuns
        self.shortRunIterations = shortRunIterations
        self.splitMergeTrials = splitMergeTrials
        self.seededMoves = seededMoves
        self.em = em
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.seed = seed
        self.threads = threads
        self.initialMeans = initialMeans
        self.warmStart = warmStart
        self.progress = progress
    }

    /// Whether the fit searches for a start: false when it continues from ``warmStart`` or
    /// starts from ``initialMeans``.
    public var searchesStarts: Bool { warmStart == nil && initialMeans == nil }

    /// Whether the fit makes the start in data units (see ``dataUnitsStart``): asked for, two or
    /// more ``restarts``, and a search for a start (``searchesStarts``).
    public var makesDataUnitsStart: Bool { dataUnitsStart && restarts >= 2 && searchesStarts }

    /// Short runs per start that a fit of `components` components makes: none without a search
    /// (``searchesStarts``), else ``shortRunCount(components:)`` (the start in data units, when
    /// made, has none either). Streamed and online fits make them in the start's search on their
    /// subsample.
    public func shortRunsMade(components: Int) -> Int {
        searchesStarts ? shortRunCount(components: components) : 0
    }

    /// The short runs per start for `components` components: ``shortRuns`` if set, else
    /// `min(5, 2·components − 1)` (at least 1).
    public func shortRunCount(components: Int) -> Int {
        max(1, shortRuns ?? min(5, 2 * components - 1))
    }
}

