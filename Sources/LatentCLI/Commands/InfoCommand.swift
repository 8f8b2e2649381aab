import ArgumentParser
import Latent

/// `latent info`: what a model file holds.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a model file.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let file = try modelOptions.load()
        var o: JSONObject
        if let t = file.training {
            o = likelihoodSummary(model: file.model.kind, logLikelihood: t.logLikelihood, count: t.count,
                                  parameters: file.model.parameterCount, iterations: t.iterations,
                                  converged: t.converged, seconds: .nan)
            o["seed"] = .integer(Int(truncatingIfNeeded: t.seed))
            if let history = t.history { o["history"] = .numbers(history) }
        } else {
            o = JSONObject()
            o["model"] = .string(file.model.kind)
            o["parameters"] = .integer(file.model.parameterCount)
        }
        o["dimension"] = .integer(file.model.dimension)
        o["columns"] = .strings(file.columns)
        switch file.model {
        case .gaussianMixture(let m):
            o["components"] = .integer(m.componentCount)
            o["covariance"] = .string(m.covarianceType.rawValue)
            o["weights"] = .numbers(m.weights)
            o["means"] = .array(m.means.rowArrays.map { .numbers($0) })
            if output.json {
                Console.printJSON(o)
            } else {
                var text = "\(modelOptions.model): Latent model file, version \(ModelFile.version)\n"
                if let t = file.training {
                    text += "fitted on \(t.count) rows: log-likelihood \(Console.number(t.logLikelihood)), \(t.iterations) EM iterations, \(t.converged ? "converged" : "not converged"), seed \(t.seed)\n"
                }
                Console.print(text + MixtureReport.text(m, columns: file.columns, summary: o))
            }
        case .variationalAutoencoder(let m):
            o["latent"] = .integer(m.latentSize)
            o["encoderWidths"] = .array(([m.encoder.inputs] + m.encoder.layers.map(\.outputs)).map { .integer($0) })
            o["decoderWidths"] = .array(([m.decoder.inputs] + m.decoder.layers.map(\.outputs)).map { .integer($0) })
            if output.json {
                Console.printJSON(o)
            } else {
                Console.print("Variational autoencoder: encoder \(([m.encoder.inputs] + m.encoder.layers.map(\.outputs)).map(String.init).joined(separator: "-")), decoder \(([m.decoder.inputs] + m.decoder.layers.map(\.outputs)).map(String.init).joined(separator: "-")), \(m.parameterCount) parameters\n")
            }
        case .restrictedBoltzmann(let m):
            o["visible"] = .integer(m.visibleCount)
            o["hidden"] = .integer(m.hiddenCount)
            o["visibleUnits"] = .string(m.visibleUnits.rawValue)
            o["exactPartition"] = .bool(m.hasExactPartition)
            if let settings = file.training?.settings {
                for key in ["method", "epochs", "pseudoLogLikelihood", "reconstructionError"] {
                    if let v = settings[key] { o[key] = Double(v).map { .number($0) } ?? .string(v) }
                }
            }
            if output.json { Console.printJSON(o) } else {
                Console.print("Restricted Boltzmann machine: \(m.visibleCount) \(m.visibleUnits.rawValue) visible and \(m.hiddenCount) binary hidden units, \(m.parameterCount) parameters\(m.hasExactPartition ? " (exact log Z)" : "")\n")
            }
        case .deepBelief(let m):
            o["layers"] = .array(m.layers.map { .integer($0.hiddenCount) })
            o["visibleUnits"] = .string(m.layers[0].visibleUnits.rawValue)
            if output.json { Console.printJSON(o) } else {
                Console.print("Deep belief network: \(m.visibleCount)-\(m.layers.map { String($0.hiddenCount) }.joined(separator: "-")) (\(m.layers[0].visibleUnits.rawValue) visibles), \(m.parameterCount) parameters\n")
            }
        case .autoencoder(let m):
            o["code"] = .integer(m.codeSize)
            if output.json { Console.printJSON(o) } else {
                Console.print("Autoencoder: encoder \(([m.encoder.inputs] + m.encoder.layers.map(\.outputs)).map(String.init).joined(separator: "-")), decoder \(([m.decoder.inputs] + m.decoder.layers.map(\.outputs)).map(String.init).joined(separator: "-")), \(m.parameterCount) parameters\n")
            }
        case .hiddenMarkov(let m):
            o["states"] = .integer(m.stateCount)
            o["emission"] = .string(m.emissionKind)
            o["startProbabilities"] = .numbers(m.startProbabilities)
            o["transitions"] = .array(m.transitions.rowArrays.map { .numbers($0) })
            if output.json {
                Console.printJSON(o)
            } else {
                Console.print(HMMReport.text(m, columns: file.columns, logLikelihood: file.training?.logLikelihood, count: file.training?.count))
            }
        case .linearGaussian(let m):
            o["factors"] = .integer(m.factorCount)
            o["mean"] = .numbers(m.mean)
            o["loadings"] = .array(m.loadings.rowArrays.map { .numbers($0) })
            o["noiseVariances"] = .numbers(m.noiseVariances)
            if output.json {
                Console.printJSON(o)
            } else {
                Console.print(LinearGaussianReport.text(m, columns: file.columns, logLikelihood: file.training?.logLikelihood,
                                                        count: file.training?.count))
            }
        case .bayesianMixture(let m):
            o["components"] = .integer(m.componentCount)
            o["effectiveComponents"] = .integer(m.effectiveComponents)
            o["covariance"] = .string(m.covarianceType.rawValue)
            o["weightPrior"] = .string(m.prior.weightPrior.rawValue)
            o["weights"] = .numbers(m.weights)
            o["means"] = .array(m.means.rowArrays.map { .numbers($0) })
            o["lowerBound"] = file.training?.settings["lowerBound"].flatMap(Double.init).map { .number($0) } ?? .null
            if output.json {
                Console.printJSON(o)
            } else {
                Console.print(BayesianMixtureReport.text(m, columns: file.columns, lowerBound: file.training?.settings["lowerBound"].flatMap(Double.init)))
            }
        case .linearDynamical(let m):
            o["latent"] = .integer(m.latentDimension)
            o["observationNoise"] = .string(m.observationNoiseType.rawValue)
            o["initialState"] = .string(m.initialState.rawValue)
            o["fixed"] = .strings(m.fixed.sorted().map(\.rawValue))
            o["transition"] = .array(m.transition.rowArrays.map { .numbers($0) })
            o["stateNoise"] = .array(m.stateNoise.rowArrays.map { .numbers($0) })
            o["observation"] = .array(m.observation.rowArrays.map { .numbers($0) })
            o["offset"] = .numbers(m.offset)
            o["observationNoiseCovariance"] = .array(m.observationNoise.rowArrays.map { .numbers($0) })
            o["initialMean"] = .numbers(m.initialMean)
            o["initialCovariance"] = .array(m.initialCovariance.rowArrays.map { .numbers($0) })
            if output.json {
                Console.printJSON(o)
            } else {
                Console.print(StateSpaceReport.text(m, columns: file.columns, logLikelihood: file.training?.logLikelihood,
                                                    count: file.training?.count))
            }
        }
    }
}
