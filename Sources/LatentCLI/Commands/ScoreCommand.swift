import ArgumentParser
import Latent

/// `latent score`: log p(x) per row, or a summary.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Log-likelihood log p(x) of each row (of each sequence for HMMs) under a model (CSV), or a summary with --json."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores
    @Option(name: .long, help: "Hidden Markov models: a column whose value changes between sequences (default: the one used in fitting, if present).")
    var sequenceColumn: String?
    @Option(name: .long, help: "VAEs: elbo, iwae (importance sampling with q(z|x), the default) or naive-mc (z from the prior). RBMs: exact (sum over the smaller layer, the default when it has at most 24 units) or ais (annealed importance sampling).")
    var estimator: ScoreEstimator?
    @Option(name: .long, parsing: .unconditional, help: "RBMs: independent annealing runs of --estimator ais.")
    var aisRuns: Int = 100
    @Option(name: .long, parsing: .unconditional, help: "RBMs: intermediate distributions of each annealing run (Salakhutdinov & Murray's 14,500 by default).")
    var aisSteps: Int = 14_500
    @Option(name: .long, parsing: .unconditional, help: "VAEs: samples per example. Deep belief networks: draws of the hidden layers per example for the lower bound.")
    var samples: Int = 100
    @Option(name: .long, help: "VAEs: seed of the samples.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "VAEs: the arithmetic of the decoder's output layer: fp32; bf16 (operands rounded to bfloat16, sums in single precision: twice as fast where the CPU has AVX-512 BF16, fp32 elsewhere); or auto, the default (bf16 for Bernoulli decoders, fp32 for Gaussian ones). --json names the one that ran.")
    var precision: ScoringPrecision = .automatic
    @Option(name: .long, help: "VAEs: also optimise each example's own q(z|x) for this many Adam steps with the decoder fixed, and report the ELBO gained over the encoder (the amortisation gap).")
    var refineSteps: Int = 0
    @OptionGroup var output: OutputOptions
    @OptionGroup var memory: MemoryOptions

    /// VAEs: a Monte Carlo estimate of log p(x) per example (CSV), or the summary.
    func scoreVAE(_ m: VariationalAutoencoder<Float>, file: ModelFile) throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard refineSteps >= 0 else { throw ValidationError("--refine-steps must be non-negative") }
        // Each thread holds one pass of draws (VariationalAutoencoder.scoringPassRows, 256 for
        // MNIST): their noise, every layer's outputs and the decoder's reconstruction (4-byte
        // floats); and a log-weight (8 bytes) for every draw of its block of rows.
        let width = 3 * m.latentSize + m.encoder.layers.reduce(0) { $0 + $1.outputs } + m.decoder.layers.reduce(0) { $0 + $1.outputs } + m.dimension
        let passRows = VariationalAutoencoder<Float>.scoringPassRows(dimension: m.dimension)
        try memory.budget.require(MemoryBudget.sum(MemoryBudget.product(passRows, width, 4, 2, max(1, threads)),
                                                   MemoryBudget.product(max(samples, 4 * passRows), 8, max(1, threads))),
                                  for: "--samples \(samples) (\(width) values per sample, \(threads) threads)")
        let table = try dataOptions.load(quiet: output.quiet)
        let raw = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        try table.requireComplete()
        let x: Matrix<Float> = m.preprocessing.apply(raw)
        let chosen = estimator ?? .iwae
        guard let estimator = chosen.vae else {
            throw ValidationError("--estimator \(chosen.rawValue) is for RBMs; a VAE is scored with elbo, iwae or naive-mc")
        }
        let (estimate, seconds) = Console.timed { m.estimateLogLikelihood(x, estimator: estimator, samples: samples, seed: seed, threads: threads, precision: precision) }
        try requireFinite(estimate.perExample, model: "vae")
        if output.json {
            var o = likelihoodSummary(model: "vae", logLikelihood: estimate.perExample.reduce(0, +), count: x.rows,
                                      parameters: m.parameterCount, iterations: file.training?.iterations,
                                      converged: file.training?.converged, seconds: seconds)
            o["estimator"] = .string(estimator.rawValue)
            o["samples"] = .integer(samples)
            o["standardError"] = .number(estimate.standardError)
            o["precision"] = .string(estimate.precision.rawValue)
            if refineSteps > 0 {
                let report = m.refinePosteriors(x, steps: refineSteps, seed: seed &+ 1)
                o["refineSteps"] = .integer(refineSteps)
                o["amortizedELBO"] = .number(report.amortizedELBO)
                o["refinedELBO"] = .number(report.refinedELBO)
                o["amortizationGap"] = .number(report.gap)
                o["refineSeconds"] = .number(report.seconds)
            }
            Console.printJSON(o)
        } else {
            Console.printCSV(header: ["logLikelihood"], rows: Matrix(rows: x.rows, columns: 1, storage: estimate.perExample))
        }
    }

    /// Hidden Markov models: log p(x) of each sequence (CSV), or the summary.
    func scoreSequences(_ m: AnyHiddenMarkovModel, file: ModelFile) throws {
        let (x, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn)
        try m.validate(x)
        let (perSequence, seconds) = Console.timed { m.sequenceLogLikelihoods(of: x, sequences: sequences, threads: threads) }
        try requireFinite(perSequence, each: "sequence", model: "hmm")
        if output.json {
            var o = likelihoodSummary(model: "hmm", logLikelihood: perSequence.reduce(0, +), count: x.rows,
                                      parameters: m.parameterCount, iterations: file.training?.iterations,
                                      converged: file.training?.converged, seconds: seconds)
            o["sequences"] = .integer(sequences.count)
            Console.printJSON(o)
        } else {
            Self.printSequenceScores(perSequence, sequences: sequences)
        }
    }

    /// CSV of each sequence's number, length and log-likelihood.
    static func printSequenceScores(_ perSequence: [Double], sequences: [SequenceRange]) {
        var rows = Matrix<Double>(rows: sequences.count, columns: 3)
        for (s, r) in sequences.enumerated() { rows[s, 0] = Double(s); rows[s, 1] = Double(r.count); rows[s, 2] = perSequence[s] }
        Console.printCSV(header: ["sequence", "length", "logLikelihood"], rows: rows)
    }

    /// Linear dynamical systems: log p(y) of each sequence by the Kalman filter (CSV), or the summary.
    func scoreStateSpace(_ file: ModelFile) throws {
        let (m, y, sequences) = try stateSpaceData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn, quiet: output.quiet)
        let (perSequence, seconds) = try Console.timed { try m.sequenceLogLikelihoods(of: y, sequences: sequences) }
        try requireFinite(perSequence, each: "sequence", model: "lds")
        if output.json {
            var o = likelihoodSummary(model: "lds", logLikelihood: perSequence.reduce(0, +), count: y.rows,
                                      parameters: m.parameterCount, iterations: file.training?.iterations,
                                      converged: file.training?.converged, seconds: seconds)
            o["estimator"] = .string("exact")
            o["sequences"] = .integer(sequences.count)
            o["missingValues"] = .integer(y.missingCount)
            Console.printJSON(o)
        } else {
            Self.printSequenceScores(perSequence, sequences: sequences)
        }
    }

    /// RBMs: log p(x) = −F(x) − log Z per row (CSV), or the summary with log Z and its error.
    func scoreRBM(_ m: RestrictedBoltzmannMachine, file: ModelFile) throws {
        let x = try boltzmannData(m.preprocessing, units: m.visibleUnits, file: file)
        let (partition, seconds) = try Console.timed { try partitionFunction(m) }
        let perRow = m.logLikelihoods(of: x, logPartition: partition.logPartition)
        try printBoltzmannScores(perRow, rowErrors: nil, partition: partition, model: "rbm", parameters: m.parameterCount, file: file, seconds: seconds)
    }

    /// Deep belief networks: the variational lower bound on log p(x) per row (CSV), or the summary.
    func scoreDBN(_ m: DeepBeliefNetwork, file: ModelFile) throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        let x = try boltzmannData(m.preprocessing, units: m.layers[0].visibleUnits, file: file)
        let top = m.layers[m.layers.count - 1]
        let ((partition, bounds), seconds) = try Console.timed {
            let partition = try partitionFunction(top)
            var rng = Xoshiro256StarStar(seed: seed &+ 1)
            return (partition, m.lowerBounds(of: x, topLogPartition: partition.logPartition, samples: samples, using: &rng))
        }
        try printBoltzmannScores(bounds.bounds, rowErrors: bounds.standardErrors, partition: partition, model: "dbn",
                                 parameters: m.parameterCount, file: file, seconds: seconds)
    }

    /// The data an RBM or DBN scores: the model's columns, complete, preprocessed, in [0, 1] for Bernoulli visibles.
    private func boltzmannData(_ preprocessing: Preprocessing, units: RestrictedBoltzmannMachine.VisibleUnits, file: ModelFile) throws -> Matrix<Float> {
        let table = try dataOptions.load(quiet: output.quiet)
        let raw = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()
        let x: Matrix<Float> = preprocessing.apply(raw)
        if units == .bernoulli, let i = x.elements.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw ValidationError("row \(i / x.columns + 1) of \(dataOptions.data) holds \(x.elements[i]) after the model's preprocessing; Bernoulli visible units score values in [0, 1]")
        }
        return x
    }

    /// log Z of an RBM by the chosen estimator (exact when the smaller layer has at most 24 units, by default).
    private func partitionFunction(_ m: RestrictedBoltzmannMachine) throws -> PartitionEstimate {
        let chosen = estimator ?? (m.hasExactPartition ? .exact : .ais)
        guard chosen == .exact || chosen == .ais else {
            throw ValidationError("--estimator \(chosen.rawValue) is for VAEs; an RBM or DBN is scored with exact or ais")
        }
        guard aisRuns >= 2, aisSteps >= 3 else { throw ValidationError("--ais-runs must be at least 2 and --ais-steps at least 3") }
        if chosen == .exact { return .exact(try m.logPartition(threads: threads)) }
        return try m.estimateLogPartition(options: AISOptions(runs: aisRuns, steps: aisSteps, seed: seed))
    }

    /// CSV of per-row values, or the summary: the rows' spread, each row's Monte Carlo error (a DBN's
    /// bound) and the error of log Ẑ (shared by every row) add in quadrature in `standardError`.
    private func printBoltzmannScores(_ perRow: [Double], rowErrors: [Double]?, partition: PartitionEstimate, model: String,
                                      parameters: Int, file: ModelFile, seconds: Double) throws {
        try requireFinite(perRow, model: model)
        guard output.json else {
            Console.printCSV(header: [model == "dbn" ? "logLikelihoodLowerBound" : "logLikelihood"],
                             rows: Matrix(rows: perRow.count, columns: 1, storage: perRow))
            return
        }
        let n = Double(perRow.count), mean = perRow.reduce(0, +) / n
        let rowVariance = perRow.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, n - 1)
        let monteCarlo = (rowErrors ?? []).reduce(0) { $0 + $1 * $1 } / (n * n)
        var o = likelihoodSummary(model: model, logLikelihood: perRow.reduce(0, +), count: perRow.count, parameters: parameters,
                                  iterations: file.training?.iterations, converged: file.training?.converged, seconds: seconds)
        o["estimator"] = .string(model == "dbn" ? "lower-bound (top RBM log Z: \(partition.method))" : partition.method)
        o["standardError"] = .number((rowVariance / n + monteCarlo + partition.standardError * partition.standardError).squareRoot())
        o["logPartition"] = .number(partition.logPartition)
        o["logPartitionStandardError"] = .number(partition.standardError)
        o["logPartitionLowerBound"] = .number(partition.lowerBound)
        o["logPartitionUpperBound"] = .number(partition.upperBound)
        if partition.method == "ais" {
            o["aisRuns"] = .integer(partition.runs)
            o["aisSteps"] = .integer(partition.steps)
        }
        if model == "dbn" { o["samples"] = .integer(samples) }
        Console.printJSON(o)
    }

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        if case .restrictedBoltzmann(let m) = file.model {
            try scoreRBM(m, file: file)
            return
        }
        if case .deepBelief(let m) = file.model {
            try scoreDBN(m, file: file)
            return
        }
        if case .hiddenMarkov(let m) = file.model {
            try scoreSequences(m, file: file)
            return
        }
        if case .variationalAutoencoder(let m) = file.model {
            try scoreVAE(m, file: file)
            return
        }
        if case .linearDynamical = file.model {
            try scoreStateSpace(file)
            return
        }
        if case .autoencoder(let m) = file.model {
            // No prior: the score is the reconstruction log-likelihood log p(x | decode(encode(x))).
            let table = try dataOptions.load(quiet: output.quiet)
            let x: Matrix<Float> = m.preprocessing.apply(try prepare(table, for: file, explicit: dataOptions.columns != nil))
            let (perRow, seconds) = Console.timed { m.reconstructionLogLikelihoods(of: x).map(Double.init) }
            try requireFinite(perRow, model: "autoencoder")
            if output.json {
                var o = likelihoodSummary(model: "autoencoder", logLikelihood: perRow.reduce(0, +), count: x.rows, parameters: m.parameterCount,
                                          iterations: file.training?.iterations, converged: file.training?.converged, seconds: seconds)
                o["estimator"] = .string("reconstruction")
                Console.printJSON(o)
            } else {
                Console.printCSV(header: ["reconstructionLogLikelihood"], rows: Matrix(rows: perRow.count, columns: 1, storage: perRow))
            }
            return
        }
        guard let scorer = file.model.base as? any RowScoring else {
            throw ValidationError("a \(file.model.kind) model has no closed-form log-likelihood per row")
        }
        let table = try dataOptions.load(quiet: output.quiet)
        let x = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        if !scorer.integratesMissingValues {
            // The variational mixture's predictive is scored on whole rows only.
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()
        }
        let (perRow, seconds) = Console.timed { scorer.logLikelihoods(of: x, threads: threads) }
        try requireFinite(perRow, model: file.model.kind)
        if output.json {
            let total = perRow.reduce(0, +)
            var o = likelihoodSummary(model: file.model.kind, logLikelihood: total, count: x.rows,
                                      parameters: file.model.parameterCount, iterations: file.training?.iterations,
                                      converged: file.training?.converged, seconds: seconds)
            o["minLogLikelihood"] = .number(perRow.min() ?? .nan)
            o["maxLogLikelihood"] = .number(perRow.max() ?? .nan)
            o["missingValues"] = .integer(x.missingCount)
            Console.printJSON(o)
        } else {
            Console.printCSV(header: ["logLikelihood"], rows: Matrix(rows: perRow.count, columns: 1, storage: perRow))
        }
    }
}

/// The log-likelihood estimators `latent score --estimator` accepts, across model families.
enum ScoreEstimator: String, ExpressibleByArgument, CaseIterable {
    case elbo, iwae, naiveMC = "naive-mc", exact, ais

    /// The VAE estimator of the same name, if there is one.
    var vae: LogLikelihoodEstimator? { LogLikelihoodEstimator(rawValue: rawValue) }
}
