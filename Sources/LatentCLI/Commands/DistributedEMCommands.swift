import ArgumentParser
import Foundation
import Latent
import LatentCore

/// A statistics file: the E-step statistics of a Gaussian mixture over part of the data, with the
/// model's column names. JSON, written atomically.
struct StatisticsFile: Codable {
    static let format = "latent-statistics"
    var format = StatisticsFile.format
    var columns: [String]
    var gaussianMixture: MixtureStatistics

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: path)
    }

    /// Reads `path`. - Throws: a message naming the file when it is not a statistics file of this version.
    static func read(path: String) throws -> StatisticsFile {
        let data = try FileBytes.read(path)
        struct Header: Decodable { var format: String?; var gaussianMixture: Version? }
        struct Version: Decodable { var version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data), header.format == format else {
            throw CommandLineError(description: "\(path) is not a Latent statistics file (write one with `latent statistics`)")
        }
        guard let version = header.gaussianMixture?.version, version == MixtureStatistics.version else {
            throw CommandLineError(description: "\(path) holds statistics of version \(header.gaussianMixture?.version.map(String.init) ?? "unknown"); this Latent reads version \(MixtureStatistics.version): recompute them with `latent statistics`")
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
        abstract: "E-step sufficient statistics of a Gaussian mixture over one part of the data.",
        discussion: """
        Any engine can drive EM with three commands: `latent statistics` on each part of the data \
        (on each machine), `latent merge` to add the parts up, and `latent maximize` for the M-step, \
        which writes the next model. Statistics made with the same model file merge exactly, \
        whatever the split; rows must be complete.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "The statistics file to write.")
    var output: String
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        try Console.checkOutput(output, inputs: [("model file", modelOptions.model), ("data file", dataOptions.data)])
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        guard case .gaussianMixture(let model) = file.model else {
            throw CommandLineError(description: "\(modelOptions.model) holds a \(file.model.kind) model; statistics are written for Gaussian mixtures")
        }
        let table = try dataOptions.load(quiet: outputOptions.quiet)
        let selected = try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil)
        if let i = selected.values.elements.firstIndex(where: \.isNaN) {
            let d = selected.values.columns
            throw CommandLineError(description: "\(table.source): row \(selected.sourceRows[i / d]) has no value in column '\(selected.columnNames[i % d])'; statistics need complete rows (`latent impute` fills them, `latent fit gmm` integrates them out)")
        }
        let ((stats), seconds) = try Console.timed { try model.statistics(of: selected.values, threads: threads) }
        try StatisticsFile(columns: file.columns, gaussianMixture: stats).write(to: output)
        var o = JSONObject()
        o["model"] = .string("gmm")
        o["n"] = .integer(stats.rows)
        o["logLikelihood"] = .number(stats.logLikelihood)
        o["meanLogLikelihood"] = .number(stats.logLikelihood / Double(max(1, stats.rows)))
        o["modelFingerprint"] = .string(stats.modelFingerprint)
        o["output"] = .string(output)
        o["seconds"] = .number(seconds)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(stats.rows) rows: log-likelihood \(Console.number(stats.logLikelihood)) under \(modelOptions.model); statistics written to \(output)\n")
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
        var total = files[0].gaussianMixture
        for (path, file) in zip(statistics, files).dropFirst() {
            guard file.columns == files[0].columns else {
                throw CommandLineError(description: "\(path) has the columns \(file.columns.joined(separator: ", ")); \(statistics[0]) has \(files[0].columns.joined(separator: ", "))")
            }
            do { try total.merge(file.gaussianMixture) } catch {
                throw CommandLineError(description: "\(path): \(error)")
            }
        }
        try StatisticsFile(columns: files[0].columns, gaussianMixture: total).write(to: output)
        var o = JSONObject()
        o["n"] = .integer(total.rows)
        o["parts"] = .integer(files.count)
        o["logLikelihood"] = .number(total.logLikelihood)
        o["meanLogLikelihood"] = .number(total.logLikelihood / Double(max(1, total.rows)))
        o["output"] = .string(output)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("\(files.count) part(s), \(total.rows) rows: written to \(output)\n")
        }
    }
}

/// `latent maximize`: one M-step from merged statistics.
struct MaximizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maximize",
        abstract: "The M-step of a Gaussian mixture from statistics made with it: writes the next model.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "A statistics file made with this model (`latent statistics`, `latent merge`).")
    var statistics: String
    @Option(name: .long, help: "The model file to write.")
    var output: String
    @Option(name: .long, parsing: .unconditional, help: "Added to every covariance diagonal, in squared data units.")
    var regularization: Double = MixtureFitOptions().regularization
    @Option(name: .long, parsing: .unconditional, help: "Added to each column's variance, times that column's variance over the statistics' rows: the variance floor.")
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
        guard case .gaussianMixture(let model) = file.model else {
            throw CommandLineError(description: "\(modelOptions.model) holds a \(file.model.kind) model; the M-step here is for Gaussian mixtures")
        }
        let stats = try StatisticsFile.read(path: statistics)
        let next: GaussianMixture
        do {
            next = try model.maximizing(stats.gaussianMixture, regularization: regularization, relativeRegularization: relativeRegularization)
        } catch {
            throw CommandLineError(description: "\(statistics): \(error)")
        }
        try ModelFile(model: .gaussianMixture(next), columns: file.columns, training: nil).write(to: output)
        var o = JSONObject()
        o["model"] = .string("gmm")
        o["n"] = .integer(stats.gaussianMixture.rows)
        // The likelihood the statistics hold is that of the model they were made with, before this M-step.
        o["logLikelihood"] = .number(stats.gaussianMixture.logLikelihood)
        o["meanLogLikelihood"] = .number(stats.gaussianMixture.logLikelihood / Double(max(1, stats.gaussianMixture.rows)))
        o["modelFingerprint"] = .string(next.fingerprint)
        o["output"] = .string(output)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("M-step over \(stats.gaussianMixture.rows) rows (log-likelihood before it \(Console.number(stats.gaussianMixture.logLikelihood))): \(output)\n")
        }
    }
}
