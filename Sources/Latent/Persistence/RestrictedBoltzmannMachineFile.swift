import Foundation

/// RBM and deep-belief-network files: safetensors in PyTorch's conventions, so that anyone can
/// recompute the free energy from the file alone. An RBM stores `weight` (`[hidden, visible]`),
/// `visible_bias`, `hidden_bias` and `base_visible_bias` (the base model of annealed importance
/// sampling); a deep belief network stores the same four for each layer `l` under `layers.l.`.
/// The metadata holds Latent's envelope: format, version, model kind ("rbm" or "dbn"), and a JSON
/// `latent` entry with the (first layer's) visible units, preprocessing, columns and training.
enum RestrictedBoltzmannMachineFile {
    struct Description: Codable {
        var visibleUnits: RestrictedBoltzmannMachine.VisibleUnits
        var preprocessing: Preprocessing
        var columns: [String]
        var training: TrainingSummary?
        /// Deep belief networks: the number of layers.
        var layers: Int?
    }

    static func encode(_ model: RestrictedBoltzmannMachine, columns: [String], training: TrainingSummary?) throws -> Data {
        try encode([model], kind: "rbm", columns: columns, training: training)
    }

    static func encode(_ model: DeepBeliefNetwork, columns: [String], training: TrainingSummary?) throws -> Data {
        try encode(model.layers, kind: "dbn", columns: columns, training: training)
    }

    private static func prefix(_ kind: String, _ layer: Int) -> String { kind == "rbm" ? "" : "layers.\(layer)." }

    private static func encode(_ machines: [RestrictedBoltzmannMachine], kind: String, columns: [String], training: TrainingSummary?) throws -> Data {
        var tensors: [String: SafeTensors.Tensor] = [:]
        for (l, m) in machines.enumerated() {
            let p = prefix(kind, l)
            tensors[p + "weight"] = SafeTensors.Tensor(shape: [m.hiddenCount, m.visibleCount], values: m.weights.elements)
            tensors[p + "visible_bias"] = SafeTensors.Tensor(shape: [m.visibleCount], values: m.visibleBias)
            tensors[p + "hidden_bias"] = SafeTensors.Tensor(shape: [m.hiddenCount], values: m.hiddenBias)
            if !m.baseVisibleBias.isEmpty {
                tensors[p + "base_visible_bias"] = SafeTensors.Tensor(shape: [m.visibleCount], values: m.baseVisibleBias)
            }
        }
        let description = Description(visibleUnits: machines[0].visibleUnits, preprocessing: machines[0].preprocessing, columns: columns,
                                      training: training, layers: kind == "dbn" ? machines.count : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(description), as: UTF8.self)
        return try SafeTensors.encode(tensors, metadata: ["format": "latent-model", "version": String(ModelFile.version),
                                                          "model": kind, "latent": json])
    }

    static func decode(tensors: [String: SafeTensors.Tensor], metadata: [String: String], source: String) throws -> ModelFile {
        let kind = metadata["model"] ?? ""
        func corrupt(_ why: String) -> DataError {
            .corrupt(path: source, reason: "not a valid Latent \(kind == "dbn" ? "deep belief network" : "RBM") file (\(why)); refit the model or restore the file")
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
        let count = kind == "dbn" ? (description.layers ?? 0) : 1
        guard (1...64).contains(count) else { throw corrupt("the description gives \(count) layers") }
        var machines: [RestrictedBoltzmannMachine] = []
        for l in 0..<count {
            let p = prefix(kind, l)
            guard let w = tensors[p + "weight"], w.shape.count == 2, let b = tensors[p + "visible_bias"], b.shape == [w.shape[1]],
                  let c = tensors[p + "hidden_bias"], c.shape == [w.shape[0]] else {
                throw corrupt("\(p)weight ([hidden, visible]), \(p)visible_bias and \(p)hidden_bias are missing or misshapen")
            }
            let base = tensors[p + "base_visible_bias"]
            if let base, base.shape != [w.shape[1]] { throw corrupt("\(p)base_visible_bias does not match the visible units") }
            do {
                machines.append(try RestrictedBoltzmannMachine(
                    weights: Matrix(rows: w.shape[0], columns: w.shape[1], storage: w.values), visibleBias: b.values, hiddenBias: c.values,
                    visibleUnits: l == 0 ? description.visibleUnits : .bernoulli, baseVisibleBias: base?.values ?? [],
                    preprocessing: l == 0 ? description.preprocessing : Preprocessing()))
            } catch {
                throw corrupt("\(error)")
            }
        }
        guard description.columns.count == machines[0].visibleCount else {
            throw corrupt("\(description.columns.count) column names for \(machines[0].visibleCount) visible units")
        }
        if kind == "rbm" {
            return ModelFile(model: .restrictedBoltzmann(machines[0]), columns: description.columns, training: description.training)
        }
        do {
            return ModelFile(model: .deepBelief(try DeepBeliefNetwork(layers: machines)), columns: description.columns, training: description.training)
        } catch {
            throw corrupt("\(error)")
        }
    }
}
