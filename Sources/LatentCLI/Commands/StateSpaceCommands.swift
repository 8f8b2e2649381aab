import ArgumentParser
import Foundation
import Latent

/// The sequences of a data file for a linear dynamical system: the model's columns (by name),
/// missing values kept, split by `sequenceColumn` or by the column the model was fitted with.
func stateSpaceData(_ file: ModelFile, dataOptions: DataOptions, sequenceColumn: String?, quiet: Bool) throws
    -> (model: LinearDynamicalSystem, data: Matrix<Double>, sequences: [SequenceRange])
{
    guard case .linearDynamical(let m) = file.model else {
        throw ValidationError("this command works with linear dynamical systems (`latent fit lds`); the model is a \(file.model.kind) model")
    }
    var column = sequenceColumn
    if column == nil, let fitted = file.training?.settings["sequenceColumn"] {
        let names = try DataLoader.load(path: dataOptions.data).table.columnNames
        if names.contains(fitted) { column = fitted }
    }
    let loaded = try SequenceData.load(dataOptions, sequenceColumn: column, modelColumns: file.columns, quiet: quiet, allowMissing: true)
    let x = try modelColumns(of: loaded.table, for: file, explicit: dataOptions.columns != nil).values
    return (m, x, loaded.sequences)
}

/// Options shared by `filter`, `smooth` and `forecast`.
struct StateSpaceInputOptions: ParsableArguments {
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "A column whose value changes between sequences (default: the one used in fitting, if present).")
    var sequenceColumn: String?
    @OptionGroup var output: OutputOptions
}

/// `latent filter` and `latent smooth`: state means and standard deviations per row.
struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Kalman-filtered hidden states E[x_t | y_1..y_t] of a linear dynamical system: means and standard deviations per row (CSV), or a summary with --json."
    )
    @OptionGroup var input: StateSpaceInputOptions

    func run() throws { try runStateEstimates(input, smoothed: false) }
}

struct SmoothCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smooth",
        abstract: "Smoothed hidden states E[x_t | all observations] of a linear dynamical system (Rauch–Tung–Striebel): means and standard deviations per row (CSV), or a summary with --json."
    )
    @OptionGroup var input: StateSpaceInputOptions

    func run() throws { try runStateEstimates(input, smoothed: true) }
}

func runStateEstimates(_ input: StateSpaceInputOptions, smoothed: Bool) throws {
    let file = try input.modelOptions.load()
    let (m, x, sequences) = try stateSpaceData(file, dataOptions: input.dataOptions, sequenceColumn: input.sequenceColumn, quiet: input.output.quiet)
    let l = m.latentDimension
    var rows = Matrix<Double>(rows: x.rows, columns: 1 + 2 * l)
    var perSequence: [Double] = []
    let (_, seconds) = try Console.timed {
        for (s, range) in sequences.enumerated() {
            let y = x.selectingRows(range)
            let means: Matrix<Double>, covariances: Matrix<Double>, logLikelihood: Double
            if smoothed {
                let result = try m.smooth(y)
                (means, covariances, logLikelihood) = (result.means, result.covariances, result.filtering.logLikelihood)
            } else {
                let result = try m.filter(y)
                (means, covariances, logLikelihood) = (result.filteredMeans, result.filteredCovariances, result.logLikelihood)
            }
            perSequence.append(logLikelihood)
            for (t, row) in range.enumerated() {
                rows[row, 0] = Double(s)
                for j in 0..<l {
                    rows[row, 1 + j] = means[t, j]
                    rows[row, 1 + l + j] = max(covariances[t, j * l + j], 0).squareRoot()
                }
            }
        }
    }
    try requireFinite(perSequence, each: "sequence", model: "lds")
    if input.output.json {
        var o = likelihoodSummary(model: "lds", logLikelihood: perSequence.reduce(0, +), count: x.rows, parameters: m.parameterCount,
                                  iterations: file.training?.iterations, converged: file.training?.converged, seconds: seconds)
        o["estimates"] = .string(smoothed ? "smoothed" : "filtered")
        o["sequences"] = .integer(sequences.count)
        o["latent"] = .integer(l)
        o["missingValues"] = .integer(x.missingCount)
        o["lastStateMeans"] = .numbers((0..<l).map { rows[x.rows - 1, 1 + $0] })
        o["lastStateStandardDeviations"] = .numbers((0..<l).map { rows[x.rows - 1, 1 + l + $0] })
        Console.printJSON(o)
    } else {
        let header = ["sequence"] + (1...l).map { "x\($0)" } + (1...l).map { "sd_x\($0)" }
        Console.printCSV(header: header, rows: rows)
    }
}

/// `latent forecast`: observations some steps after the end of each sequence.
struct ForecastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Forecast a linear dynamical system's observations --steps ahead of each sequence's end: means and central intervals (CSV, or JSON with --json)."
    )
    @OptionGroup var input: StateSpaceInputOptions
    @Option(name: .long, parsing: .unconditional, help: "Steps ahead.")
    var steps: Int
    @Option(name: .long, parsing: .unconditional, help: "Probability of each central interval.")
    var level: Double = 0.95

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard steps <= 10_000_000 else { throw ValidationError("--steps must be at most 10000000") }
        guard level > 0, level < 1 else { throw ValidationError("--level must lie strictly between 0 and 1 (e.g. 0.95)") }
    }

    func run() throws {
        let file = try input.modelOptions.load()
        let (m, x, sequences) = try stateSpaceData(file, dataOptions: input.dataOptions, sequenceColumn: input.sequenceColumn, quiet: input.output.quiet)
        let z = NormalQuantile.upper((1 - level) / 2)
        let d = m.dimension
        var forecasts: [StateSpaceForecast] = []
        for range in sequences { forecasts.append(try m.forecast(after: x.selectingRows(range), steps: steps)) }
        if input.output.json {
            var o = JSONObject()
            o["model"] = .string("lds")
            o["steps"] = .integer(steps)
            o["level"] = .number(level)
            o["columns"] = .strings(file.columns)
            o["forecasts"] = .array(forecasts.enumerated().map { s, f in
                var e = JSONObject()
                e["sequence"] = .integer(s)
                e["means"] = .array(f.means.rowArrays.map { .numbers($0) })
                e["standardDeviations"] = .array(f.standardDeviations.rowArrays.map { .numbers($0) })
                e["lower"] = .array((0..<steps).map { h in .numbers((0..<d).map { f.means[h, $0] - z * f.standardDeviations[h, $0] }) })
                e["upper"] = .array((0..<steps).map { h in .numbers((0..<d).map { f.means[h, $0] + z * f.standardDeviations[h, $0] }) })
                return .object(e)
            })
            Console.printJSON(o)
        } else {
            let header = ["sequence", "step"] + file.columns.flatMap { [$0, "\($0)_lower", "\($0)_upper"] }
            Console.printCSV(header: header, rows: Matrix(rows: 0, columns: header.count))
            for (s, f) in forecasts.enumerated() {
                var rows = Matrix<Double>(rows: steps, columns: header.count)
                for h in 0..<steps {
                    rows[h, 0] = Double(s)
                    rows[h, 1] = Double(h + 1)
                    for j in 0..<d {
                        rows[h, 2 + 3 * j] = f.means[h, j]
                        rows[h, 3 + 3 * j] = f.means[h, j] - z * f.standardDeviations[h, j]
                        rows[h, 4 + 3 * j] = f.means[h, j] + z * f.standardDeviations[h, j]
                    }
                }
                Console.printCSV(header: [], rows: rows)
            }
        }
    }
}
