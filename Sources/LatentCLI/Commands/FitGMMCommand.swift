import ArgumentParser
import Foundation
import Latent

/// `latent fit gmm`: a Gaussian mixture by EM.
struct FitGMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gmm",
        abstract: "Fit a Gaussian mixture by expectation-maximisation.",
        discussion: """
        Each of --restarts starts runs --short-runs short EM runs from independent initialisations and \
        continues the best to convergence (em-EM); with two or more starts the first is k-means in the \
        data's own units instead (see --no-data-units-start). The start with the highest likelihood wins.
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of mixture components K.")
    var components: Int
    @Option(name: .long, help: "Covariance structure: full, tied, diag or spherical.")
    var covariance: CovarianceType = .full
    @Option(name: .customLong("init"), help: "Initialisation of each EM run (but the first start's, see --data-units-start): kmeans, kmeans++, random-from-data or random.")
    var initialization: MixtureInitialization = .randomFromData
    @Option(name: .long, parsing: .unconditional, help: "Independent starts; the best likelihood wins.")
    var restarts: Int = MixtureFitOptions().restarts
    @Flag(name: .long, inversion: .prefixedNo, help: "With two or more --restarts, the first start is k-means in the data's own units (like scikit-learn's start), continued to convergence alone; with --no-data-units-start every start measures distances in standardised or sphered coordinates.")
    var dataUnitsStart = MixtureFitOptions().dataUnitsStart
    @Option(name: .long, parsing: .unconditional, help: "Short EM runs per start (1: plain EM from a single initialisation; default 2K − 1, at most 5).")
    var shortRuns: Int?
    @Option(name: .long, parsing: .unconditional, help: "EM iterations of each short run.")
    var shortRunIterations: Int = MixtureFitOptions().shortRunIterations
    @Option(name: .long, parsing: .unconditional, help: "Split-and-merge moves tried from the best start (0: none).")
    var splitMergeTrials: Int = MixtureFitOptions().splitMergeTrials
    @Option(name: .long, parsing: .unconditional, help: "Of those, moves that restart a component around a badly explained row (offered after the ranked ones).")
    var seededMoves: Int = MixtureFitOptions().seededMoves
    @Option(name: .long, parsing: .unconditional, help: "Added to every covariance diagonal, in squared data units.")
    var regularization: Double = MixtureFitOptions().regularization
    @Option(name: .long, parsing: .unconditional, help: "Added to each column's variance, times that column's sample variance: the variance floor (1e-3 also keeps components off repeated values).")
    var relativeRegularization: Double = MixtureFitOptions().relativeRegularization
    @Option(name: .long, help: "A .npy or .csv file of K starting means (one row each): EM starts there, once.")
    var initialMeans: String?
    @Option(name: .long, help: "A model file to continue from (warm start).")
    var warmStart: String?
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var memory: MemoryOptions
    @Flag(name: .long, help: "Read the data a block of rows at a time (a .npy or CSV file larger than memory): the start is fitted on a subsample of at most 20,000 evenly spaced rows, then each EM iteration is one pass over the file. CSV files are parsed in pieces of 65,536 rows (read once to check them first); missing values are integrated out as in memory.")
    var stream = false
    @Option(name: .long, parsing: .unconditional, help: "With --stream: rows per block (memory holds one block).")
    var blockRows: Int = 65_536
    @Flag(name: .long, help: "Stepwise (online) EM over mini-batches: the start on a subsample of at most 20,000 rows, then --passes passes of --batch-size rows, an M-step after each batch (in-memory rows in a new random order each pass; with --stream, the file's order).")
    var online = false
    @Option(name: .long, parsing: .unconditional, help: "With --online: rows per mini-batch.")
    var batchSize: Int = 256
    @Option(name: .long, parsing: .unconditional, help: "With --online: passes over the data.")
    var passes: Int = 2
    @Option(name: .long, parsing: .unconditional, help: "With --online: κ of the step sizes (B / (R + B))^κ for a batch of B rows after R rows, in (0.5, 1]: 1 averages every row seen (best from the default start); a smaller κ forgets early batches sooner (a rough --warm-start, data that drift).")
    var stepDecay: Double = 1

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data), ("initial-means file", initialMeans),
                                                     ("warm-start model", warmStart)])
        guard components >= 1 else { throw ValidationError("--components must be at least 1") }
        if stream {
            guard blockRows >= 1 else { throw ValidationError("--block-rows must be at least 1") }
        }
        if online {
            guard batchSize >= 1, passes >= 1 else { throw ValidationError("--batch-size and --passes must be at least 1") }
            guard stepDecay > 0.5, stepDecay <= 1 else { throw ValidationError("--step-decay must lie in (0.5, 1]") }
        }
        if stream || online { try fit.requirePlainEM(online ? "an online fit" : "a streamed fit") }
        if online {
            guard initialMeans == nil else { throw ValidationError("--online makes its own start (or takes --warm-start): leave out --initial-means") }
        }
        guard restarts >= 1 else { throw ValidationError("--restarts must be at least 1") }
        guard (shortRuns ?? 1) >= 1, shortRunIterations >= 1 else { throw ValidationError("--short-runs and --short-run-iterations must be at least 1") }
        guard splitMergeTrials >= 0 else { throw ValidationError("--split-merge-trials must be 0 or more") }
        guard seededMoves >= 0 else { throw ValidationError("--seeded-moves must be 0 or more") }
        guard regularization >= 0, regularization.isFinite, relativeRegularization >= 0, relativeRegularization.isFinite else {
            throw ValidationError("--regularization and --relative-regularization must be non-negative numbers")
        }
    }

    func run() throws {
        BLAS.setThreads(1)
        if stream || online { return try runBlockwise() }
        let table = try dataOptions.load(quiet: output.quiet)
        try DataChecks.requireSpread(table.values, names: table.columnNames, source: table.source)
        if covariance == .full || covariance == .tied {
            try DataChecks.requireIndependentColumns(table.values, names: table.columnNames, source: table.source)
        }
        try memory.budget.requireMixtureFit(rows: table.values.rows, columns: table.values.columns, components: components, type: covariance)
        try table.requireSomeObservedPerRow()
        if table.hasMissingValues && !output.quiet {
            Console.note("\(table.values.missingCount) missing values: EM integrates them out")
        }
        var options = MixtureFitOptions()
        options.covarianceType = covariance
        options.initialization = initialization
        options.restarts = restarts
        options.dataUnitsStart = dataUnitsStart
        options.shortRuns = shortRuns
        options.shortRunIterations = shortRunIterations
        options.splitMergeTrials = splitMergeTrials
        options.seededMoves = seededMoves
        options.regularization = regularization
        options.relativeRegularization = relativeRegularization
        options.em = fit.em(defaults: MixtureFitOptions().em)
        options.seed = fit.seed
        options.threads = fit.threads
        if let initialMeans {
            let means = try DataLoader.load(path: initialMeans).table.values
            guard means.rows == components, means.columns == table.values.columns else {
                throw ValidationError("--initial-means \(initialMeans) holds a \(means.rows) × \(means.columns) matrix; expected \(components) × \(table.values.columns)")
            }
            if let i = means.elements.firstIndex(where: { !$0.isFinite }) {
                throw ValidationError("--initial-means \(initialMeans): row \(i / means.columns + 1) of the means has a missing or non-finite value; every mean needs a number in every column")
            }
            options.initialMeans = means
        }
        if let warmStart {
            guard case .gaussianMixture(let m) = try ModelFile.read(path: warmStart).model else {
                throw ValidationError("--warm-start \(warmStart) is not a Gaussian mixture")
            }
            options.warmStart = m
        }
        if !output.quiet { options.progress = Console.fitProgress() }

        let ((model, report), seconds) = try Console.timed {
            try CommandLineError.hinting("On the command line: fewer --components, or --relative-regularization 1e-3.") {
                try GaussianMixture.fit(table.values, components: components, options: options)
            }
        }
        for w in report.warnings { Console.warn(w) }
        let settings = ["covariance": covariance.rawValue, "init": initialization.rawValue, "restarts": String(restarts),
                        "dataUnitsStart": "\(options.makesDataUnitsStart)",
                        "shortRuns": String(options.shortRunsMade(components: components)),
                        "splitMergeTrials": String(splitMergeTrials), "seededMoves": String(seededMoves),
                        "regularization": "\(regularization)",
                        "relativeRegularization": "\(relativeRegularization)",
                        "tolerance": "\(options.em.tolerance)", "maxIterations": String(options.em.maxIterations)]
        try writeModelAndSummary(model, report: report, seconds: seconds, columns: table.columnNames, rows: table.count, settings: settings,
                                 acceleration: options.em.acceleration) { _ in }
    }

    /// `--stream` (the data read a block at a time from a `.npy` or CSV file) and `--online` (stepwise EM).
    private func runBlockwise() throws {
        let reader: any RowBlocks
        let columns: [String]
        if stream {
            (reader, columns) = try streamedRows(dataOptions, quiet: output.quiet, allowingMissing: !online)
        } else {
            let table = try dataOptions.load(quiet: output.quiet)
            try DataChecks.requireSpread(table.values, names: table.columnNames, source: table.source)
            if let i = table.values.elements.firstIndex(where: \.isNaN) {
                let d = table.values.columns
                throw CommandLineError(description: "\(table.source): row \(table.sourceRows[i / d]) has no value in column '\(table.columnNames[i % d])'; --online needs complete rows (`latent fit gmm` without --online integrates missing values out)")
            }
            reader = table.values
            columns = table.columnNames
        }
        var options = MixtureFitOptions(covarianceType: covariance, initialization: initialization, restarts: restarts,
                                        dataUnitsStart: dataUnitsStart, shortRuns: shortRuns, shortRunIterations: shortRunIterations, splitMergeTrials: splitMergeTrials,
                                        em: fit.em(defaults: MixtureFitOptions().em),
                                        regularization: regularization, relativeRegularization: relativeRegularization,
                                        seed: fit.seed, threads: fit.threads)
        if let warmStart {
            guard case .gaussianMixture(let m) = try ModelFile.read(path: warmStart).model else {
                throw ValidationError("--warm-start \(warmStart) is not a Gaussian mixture")
            }
            guard m.dimension == reader.columnCount, m.componentCount == components, m.covarianceType == covariance else {
                throw ValidationError("--warm-start \(warmStart) holds \(m.componentCount) \(m.covarianceType.rawValue) components in \(m.dimension) dimensions; the fit asks for \(components) \(covariance.rawValue) in \(reader.columnCount)")
            }
            options.warmStart = m
        }
        if let initialMeans {
            let means = try DataLoader.load(path: initialMeans).table.values
            guard means.rows == components, means.columns == reader.columnCount, means.elements.allSatisfy(\.isFinite) else {
                throw ValidationError("--initial-means \(initialMeans) must hold \(components) × \(reader.columnCount) finite numbers (it holds \(means.rows) × \(means.columns))")
            }
            options.initialMeans = means
        }
        if !output.quiet { options.progress = Console.fitProgress() }
        let data = StreamedMixtureData(source: reader, blockRows: blockRows, regularization: regularization,
                                       relativeRegularization: relativeRegularization, threads: fit.threads)
        let ((model, report), seconds) = try Console.timed {
            try CommandLineError.hinting("On the command line: fewer --components, or --relative-regularization 1e-3.") {
                online ? try GaussianMixture.fitOnline(data, components: components, options: options, batchSize: batchSize,
                                                       passes: passes, stepDecay: stepDecay)
                    : try GaussianMixture.fitStreamed(data, components: components, options: options)
            }
        }
        for w in report.warnings { Console.warn(w) }
        var settings = ["covariance": covariance.rawValue, "stream": "\(stream)", "blockRows": String(blockRows),
                        "restarts": String(restarts), "dataUnitsStart": "\(options.makesDataUnitsStart)", "splitMergeTrials": String(splitMergeTrials),
                        "shortRuns": String(options.shortRunsMade(components: components)),
                        "regularization": "\(regularization)", "relativeRegularization": "\(relativeRegularization)",
                        "tolerance": "\(options.em.tolerance)", "maxIterations": String(options.em.maxIterations)]
        if online {
            settings["online"] = "true"; settings["batchSize"] = String(batchSize); settings["passes"] = String(passes)
            settings["stepDecay"] = "\(stepDecay)"
        }
        // Streamed and online EM have no parameter vector to extrapolate: plain EM.
        try writeModelAndSummary(model, report: report, seconds: seconds, columns: columns, rows: reader.rowCount, settings: settings,
                                 acceleration: .none) { o in
            o["stream"] = .bool(stream)
            if stream { o["blockRows"] = .integer(blockRows) }
            if online {
                o["online"] = .bool(true)
                o["passes"] = .integer(passes)
                o["batchSize"] = .integer(batchSize)
                o["passHistory"] = .numbers(report.trace.history.map { $0 / Double(max(1, reader.rowCount)) })
            }
            if let peak = Console.peakResidentMegabytes() { o["peakResidentMB"] = .number(peak) }
        }
    }

    /// Writes the model file with its training summary and prints the fit's summary (`addKeys` adds to it).
    private func writeModelAndSummary(_ model: GaussianMixture, report: FitReport, seconds: Double, columns: [String], rows: Int,
                                      settings: [String: String], acceleration: EMAcceleration, addKeys: (inout JSONObject) -> Void) throws {
        var settings = settings
        settings["acceleration"] = acceleration.rawValue
        let training = TrainingSummary(logLikelihood: report.logLikelihood, count: rows,
                                       iterations: report.totalIterations, converged: report.trace.converged,
                                       seed: fit.seed, settings: settings, history: report.trace.history)
        try ModelFile(model: .gaussianMixture(model), columns: columns, training: training).write(to: fit.output)
        var o = fitSummary(model: "gmm", report: report, parameters: model.parameterCount, seconds: seconds)
        o["components"] = .integer(components)
        o["covariance"] = .string(covariance.rawValue)
        o["acceleration"] = .string(acceleration.rawValue)
        o["output"] = .string(fit.output)
        addKeys(&o)
        if output.json {
            Console.printJSON(o)
        } else {
            Console.print(MixtureReport.text(model, columns: columns, summary: o))
        }
    }

}
