import Latent

/// The keys every `--json` result shares: `model`, `meanLogLikelihood`, `logLikelihood`, `n`,
/// `parameters`, `bic`, `aic`, `iterations`, `converged`, `seconds`.
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

/// Checks that data columns match a model's and that every row has an observed value (all models
/// integrate missing values out).
func prepare(_ table: DataTable, for file: ModelFile) throws -> Matrix<Double> {
    if table.values.columns != file.model.dimension {
        // Try the model's own column names before giving up.
        if let selected = try? table.selecting(columns: file.columns) { return try prepare(selected, for: file) }
        throw ModelError.dimensionMismatch(expected: file.model.dimension, found: table.values.columns)
    }
    try table.requireSomeObservedPerRow()
    return table.values
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
