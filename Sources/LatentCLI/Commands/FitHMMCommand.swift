import ArgumentParser
import Foundation
import Latent

/// The emission families on the command line.
enum EmissionChoice: String, ExpressibleByArgument, CaseIterable {
    case gaussian, categorical, poisson
    /// A mixture of Gaussians per state.
    case gmm

    /// Whether the emission is Gaussian (one or a mixture per state): real-valued data, covariances.
    var isGaussian: Bool { self == .gaussian || self == .gmm }
}

/// `latent fit hmm`: a hidden Markov model by Baum-Welch.
struct FitHMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmm",
        abstract: "Fit a hidden Markov model by Baum-Welch (EM) over one or many sequences.",
        discussion: """
        Rows are time-ordered. With --sequence-column, a change in that column's value starts a new \
        sequence (the column is not modelled). Categorical emissions take one column of symbols 0, 1, …; \
        Poisson emissions take non-negative integer counts. gmm emissions give each state a mixture of \
        --components-per-state Gaussians (hmmlearn's GMMHMM).
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of hidden states K.")
    var states: Int
    @Option(name: .long, help: "Emission model: gaussian, categorical, poisson or gmm (a Gaussian mixture per state).")
    var emission: EmissionChoice = .gaussian
    @Option(name: .long, help: "Gaussian covariance structure: full, diag, spherical or tied (tied: gaussian emissions only).")
    var covariance: CovarianceType = .full
    @Option(name: .long, parsing: .unconditional, help: "gmm emissions: mixture components per state.")
    var componentsPerState: Int = GaussianMixtureEmission.Settings().componentsPerState
    @Option(name: .long, help: "A column whose value changes between sequences.")
    var sequenceColumn: String?
    @Option(name: .long, parsing: .unconditional, help: "Independent starts; the best likelihood wins. Without this flag: up to \(HMMFitOptions<GaussianEmission>().restarts), stopping once \(HMMFitOptions<GaussianEmission>().agreement ?? 0) have ended at the best optimum; with it, exactly this many.")
    var restarts: Int?
    @Option(name: .long, parsing: .unconditional, help: "Short Baum-Welch runs per start (1: plain Baum-Welch from one initialisation).")
    var shortRuns: Int = HMMFitOptions<GaussianEmission>().shortRuns
    @Option(name: .long, parsing: .unconditional, help: "Split-and-merge moves tried from the best start (0: none).")
    var splitMergeTrials: Int = HMMFitOptions<GaussianEmission>().splitMergeTrials
    @Option(name: .long, parsing: .unconditional, help: "Added to every Gaussian covariance diagonal, in squared data units.")
    var regularization: Double = HMMFitOptions<GaussianEmission>().regularization
    @Option(name: .long, parsing: .unconditional, help: "Added to each Gaussian state's variance, times the column's sample variance: the variance floor.")
    var relativeRegularization: Double = HMMFitOptions<GaussianEmission>().relativeRegularization
    @Option(name: .long, help: "Gaussian emissions: a .npy or .csv file of K starting means; one start with uniform start probabilities, transitions 0.7 on the diagonal (the rest shared equally), and the data's covariance for every state.")
    var initialMeans: String?
    @Option(name: .long, help: "Parameters to keep fixed, comma-separated: start, transitions, emissions (they come from --warm-start, or the random start).")
    var fix: String?
    @Option(name: .long, help: "A hidden Markov model file to start from (one start; zeros in its transitions stay zero).")
    var warmStart: String?
    @Flag(name: .long, help: "Read a CSV file a block of whole sequences at a time (for many sequences larger than memory; needs --sequence-column): the start on evenly spaced sequences of at most 20,000 rows, then one pass per Baum-Welch iteration. Rows must be complete.")
    var stream = false
    @Option(name: .long, parsing: .unconditional, help: "With --stream: rows per block (whole sequences; a longer sequence is read alone).")
    var blockRows: Int = 65_536
    @Flag(name: .long, help: "Stepwise (online) EM over mini-batches of whole sequences (needs --sequence-column): the start on evenly spaced sequences of at most 20,000 rows (or --warm-start), then --passes passes of --batch-size sequences, an M-step after each batch (in-memory sequences in a new random order each pass; with --stream, the file's order). Gaussian, Poisson and categorical emissions.")
    var online = false
    @Option(name: .long, parsing: .unconditional, help: "With --online: sequences per mini-batch.")
    var batchSize: Int = 16
    @Option(name: .long, parsing: .unconditional, help: "With --online: passes over the sequences.")
    var passes: Int = 2
    @Option(name: .long, parsing: .unconditional, help: "With --online: κ of the step sizes (B / (R + B))^κ for a batch of B rows after R rows, in (0.5, 1]: 1 averages every row seen (best from the default start); a smaller κ forgets early batches sooner (a rough --warm-start, data that drift).")
    var stepDecay: Double = 1
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data), ("initial-means file", initialMeans),
                                                     ("warm-start model", warmStart)])
        guard states >= 1 else { throw ValidationError("--states must be at least 1") }
        guard (restarts ?? 1) >= 1, shortRuns >= 1 else { throw ValidationError("--restarts and --short-runs must be at least 1") }
        guard componentsPerState >= 1 else { throw ValidationError("--components-per-state must be at least 1") }
        if emission == .gmm && covariance == .tied {
            throw ValidationError("--emission gmm takes --covariance full, diag or spherical, not tied")
        }
        if emission != .gmm && componentsPerState != GaussianMixtureEmission.Settings().componentsPerState {
            throw ValidationError("--components-per-state is for --emission gmm")
        }
        if initialMeans != nil && emission != .gaussian { throw ValidationError("--initial-means is for --emission gaussian") }
        if stream || online { try fit.requirePlainEM(online ? "an online fit" : "a streamed fit") }
        if stream {
            guard sequenceColumn != nil else { throw ValidationError("--stream reads many sequences: name their column with --sequence-column") }
            guard blockRows >= 1 else { throw ValidationError("--block-rows must be at least 1") }
            guard initialMeans == nil, fix == nil else { throw ValidationError("--stream makes its own start (or takes --warm-start) and updates every parameter: leave out --initial-means and --fix") }
        }
        if online {
            guard sequenceColumn != nil else { throw ValidationError("--online steps over mini-batches of sequences: name their column with --sequence-column") }
            guard emission != .gmm else { throw ValidationError("--online takes Gaussian, Poisson or categorical emissions, not --emission gmm") }
            guard batchSize >= 1, passes >= 1 else { throw ValidationError("--batch-size and --passes must be at least 1") }
            guard stepDecay > 0.5, stepDecay <= 1 else { throw ValidationError("--step-decay must lie in (0.5, 1]") }
            guard initialMeans == nil, fix == nil else { throw ValidationError("--online makes its own start (or takes --warm-start) and updates every parameter: leave out --initial-means and --fix") }
        }
        guard splitMergeTrials >= 0 else { throw ValidationError("--split-merge-trials must be 0 or more") }
        guard regularization >= 0, regularization.isFinite, relativeRegularization >= 0, relativeRegularization.isFinite else {
            throw ValidationError("--regularization and --relative-regularization must be non-negative numbers")
        }
        _ = try fixedParameters()
    }

    func fixedParameters() throws -> HMMFixedParameters {
        var fixed: HMMFixedParameters = []
        for part in (fix ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch part {
            case "start": fixed.insert(.start)
            case "transitions": fixed.insert(.transitions)
            case "emissions": fixed.insert(.emissions)
            default: throw ValidationError("--fix '\(part)': use start, transitions or emissions")
            }
        }
        return fixed
    }

    /// The rows to fit: in memory, or (with --stream) a CSV read a block of whole sequences at a time.
    private enum Rows {
        case inMemory(Matrix<Double>, [SequenceRange])
        case streamed(StreamedSequenceData)

        /// Fits a model with emission `E` to the rows.
        func fit<E: HMMEmission>(states: Int, options: HMMFitOptions<E>) throws -> (HiddenMarkovModel<E>, FitReport) {
            switch self {
            case .inMemory(let x, let sequences): return try HiddenMarkovModel<E>.fit(x, sequences: sequences, states: states, options: options)
            case .streamed(let data): return try HiddenMarkovModel<E>.fitStreamed(data, states: states, options: options)
            }
        }

        /// Fits a model by stepwise EM (`online` holds the batch size, passes and κ), or as ``fit(states:options:)`` when nil.
        func fit<E: OnlineHMMEmission>(states: Int, options: HMMFitOptions<E>, online: (batch: Int, passes: Int, stepDecay: Double)?)
            throws -> (HiddenMarkovModel<E>, FitReport)
        {
            guard let online else { return try fit(states: states, options: options) }
            let data: StreamedSequenceData
            switch self {
            case .inMemory(let x, let sequences):
                data = StreamedSequenceData(source: x, sequences: sequences, regularization: options.regularization,
                                            relativeRegularization: options.relativeRegularization, threads: options.threads)
            case .streamed(let streamed): data = streamed
            }
            return try HiddenMarkovModel<E>.fitOnline(data, states: states, options: options, batchSequences: online.batch,
                                                      passes: online.passes, stepDecay: online.stepDecay)
        }
    }

    func run() throws {
        BLAS.setThreads(1)
        let rows: Rows, columns: [String], sequenceCount: Int
        var meansData: Matrix<Double>?
        if stream {
            let (data, names) = try streamedSequences()
            (rows, columns, sequenceCount) = (.streamed(data), names, data.sequences.count)
        } else {
            let loaded = try SequenceData.load(dataOptions, sequenceColumn: sequenceColumn, quiet: output.quiet, allowMissing: integratesMissingValues)
            try checkValues(loaded.table)
            (rows, columns, sequenceCount) = (.inMemory(loaded.table.values, loaded.sequences), loaded.table.columnNames, loaded.sequences.count)
            meansData = loaded.table.values
        }
        let warm = try warmStart.map { path -> AnyHiddenMarkovModel in
            guard case .hiddenMarkov(let m) = try ModelFile.read(path: path).model else {
                throw ValidationError("--warm-start \(path) is not a hidden Markov model")
            }
            return m
        }
        if let warm, warm.emissionKind != emission.rawValue {
            throw ValidationError("--warm-start holds a \(warm.emissionKind) model, not \(emission.rawValue)")
        }
        let em = fit.em(defaults: HMMFitOptions<GaussianEmission>().em)
        let fixed = try fixedParameters()
        let progress: (@Sendable (FitEvent) -> Void)? = output.quiet ? nil : Console.fitProgress(every: 10)

        func options<E>(_ type: E.Type, initial: HiddenMarkovModel<E>?) -> HMMFitOptions<E> {
            var o = HMMFitOptions<E>()
            if let restarts { (o.restarts, o.agreement) = (restarts, nil) }
            o.shortRuns = shortRuns
            o.splitMergeTrials = splitMergeTrials
            o.em = em
            o.covarianceType = covariance
            o.regularization = regularization
            o.relativeRegularization = relativeRegularization
            o.fixed = fixed
            o.seed = fit.seed
            o.threads = fit.threads
            o.warmStart = initial
            o.progress = progress
            return o
        }

        let meansInitial = try initialMeans.flatMap { path in try meansData.map { try meansStart(path, x: $0) } }
        let onlineSettings = online ? (batch: batchSize, passes: passes, stepDecay: stepDecay) : nil
        let start = DispatchTime.now().uptimeNanoseconds
        let (model, report): (AnyHiddenMarkovModel, FitReport) = try CommandLineError.hinting(
            "On the command line: fewer --states, or a larger --relative-regularization (1e-3)."
        ) {
            switch emission {
            case .gaussian:
                var initial: HiddenMarkovModel<GaussianEmission>?
                if case .gaussian(let m)? = warm { initial = m }
                if let meansInitial { initial = meansInitial }
                let (m, r) = try rows.fit(states: states, options: options(GaussianEmission.self, initial: initial), online: onlineSettings)
                return (.gaussian(m), r)
            case .categorical:
                var initial: HiddenMarkovModel<CategoricalEmission>?
                if case .categorical(let m)? = warm { initial = m }
                let (m, r) = try rows.fit(states: states, options: options(CategoricalEmission.self, initial: initial), online: onlineSettings)
                return (.categorical(m), r)
            case .poisson:
                var initial: HiddenMarkovModel<PoissonEmission>?
                if case .poisson(let m)? = warm { initial = m }
                let (m, r) = try rows.fit(states: states, options: options(PoissonEmission.self, initial: initial), online: onlineSettings)
                return (.poisson(m), r)
            case .gmm:
                var o = options(GaussianMixtureEmission.self, initial: nil)
                if case .gaussianMixture(let m)? = warm { o.warmStart = m }
                o.emissionSettings = GaussianMixtureEmission.Settings(componentsPerState: componentsPerState)
                let (m, r) = try rows.fit(states: states, options: o)
                return (.gaussianMixture(m), r)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try writeModelAndSummary(model, report: report, columns: columns, sequences: sequenceCount, em: em, seconds: seconds)
    }

    /// Values the emission cannot model, named by the file's row and column.
    private func checkValues(_ t: DataTable) throws {
        if emission.isGaussian {
            try DataChecks.requireSpread(t.values, names: t.columnNames, source: t.source)
            if covariance == .full || covariance == .tied {
                try DataChecks.requireIndependentColumns(t.values, names: t.columnNames, source: t.source)
            }
        } else {
            let v = t.values
            if let i = v.elements.firstIndex(where: { !($0 >= 0 && $0 == $0.rounded() && (emission == .poisson ? $0.isFinite : $0 < 1e6)) }) {
                let what = emission == .poisson ? "Poisson counts must be non-negative integers" : "categorical symbols must be integers 0, 1, 2, …"
                throw CommandLineError(description: "\(t.source), row \(t.sourceRows[i / v.columns]), column '\(t.columnNames[i % v.columns])': \(what); found \(Console.number(v.elements[i]))")
            }
        }
    }

    /// `--stream`: the CSV's sequences (where --sequence-column changes, found in one pass) and its
    /// model columns (--columns, or every numeric column but the sequence column), read in pieces.
    private func streamedSequences() throws -> (StreamedSequenceData, [String]) {
        let path = dataOptions.data, lowercased = path.lowercased()
        guard lowercased.hasSuffix(".csv") || lowercased.hasSuffix(".txt"), let sequenceColumn else {
            throw CommandLineError(description: "\(path): --stream for hidden Markov models reads a CSV file with --sequence-column")
        }
        do {
            let ids = try CSVRowReader(path: path, columns: [sequenceColumn])
            let everything = try dataOptions.columnList == nil ? CSVRowReader(path: path, allowsMissing: true) : nil   // its column names only
            let names = dataOptions.columnList ?? everything!.columnNames.filter { $0 != sequenceColumn }
            let source = try CSVRowReader(path: path, columns: names, allowsMissing: integratesMissingValues)
            let sequences = try [SequenceRange].split(by: ids, blockRows: blockRows)
            return (StreamedSequenceData(source: source, sequences: sequences, blockRows: blockRows, regularization: regularization,
                                         relativeRegularization: relativeRegularization, threads: fit.threads), names)
        } catch DataError.missingValue(let path, let line, let column) {
            throw CommandLineError(description: "\(path), row \(line), column '\(column)': the value is missing; \(online ? "--online" : "--emission \(emission.rawValue)") needs complete rows (Gaussian emissions fitted without --online integrate missing values out)")
        }
    }

    /// Gaussian emissions integrate missing values out (except in online EM); the others need complete rows.
    private var integratesMissingValues: Bool { emission == .gaussian && !online }

    /// The starts the search may make and the agreement that ends it early: the library's defaults,
    /// or exactly `--restarts` starts when the flag is given.
    private var searchOptions: (restarts: Int, agreement: Int?) {
        let defaults = HMMFitOptions<GaussianEmission>()
        return restarts.map { ($0, nil) } ?? (defaults.restarts, defaults.agreement)
    }

    /// The fitted model written with its training summary, and the summary printed.
    private func writeModelAndSummary(_ model: AnyHiddenMarkovModel, report: FitReport, columns: [String], sequences: Int,
                                      em: EMOptions, seconds: Double) throws {
        for w in report.warnings { Console.warn(w) }
        var settings = ["emission": emission.rawValue, "covariance": covariance.rawValue, "restarts": String(searchOptions.restarts), "shortRuns": String(shortRuns), "splitMergeTrials": String(splitMergeTrials),
                        "regularization": "\(regularization)",
                        "relativeRegularization": "\(relativeRegularization)", "tolerance": "\(em.tolerance)", "maxIterations": String(em.maxIterations)]
        // Streamed and online Baum-Welch have no parameter vector to extrapolate: plain EM.
        let acceleration = stream || online ? EMAcceleration.none : em.acceleration
        settings["acceleration"] = acceleration.rawValue
        settings["agreement"] = searchOptions.agreement.map(String.init) ?? "none"
        if let sequenceColumn { settings["sequenceColumn"] = sequenceColumn }
        if emission == .gmm { settings["componentsPerState"] = String(componentsPerState) }
        if stream { settings["stream"] = "true"; settings["blockRows"] = String(blockRows) }
        if online {
            settings["online"] = "true"; settings["batchSize"] = String(batchSize); settings["passes"] = String(passes)
            settings["stepDecay"] = "\(stepDecay)"
        }
        let training = TrainingSummary(logLikelihood: report.logLikelihood, count: report.count, iterations: report.totalIterations,
                                       converged: report.trace.converged, seed: fit.seed, settings: settings, history: report.trace.history)
        try ModelFile(model: .hiddenMarkov(model), columns: columns, training: training).write(to: fit.output)
        var o = fitSummary(model: "hmm", report: report, parameters: model.parameterCount, seconds: seconds)
        o["states"] = .integer(states)
        o["emission"] = .string(emission.rawValue)
        if emission.isGaussian { o["covariance"] = .string(covariance.rawValue) }
        if emission == .gmm { o["componentsPerState"] = .integer(componentsPerState) }
        o["sequences"] = .integer(sequences)
        o["acceleration"] = .string(acceleration.rawValue)
        o["starts"] = .integer(report.startLogLikelihoods.count)
        if online {
            o["online"] = .bool(true)
            o["passes"] = .integer(passes)
            o["batchSize"] = .integer(batchSize)
            o["passHistory"] = .numbers(report.trace.history.map { $0 / Double(max(1, report.count)) })
        }
        if stream {
            o["stream"] = .bool(true)
            o["blockRows"] = .integer(blockRows)
            if let peak = Console.peakResidentMegabytes() { o["peakResidentMB"] = .number(peak) }
        }
        o["output"] = .string(fit.output)
        if output.json {
            Console.printJSON(o)
        } else {
            Console.print(HMMReport.text(model, columns: columns, logLikelihood: report.logLikelihood, count: report.count))
        }
    }

    /// The benchmark's common start: uniform π, A with 0.7 on the diagonal, given means, and the
    /// data's covariance (divisor T) for every state.
    /// The start of `--initial-means`: the means read from `path`, checked (see ``HiddenMarkovModel/start(means:data:covarianceType:regularization:)``).
    func meansStart(_ path: String, x: Matrix<Double>) throws -> HiddenMarkovModel<GaussianEmission> {
        let means = try DataLoader.load(path: path).table.values
        guard means.rows == states, means.columns == x.columns else {
            throw ValidationError("--initial-means \(path) holds a \(means.rows) × \(means.columns) matrix; expected \(states) × \(x.columns)")
        }
        if let i = means.elements.firstIndex(where: { !$0.isFinite }) {
            throw ValidationError("--initial-means \(path): row \(i / means.columns + 1) of the means has a missing or non-finite value; every mean needs a number in every column")
        }
        return try HiddenMarkovModel<GaussianEmission>.start(means: means, data: x, covarianceType: covariance, regularization: regularization)
    }
}

/// Human-readable description of a hidden Markov model.
enum HMMReport {
    static func text(_ m: AnyHiddenMarkovModel, columns: [String], logLikelihood: Double?, count: Int?) -> String {
        var out = "Hidden Markov model, \(m.stateCount) state(s), \(m.emissionKind) emissions\n"
        if let logLikelihood, let count {
            out += "log-likelihood \(Console.number(logLikelihood)) (mean \(Console.number(logLikelihood / Double(count))) per observation)\n"
        }
        out += "start probabilities: " + m.startProbabilities.map { Console.number($0, 4) }.joined(separator: " ") + "\n"
        out += "transitions:\n"
        for i in 0..<m.stateCount { out += "  " + m.transitions.row(i).map { MixtureReport.pad(Console.number($0, 4), 9) }.joined() + "\n" }
        switch m {
        case .gaussian(let h): out += MixtureReport.table(h.emission.states, columns: columns).replacingOccurrences(of: "component", with: "state    ")
        case .categorical(let h):
            out += "emission probabilities (state × symbol):\n"
            for k in 0..<h.stateCount { out += "  " + h.emission.probabilities.row(k).map { MixtureReport.pad(Console.number($0, 4), 9) }.joined() + "\n" }
        case .poisson(let h):
            out += "rates (state × column):\n"
            for k in 0..<h.stateCount { out += "  " + h.emission.rates.row(k).map { MixtureReport.pad(Console.number($0, 5), 10) }.joined() + "\n" }
        case .gaussianMixture(let h):
            let m = h.emission.componentsPerState
            out += "component weights within each state (state × component):\n"
            for k in 0..<h.stateCount { out += "  " + h.emission.stateWeights.row(k).map { MixtureReport.pad(Console.number($0, 4), 9) }.joined() + "\n" }
            out += "components (component c belongs to state c / \(m); weights are within-state weight / \(h.stateCount)):\n"
            out += MixtureReport.table(h.emission.components, columns: columns)
        }
        return out
    }
}
