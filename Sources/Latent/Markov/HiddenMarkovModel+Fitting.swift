import Foundation

/// Settings for fitting a hidden Markov model.
public struct HMMFitOptions<Emission: HMMEmission>: Sendable {
    /// The most independent starts; the highest final likelihood wins. With ``agreement`` set (the
    /// default) the search stops earlier, once that many starts have ended at the best optimum so
    /// far; with `agreement = nil` it makes exactly `restarts` starts. A start whose run, after 20
    /// iterations, is judged unable to pass the best start so far is abandoned
    /// (``StartSearchOptions/abandonment``).
    public var restarts: Int
    /// Stop making starts once this many have ended at the best eligible optimum so far (within
    /// 1e-4 nats per observation; ``StartSearchOptions/agreement``); nil: always ``restarts``
    /// starts. The default, at most 16 starts stopping at 3 agreeing, was measured on the reference
    /// suite (40 HMM entries × seeds 0–13, 560 fits): 534 of hmmlearn's best-of-60 optima at 4.97
    /// plain runs' worth of Baum-Welch iterations, against 533 at 5.84 with the earlier fixed 8
    /// starts (seeds 0–7 alone: 304 of 320 at 5.27 against 305 at 6.12; 4 agreeing of at most 16:
    /// 306 at 6.08; 3 of at most 8: 299 at 4.21; 3 of at most 12: 300 at 4.78). Gaussian-mixture
    /// emissions (14 entries × seeds 0–5): 81 of 84 either way. With today's start (transition
    /// diagonals from alternating to persistent, ``HiddenMarkovModel/fit(_:sequences:states:options:)``):
    /// 543 of 560 at 4.12 (seeds 0–7: 311 of 320 at 4.60, wall time 4.86×); 2 agreeing of at most
    /// 16 lost Gaussian-mixture fits (77 of 84).
    public var agreement: Int?
    /// Each start runs this many short Baum-Welch runs from independent initialisations and
    /// continues only the best (em-EM, as for mixtures). 1 gives plain Baum-Welch.
    public var shortRuns: Int
    /// Iterations of each short run.
    public var shortRunIterations: Int
    /// Split-and-merge moves tried from the best start (0: none; see ``SplitAndMerge``): two
    /// overlapping states merge and a broad one splits, or (with three or more states) the freed
    /// state restarts where the data are densest against the model (``HiddenMarkovModel/seededMoves``); a move is
    /// kept if the likelihood rises. Not tried when some parameters are ``fixed``.
    public var splitMergeTrials: Int
    /// Stopping rules (tolerance on the mean log-likelihood per observation). At most 1,000
    /// iterations: with the earlier 100, slowly converging runs stopped short on 2 of the 40
    /// reference entries. Baum-Welch is accelerated by SQUAREM (``EMAcceleration/squarem``) in the
    /// short runs and the runs to convergence (split-and-merge looks stay plain): on the reference
    /// suite (40 entries × seeds 0–7) the default search then cost 6.12 instead of 8.62 plain runs'
    /// worth of E-steps, for 305 instead of 306 of 320 anchor optima. `.none` gives plain Baum-Welch.
    public var em: EMOptions
    /// Gaussian covariance structure (Gaussian and Gaussian-mixture emissions).
    public var covarianceType: CovarianceType
    /// Settings of the emission type alone (``GaussianMixtureEmission/Settings``, say).
    public var emissionSettings: Emission.Settings
    /// Added to Gaussian covariance diagonals, in squared data units (0 by default).
    public var regularization: Double
    /// Added to each Gaussian state's variance in each column, times that column's sample
    /// variance: a variance floor that follows the data's scale (as for mixtures).
    public var relativeRegularization: Double
    /// Parameters Baum-Welch keeps as they are (they come from ``warmStart``, or the random start).
    public var fixed: HMMFixedParameters
    /// Continue from this model (one start, no search), as ``MixtureFitOptions/warmStart`` does for
    /// mixtures. Zeros in its transition matrix stay zero: a left-right topology, for instance.
    public var warmStart: HiddenMarkovModel<Emission>?
    /// The earlier name of ``warmStart``.
    @available(*, deprecated, renamed: "warmStart")
    public var initialModel: HiddenMarkovModel<Emission>? {
        get { warmStart }
        set { warmStart = newValue }
    }
    /// Seed of every random choice.
    public var seed: UInt64
    /// Cores to use.
    public var threads: Int
    /// Receives progress events.
    public var progress: (@Sendable (FitEvent) -> Void)?

    /// Every setting, each defaulting to the value documented on its property.
    public init(restarts: Int = 16,
                agreement: Int? = 3,
                shortRuns: Int = 5,
                shortRunIterations: Int = 10,
                splitMergeTrials: Int = 40,
                em: EMOptions = EMOptions(maxIterations: 1_000, tolerance: 1e-6, acceleration: .squarem),
                covarianceType: CovarianceType = .full,
                emissionSettings: Emission.Settings = Emission.Settings(),
                regularization: Double = 0,
                relativeRegularization: Double = 1e-6,
                fixed: HMMFixedParameters = [],
                warmStart: HiddenMarkovModel<Emission>? = nil,
                seed: UInt64 = 0,
                threads: Int = availableCores,
                progress: (@Sendable (FitEvent) -> Void)? = nil) {
        self.restarts = restarts
        self.agreement = agreement
        self.shortRuns = shortRuns
        self.shortRunIterations = shortRunIterations
        self.splitMergeTrials = splitMergeTrials
        self.em = em
        self.covarianceType = covarianceType
        self.emissionSettings = emissionSettings
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.fixed = fixed
        self.warmStart = warmStart
        self.seed = seed
        self.threads = threads
        self.progress = progress
    }
}

extension HiddenMarkovModel {
    /// Fits a `states`-state model to the sequences (rows of `x` split by `sequences`) by Baum-Welch.
    ///
    /// Each start draws its emissions with ``HMMEmission/initial(states:context:rng:)`` (k-means for
    /// Gaussian emissions), start probabilities from a Dirichlet around uniform, and a transition
    /// matrix whose diagonal (each state's probability of staying) has its log-odds uniform on
    /// [−2, 5], from 0.12 (alternating) to 0.993 (persistent); ``MultiStart`` runs the search, and
    /// the best final likelihood among fits with no empty or collapsed state wins. On the reference
    /// suite (40 entries × seeds 0–13) that start reached 543 of 560 of hmmlearn's best-of-60 optima
    /// against 534 with the earlier diagonal of 0.5–0.95, for about the same Baum-Welch iterations
    /// (seeds 0–7: 166,417 against 175,039; wall time 9.2 s against 10.0 s).
    public static func fit(_ x: Matrix<Double>, sequences: [SequenceRange]? = nil, states: Int,
                           options: HMMFitOptions<Emission> = HMMFitOptions()) throws -> (model: HiddenMarkovModel, report: FitReport)
    {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard states >= 1 else { throw ModelError.invalidSetting("the number of states must be at least 1") }
        guard x.rows >= states else { throw ModelError.tooFewPoints(points: x.rows, needed: states, what: "an HMM with \(states) states") }
        try Emission.validate(x)
        let seqs = sequences ?? .single(x.rows)
        precondition(seqs.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 && $0.upperBound <= x.rows }, "Sequences must be non-empty row ranges")
        let context = try Emission.fitContext(for: x, options: options)
        let searchesMoves = options.warmStart == nil && options.splitMergeTrials > 0 && states >= 2 && options.fixed.isEmpty
        let data = HMMTrainingData<Emission>(data: x, sequences: seqs, context: context, fixed: options.fixed, threads: max(1, options.threads),
                                             regularization: options.regularization, relativeRegularization: options.relativeRegularization,
                                             preparingMovesForStates: searchesMoves ? states : nil)
        if let given = options.warmStart {
            return try MultiStart.continueRun(given, data: data, count: x.rows, em: options.em,
                                              degenerateAdvice: Emission.degenerateAdvice, progress: options.progress)
        }
        let search = StartSearchOptions(restarts: options.restarts, shortRuns: options.shortRuns,
                                        shortRunIterations: options.shortRunIterations, em: options.em, seed: options.seed,
                                        abandonment: .init(after: 20, margin: 20), agreement: options.agreement)
        return try MultiStart.fit(data: data, count: x.rows, options: search, initialize: { rng in
            try randomStart(states: states, context: context, rng: &rng)
        }, refine: { model, trace, em, rng in
            SplitAndMerge.refine(model, trace: trace, data: data, count: x.rows, em: em, trials: options.splitMergeTrials, rng: &rng)
        }, degenerateAdvice: Emission.degenerateAdvice, progress: options.progress)
    }

    static func randomStart(states k: Int, context: Emission.FitContext, rng: inout Xoshiro256StarStar) throws -> HiddenMarkovModel {
        let emission = try Emission.initial(states: k, context: context, rng: &rng)
        // Half the starts of some emissions are uniform chains (as hmmlearn's); the others random,
        // each state's probability of staying drawn with its log-odds uniform on [−2, 5] (0.12 to
        // 0.993): persistent series (a change point, as in the Van killed series, 2 states, Poisson)
        // reach their optimum from a start that stays with probability ≥ 0.9, alternating ones (the
        // Old Faithful geyser's long and short eruptions, categorical) from one that leaves.
        if Emission.startsUniformChainsHalfTheTime && rng.nextUniform() < 0.5 {
            return try HiddenMarkovModel(startProbabilities: [Double](repeating: 1 / Double(k), count: k),
                                         transitions: Matrix(rows: k, columns: k, repeating: 1 / Double(k)), emission: emission)
        }
        let start = rng.nextDirichlet([Double](repeating: 10, count: k))
        var a = Matrix<Double>(rows: k, columns: k)
        for i in 0..<k {
            let stay = k == 1 ? 1 : 1 / (1 + Foundation.exp(2 - 7 * rng.nextUniform()))
            let rest = rng.nextDirichlet([Double](repeating: 1, count: max(1, k - 1)))
            var r = 0
            for j in 0..<k {
                if j == i { a[i, j] = stay } else { a[i, j] = (1 - stay) * rest[r]; r += 1 }
            }
        }
        return try HiddenMarkovModel(startProbabilities: start, transitions: a, emission: emission)
    }
}

extension HiddenMarkovModel: DegeneracyChecking {
    /// States that hold less than one observation's worth of posterior probability, and states
    /// whose emission collapsed (Gaussian states on repeated values).
    public func degeneracies(on data: HMMTrainingData<Emission>) -> [Degeneracy] {
        let gamma = posteriors(of: data.data, sequences: data.sequences, threads: data.threads)
        var occupancy = [Double](repeating: 0, count: stateCount)
        for i in 0..<gamma.rows { for k in 0..<stateCount { occupancy[k] += gamma[i, k] } }
        return emission.degeneracies(occupancies: occupancy, context: data.context)
    }
}
