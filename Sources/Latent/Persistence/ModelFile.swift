import Foundation

/// Any model Latent can save.
public enum LatentModel: Equatable, Sendable {
    case gaussianMixture(GaussianMixture)
    /// Factor analysis or probabilistic PCA.
    case linearGaussian(LinearGaussianModel)
    /// A hidden Markov model.
    case hiddenMarkov(AnyHiddenMarkovModel)
    /// A variational autoencoder (stored as safetensors).
    case variationalAutoencoder(VariationalAutoencoder<Float>)
    /// A plain autoencoder (stored as safetensors).
    case autoencoder(Autoencoder<Float>)
    /// A linear dynamical system (Kalman filter model).
    case linearDynamical(LinearDynamicalSystem)
    /// A Gaussian mixture fitted by variational Bayes.
    case bayesianMixture(BayesianGaussianMixture)
    /// A restricted Boltzmann machine (stored as safetensors).
    case restrictedBoltzmann(RestrictedBoltzmannMachine)
    /// A deep belief network (stored as safetensors).
    case deepBelief(DeepBeliefNetwork)

    /// The short name used on the command line and in files (`gmm`, `fa`, `ppca`, …).
    public var kind: String {
        switch self {
        case .gaussianMixture: return "gmm"
        case .linearGaussian(let m): return m.noise == .diagonal ? "fa" : "ppca"
        case .hiddenMarkov: return "hmm"
        case .variationalAutoencoder: return "vae"
        case .autoencoder: return "autoencoder"
        case .linearDynamical: return "lds"
        case .bayesianMixture: return "bayesian-gmm"
        case .restrictedBoltzmann: return "rbm"
        case .deepBelief: return "dbn"
        }
    }

    /// The model behind the case, for code that works through its capabilities: cast it to
    /// ``RowScoring``, ``RowSampling`` or ``FeatureExtracting``.
    public var base: any LatentVariableModel {
        switch self {
        case .gaussianMixture(let m): return m
        case .linearGaussian(let m): return m
        case .hiddenMarkov(let m): return m
        case .variationalAutoencoder(let m): return m
        case .autoencoder(let m): return m
        case .linearDynamical(let m): return m
        case .bayesianMixture(let m): return m
        case .restrictedBoltzmann(let m): return m
        case .deepBelief(let m): return m
        }
    }

    /// The preprocessing a network applies to raw data before it scores or encodes it (nil for
    /// the models that take data as they are).
    public var preprocessing: Preprocessing? {
        switch self {
        case .variationalAutoencoder(let m): return m.preprocessing
        case .autoencoder(let m): return m.preprocessing
        case .restrictedBoltzmann(let m): return m.preprocessing
        case .deepBelief(let m): return m.preprocessing
        default: return nil
        }
    }

    /// Number of free parameters.
    public var parameterCount: Int { base.parameterCount }

    /// Number of data columns the model describes.
    public var dimension: Int { base.dimension }
}

/// A summary of how a saved model was fitted. It holds no timings or timestamps, so the same data,
/// settings and seed give a byte-identical file.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var logLikelihood: Double
    public var count: Int
    public var iterations: Int
    public var converged: Bool
    public var seed: UInt64
    public var settings: [String: String]
    /// The total log-likelihood (the evidence lower bound for a variational mixture) of the start
    /// and after each iteration of the final run, or for networks the training objective per epoch
    /// times the rows; absent in files written before it was kept.
    public var history: [Double]?
    /// For a model chosen by `latent select`: every candidate's BIC and ICL (absent otherwise).
    public var selection: [SelectionEntry]?

    /// One candidate of a model selection: its size and type, and its criteria (nil when the fit failed or collapsed).
    public struct SelectionEntry: Codable, Equatable, Sendable {
        public var components: Int
        public var covariance: CovarianceType
        public var bic: Double?
        /// BIC plus twice the entropy of the responsibilities, `−2 Σᵢ Σₖ rᵢₖ log rᵢₖ` (Biernacki, Celeux &
        /// Govaert 2000): it penalises overlapping clusters.
        public var icl: Double?

        public init(components: Int, covariance: CovarianceType, bic: Double?, icl: Double?) {
            self.components = components
            self.covariance = covariance
            self.bic = bic
            self.icl = icl
        }
    }

    public init(logLikelihood: Double, count: Int, iterations: Int, converged: Bool, seed: UInt64, settings: [String: String] = [:],
                history: [Double]? = nil, selection: [SelectionEntry]? = nil) {
        self.logLikelihood = logLikelihood
        self.count = count
        self.iterations = iterations
        self.converged = converged
        self.seed = seed
        self.settings = settings
        self.history = history
        self.selection = selection
    }
}

/// A model with the names of the columns it was fitted on and how it was fitted, as stored on disk.
///
/// Files are versioned JSON (`"format": "latent-model", "version": 2`), written atomically.
/// Reading rejects corrupt files, files of another format and files from a newer version, with a
/// message that names the file.
public struct ModelFile: Equatable, Sendable {
    /// The current file-format version. 2: VAE and autoencoder weights are stored `[outputs, inputs]`
    /// as PyTorch's `Linear` holds them (version 1 stored the transpose; both are read).
    public static let version = 2

    public var model: LatentModel
    public var columns: [String]
    public var training: TrainingSummary?

    public init(model: LatentModel, columns: [String], training: TrainingSummary? = nil) {
        precondition(columns.count == model.dimension, "One column name per model dimension")
        self.model = model
        self.columns = columns
        self.training = training
    }

    /// The file's bytes: pretty-printed JSON with sorted keys (safetensors for a VAE).
    public func encoded() throws -> Data {
        if case .variationalAutoencoder(let m) = model {
            return try VariationalAutoencoderFile.encode(m, columns: columns, training: training)
        }
        if case .autoencoder(let m) = model {
            return try VariationalAutoencoderFile.encode(m, columns: columns, training: training)
        }
        if case .restrictedBoltzmann(let m) = model {
            return try RestrictedBoltzmannMachineFile.encode(m, columns: columns, training: training)
        }
        if case .deepBelief(let m) = model {
            return try RestrictedBoltzmannMachineFile.encode(m, columns: columns, training: training)
        }
        let envelope = Envelope(format: Envelope.formatName, version: Self.version, model: model.kind,
                                columns: columns, training: training, gaussianMixture: gaussianMixtureParameters,
                                linearGaussian: linearGaussianParameters, hiddenMarkov: hiddenMarkovParameters,
                                linearDynamical: linearDynamicalParameters, bayesianMixture: bayesianMixtureParameters)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data: Data
        do { data = try encoder.encode(envelope) } catch EncodingError.invalidValue {
            throw ModelError.fitFailed("the model has a parameter that is not a finite number (the fit diverged); nothing was written. Try fewer components or factors, or a larger regularisation")
        }
        data.append(0x0A)
        return data
    }

    /// Writes the file atomically: a failed write leaves any existing file untouched.
    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// Reads a model file.
    /// - Throws: `DataError` naming `path` for a missing, corrupt, foreign or newer-version file.
    public static func read(path: String) throws -> ModelFile {
        let data = try FileBytes.read(path)
        return try decode(data, source: path)
    }

    /// Decodes a model file's bytes; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> ModelFile {
        func corrupt(_ why: String) -> DataError {
            .corrupt(path: source, reason: "not a valid Latent model file (\(why)); refit the model or restore the file")
        }
        guard !data.isEmpty else { throw corrupt("the file is empty") }
        if SafeTensors.looksLike(data) {
            let (tensors, metadata) = try SafeTensors.decode(data, source: source)
            if metadata["model"] == "rbm" || metadata["model"] == "dbn" { return try RestrictedBoltzmannMachineFile.decode(tensors: tensors, metadata: metadata, source: source) }
            return try VariationalAutoencoderFile.decode(tensors: tensors, metadata: metadata, source: source)
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw corrupt("not JSON with format, version and model keys")
        }
        guard header.format == Envelope.formatName else { throw corrupt("format is '\(header.format)'") }
        guard header.version <= version else {
            throw DataError.unsupportedFormat(path: source, reason: "model file version \(header.version) was written by a newer Latent; this build reads version \(version) and older. Upgrade Latent")
        }
        guard header.version >= 1 else { throw corrupt("version \(header.version)") }
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: data) } catch let error as DecodingError {
            throw corrupt(describe(error))
        }
        let model: LatentModel
        do {
            switch envelope.model {
            case "gmm":
                guard let p = envelope.gaussianMixture else { throw corrupt("no gaussianMixture parameters") }
                model = .gaussianMixture(try p.makeModel())
            case "fa", "ppca":
                guard let p = envelope.linearGaussian else { throw corrupt("no linearGaussian parameters") }
                let m = try p.makeModel()
                guard (m.noise == .diagonal) == (envelope.model == "fa") else { throw corrupt("noise '\(p.noise.rawValue)' does not match model '\(envelope.model)'") }
                model = .linearGaussian(m)
            case "hmm":
                guard let p = envelope.hiddenMarkov else { throw corrupt("no hiddenMarkov parameters") }
                model = .hiddenMarkov(try p.makeModel())
            case "bayesian-gmm":
                guard let p = envelope.bayesianMixture else { throw corrupt("no bayesianMixture parameters") }
                model = .bayesianMixture(try p.makeModel())
            case "lds":
                guard let p = envelope.linearDynamical else { throw corrupt("no linearDynamical parameters") }
                model = .linearDynamical(try p.makeModel())
            default:
                throw DataError.unsupportedFormat(path: source, reason: "model kind '\(envelope.model)' is unknown to this build of Latent")
            }
        } catch let error as ModelError {
            throw corrupt(error.description)
        }
        guard envelope.columns.count == model.dimension else {
            throw corrupt("\(envelope.columns.count) column names for a \(model.dimension)-dimensional model")
        }
        return ModelFile(model: model, columns: envelope.columns, training: envelope.training)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "bad value at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "the top level" : p
    }

    private var gaussianMixtureParameters: GaussianMixtureParameters? {
        if case .gaussianMixture(let m) = model { return GaussianMixtureParameters(m) }
        return nil
    }

    private var linearGaussianParameters: LinearGaussianParameters? {
        if case .linearGaussian(let m) = model { return LinearGaussianParameters(m) }
        return nil
    }

    private var hiddenMarkovParameters: HiddenMarkovModelParameters? {
        if case .hiddenMarkov(let m) = model { return HiddenMarkovModelParameters(m) }
        return nil
    }

    private var bayesianMixtureParameters: BayesianGaussianMixtureParameters? {
        if case .bayesianMixture(let m) = model { return BayesianGaussianMixtureParameters(m) }
        return nil
    }

    private var linearDynamicalParameters: LinearDynamicalSystemParameters? {
        if case .linearDynamical(let m) = model { return LinearDynamicalSystemParameters(m) }
        return nil
    }

    private struct Header: Decodable {
        var format: String
        var version: Int
        var model: String
    }

    private struct Envelope: Codable {
        static let formatName = "latent-model"
        var format: String
        var version: Int
        var model: String
        var columns: [String]
        var training: TrainingSummary?
        var gaussianMixture: GaussianMixtureParameters?
        var linearGaussian: LinearGaussianParameters?
        var hiddenMarkov: HiddenMarkovModelParameters?
        var linearDynamical: LinearDynamicalSystemParameters?
        var bayesianMixture: BayesianGaussianMixtureParameters?
    }
}
