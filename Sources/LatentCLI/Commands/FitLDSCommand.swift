import ArgumentParser
import Foundation
import Latent

/// `latent fit lds`: a linear dynamical system by EM.
struct FitLDSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lds",
        abstract: "Fit a linear dynamical system (x_t = A x_{t-1} + w_t, y_t = C x_t + d + v_t) by EM; missing values are integrated out by the Kalman filter."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "A column whose value changes between sequences (each starts afresh).")
    var sequenceColumn: String?
    @Option(name: .long, parsing: .unconditional, help: "Number of hidden states (the latent dimension).")
    var latent: Int
    @Option(name: .long, help: "Observation noise covariance R: full or diagonal.")
    var observationNoise: LinearDynamicalSystem.ObservationNoise = .diagonal
    @Option(name: .long, help: "Starting transition matrix A, rows separated by ';' and entries by ',' (e.g. \"0.9,0;0,0.5\").")
    var transition: String?
    @Option(name: .long, help: "Starting observation matrix C (one row per column, one entry per state), as for --transition.")
    var observation: String?
    @Option(name: .long, help: "Starting offset d, one entry per column, comma-separated (default: the column means, or 0 when the offset is fixed).")
    var offset: String?
    @Option(name: .long, help: "Parameters held at their starting values: any of transition, observation, offset, state-noise, observation-noise, initial (comma-separated).")
    var fix: String?
    @Option(name: .long, help: "First state: learned (mean and covariance fitted) or diffuse (a very wide prior; the log-likelihood leaves out the steps that pin the state down).")
    var initialState: LinearDynamicalSystem.InitialState = .learned
    @Option(name: .long, help: "A linear dynamical system model file to continue EM from (its fixed parameters stay fixed; --latent, --observation-noise and --initial-state must match it).")
    var warmStart: String?
    @OptionGroup var fit: FitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard latent >= 1 else { throw ValidationError("--latent must be at least 1") }
        try fit.requirePlainEM("a linear dynamical system")
        _ = try fixedParameters()
        try Console.checkOutput(fit.output, inputs: [("data file", dataOptions.data), ("warm-start model", warmStart)])
        if warmStart != nil, transition != nil || observation != nil || offset != nil || fix != nil {
            throw ValidationError("--warm-start gives every starting matrix and the fixed parameters: leave out --transition, --observation, --offset and --fix")
        }
    }

    func fixedParameters() throws -> Set<LinearDynamicalSystem.Parameter> {
        guard let fix else { return [] }
        return Set(try fix.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let p = LinearDynamicalSystem.Parameter(rawValue: trimmed) else {
                throw ValidationError("--fix: '\(trimmed)' is not a parameter; use any of \(LinearDynamicalSystem.Parameter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return p
        })
    }

    func run() throws {
        BLAS.setThreads(1)
        let loaded = try SequenceData.load(dataOptions, sequenceColumn: sequenceColumn, quiet: output.quiet, allowMissing: true)
        let table = loaded.table
        var options = StateSpaceFitOptions(observationNoise: observationNoise, initialState: initialState, fixed: try fixedParameters())
        options.transition = try transition.map { try parseMatrix($0, flag: "--transition", rows: latent, columns: latent) }
        options.observation = try observation.map { try parseMatrix($0, flag: "--observation", rows: table.values.columns, columns: latent) }
        options.offset = try offset.map { try parseMatrix($0, flag: "--offset", rows: 1, columns: table.values.columns).elements }
        for (parameter, given, flag) in [(LinearDynamicalSystem.Parameter.transition, options.transition, "--transition"),
                                         (.observation, options.observation, "--observation")] where options.fixed.contains(parameter) && given == nil {
            throw ValidationError("--fix \(parameter.rawValue) needs its value: give \(flag)")
        }
        if let warmStart {
            guard case .linearDynamical(let m) = try ModelFile.read(path: warmStart).model else {
                throw ValidationError("--warm-start \(warmStart) is not a linear dynamical system")
            }
            guard m.latentDimension == latent, m.dimension == table.values.columns, m.observationNoiseType == observationNoise,
                  m.initialState == initialState else {
                throw ValidationError("--warm-start \(warmStart) has \(m.latentDimension) hidden state(s) over \(m.dimension) column(s), \(m.observationNoiseType.rawValue) observation noise and a \(m.initialState.rawValue) first state; the fit asks for \(latent) over \(table.values.columns), \(observationNoise.rawValue) and \(initialState.rawValue)")
            }
            options.warmStart = m
        }
        options.em = fit.em(defaults: StateSpaceFitOptions().em)
        options.seed = fit.seed
        if !output.quiet { options.progress = Console.fitProgress(every: 100) }
        let ((model, report), seconds) = try Console.timed {
            try LinearDynamicalSystem.fit(table.values, sequences: loaded.sequences, latent: latent, options: options)
        }
        for w in report.warnings { Console.warn(w) }
        var settings = ["latent": String(latent), "observationNoise": observationNoise.rawValue, "initialState": initialState.rawValue,
                        "fixed": model.fixed.sorted().map(\.rawValue).joined(separator: ","),
                        "tolerance": "\(options.em.tolerance)", "maxIterations": String(options.em.maxIterations)]
        if let sequenceColumn { settings["sequenceColumn"] = sequenceColumn }
        let training = TrainingSummary(logLikelihood: report.logLikelihood, count: report.count, iterations: report.totalIterations,
                                       converged: report.trace.converged, seed: fit.seed, settings: settings, history: report.trace.history)
        try ModelFile(model: .linearDynamical(model), columns: table.columnNames, training: training).write(to: fit.output)
        var o = fitSummary(model: "lds", report: report, parameters: model.parameterCount, seconds: seconds)
        o["latent"] = .integer(latent)
        o["observationNoise"] = .string(observationNoise.rawValue)
        o["initialState"] = .string(initialState.rawValue)
        o["fixed"] = .strings(model.fixed.sorted().map(\.rawValue))
        o["sequences"] = .integer(loaded.sequences.count)
        o["missingValues"] = .integer(table.values.missingCount)
        o["output"] = .string(fit.output)
        if output.json {
            Console.printJSON(o)
        } else {
            Console.print(StateSpaceReport.text(model, columns: table.columnNames, logLikelihood: report.logLikelihood, count: report.count))
        }
    }
}

/// A matrix written as rows separated by ';' and entries by ','.
func parseMatrix(_ text: String, flag: String, rows: Int, columns: Int) throws -> Matrix<Double> {
    let parsed = try text.split(separator: ";", omittingEmptySubsequences: false).map { row in
        try row.split(separator: ",", omittingEmptySubsequences: false).map { entry -> Double in
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard let v = Double(trimmed), v.isFinite else {
                throw ValidationError("\(flag): '\(trimmed)' is not a number; write rows separated by ';' and entries by ',' (e.g. \"0.9,0;0,0.5\")")
            }
            return v
        }
    }
    guard parsed.count == rows, parsed.allSatisfy({ $0.count == columns }) else {
        throw ValidationError("\(flag) must be \(rows) × \(columns) (rows separated by ';', entries by ','); got \(parsed.count) row(s) of \(parsed.map { String($0.count) }.joined(separator: "/")) entries")
    }
    return Matrix(parsed)
}

/// Human-readable description of a linear dynamical system.
enum StateSpaceReport {
    static func text(_ m: LinearDynamicalSystem, columns: [String], logLikelihood: Double?, count: Int?) -> String {
        var out = "Linear dynamical system, \(m.latentDimension) hidden state(s) over \(m.dimension) column(s), \(m.parameterCount) free parameters\n"
        if let logLikelihood, let count {
            out += "log-likelihood \(Console.number(logLikelihood)) (mean \(Console.number(logLikelihood / Double(max(1, count)))) per time step)\n"
        }
        func rows(_ name: String, _ x: Matrix<Double>, labels: [String]) {
            out += "\(name):\n"
            for i in 0..<x.rows {
                out += "  " + MixtureReport.pad(labels[i], 12)
                for j in 0..<x.columns { out += MixtureReport.pad(Console.number(x[i, j], 5), 12) }
                out += "\n"
            }
        }
        let states = (0..<m.latentDimension).map { "x\($0 + 1)" }
        rows("transition A", m.transition, labels: states)
        rows("state noise Q", m.stateNoise, labels: states)
        rows("observation C | offset d", Matrix((0..<m.dimension).map { m.observation.row($0) + [m.offset[$0]] }), labels: columns)
        rows("observation noise R", m.observationNoise, labels: columns)
        return out
    }
}
