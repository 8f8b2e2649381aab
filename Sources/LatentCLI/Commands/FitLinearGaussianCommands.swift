import ArgumentParser
import Foundation
import Latent

/// `latent fit fa`: factor analysis by EM.
struct FitFactorAnalysisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fa",
        abstract: "Fit factor analysis (x = μ + Wz + ε, diagonal noise) by EM; missing values are integrated out."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of latent factors k.")
    var factors: Int
    @Option(name: .long, help: "Rotation of the loadings: none or varimax.")
    var rotation: FactorRotation = .none
    @Option(name: .long, help: "Lower bound on the noise variances.")
    var noiseFloor: Double = 1e-12
    @OptionGroup var streaming: LinearGaussianStreamOptions
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data)])
        try fit.requirePlainEM("a factor model")
    }

    func run() throws {
        try fitLinearGaussian(noise: .diagonal, factors: factors, rotation: rotation, noiseFloor: noiseFloor,
                              dataOptions: dataOptions, streaming: streaming, fit: fit, output: output)
    }
}

/// `latent fit ppca`: probabilistic PCA.
struct FitPPCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppca",
        abstract: "Fit probabilistic PCA: closed form from the covariance's eigen-decomposition, or EM when values are missing."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of principal components k.")
    var factors: Int
    @OptionGroup var streaming: LinearGaussianStreamOptions
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data)])
        try fit.requirePlainEM("a factor model")
    }

    func run() throws {
        try fitLinearGaussian(noise: .isotropic, factors: factors, rotation: .none, noiseFloor: 1e-12,
                              dataOptions: dataOptions, streaming: streaming, fit: fit, output: output)
    }
}

/// `--stream`, `--block-rows` and the online fit's flags of `fit fa` and `fit ppca`.
struct LinearGaussianStreamOptions: ParsableArguments {
    @Flag(name: .long, help: "Read the data a block of rows at a time (a .npy or CSV file larger than memory): one pass gives the column means and the scatter matrix (each block centred on its own mean, then merged), on which the fit runs as on complete data in memory. Missing values are integrated out.")
    var stream = false
    @Option(name: .long, parsing: .unconditional, help: "With --stream: rows per block (memory holds one block).")
    var blockRows: Int = 65_536
    @Flag(name: .long, help: "Online EM over mini-batches: running averages of the data's moments, EM steps after each batch (in-memory rows in a new random order each pass; with --stream, the file's order). Rows must be complete.")
    var online = false
    @Option(name: .long, parsing: .unconditional, help: "With --online: rows per mini-batch.")
    var batchSize: Int = 256
    @Option(name: .long, parsing: .unconditional, help: "With --online: passes over the data.")
    var passes: Int = 1
    @Option(name: .long, parsing: .unconditional, help: "With --online: κ of the step sizes (B / (R + B))^κ for a batch of B rows after R rows, in (0.5, 1] (1: every row seen weighs the same).")
    var stepDecay: Double = 1
    @Option(name: .long, parsing: .unconditional, help: "With --online (fa): EM steps after each batch.")
    var iterationsPerBatch: Int = 10

    func validate() throws {
        guard blockRows >= 1 else { throw ValidationError("--block-rows must be at least 1") }
        guard batchSize >= 1, passes >= 1, iterationsPerBatch >= 1 else {
            throw ValidationError("--batch-size, --passes and --iterations-per-batch must be at least 1")
        }
        guard stepDecay > 0.5, stepDecay <= 1 else { throw ValidationError("--step-decay must lie in (0.5, 1]") }
    }
}

func fitLinearGaussian(noise: LinearGaussianNoise, factors: Int, rotation: FactorRotation, noiseFloor: Double,
                       dataOptions: DataOptions, streaming: LinearGaussianStreamOptions, fit: FitOptions, output: OutputOptions) throws {
    guard factors >= 1 else { throw ValidationError("--factors must be at least 1") }
    try streaming.validate()
    BLAS.setThreads(1)
    let source: any RowBlocks
    let columns: [String]
    let missingValues: Int?   // not counted when streamed
    if streaming.stream {
        (source, columns) = try streamedRows(dataOptions, quiet: output.quiet, allowingMissing: !streaming.online)
        missingValues = nil
    } else {
        let table = try dataOptions.load(quiet: output.quiet)
        try table.requireSomeObservedPerRow()
        if streaming.online { try table.requireComplete() }
        (source, columns, missingValues) = (table.values, table.columnNames, table.values.missingCount)
    }
    var options = LinearGaussianFitOptions()
    options.em = fit.em(defaults: LinearGaussianFitOptions().em)
    options.noiseFloor = noiseFloor
    options.rotation = rotation
    if !output.quiet { options.progress = Console.fitProgress(every: 50) }
    let ((model, report), seconds) = try Console.timed {
        if streaming.online {
            return noise == .diagonal
                ? try FactorAnalysis.fitOnline(source, factors: factors, batchSize: streaming.batchSize, passes: streaming.passes,
                                               stepDecay: streaming.stepDecay, iterationsPerBatch: streaming.iterationsPerBatch,
                                               seed: fit.seed, options: options)
                : try ProbabilisticPCA.fitOnline(source, components: factors, batchSize: streaming.batchSize, passes: streaming.passes,
                                                 stepDecay: streaming.stepDecay, seed: fit.seed, options: options)
        }
        switch (noise, source) {
        case (.diagonal, let x as Matrix<Double>): return try FactorAnalysis.fit(x, factors: factors, options: options)
        case (_, let x as Matrix<Double>): return try ProbabilisticPCA.fit(x, components: factors, options: options)
        case (.diagonal, _): return try FactorAnalysis.fitStreamed(source, factors: factors, blockRows: streaming.blockRows, options: options)
        default: return try ProbabilisticPCA.fitStreamed(source, components: factors, blockRows: streaming.blockRows, options: options)
        }
    }
    for w in report.warnings { Console.warn(w) }
    let kind = noise == .diagonal ? "fa" : "ppca"
    let training = TrainingSummary(logLikelihood: report.logLikelihood, count: source.rowCount, iterations: report.totalIterations,
                                   converged: report.trace.converged, seed: fit.seed,
                                   settings: ["factors": String(factors), "rotation": rotation.rawValue,
                                              "tolerance": "\(options.em.tolerance)", "maxIterations": String(options.em.maxIterations),
                                              "noiseFloor": "\(noiseFloor)"].merging(streaming.online ? ["online": "true", "batchSize": String(streaming.batchSize), "passes": String(streaming.passes), "stepDecay": "\(streaming.stepDecay)"] : [:]) { $1 },
                                   history: report.trace.history)
    try ModelFile(model: .linearGaussian(model), columns: columns, training: training).write(to: fit.output)
    var o = fitSummary(model: kind, report: report, parameters: model.parameterCount, seconds: seconds)
    o["factors"] = .integer(factors)
    if let missingValues { o["missingValues"] = .integer(missingValues) }
    if streaming.online {
        o["online"] = .bool(true)
        o["passes"] = .integer(streaming.passes)
        o["batchSize"] = .integer(streaming.batchSize)
    }
    if streaming.stream {
        o["stream"] = .bool(true)
        if let peak = Console.peakResidentMegabytes() { o["peakResidentMB"] = .number(peak) }
    }
    o["output"] = .string(fit.output)
    if output.json {
        Console.printJSON(o)
    } else {
        Console.print(LinearGaussianReport.text(model, columns: columns, logLikelihood: report.logLikelihood, count: source.rowCount))
    }
}

/// Human-readable description of a factor model.
enum LinearGaussianReport {
    static func text(_ m: LinearGaussianModel, columns: [String], logLikelihood: Double?, count: Int?) -> String {
        var out = m.noise == .diagonal ? "Factor analysis" : "Probabilistic PCA"
        out += ", \(m.factorCount) factor(s) over \(m.dimension) columns\n"
        if let logLikelihood, let count {
            out += "log-likelihood \(Console.number(logLikelihood)) (mean \(Console.number(logLikelihood / Double(count))) per row)\n"
        }
        out += MixtureReport.pad("column", 14) + MixtureReport.pad("mean", 12)
        for f in 0..<m.factorCount { out += MixtureReport.pad("W\(f)", 11) }
        out += MixtureReport.pad("noise var", 11) + "\n"
        for j in 0..<m.dimension {
            out += MixtureReport.pad(columns[j], 14) + MixtureReport.pad(Console.number(m.mean[j], 5), 12)
            for f in 0..<m.factorCount { out += MixtureReport.pad(Console.number(m.loadings[j, f], 4), 11) }
            out += MixtureReport.pad(Console.number(m.noiseVariances[j], 4), 11) + "\n"
        }
        return out
    }
}
