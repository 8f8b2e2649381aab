import ArgumentParser
import Foundation
import Latent
import LatentCore

/// A statistics file: the sufficient statistics of part of the data, with the model's column
/// names: the E-step statistics of a Gaussian mixture, a variational Bayesian mixture, a hidden
/// Markov model or a linear dynamical system (made with one model), or the moments of a factor model
/// (the same whatever the model; kept per missingness pattern when values are missing).
/// JSON, written atomically.
struct StatisticsFile: Codable {
    static let format = "latent-statistics"
    var format = StatisticsFile.format
    var columns: [String]
    var gaussianMixture: MixtureStatistics?
    var linearGaussian: LinearGaussianStatistics?
    var linearGaussianPatterns: LinearGaussianPatternStatistics?
    var hiddenMarkov: AnyHMMStatistics?
    var stateSpace: StateSpaceStatistics?
    var bayesianMixture: MixtureStatistics?

    init(columns: [String], bayesianMixture: MixtureStatistics) {
        self.columns = columns
        self.bayesianMixture = bayesianMixture
    }

    init(columns: [String], stateSpace: StateSpaceStatistics) {
        self.columns = columns
        self.stateSpace = stateSpace
    }

    init(columns: [String], hiddenMarkov: AnyHMMStatistics) {
        self.columns = columns
        self.hiddenMarkov = hiddenMarkov
    }

    init(columns: [String], gaussianMixture: MixtureStatistics) {
        self.columns = columns
        self.gaussianMixture = gaussianMixture
    }

    init(columns: [String], linearGaussian: LinearGaussianStatistics) {
        self.columns = columns
        self.linearGaussian = linearGaussian
    }

    init(columns: [String], linearGaussianPatterns: LinearGaussianPatternStatistics) {
        self.columns = columns
        self.linearGaussianPatterns = linearGaussianPatterns
    }

    /// A factor model's moments per missingness pattern (complete moments as one pattern).
    var factorPatterns: LinearGaussianPatternStatistics? {
        linearGaussianPatterns ?? linearGaussian.map { LinearGaussianPatternStatistics(complete: $0) }
    }

    /// Adds `part`'s statistics (of the same family). Factor models' complete moments stay complete
    /// while both sides are; with missing values on either side both become pattern statistics.
    mutating func merge(_ part: StatisticsFile) throws {
        if let part = part.gaussianMixture { try gaussianMixture?.merge(part) }
        if let part = part.hiddenMarkov { try hiddenMarkov?.merge(part) }
        if let part = part.stateSpace { try stateSpace?.merge(part) }
        if let part = part.bayesianMixture { try bayesianMixture?.merge(part) }
        if let complete = part.linearGaussian, linearGaussian != nil {
            try linearGaussian?.merge(complete)
        } else if var total = factorPatterns, let other = part.factorPatterns {
            try total.merge(other)
            (linearGaussian, linearGaussianPatterns) = (nil, total)
        }
    }

    /// Rows the statistics hold.
    var rows: Int {
        gaussianMixture?.rows ?? linearGaussian?.count ?? linearGaussianPatterns?.count ?? hiddenMarkov?.rows ?? stateSpace?.steps ?? bayesianMixture?.rows ?? 0
    }
    /// The family the statistics are for (`gmm`, `bayesian-gmm`, `fa/ppca` for factor models, `hmm (emission)`, `lds`).
    var family: String {
        if let hiddenMarkov { return "hmm (\(hiddenMarkov.emissionKind) emissions)" }
        if stateSpace != nil { return "lds" }
        if bayesianMixture != nil { return "bayesian-gmm" }
        return gaussianMixture != nil ? "gmm" : "fa/ppca"
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: path)
    }

    /// Reads `path`. - Throws: a message naming the file when it is not a statistics file of this version.
    static func read(path: String) throws -> StatisticsFile {
        let data = try FileBytes.read(path)
        struct Header: Decodable {
            var format: String?
            var gaussianMixture: Version?
            var linearGaussian: Version?
            var linearGaussianPatterns: Version?
            var hiddenMarkov: Wrapped?
            var stateSpace: Version?
            var bayesianMixture: Version?
        }
        struct Version: Decodable { var version: Int? }
        struct Wrapped: Decodable { var statistics: Version? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data), header.format == format,
              [header.gaussianMixture != nil, header.linearGaussian != nil, header.linearGaussianPatterns != nil, header.hiddenMarkov != nil,
               header.stateSpace != nil, header.bayesianMixture != nil].filter({ $0 }).count == 1 else {
            throw CommandLineError(description: "\(path) is not a Latent statistics file (write one with `latent statistics`)")
        }
        let (found, current) = header.gaussianMixture != nil || header.bayesianMixture != nil
            ? ((header.gaussianMixture ?? header.bayesianMixture)?.version, MixtureStatistics.version)
            : header.linearGaussian != nil ? (header.linearGaussian?.version, LinearGaussianStatistics.version)
            : header.linearGaussianPatterns != nil ? (header.linearGaussianPatterns?.version, LinearGaussianPatternStatistics.version)
            : header.stateSpace != nil ? (header.stateSpace?.version, StateSpaceStatistics.version)
            : (header.hiddenMarkov?.statistics?.version, HMMStatistics<GaussianEmission>.version)
        guard let found, found == current else {
            throw CommandLineError(description: "\(path) holds statistics of version \(found.map(String.init) ?? "unknown"); this Latent reads version \(current): recompute them with `latent statistics`")
        }
        do {
            return try JSONDecoder().decode(StatisticsFile.self, from: data)
        } catch {
            throw CommandLineError(description: "\(path) is a damaged statistics file: \(error)")
        }
    }
}

/// `latent statistics`: the E-step statistics of one part of the data.
struct StatisticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statistics",
        abstract: "Sufficient statistics of a Gaussian mixture (maximum-likelihood or variational), a hidden Markov model or a linear dynamical system (its E-step), or of a factor model (the data's moments), over one part of the data.",
        discussion: """
        Any engine can drive EM with three commands: `latent statistics` on each part of the data \
        (on each machine), `latent merge` to add the parts up, and `latent maximize` for the M-step, \
        which writes the next model (for a variational mixture, the next posterior). Mixture, HMM and \
        linear-dynamical-system statistics made with \
        the same model file merge exactly, whatever the split (for HMMs and linear dynamical systems, \
        keep each sequence whole within one part). A factor model's statistics are the data's count, \
        means and scatter, the same whatever the model: `latent maximize` then fits to convergence, \
        so one round is the whole fit. Mixtures, Gaussian HMMs and linear dynamical systems integrate \
        missing values out, and a factor model's moments are then kept per missingness pattern; the \
        other models need complete rows.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "The statistics file to write.")
    var output: String
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores
    @Option(name: .long, help: "Hidden Markov models and linear dynamical systems: a column whose value changes between sequences (default: the one used in fitting, if present).")
    var sequenceColumn: String?
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        try Console.checkOutput(output, inputs: [("model file", modelOptions.model), ("data file", dataOptions.data)])
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        if case .hiddenMarkov(let model) = file.model {
            try sequenceStatistics(model, file: file)
            return
        }
        if case .linearDynamical = file.model {
            try stateSpaceStatistics(file)
            return
        }
        let table = try dataOptions.load(quiet: outputOptions.quiet)
        let selected = try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil)
        // Mixtures integrate missing values out and factor models keep moments per pattern; the other models need complete rows.
        if !isMixture(file.model) && !isFactorModel(file.model), let i = selected.values.elements.firstIndex(where: \.isNaN) {
            let d = selected.values.columns
            throw CommandLineError(description: "\(table.source): row \(selected.sourceRows[i / d]) has no value in column '\(selected.columnNames[i % d])'; statistics of this model need complete rows (`latent impute` fills them, `latent fit` integrates them out)")
        }
        if let i = (0..<selected.values.rows).first(where: { i in (0..<selected.values.columns).allSatisfy { selected.values[i, $0].isNaN } }) {
            throw CommandLineError(description: "\(table.source): row \(selected.sourceRows[i]) has no value in any of the model's columns; drop it")
        }
        let x = selected.values
        var o = JSONObject()
        o["model"] = .string(file.model.kind)
        o["n"] = .integer(x.rows)
        let (logLikelihood, seconds): (Double, Double)
        switch file.model {
        case .gaussianMixture(let model):
            let (stats, time) = try Console.timed { try model.statistics(of: x, threads: threads) }
            try StatisticsFile(columns: file.columns, gaussianMixture: stats).write(to: output)
            (logLikelihood, seconds) = (stats.logLikelihood, time)
            o["modelFingerprint"] = .string(stats.modelFingerprint)
        case .bayesianMixture(let model):
            let (stats, time) = try Console.timed { try model.statistics(of: x, threads: threads) }
            try StatisticsFile(columns: file.columns, bayesianMixture: stats).write(to: output)
            // The evidence lower bound over these rows stands where the others report a log-likelihood.
            let bound = try model.lowerBound(from: stats)
            (logLikelihood, seconds) = (bound, time)
            o["lowerBound"] = .number(bound)
            o["modelFingerprint"] = .string(stats.modelFingerprint)
        case .linearGaussian(let model) where x.elements.contains(where: \.isNaN):
            let (stats, time) = try Console.timed { try LinearGaussianPatternStatistics(x) }
            try StatisticsFile(columns: file.columns, linearGaussianPatterns: stats).write(to: output)
            (logLikelihood, seconds) = (model.logLikelihoods(of: x).reduce(0, +), time)
            o["patterns"] = .integer(stats.patterns.count)
        case .linearGaussian(let model):
            let (stats, time) = try Console.timed { try LinearGaussianStatistics(x) }
            try StatisticsFile(columns: file.columns, linearGaussian: stats).write(to: output)
            (logLikelihood, seconds) = (model.logLikelihoods(of: x).reduce(0, +), time)
        default:
            throw CommandLineError(description: "\(modelOptions.model) holds a \(file.model.kind) model; statistics are written for Gaussian mixtures (gmm, bayesian-gmm), hidden Markov models, linear dynamical systems and factor models (fa, ppca)")
        }
        let measure = isBayesianMixture(file.model) ? "evidence lower bound" : "log-likelihood"
        if !isBayesianMixture(file.model) {
            o["logLikelihood"] = .number(logLikelihood)
            o["meanLogLikelihood"] = .number(logLikelihood / Double(max(1, x.rows)))
        }
        o["output"] = .string(output)
        o["seconds"] = .number(seconds)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(x.rows) rows: \(measure) \(Console.number(logLikelihood)) under \(modelOptions.model); statistics written to \(output)\n")
        }
    }

    /// Hidden Markov models: the Baum-Welch statistics of the part's sequences.
    private func sequenceStatistics(_ model: AnyHiddenMarkovModel, file: ModelFile) throws {
        let (x, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn)
        try model.validate(x)
        let (stats, seconds) = try Console.timed { try model.statistics(of: x, sequences: sequences, threads: threads) }
        try StatisticsFile(columns: file.columns, hiddenMarkov: stats).write(to: output)
        var o = JSONObject()
        o["model"] = .string("hmm")
        o["n"] = .integer(stats.rows)
        o["sequences"] = .integer(stats.sequences)
        o["logLikelihood"] = .number(stats.logLikelihood)
        o["meanLogLikelihood"] = .number(stats.logLikelihood / Double(max(1, stats.rows)))
        o["output"] = .string(output)
        o["seconds"] = .number(seconds)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(stats.sequences) sequence(s), \(stats.rows) rows: log-likelihood \(Console.number(stats.logLikelihood)) under \(modelOptions.model); statistics written to \(output)\n")
        }
    }
}

extension StatisticsCommand {
    /// Linear dynamical systems: the Kalman smoother's expected statistics of the part's sequences
    /// (missing values integrated out).
    private func stateSpaceStatistics(_ file: ModelFile) throws {
        let (model, y, sequences) = try stateSpaceData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn, quiet: outputOptions.quiet)
        let (stats, seconds) = try Console.timed { try model.statistics(of: StateSpaceTrainingData(y, sequences: sequences)) }
        try StatisticsFile(columns: file.columns, stateSpace: stats).write(to: output)
        var o = JSONObject()
        o["model"] = .string("lds")
        o["n"] = .integer(stats.steps)
        o["sequences"] = .integer(stats.sequences)
        o["logLikelihood"] = .number(stats.logLikelihood)
        o["meanLogLikelihood"] = .number(stats.logLikelihood / Double(max(1, stats.steps)))
        o["modelFingerprint"] = .string(stats.modelFingerprint)
        o["output"] = .string(output)
        o["seconds"] = .number(seconds)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(stats.sequences) sequence(s), \(stats.steps) steps: log-likelihood \(Console.number(stats.logLikelihood)) under \(modelOptions.model); statistics written to \(output)\n")
        }
    }
}

/// `latent merge`: statistics of several parts added up.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Add up statistics files made with the same model (any order, any grouping).")

    @Argument(help: "Statistics files written by `latent statistics` or `latent merge`.")
    var statistics: [String]
    @Option(name: .long, help: "The merged statistics file to write.")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard !statistics.isEmpty else { throw ValidationError("name at least one statistics file") }
        try Console.checkOutput(output, inputs: statistics.map { ("statistics file", $0) })
    }

    func run() throws {
        let files = try statistics.map { try StatisticsFile.read(path: $0) }
        var total = files[0]
        for (path, file) in zip(statistics, files).dropFirst() {
            guard file.columns == files[0].columns else {
                throw CommandLineError(description: "\(path) has the columns \(file.columns.joined(separator: ", ")); \(statistics[0]) has \(files[0].columns.joined(separator: ", "))")
            }
            guard file.family == total.family else {
                throw CommandLineError(description: "\(path) holds statistics of a \(file.family) model; \(statistics[0]) of a \(total.family) model")
            }
            do {
                try total.merge(file)
            } catch {
                throw CommandLineError(description: "\(path): \(error)")
            }
        }
        try total.write(to: output)
        var o = JSONObject()
        o["n"] = .integer(total.rows)
        o["parts"] = .integer(files.count)
        if let logLikelihood = total.gaussianMixture?.logLikelihood ?? total.hiddenMarkov?.logLikelihood ?? total.stateSpace?.logLikelihood {
            o["logLikelihood"] = .number(logLikelihood)
            o["meanLogLikelihood"] = .number(logLikelihood / Double(max(1, total.rows)))
        }
        if let sequences = total.hiddenMarkov?.sequences ?? total.stateSpace?.sequences { o["sequences"] = .integer(sequences) }
        o["output"] = .string(output)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(files.count) part(s), \(total.rows) rows: written to \(output)\n")
        }
    }
}

/// `latent maximize`: the M-step from merged statistics (for a factor model, the whole fit).
struct MaximizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maximize",
        abstract: "The M-step from statistics: the next Gaussian mixture, variational posterior, hidden Markov model or linear dynamical system, or a factor model fitted to convergence from the data's moments.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "A statistics file (`latent statistics`, `latent merge`); for a mixture, made with this model.")
    var statistics: String
    @Option(name: .long, help: "The model file to write.")
    var output: String
    @Option(name: .long, parsing: .unconditional, help: "Mixtures and Gaussian HMMs: added to every covariance diagonal, in squared data units.")
    var regularization: Double = MixtureFitOptions().regularization
    @Option(name: .long, parsing: .unconditional, help: "Mixtures and Gaussian HMMs: added to each column's variance, times that column's variance over the statistics' rows: the variance floor.")
    var relativeRegularization: Double = MixtureFitOptions().relativeRegularization
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        try Console.checkOutput(output, inputs: [("model file", modelOptions.model), ("statistics file", statistics)])
        guard regularization >= 0, regularization.isFinite, relativeRegularization >= 0, relativeRegularization.isFinite else {
            throw ValidationError("--regularization and --relative-regularization must be non-negative numbers")
        }
    }

    func run() throws {
        let file = try modelOptions.load()
        let stats = try StatisticsFile.read(path: statistics)
        var o = JSONObject()
        o["model"] = .string(file.model.kind)
        o["n"] = .integer(stats.rows)
        switch (file.model, stats.gaussianMixture, stats.factorPatterns) {
        case (.gaussianMixture(let model), let mixture?, _):
            let next: GaussianMixture
            do {
                next = try model.maximizing(mixture, regularization: regularization, relativeRegularization: relativeRegularization)
            } catch {
                throw CommandLineError(description: "\(statistics): \(error)")
            }
            try ModelFile(model: .gaussianMixture(next), columns: file.columns, training: nil).write(to: output)
            // The likelihood the statistics hold is that of the model they were made with, before this M-step.
            o["logLikelihood"] = .number(mixture.logLikelihood)
            o["meanLogLikelihood"] = .number(mixture.logLikelihood / Double(max(1, mixture.rows)))
            o["modelFingerprint"] = .string(next.fingerprint)
            if !outputOptions.json {
                Console.print("M-step over \(mixture.rows) rows (log-likelihood before it \(Console.number(mixture.logLikelihood))): \(output)\n")
            }
        case (.linearGaussian(let model), _, let moments?):
            // The moments do not depend on the model: the fit runs to convergence, with the file's factor count and rotation.
            var options = LinearGaussianFitOptions()
            options.rotation = file.training?.settings["rotation"].flatMap(FactorRotation.init(rawValue:)) ?? .none
            let fitted: (model: LinearGaussianModel, report: FitReport)
            do {
                fitted = model.noise == .diagonal
                    ? try FactorAnalysis.fit(statistics: moments, factors: model.factorCount, options: options)
                    : try ProbabilisticPCA.fit(statistics: moments, components: model.factorCount, options: options)
            } catch {
                throw CommandLineError(description: "\(statistics): \(error)")
            }
            let report = fitted.report
            var settings = file.training?.settings ?? [:]
            settings["statistics"] = statistics
            let training = TrainingSummary(logLikelihood: report.logLikelihood, count: moments.count, iterations: report.totalIterations,
                                           converged: report.trace.converged, seed: file.training?.seed ?? 0, settings: settings,
                                           history: report.trace.history)
            try ModelFile(model: .linearGaussian(fitted.model), columns: file.columns, training: training).write(to: output)
            // The likelihood of the fitted model over the statistics' rows.
            o["logLikelihood"] = .number(report.logLikelihood)
            o["meanLogLikelihood"] = .number(report.meanLogLikelihood)
            o["iterations"] = .integer(report.totalIterations)
            if !outputOptions.json {
                Console.print("\(file.model.kind) fitted to the moments of \(moments.count) rows (log-likelihood \(Console.number(report.logLikelihood))): \(output)\n")
            }
        case (.hiddenMarkov(let model), _, _) where stats.hiddenMarkov != nil:
            let chain = stats.hiddenMarkov!
            let next: AnyHiddenMarkovModel
            do {
                next = try model.maximizing(chain, regularization: regularization, relativeRegularization: relativeRegularization)
            } catch {
                throw CommandLineError(description: "\(statistics): \(error)")
            }
            try writeSequenceStep(.hiddenMarkov(next), after: file, logLikelihood: chain.logLikelihood, rows: chain.rows,
                                  sequences: chain.sequences, into: &o)
            if !outputOptions.json {
                Console.print("Baum-Welch M-step over \(chain.sequences) sequence(s), \(chain.rows) rows (log-likelihood before it \(Console.number(chain.logLikelihood))): \(output)\n")
            }
        case (.linearDynamical(let model), _, _) where stats.stateSpace != nil:
            let moments = stats.stateSpace!
            let next: LinearDynamicalSystem
            do {
                next = try model.maximizing(moments)
            } catch {
                throw CommandLineError(description: "\(statistics): \(error)")
            }
            try writeSequenceStep(.linearDynamical(next), after: file, logLikelihood: moments.logLikelihood, rows: moments.steps,
                                  sequences: moments.sequences, into: &o)
            o["modelFingerprint"] = .string(next.fingerprint)
            if !outputOptions.json {
                Console.print("EM M-step over \(moments.sequences) sequence(s), \(moments.steps) steps (log-likelihood before it \(Console.number(moments.logLikelihood))): \(output)\n")
            }
        case (.bayesianMixture(let model), _, _) where stats.bayesianMixture != nil:
            let moments = stats.bayesianMixture!
            let (next, bound): (BayesianGaussianMixture, Double)
            do {
                (next, bound) = (try model.updating(from: moments), try model.lowerBound(from: moments))
            } catch {
                throw CommandLineError(description: "\(statistics): \(error)")
            }
            try ModelFile(model: .bayesianMixture(next), columns: file.columns, training: nil).write(to: output)
            // The bound of the posterior the statistics were made with, before this update.
            o["lowerBound"] = .number(bound)
            o["modelFingerprint"] = .string(next.fingerprint)
            if !outputOptions.json {
                Console.print("Variational update over \(moments.rows) rows (evidence lower bound before it \(Console.number(bound))): \(output)\n")
            }
        case (.gaussianMixture, _, _), (.linearGaussian, _, _), (.hiddenMarkov, _, _), (.linearDynamical, _, _), (.bayesianMixture, _, _):
            throw CommandLineError(description: "\(statistics) holds statistics of a \(stats.family) model; \(modelOptions.model) is a \(file.model.kind) model")
        default:
            throw CommandLineError(description: "\(modelOptions.model) holds a \(file.model.kind) model; the M-step here is for Gaussian mixtures (gmm, bayesian-gmm), hidden Markov models, linear dynamical systems and factor models (fa, ppca)")
        }
        o["output"] = .string(output)
        if outputOptions.json { Console.printJSON(o) }
    }
}

extension MaximizeCommand {
    /// Writes a sequence model's M-step with the fit's settings carried over (its sequence column,
    /// say) and the log-likelihood the statistics hold — that of the model they were made with,
    /// before this step — and sets the JSON keys that report it.
    fileprivate func writeSequenceStep(_ next: LatentModel, after file: ModelFile, logLikelihood: Double, rows: Int, sequences: Int,
                                       into o: inout JSONObject) throws {
        var settings = file.training?.settings ?? [:]
        settings["statistics"] = statistics
        let training = TrainingSummary(logLikelihood: logLikelihood, count: rows, iterations: 1, converged: false,
                                       seed: file.training?.seed ?? 0, settings: settings)
        try ModelFile(model: next, columns: file.columns, training: training).write(to: output)
        o["sequences"] = .integer(sequences)
        o["logLikelihood"] = .number(logLikelihood)
        o["meanLogLikelihood"] = .number(logLikelihood / Double(max(1, rows)))
    }
}

/// Whether a model file holds a variational Bayesian mixture (whose statistics carry a bound's data term).
private func isBayesianMixture(_ model: LatentModel) -> Bool {
    if case .bayesianMixture = model { return true }
    return false
}

/// Whether a model file holds a Gaussian mixture (whose statistics integrate missing values out).
private func isMixture(_ model: LatentModel) -> Bool {
    if case .gaussianMixture = model { return true }
    return false
}

/// Whether a model file holds factor analysis or probabilistic PCA (whose moments are kept per missingness pattern).
private func isFactorModel(_ model: LatentModel) -> Bool {
    if case .linearGaussian = model { return true }
    return false
}
