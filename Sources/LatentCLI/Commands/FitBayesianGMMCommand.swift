import ArgumentParser
import Foundation
import Latent

/// `latent fit bayesian-gmm`: a Gaussian mixture by variational Bayes.
struct FitBayesianGMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bayesian-gmm",
        abstract: "Fit a Gaussian mixture by variational Bayes: at most --components components, the prior empties those the data does not need."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Most components K (superfluous ones end with a weight near zero).")
    var components: Int
    @Option(name: .long, help: "Precision structure: full, tied, diag or spherical (conjugate Wishart or Gamma priors).")
    var covariance: CovarianceType = .full
    @Option(name: .long, help: "Prior on the weights: dirichlet-process (stick-breaking) or dirichlet.")
    var weightPrior: BayesianMixturePrior.WeightPrior = .dirichletProcess
    @Option(name: .long, parsing: .unconditional, help: "Weight concentration α₀ (default 1/K; smaller empties more components).")
    var weightConcentration: Double?
    @Option(name: .long, parsing: .unconditional, help: "Mean precision β₀ of the means' prior (default 1).")
    var meanPrecision: Double?
    @Option(name: .long, parsing: .unconditional, help: "Degrees of freedom ν₀ of the Wishart prior (default: the number of columns).")
    var degreesOfFreedom: Double?
    @Option(name: .long, parsing: .unconditional, help: "Independent starts; the highest lower bound wins.")
    var restarts: Int = 1
    @Option(name: .long, parsing: .unconditional, help: "Short coordinate-ascent runs per start from different initialisations; the best is continued (1: one plain run).")
    var shortRuns: Int = 10
    @Option(name: .long, help: "A bayesian-gmm model file to continue coordinate ascent from (its prior applies; --components and --covariance must match it).")
    var warmStart: String?
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data), ("warm-start model", warmStart)])
        try fit.requirePlainEM("a variational mixture")
        if warmStart != nil, weightConcentration != nil || meanPrecision != nil || degreesOfFreedom != nil {
            throw ValidationError("--warm-start brings its own prior: leave out --weight-concentration, --mean-precision and --degrees-of-freedom")
        }
        guard components >= 1 else { throw ValidationError("--components must be at least 1") }
        guard restarts >= 1 else { throw ValidationError("--restarts must be at least 1") }
        guard shortRuns >= 1 else { throw ValidationError("--short-runs must be at least 1") }
        if let weightConcentration, !(weightConcentration > 0 && weightConcentration.isFinite) { throw ValidationError("--weight-concentration must be positive") }
        if let meanPrecision, !(meanPrecision > 0 && meanPrecision.isFinite) { throw ValidationError("--mean-precision must be positive") }
    }

    func run() throws {
        BLAS.setThreads(1)
        let table = try dataOptions.load(quiet: output.quiet)
        try table.requireComplete()
        try DataChecks.requireSpread(table.values, names: table.columnNames, source: table.source)
        let x = table.values
        guard x.rows >= components else {
            throw ValidationError("--components \(components) is more than the \(x.rows) rows of \(dataOptions.data)")
        }
        var prior = BayesianMixturePrior.defaults(for: x, components: components)
        prior.weightPrior = weightPrior
        if let weightConcentration { prior.weightConcentration = weightConcentration }
        if let meanPrecision { prior.meanPrecision = meanPrecision }
        if let degreesOfFreedom {
            if covariance == .full || covariance == .tied {
                guard degreesOfFreedom > Double(x.columns) - 1 else {
                    throw ValidationError("--degrees-of-freedom must exceed the number of columns less one (\(x.columns - 1)) for \(covariance.rawValue) covariances")
                }
            } else {
                guard degreesOfFreedom > 0 else { throw ValidationError("--degrees-of-freedom must be positive") }
            }
            prior.degreesOfFreedom = degreesOfFreedom
        }
        if covariance == .full || covariance == .tied {
            try DataChecks.requireIndependentColumns(x, names: table.columnNames, source: table.source)
        }
        var options = BayesianMixtureFitOptions(covarianceType: covariance)
        options.restarts = restarts
        options.shortRuns = shortRuns
        options.em = fit.em(defaults: BayesianMixtureFitOptions().em)
        options.seed = fit.seed
        if let warmStart {
            guard case .bayesianMixture(let m) = try ModelFile.read(path: warmStart).model else {
                throw ValidationError("--warm-start \(warmStart) is not a variational Bayesian mixture")
            }
            guard m.componentCount == components, m.dimension == x.columns, m.covarianceType == covariance, m.prior.weightPrior == weightPrior else {
                throw ValidationError("--warm-start \(warmStart) holds \(m.componentCount) \(m.covarianceType.rawValue) components in \(m.dimension) dimensions with a \(m.prior.weightPrior.rawValue) weight prior; the fit asks for \(components) \(covariance.rawValue) in \(x.columns) with \(weightPrior.rawValue)")
            }
            options.warmStart = m
        }
        if !output.quiet { options.progress = Console.fitProgress(every: 50) }
        let ((model, report), seconds) = try Console.timed { try BayesianGaussianMixture.fit(x, components: components, prior: prior, options: options) }
        for w in report.warnings { Console.warn(w) }
        let logLikelihood = model.logLikelihoods(of: x).reduce(0, +)
        let settings = ["components": String(components), "covariance": covariance.rawValue, "weightPrior": weightPrior.rawValue,
                        "weightConcentration": "\(prior.weightConcentration)", "meanPrecision": "\(prior.meanPrecision)",
                        "degreesOfFreedom": "\(prior.degreesOfFreedom)", "lowerBound": "\(report.trace.logLikelihood)"]
        let training = TrainingSummary(logLikelihood: logLikelihood, count: x.rows, iterations: report.totalIterations,
                                       converged: report.trace.converged, seed: fit.seed, settings: settings, history: report.trace.history)
        try ModelFile(model: .bayesianMixture(model), columns: table.columnNames, training: training).write(to: fit.output)
        var o = likelihoodSummary(model: "bayesian-gmm", logLikelihood: logLikelihood, count: x.rows, parameters: model.parameterCount,
                                  iterations: report.totalIterations, converged: report.trace.converged, seconds: seconds)
        o["estimator"] = .string("posterior-predictive")
        o["lowerBound"] = .number(report.trace.logLikelihood)
        o["effectiveComponents"] = .integer(model.effectiveComponents)
        o["finalRunIterations"] = .integer(report.finalRunIterations)
        o["components"] = .integer(components)
        o["covariance"] = .string(covariance.rawValue)
        o["weightPrior"] = .string(weightPrior.rawValue)
        o["weights"] = .numbers(model.weights)
        o["warnings"] = .strings(report.warnings)
        o["output"] = .string(fit.output)
        if output.json {
            Console.printJSON(o)
        } else {
            Console.print(BayesianMixtureReport.text(model, columns: table.columnNames, lowerBound: report.trace.logLikelihood))
        }
    }
}

/// Human-readable description of a variational mixture.
enum BayesianMixtureReport {
    static func text(_ m: BayesianGaussianMixture, columns: [String], lowerBound: Double?) -> String {
        var out = "Bayesian Gaussian mixture (\(m.covarianceType.rawValue) precisions, \(m.prior.weightPrior.rawValue) prior), \(m.effectiveComponents) of \(m.componentCount) components with weight ≥ 1%\n"
        if let lowerBound { out += "evidence lower bound \(Console.number(lowerBound))\n" }
        out += MixtureReport.pad("component", 11) + MixtureReport.pad("weight", 10)
        for c in columns { out += MixtureReport.pad("mean \(c)", 16) }
        out += "\n"
        let w = m.weights
        for k in (0..<m.componentCount).sorted(by: { w[$0] > w[$1] }) {
            out += MixtureReport.pad(String(k), 11) + MixtureReport.pad(Console.number(w[k], 4), 10)
            for j in 0..<m.dimension { out += MixtureReport.pad(Console.number(m.means[k, j], 5), 16) }
            out += "\n"
        }
        return out
    }
}
