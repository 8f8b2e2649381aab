import ArgumentParser
import Foundation
import Latent

/// `latent fit rbm`: a restricted Boltzmann machine trained by contrastive divergence.
struct FitRBMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rbm",
        abstract: "Train a restricted Boltzmann machine by CD-k or persistent CD (PCD).",
        discussion: """
        IDX pixels are scaled to [0, 1]; --binarize thresholds at 0.5. Bernoulli visible units take values in \
        [0, 1]; Gaussian visible units (unit variance) expect standardised columns. The model is written as \
        safetensors in PyTorch's conventions: weight [hidden, visible], visible_bias, hidden_bias. \
        `latent score --estimator exact|ais` gives log p(x) with its error bar.
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Threshold the (scaled) data at 0.5.")
    var binarize = false
    @Option(name: .long, parsing: .unconditional, help: "Hidden units.")
    var hidden: Int
    @Option(name: .long, help: "Visible units: bernoulli or gaussian (unit variance, for standardised columns).")
    var visible: RestrictedBoltzmannMachine.VisibleUnits = .bernoulli
    @OptionGroup var training: RBMTrainingArguments
    @Option(name: .long, help: "Where to write the model (safetensors).")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1") }
        try Console.checkOutput(output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        BLAS.setThreads(1)
        let (table, preprocessing, x) = try loadNetworkData(dataOptions, binarize: binarize, bernoulli: visible == .bernoulli,
                                                            quiet: outputOptions.quiet, gaussianOption: "--visible gaussian")
        if visible == .gaussian && !outputOptions.quiet {
            for (j, name) in table.columnNames.enumerated() {
                let column = (0..<x.rows).map { Double(x[$0, j]) }
                let mean = column.reduce(0, +) / Double(x.rows)
                let sd = (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, x.rows - 1))).squareRoot()
                if abs(mean) > 0.5 || sd < 0.5 || sd > 2 {
                    Console.warn("column '\(name)' has mean \(Console.number(mean, 3)) and standard deviation \(Console.number(sd, 3)); Gaussian visible units have unit variance, so standardise the columns first")
                    break
                }
            }
        }
        var rng = Xoshiro256StarStar(seed: training.seed)
        var model = RestrictedBoltzmannMachine(visible: x.columns, hidden: hidden, visibleUnits: visible, preprocessing: preprocessing, using: &rng)
        let options = training.options(quiet: outputOptions.quiet, seedOffset: 1)
        let (history, seconds) = try Console.timed { try model.train(on: x, options: options) }
        let last = history.last!
        // The exact log-likelihood of the training rows when the smaller layer has at most 20 units.
        let smaller = visible == .bernoulli ? min(hidden, x.columns) : hidden
        let exact = smaller <= 20 ? try model.logLikelihoods(of: x, logPartition: model.logPartition()).reduce(0, +) : nil
        let methodName = training.methodName, epochs = training.epochs
        var settings = ["method": methodName, "epochs": String(epochs), "batchSize": String(training.batchSize), "learningRate": "\(training.learningRate)",
                        "hidden": String(hidden), "visibleUnits": visible.rawValue, "reconstructionError": "\(last.reconstructionError)",
                        "logLikelihoodEstimator": exact != nil ? "exact" : "none"]
        if let pl = last.pseudoLogLikelihood { settings["pseudoLogLikelihood"] = "\(pl)" }
        let pseudo = history.compactMap { $0.pseudoLogLikelihood.map { $0 * Double(x.rows) } }
        let summary = TrainingSummary(logLikelihood: exact ?? 0, count: x.rows, iterations: epochs, converged: true, seed: training.seed, settings: settings,
                                      history: pseudo.isEmpty ? nil : pseudo)
        try ModelFile(model: .restrictedBoltzmann(model), columns: table.columnNames, training: summary).write(to: output)
        var o = likelihoodSummary(model: "rbm", logLikelihood: exact ?? .nan, count: x.rows, parameters: model.parameterCount,
                                  iterations: epochs, converged: true, seconds: seconds)
        if exact == nil {
            // log Z is not enumerable here: `latent score --estimator ais` estimates it.
            for key in ["meanLogLikelihood", "logLikelihood", "bic", "aic"] { o[key] = .null }
        }
        o["estimator"] = .string(exact != nil ? "exact" : "none (use latent score --estimator ais)")
        o["method"] = .string(methodName)
        o["epochs"] = .integer(epochs)
        o["hidden"] = .integer(hidden)
        o["visibleUnits"] = .string(visible.rawValue)
        o["reconstructionError"] = .number(last.reconstructionError)
        o["reconstructionErrorByEpoch"] = .numbers(history.map(\.reconstructionError))
        // The mini-batches alone, without the per-epoch monitor (what scikit-learn's partial_fit times).
        let training = history.compactMap(\.trainingSeconds)
        o["trainingSeconds"] = .number(training.reduce(0, +))
        o["trainingSecondsByEpoch"] = .numbers(training)
        if visible == .bernoulli {
            o["pseudoLogLikelihood"] = .number(last.pseudoLogLikelihood ?? .nan)
            o["pseudoLogLikelihoodByEpoch"] = .numbers(history.compactMap(\.pseudoLogLikelihood))
        }
        o["output"] = .string(output)
        if outputOptions.json {
            Console.printJSON(o)
        } else {
            let ll = exact.map { ", exact training log-likelihood \(Console.number($0 / Double(x.rows))) per row" } ?? ""
            Console.print("Restricted Boltzmann machine \(x.columns)-\(hidden) (\(visible.rawValue) visibles, \(methodName)): reconstruction error \(Console.number(last.reconstructionError, 5))\(ll) after \(epochs) epochs (\(Console.number(seconds, 3)) s)\n")
        }
    }
}

extension RestrictedBoltzmannMachine.VisibleUnits: ExpressibleByArgument {}

/// The training options `fit rbm` and `fit dbn` share.
struct RBMTrainingArguments: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Gibbs sweeps of the negative phase (CD-k, or PCD-k with --persistent).")
    var cdSteps: Int = 1
    @Flag(name: .long, help: "Persistent contrastive divergence: chains that carry over between mini-batches.")
    var persistent = false
    @Option(name: .long, parsing: .unconditional, help: "Training epochs (per layer for a DBN).")
    var epochs: Int = 10
    @Option(name: .long, parsing: .unconditional, help: "Mini-batch size.")
    var batchSize: Int = 100
    @Option(name: .long, parsing: .unconditional, help: "Learning rate at the first epoch.")
    var learningRate: Double = 0.05
    @Option(name: .long, parsing: .unconditional, help: "The learning rate falls linearly to this fraction of itself at the last epoch (1: constant).")
    var finalLearningRate: Double = 1
    @Option(name: .long, parsing: .unconditional, help: "Momentum of the updates.")
    var momentum: Double = 0.5
    @Option(name: .long, parsing: .unconditional, help: "L2 penalty on the weights.")
    var weightDecay: Double = 1e-4
    @Option(name: .long, help: "Seed of the initial weights, the shuffling and the Gibbs sampling.")
    var seed: UInt64 = 0

    func validate() throws {
        guard cdSteps >= 1, epochs >= 1, batchSize >= 1 else { throw ValidationError("--cd-steps, --epochs and --batch-size must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must lie in [0, 1)") }
        guard weightDecay >= 0, finalLearningRate >= 0 else { throw ValidationError("--weight-decay and --final-learning-rate must be non-negative") }
    }

    var methodName: String { persistent ? "pcd-\(cdSteps)" : "cd-\(cdSteps)" }

    /// The library's options, with per-epoch progress on standard error unless `quiet`.
    func options(quiet: Bool, seedOffset: UInt64) -> RBMTrainingOptions {
        let total = epochs
        return RBMTrainingOptions(method: persistent ? .persistent(steps: cdSteps) : .contrastiveDivergence(steps: cdSteps),
                                  epochs: epochs, batchSize: batchSize, learningRate: learningRate,
                                  finalLearningRateFraction: finalLearningRate, momentum: momentum, weightDecay: weightDecay,
                                  seed: seed &+ seedOffset, progress: { e in
            if !quiet {
                let pl = e.pseudoLogLikelihood.map { String(format: "  pseudo-log-likelihood %.3f", $0) } ?? ""
                Console.note(String(format: "epoch %d/%d  reconstruction error %.5f%@  %.2f s", e.epoch, total, e.reconstructionError, pl, e.seconds))
            }
        })
    }
}
