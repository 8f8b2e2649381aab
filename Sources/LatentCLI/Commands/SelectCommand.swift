import ArgumentParser
import Foundation
import Latent

/// `latent select gmm`: a BIC/AIC table over numbers of components and covariance types.
struct SelectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select",
        abstract: "Choose a model by BIC: fit every combination of components and covariance types.",
        subcommands: [SelectGMMCommand.self]
    )
}

struct SelectGMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gmm",
        abstract: "Fit Gaussian mixtures for a range of K and covariance types; print BIC and AIC; keep the lowest BIC."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Numbers of components: a range like 1-6 or a list like 1,2,4.")
    var components: String = "1-6"
    @Option(name: .long, help: "Covariance types, comma-separated, or 'all'.")
    var covariance: String = "all"
    @Option(name: .long, parsing: .unconditional, help: "Independent starts per fit.")
    var restarts: Int = MixtureFitOptions().restarts
    @Option(name: .long, parsing: .unconditional, help: "Added to every covariance diagonal, in squared data units.")
    var regularization: Double = MixtureFitOptions().regularization
    @Option(name: .long, parsing: .unconditional, help: "Added to each column's variance, times that column's sample variance: the variance floor (1e-3 also keeps components off repeated values).")
    var relativeRegularization: Double = MixtureFitOptions().relativeRegularization
    @Option(name: .long, help: "Seed of every random choice.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores
    @Option(name: .long, help: "Write the model with the lowest BIC here.")
    var output: String?
    @OptionGroup var outputOptions: OutputOptions
    @OptionGroup var memory: MemoryOptions

    func parsedComponents() throws -> [Int] {
        var out: [Int] = []
        for part in components.split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if bounds.count == 1 { out.append(bounds[0]) } else if bounds.count == 2, bounds[0] <= bounds[1] {
                out.append(contentsOf: bounds[0]...bounds[1])
            } else { throw ValidationError("--components '\(components)': use a range like 1-6 or a list like 1,2,4") }
        }
        guard !out.isEmpty, out.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--components must name numbers ≥ 1") }
        return out
    }

    func parsedTypes() throws -> [CovarianceType] {
        if covariance == "all" { return CovarianceType.allCases }
        return try covariance.split(separator: ",").map {
            guard let t = CovarianceType(rawValue: String($0)) else {
                throw ValidationError("--covariance '\($0)': use full, tied, diag, spherical or all")
            }
            return t
        }
    }

    func validate() throws {
        _ = try parsedComponents()
        _ = try parsedTypes()
        if let output { try Console.checkOutput(output, inputs: [("data file", dataOptions.data)]) }
    }

    func run() throws {
        BLAS.setThreads(1)
        let table = try dataOptions.load(quiet: outputOptions.quiet)
        try DataChecks.requireSpread(table.values, names: table.columnNames, source: table.source)
        try table.requireSomeObservedPerRow()
        let ks = try parsedComponents(), types = try parsedTypes()
        if types.contains(.full) || types.contains(.tied) {
            try DataChecks.requireIndependentColumns(table.values, names: table.columnNames, source: table.source)
        }
        let n = table.values.rows
        if let k = ks.max(), k > n {
            throw ValidationError("--components goes up to \(k), but \(table.source) has \(n) rows; a mixture needs at least one row per component")
        }
        for type in types {
            try memory.budget.requireMixtureFit(rows: n, columns: table.values.columns, components: ks.max() ?? 1, type: type)
        }
        var options = MixtureFitOptions()
        options.restarts = restarts
        options.regularization = regularization
        options.relativeRegularization = relativeRegularization
        options.seed = seed
        options.threads = threads
        let quiet = outputOptions.quiet
        let (selection, seconds) = try Console.timed {
            try GaussianMixture.selectByBIC(table.values, components: ks, covarianceTypes: types, options: options) { c in
                guard !quiet else { return }
                switch c.outcome {
                case .fitted(_, _, let bic, _): Console.note("K=\(c.components) \(c.covarianceType.rawValue): BIC \(Console.number(bic))")
                case .collapsed: Console.warn("K=\(c.components) \(c.covarianceType.rawValue): every start collapsed onto repeated values")
                case .failed(let message): Console.warn("K=\(c.components) \(c.covarianceType.rawValue): \(message)")
                }
            }
        }
        let best = selection.best
        var rows: [JSONValue] = []
        var text = "BIC (lower is better; −2 log L + p log N)\n" + MixtureReport.pad("K", 4)
        for t in types { text += MixtureReport.pad(t.rawValue, 14) }
        text += "\n"
        var anyCollapsed = false
        var entries: [TrainingSummary.SelectionEntry] = []
        for (i, c) in selection.candidates.enumerated() {
            var o = JSONObject()
            o["components"] = .integer(c.components)
            o["covariance"] = .string(c.covarianceType.rawValue)
            switch c.outcome {
            case .fitted(let model, let report, let bic, let aic):
                // ICL = BIC + 2·(entropy of the responsibilities).
                let r = model.responsibilities(for: table.values, threads: threads)
                let entropy = r.elements.reduce(0.0) { $0 - ($1 > 0 ? $1 * log($1) : 0) }
                o["icl"] = .number(bic + 2 * entropy)
                entries.append(.init(components: c.components, covariance: c.covarianceType, bic: bic, icl: bic + 2 * entropy))
                o["logLikelihood"] = .number(report.logLikelihood)
                o["meanLogLikelihood"] = .number(report.meanLogLikelihood)
                o["parameters"] = .integer(model.parameterCount)
                o["bic"] = .number(bic)
                o["aic"] = .number(aic)
                o["warnings"] = .strings(report.warnings)
                o["collapsed"] = .bool(false)
            case .collapsed(let message):
                entries.append(.init(components: c.components, covariance: c.covarianceType, bic: nil, icl: nil))
                anyCollapsed = true
                o["collapsed"] = .bool(true)
                o["warnings"] = .strings([message])
            case .failed(let message):
                entries.append(.init(components: c.components, covariance: c.covarianceType, bic: nil, icl: nil))
                o["collapsed"] = .bool(false)
                o["warnings"] = .strings([message])
            }
            rows.append(.object(o))
            if c.covarianceType == types.first { text += MixtureReport.pad("\(c.components)", 4) }
            let cell: String
            switch c.outcome {
            case .fitted(_, _, let bic, _): cell = String(format: "%.2f", bic) + (i == selection.bestIndex ? " *" : "")
            case .collapsed: cell = "collapsed †"
            case .failed: cell = "failed"
            }
            text += MixtureReport.pad(cell, 14)
            if c.covarianceType == types.last { text += "\n" }
        }
        if let output {
            let training = TrainingSummary(logLikelihood: best.report.logLikelihood, count: table.count,
                                           iterations: best.report.totalIterations, converged: best.report.trace.converged,
                                           seed: seed, settings: ["selectedBy": "bic"], history: best.report.trace.history,
                                           selection: entries)
            try ModelFile(model: .gaussianMixture(best.model), columns: table.columnNames, training: training).write(to: output)
        }
        if outputOptions.json {
            var o = likelihoodSummary(model: "gmm", logLikelihood: best.report.logLikelihood, count: table.count,
                                      parameters: best.model.parameterCount, iterations: best.report.totalIterations,
                                      converged: best.report.trace.converged, seconds: seconds)
            o["components"] = .integer(best.model.componentCount)
            o["covariance"] = .string(best.model.covarianceType.rawValue)
            o["table"] = .array(rows)
            Console.printJSON(o)
        } else {
            if anyCollapsed {
                text += "† every start had a component collapsed onto repeated values (its variance at the floor): the likelihood is spurious, so the fit is not eligible. A larger --relative-regularization (e.g. 1e-3) keeps components off repeated values.\n"
            }
            text += "\nlowest BIC: K=\(best.model.componentCount), \(best.model.covarianceType.rawValue) covariance\n"
            text += MixtureReport.table(best.model, columns: table.columnNames)
            Console.print(text)
        }
    }
}
