import Foundation

/// RBM model files: safetensors in PyTorch's conventions, so that anyone can recompute the free
/// energy from the file alone — `weight` (`[hidden, visible]`), `visible_bias`, `hidden_bias`, and
/// `base_visible_bias` (the base model of annealed importance sampling). The metadata holds
/// Latent's envelope: format, version, model kind "rbm", and a JSON `latent` entry with the visible
/// units, preprocessing, columns and training summary.
enum RestrictedBoltzmannMachineFile {
    struct Description: Codable {
        var visibleUnits: RestrictedBoltzmannMachine.VisibleUnits
        var preprocessing: Preprocessing
        var columns: [String]
        var training: TrainingSummary?
    }

    static func encode(_ model: RestrictedBoltzmannMachine, columns: [String], training: TrainingSummary?) throws -> Data {
        var tensors: [String: SafeTensors.Tensor] = [
            "weight": SafeTensors.Tensor(shape: [model.hiddenCount, model.visibleCount], values: model.weights.storage),
            "visible_bias": SafeTensors.Tensor(shape: [model.visibleCount], values: model.visibleBias),
            "hidden_bias": SafeTensors.Tensor(shape: [model.hiddenCount], values: model.hiddenBias),
        ]
        if !model.baseVisibleBias.isEmpty {
            tensors["base_visible_bias"] = SafeTensors.Tensor(shape: [model.visibleCount], values: model.baseVisibleBias)
        }
        let description = Description(visibleUnits: model.visibleUnits, preprocessing: model.preprocessing, columns: columns, training: training)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(description), as: UTF8.self)
        return try SafeTensors.encode(tensors, metadata: ["format": "latent-model", "version": String(ModelFile.version),
                                                          "model": "rbm", "latent": json])
    }

    static func decode(tensors: [String: SafeTensors.Tensor], metadata: [String: String], source: String) throws -> ModelFile {
        func corrupt(_ why: String) -> DataError {
            .corrupt(path: source, reason: "not a valid Latent RBM file (\(why)); refit the model or restore the file")
        }
        guard metadata["format"] == "latent-model", let json = metadata["latent"] else {
            throw corrupt("the safetensors metadata lacks Latent's format and description")
        }
        guard let version = Int(metadata["version"] ?? ""), version >= 1 else { throw corrupt("no version") }
        guard version <= ModelFile.version else {
            throw DataError.unsupportedFormat(path: source, reason: "model file version \(version) was written by a newer Latent; this build reads version \(ModelFile.version) and older. Upgrade Latent")
        }
        guard let description = try? JSONDecoder().decode(Description.self, from: Data(json.utf8)) else {
            throw corrupt("the description is not valid JSON")
        }
        guard let w = tensors["weight"], w.shape.count == 2, let b = tensors["visible_bias"], b.shape == [w.shape[1]],
              let c = tensors["hidden_bias"], c.shape == [w.shape[0]] else {
            throw corrupt("weight ([hidden, visible]), visible_bias and hidden_bias are missing or misshapen")
        }
        let base = tensors["base_visible_bias"]
        if let base, base.shape != [w.shape[1]] { throw corrupt("base_visible_bias does not match the visible units") }
        guard description.columns.count == w.shape[1] else { throw corrupt("\(description.columns.count) column names for \(w.shape[1]) visible units") }
        do {
            let model = try RestrictedBoltzmannMachine(weights: Matrix(rows: w.shape[0], columns: w.shape[1], storage: w.values),
                                                       visibleBias: b.values, hiddenBias: c.values, visibleUnits: description.visibleUnits,
                                                       baseVisibleBias: base?.values ?? [], preprocessing: description.preprocessing)
            return ModelFile(model: .restrictedBoltzmann(model), columns: description.columns, training: description.training)
        } catch {
            throw corrupt("\(error)")
        }
    }
}
