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
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        try fitLinearGaussian(noise: .diagonal, factors: factors, rotation: rotation, noiseFloor: noiseFloor,
                              dataOptions: dataOptions, fit: fit, output: output)
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
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        try fitLinearGaussian(noise: .isotropic, factors: factors, rotation: .none, noiseFloor: 1e-12,
                              dataOptions: dataOptions, fit: fit, output: output)
    }
}

func fitLinearGaussian(noise: LinearGaussianNoise, factors: Int, rotation: FactorRotation, noiseFloor: Double,
                       dataOptions: DataOptions, fit: FitOptions, output: OutputOptions) throws {
    guard factors >= 1 else { throw ValidationError("--factors must be at least 1") }
    BLAS.setThreads(1)
    let table = try dataOptions.load(quiet: output.quiet)
    try table.requireSomeObservedPerRow()
    var options = LinearGaussianFitOptions()
    options.em = fit.em(defaultIterations: 10_000, defaultTolerance: 1e-7)
    options.noiseFloor = noiseFloor
    options.rotation = rotation
    if !output.quiet { options.progress = Console.fitProgress(every: 50) }
    let ((model, report), seconds) = try Console.timed {
        noise == .diagonal
            ? try FactorAnalysis.fit(table.values, factors: factors, options: options)
            : try ProbabilisticPCA.fit(table.values, components: factors, options: options)
    }
    for w in report.warnings { Console.warn(w) }
    let kind = noise == .diagonal ? "fa" : "ppca"
    let training = TrainingSummary(logLikelihood: report.logLikelihood, count: table.count, iterations: report.totalIterations,
                                   converged: report.trace.converged, seed: fit.seed,
                                   settings: ["factors": String(factors), "rotation": rotation.rawValue,
                                              "tolerance": "\(options.em.tolerance)", "maxIterations": String(options.em.maxIterations),
                                              "noiseFloor": "\(noiseFloor)"], history: report.trace.history)
    try ModelFile(model: .linearGaussian(model), columns: table.columnNames, training: training).write(to: fit.output)
    var o = fitSummary(model: kind, report: report, parameters: model.parameterCount, seconds: seconds)
    o["factors"] = .integer(factors)
    o["missingValues"] = .integer(table.values.missingCount)
    o["output"] = .string(fit.output)
    if output.json {
        Console.printJSON(o)
    } else {
        Console.print(LinearGaussianReport.text(model, columns: table.columnNames, logLikelihood: report.logLikelihood, count: table.count))
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
