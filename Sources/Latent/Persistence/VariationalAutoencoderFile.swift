import Foundation

/// VAE model files: safetensors that PyTorch loads as they are. Layer `i` of the encoder is
/// `encoder.i.weight` (`[outputs, inputs]`, as a `torch.nn.Linear` in a `ModuleList` named `encoder`
/// holds it; Latent computes `x·Wᵀ + b`) and `encoder.i.bias`; the same for `decoder`; a learned
/// decoder variance is `logVariance`. Files of version 1 stored each weight transposed
/// (`[inputs, outputs]`) and are still read. The safetensors metadata holds Latent's envelope:
/// format, version, model kind, and a JSON `latent` entry with the architecture (activations),
/// likelihood, preprocessing, columns and training.
enum VariationalAutoencoderFile {
    struct Description: Codable {
        var latent: Int
        var encoderActivations: [Activation]
        var decoderActivations: [Activation]
        var likelihood: VAELikelihood
        var preprocessing: Preprocessing
        var columns: [String]
        var training: TrainingSummary?
    }

    static func encode(_ model: VariationalAutoencoder<Float>, columns: [String], training: TrainingSummary?) throws -> Data {
        try encode(kind: "vae", encoder: model.encoder, decoder: model.decoder, logVariance: model.logVariance,
                   latent: model.latentSize, likelihood: model.likelihood, preprocessing: model.preprocessing,
                   columns: columns, training: training)
    }

    static func encode(_ model: Autoencoder<Float>, columns: [String], training: TrainingSummary?) throws -> Data {
        try encode(kind: "autoencoder", encoder: model.encoder, decoder: model.decoder, logVariance: [],
                   latent: model.codeSize, likelihood: model.likelihood, preprocessing: model.preprocessing,
                   columns: columns, training: training)
    }

    private static func encode(kind: String, encoder: DenseNetwork<Float>, decoder: DenseNetwork<Float>, logVariance: [Float],
                               latent: Int, likelihood: VAELikelihood, preprocessing: Preprocessing,
                               columns: [String], training: TrainingSummary?) throws -> Data {
        var tensors: [String: SafeTensors.Tensor] = [:]
        for (prefix, network) in [("encoder", encoder), ("decoder", decoder)] {
            for (i, layer) in network.layers.enumerated() {
                tensors["\(prefix).\(i).weight"] = SafeTensors.Tensor(shape: [layer.outputs, layer.inputs], values: layer.weights.transposed.elements)
                tensors["\(prefix).\(i).bias"] = SafeTensors.Tensor(shape: [layer.outputs], values: layer.bias)
            }
        }
        if !logVariance.isEmpty { tensors["logVariance"] = SafeTensors.Tensor(shape: [decoder.outputs], values: logVariance) }
        let description = Description(latent: latent, encoderActivations: encoder.layers.map(\.activation),
                                      decoderActivations: decoder.layers.map(\.activation), likelihood: likelihood,
                                      preprocessing: preprocessing, columns: columns, training: training)
        let jsonEncoder = JSONEncoder()
        jsonEncoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try jsonEncoder.encode(description), as: UTF8.self)
        return try SafeTensors.encode(tensors, metadata: ["format": "latent-model", "version": String(ModelFile.version),
                                                          "model": kind, "latent": json])
    }

    static func decode(tensors: [String: SafeTensors.Tensor], metadata: [String: String], source: String) throws -> ModelFile {
        func corrupt(_ why: String) -> DataError {
            .corrupt(path: source, reason: "not a valid Latent VAE file (\(why)); refit the model or restore the file")
        }
        let kind = metadata["model"] ?? ""
        guard metadata["format"] == "latent-model", kind == "vae" || kind == "autoencoder", let json = metadata["latent"] else {
            throw corrupt("the safetensors metadata lacks Latent's format, model and description")
        }
        guard let version = Int(metadata["version"] ?? ""), version >= 1 else { throw corrupt("no version") }
        guard version <= ModelFile.version else {
            throw DataError.unsupportedFormat(path: source, reason: "model file version \(version) was written by a newer Latent; this build reads version \(ModelFile.version) and older. Upgrade Latent")
        }
        guard let description = try? JSONDecoder().decode(Description.self, from: Data(json.utf8)) else {
            throw corrupt("the description is not valid JSON")
        }
        func network(_ prefix: String, _ activations: [Activation]) throws -> DenseNetwork<Float> {
            var layers: [DenseLayer<Float>] = []
            for (i, activation) in activations.enumerated() {
                // Version 1: [inputs, outputs]; from version 2: PyTorch's [outputs, inputs].
                guard let w = tensors["\(prefix).\(i).weight"], let b = tensors["\(prefix).\(i).bias"], w.shape.count == 2 else {
                    throw corrupt("tensor \(prefix).\(i) is missing or misshapen")
                }
                let (inputs, outputs) = version >= 2 ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
                guard b.shape == [outputs] else { throw corrupt("tensor \(prefix).\(i).bias does not match its weight") }
                guard w.values.allSatisfy(\.isFinite), b.values.allSatisfy(\.isFinite) else { throw corrupt("tensor \(prefix).\(i) holds non-finite values") }
                if let previous = layers.last, previous.outputs != inputs { throw corrupt("layer \(prefix).\(i) does not fit the previous one") }
                let stored = Matrix(rows: w.shape[0], columns: w.shape[1], storage: w.values)
                layers.append(DenseLayer(weights: version >= 2 ? stored.transposed : stored, bias: b.values, activation: activation))
            }
            guard !layers.isEmpty else { throw corrupt("\(prefix) has no layers") }
            return DenseNetwork(layers: layers)
        }
        let encoder = try network("encoder", description.encoderActivations)
        let decoder = try network("decoder", description.decoderActivations)
        if kind == "autoencoder" {
            guard encoder.outputs == description.latent, decoder.inputs == description.latent, encoder.inputs == decoder.outputs,
                  description.columns.count == decoder.outputs, description.likelihood != .gaussianLearned else {
                throw corrupt("encoder, decoder and columns disagree in size")
            }
            let model = Autoencoder(encoder: encoder, decoder: decoder, likelihood: description.likelihood, preprocessing: description.preprocessing)
            return ModelFile(model: .autoencoder(model), columns: description.columns, training: description.training)
        }
        guard encoder.outputs == 2 * description.latent, decoder.inputs == description.latent, encoder.inputs == decoder.outputs,
              description.columns.count == decoder.outputs else { throw corrupt("encoder, decoder and columns disagree in size") }
        let logVariance = tensors["logVariance"]?.values ?? []
        if description.likelihood == .gaussianLearned && logVariance.count != decoder.outputs { throw corrupt("logVariance is missing") }
        if let j = logVariance.firstIndex(where: { !(abs($0) <= VariationalAutoencoder<Float>.largestLogVariance) }) {
            throw corrupt("logVariance of column \(j + 1) is \(logVariance[j]), outside ±\(VariationalAutoencoder<Float>.largestLogVariance): its exponential overflows single precision")
        }
        let model = VariationalAutoencoder(encoder: encoder, decoder: decoder, likelihood: description.likelihood,
                                           logVariance: logVariance, preprocessing: description.preprocessing)
        return ModelFile(model: .variationalAutoencoder(model), columns: description.columns, training: description.training)
    }
}
