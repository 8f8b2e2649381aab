import Foundation

/// Settings for fitting a hidden Markov model.
public struct HMMFitOptions<Emission: HMMEmission>: Sendable {
    /// Independent starts; the highest final likelihood wins.
    public var restarts: Int = 10
    /// Each start runs this many short Baum-Welch runs from independent initialisations and
    /// continues only the best (em-EM, as for mixtures). 1 gives plain Baum-Welch.
    public var shortRuns: Int = 5
    /// Iterations of each short run.
    public var shortRunIterations: Int = 10
    /// Stopping rules (tolerance on the mean log-likelihood per observation).
    public var em = EMOptions(maxIterations: 100, tolerance: 1e-6)
    /// Gaussian covariance structure.
    public var covarianceType: CovarianceType = .full
    /// Added to Gaussian covariance diagonals.
    public var regularization: Double = 1e-6
    /// Parameters Baum-Welch keeps as they are (they come from ``initialModel``, or the random start).
    public var fixed: HMMFixedParameters = []
    /// Start from this model (one start). Zeros in its transition matrix stay zero: a left-right
    /// topology, for instance.
    public var initialModel: HiddenMarkovModel<Emission>? = nil
    /// Seed of every random choice.
    public var seed: UInt64 = 0
    /// Cores to use.
    public var threads: Int = availableCores
    /// Receives progress lines.
    public var log: (@Sendable (String) -> Void)? = nil

    public init() {}
}

/// What a fit did.
public struct HMMFitReport: Sendable {
    public var trace: EMTrace
    /// Final total log-likelihood of each start (NaN where a start failed).
    public var startLogLikelihoods: [Double]
    /// Observations (rows) fitted.
    public var count: Int
    public var warnings: [String]

    public var logLikelihood: Double { trace.logLikelihood }
    public var meanLogLikelihood: Double { trace.logLikelihood / Double(max(1, count)) }
}

extension HiddenMarkovModel {
    /// Fits a `states`-state model to the sequences (rows of `x` split by `sequences`) by Baum-Welch.
    ///
    /// Each start draws its emissions with ``HMMEmission/initial(states:context:rng:)`` (k-means for
    /// Gaussian emissions), start probabilities from a Dirichlet around uniform, and a transition
    /// matrix with a random diagonal weight; the start with the best final likelihood wins.
    public static func fit(_ x: Matrix<Double>, sequences: [SequenceRange]? = nil, states: Int,
                           options: HMMFitOptions<Emission> = HMMFitOptions()) throws -> (model: HiddenMarkovModel, report: HMMFitReport)
    {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard states >= 1 else { throw ModelError.invalidSetting("the number of states must be at least 1") }
        guard x.rows >= states else { throw ModelError.tooFewPoints(points: x.rows, needed: states, what: "an HMM with \(states) states") }
        try Emission.validate(x)
        let seqs = sequences ?? .single(x.rows)
        precondition(seqs.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 && $0.upperBound <= x.rows }, "Sequences must be non-empty row ranges")
        let context = EmissionFitContext(data: x, regularization: options.regularization, covarianceType: options.covarianceType,
                                         threads: max(1, options.threads), gaussian: Emission.self == GaussianEmission.self)
        let data = HMMTrainingData(data: x, sequences: seqs, context: context, fixed: options.fixed, threads: max(1, options.threads))
        let root = Xoshiro256StarStar(seed: options.seed)
        var best: (HiddenMarkovModel, EMTrace)?
        var finals: [Double] = []
        var failures: [String] = []
        let starts = options.initialModel == nil ? max(1, options.restarts) : 1
        for start in 0..<starts {
            var rng = root.derived(start)
            do {
                var model: HiddenMarkovModel
                if let given = options.initialModel {
                    model = given
                } else {
                    model = try bestShortRun(states: states, data: data, options: options, rng: &rng)
                }
                let trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em) { i, mean in
                    if i % 10 == 0 { options.log?("start \(start + 1), iteration \(i): mean log-likelihood \(formatted(mean))") }
                }
                finals.append(trace.logLikelihood)
                options.log?("start \(start + 1): log-likelihood \(formatted(trace.logLikelihood)) after \(trace.iterations) iterations\(trace.converged ? "" : " (not converged)")")
                if best == nil || trace.logLikelihood > best!.1.logLikelihood { best = (model, trace) }
            } catch {
                finals.append(.nan)
                failures.append("\(error)")
            }
        }
        guard let best else { throw ModelError.fitFailed(failures.last ?? "no start succeeded") }
        var warnings: [String] = []
        if !failures.isEmpty { warnings.append("\(failures.count) of \(starts) starts failed; the last said: \(failures.last!)") }
        if let gaussian = best.0.emission as? GaussianEmission, let mixtureData = context.mixtureData {
            for (state, _) in gaussian.states.collapsedComponents(data: mixtureData) {
                warnings.append("state \(state) has collapsed onto repeated values (a variance at the regularisation floor): its likelihood is spurious; raise the regularisation or use fewer states")
            }
        }
        return (best.0, HMMFitReport(trace: best.1, startLogLikelihoods: finals, count: x.rows, warnings: warnings))
    }

    static func bestShortRun(states: Int, data: HMMTrainingData, options: HMMFitOptions<Emission>,
                             rng: inout Xoshiro256StarStar) throws -> HiddenMarkovModel {
        let runs = max(1, options.shortRuns)
        var best: (HiddenMarkovModel, Double)?
        var lastError: Error?
        for run in 0..<runs {
            var runRNG = rng.derived(run)
            do {
                var model = try randomStart(states: states, context: data.context, rng: &runRNG)
                if runs == 1 { return model }
                let short = EMOptions(maxIterations: options.shortRunIterations, tolerance: options.em.tolerance)
                let trace = try ExpectationMaximization.run(&model, on: data, count: data.data.rows, options: short)
                if best == nil || trace.logLikelihood > best!.1 { best = (model, trace.logLikelihood) }
            } catch {
                lastError = error
            }
        }
        guard let best else { throw lastError ?? ModelError.fitFailed("no initialisation succeeded") }
        return best.0
    }

    static func randomStart(states k: Int, context: EmissionFitContext, rng: inout Xoshiro256StarStar) throws -> HiddenMarkovModel {
        let emission = try Emission.initial(states: k, context: context, rng: &rng)
        // For Gaussian emissions half the starts are uniform (as hmmlearn's); the others random with
        // a heavy diagonal.
        if Emission.self == GaussianEmission.self && rng.nextUniform() < 0.5 {
            return try HiddenMarkovModel(startProbabilities: [Double](repeating: 1 / Double(k), count: k),
                                         transitions: Matrix(rows: k, columns: k, repeating: 1 / Double(k)), emission: emission)
        }
        let start = rng.nextDirichlet([Double](repeating: 10, count: k))
        var a = Matrix<Double>(rows: k, columns: k)
        for i in 0..<k {
            let stay = k == 1 ? 1 : 0.5 + 0.45 * rng.nextUniform()
            let rest = rng.nextDirichlet([Double](repeating: 1, count: max(1, k - 1)))
            var r = 0
            for j in 0..<k {
                if j == i { a[i, j] = stay } else { a[i, j] = (1 - stay) * rest[r]; r += 1 }
            }
        }
        return try HiddenMarkovModel(startProbabilities: start, transitions: a, emission: emission)
    }
}
