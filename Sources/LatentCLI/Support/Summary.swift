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
