import Latent

/// The keys every `--json` result shares: `model`, `meanLogLikelihood`, `logLikelihood`, `n`,
/// `parameters`, `bic`, `aic`, `iterations`, `converged`, `seconds`.
/// Refuses log-likelihoods that are not finite numbers, naming the first such row (counted from 1
/// after the header) or sequence: a silent `null` in `--json` or an empty CSV cell would read as
/// an answer. An overflowing density means a model parameter is extreme (a variance near zero or
/// beyond the range of its number type); the message says so.
func requireFinite(_ values: [Double], each what: String = "data row", model: String) throws {
    guard let i = values.firstIndex(where: { !$0.isFinite }) else { return }
    let bad = values.lazy.filter { !$0.isFinite }.count
    throw CommandLineError(description: "the log-likelihood of \(what) \(i + 1) is \(values[i]) under the \(model) model (\(bad) of \(values.count) are not finite numbers): a parameter of the model is extreme (a variance near zero or overflowing). Refit the model, or check the model file")
}

func likelihoodSummary(model: String, logLikelihood: Double, count: Int, parameters: Int,
                       iterations: Int?, converged: Bool?, seconds: Double) -> JSONObject {
    var o = JSONObject()
    o["model"] = .string(model)
    o["meanLogLikelihood"] = .number(logLikelihood / Double(max(1, count)))
    o["logLikelihood"] = .number(logLikelihood)
    o["n"] = .integer(count)
    o["parameters"] = .integer(parameters)
    o["bic"] = .number(GaussianMixture.bic(logLikelihood: logLikelihood, parameters: parameters, count: count))
    o["aic"] = .number(GaussianMixture.aic(logLikelihood: logLikelihood, parameters: parameters))
    o["iterations"] = iterations.map { .integer($0) } ?? .null
    o["converged"] = converged.map { .bool($0) } ?? .null
    o["seconds"] = .number(seconds)
    return o
}

/// The model's columns of `table`, in the model's order, with every row holding an observed value
/// (all models integrate missing values out).
///
/// Columns are matched by name, in any order. They are matched by position only when the names
/// cannot say: the user chose the columns with `--columns` (`explicit`), or the file or the model
/// has no column names (`.npy` and IDX data are named `x1`, `x2`, …).
/// - Throws: an error naming the missing columns and what to do.
func prepare(_ table: DataTable, for file: ModelFile, explicit: Bool) throws -> Matrix<Double> {
    let selected = try modelColumns(of: table, for: file, explicit: explicit)
    try selected.requireSomeObservedPerRow()
    if let problem = file.model.preprocessing?.mismatch(with: selected.values) {
        throw CommandLineError(description: "\(table.source): \(problem)")
    }
    return selected.values
}

/// ``prepare(_:for:explicit:)`` without the row check.
func modelColumns(of table: DataTable, for file: ModelFile, explicit: Bool) throws -> DataTable {
    let wanted = file.columns, d = file.model.dimension
    if wanted.count == d, wanted.allSatisfy(table.columnNames.contains) {
        return try table.selecting(columns: wanted)
    }
    func generated(_ names: [String]) -> Bool { names.enumerated().allSatisfy { $0.element == "x\($0.offset + 1)" } }
    if table.values.columns == d && (explicit || generated(table.columnNames) || generated(wanted)) {
        return table
    }
    let missing = wanted.filter { !table.columnNames.contains($0) }
    throw CommandLineError(description: "\(table.source): the model was fitted to the column(s) \(wanted.joined(separator: ", ")); this data lacks \(missing.map { "'\($0)'" }.joined(separator: ", ")) (its columns: \(table.columnNames.joined(separator: ", "))). Give the data those column names, or name \(d) column(s) to use in the model's order with --columns")
}

/// The standard `--json` keys of a multi-start EM fit: `iterations` counts every EM iteration
/// spent (short runs and discarded runs included), `finalRunIterations` those of the run that gave
/// the model; `degenerate` lists degenerate components (empty unless every start was degenerate).
func fitSummary(model: String, report: FitReport, parameters: Int, seconds: Double) -> JSONObject {
    var o = likelihoodSummary(model: model, logLikelihood: report.logLikelihood, count: report.count,
                              parameters: parameters, iterations: report.totalIterations,
                              converged: report.trace.converged, seconds: seconds)
    o["finalRunIterations"] = .integer(report.finalRunIterations)
    o["discardedDegenerateRuns"] = .integer(report.discardedDegenerate)
    o["collapsed"] = .bool(!report.degeneracies.isEmpty)
    o["warnings"] = .strings(report.warnings)
    return o
}

extension Console {
    /// A progress display for multi-start fits on standard error: every `every`-th iteration, and
    /// each start's outcome.
    static func fitProgress(every: Int = 1) -> @Sendable (FitEvent) -> Void {
        { event in
            switch event {
            case .iteration(let start, let i, let mean):
                if i % every == 0 { note("start \(start + 1), iteration \(i): mean log-likelihood \(number(mean))") }
            case .startFinished(let start, let mean, let iterations, let converged, let degeneracies):
                var line = "start \(start + 1): mean log-likelihood \(number(mean)) after \(iterations) iterations"
                if !converged { line += " (not converged)" }
                if !degeneracies.isEmpty { line += "; degenerate: " + degeneracies.map(\.description).joined(separator: "; ") }
                note(line)
            case .startFailed(let start, let message):
                note("start \(start + 1) failed: \(message)")
            }
        }
    }
}
