import ArgumentParser
import Foundation
import Latent

enum LikelihoodChoice: String, ExpressibleByArgument, CaseIterable { case bernoulli, gaussian }
enum ObjectiveChoice: String, ExpressibleByArgument, CaseIterable { case elbo, iwae }

/// `latent fit vae`: a variational autoencoder trained by stochastic gradient ascent on the ELBO or
/// the IWAE bound.
struct FitVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Train a variational autoencoder (encoder q(z|x), decoder p(x|z), reparameterisation, closed-form KL).",
        discussion: """
        IDX pixels are scaled to [0, 1]; --binarize thresholds at 0.5. The preprocessing is stored in the \
        model and reapplied by score, transform and sample, which take the raw file. The model is written \
        as safetensors (weights readable by PyTorch/NumPy; architecture in the metadata).
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Threshold the (scaled) data at 0.5.")
    var binarize = false
    @Option(name: .long, parsing: .unconditional, help: "Latent dimension.")
    var latent: Int = 20
    @Option(name: .long, help: "Hidden widths, comma-separated (the decoder mirrors them).")
    var hidden: String = "400"
    @Option(name: .long, help: "Decoder likelihood: bernoulli or gaussian.")
    var likelihood: LikelihoodChoice = .bernoulli
    @Option(name: .long, help: "Gaussian likelihood: a fixed variance σ² (default: one learned variance per dimension).")
    var variance: Double?
    @Option(name: .long, parsing: .unconditional, help: "Training epochs.")
    var epochs: Int = 10
    @Option(name: .long, help: "Mini-batch size.")
    var batchSize: Int = 100
    @Option(name: .long, help: "Adam learning rate.")
    var learningRate: Double = 1e-3
    @Option(name: .long, help: "Optimiser: adam or sgd.")
    var optimizer: OptimizerKind = .adam
    @Option(name: .long, help: "Training objective: elbo or iwae.")
    var objective: ObjectiveChoice = .elbo
    @Option(name: .long, help: "Importance samples for --objective iwae.")
    var iwaeSamples: Int = 5
    @Option(name: .long, parsing: .unconditional, help: "Weight β of the KL term in the ELBO.")
    var beta: Double = 1
    @Option(name: .long, help: "Seed of the initial weights, the shuffling and the noise.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Cores for the network products (default: all).")
    var threads: Int = availableCores
    @Option(name: .long, help: "Where to write the model (safetensors).")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func hiddenWidths() throws -> [Int] { try parseWidths(hidden) }

    func validate() throws {
        guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be a non-negative number (the weight of the KL term; 1 gives the ELBO)") }
        _ = try hiddenWidths()
        guard latent >= 1, epochs >= 1, batchSize >= 1, iwaeSamples >= 1, threads >= 1 else {
            throw ValidationError("--latent, --epochs, --batch-size, --iwae-samples and --threads must be at least 1")
        }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        if let variance, !(variance > 0) { throw ValidationError("--variance must be positive") }
        try Console.checkOutput(output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        let (table, preprocessing, x) = try loadNetworkData(dataOptions, binarize: binarize, bernoulli: likelihood == .bernoulli,
                                                            quiet: outputOptions.quiet)
        if likelihood == .gaussian && variance == nil {
            // A learned variance shrinks without bound on a constant column.
            do { try DataChecks.requireSpread(table.values, names: table.columnNames, source: table.source) } catch {
                throw CommandLineError(description: "\(error) (or fix the decoder's variance with --variance)")
            }
        }
        let vaeLikelihood: VAELikelihood = likelihood == .bernoulli ? .bernoulli : (variance.map { .gaussianFixed(variance: $0) } ?? .gaussianLearned)
        var rng = Xoshiro256StarStar(seed: seed)
        var model = VariationalAutoencoder<Float>(dimension: x.columns, latent: latent, hidden: try hiddenWidths(),
                                                  likelihood: vaeLikelihood, preprocessing: preprocessing, using: &rng)
        var options = VAETrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.optimizer = optimizer
        options.objective = objective == .elbo ? .elbo(beta: beta) : .iwae(samples: iwaeSamples)
        options.seed = seed &+ 1
        options.threads = threads
        let quiet = outputOptions.quiet, total = epochs
        options.progress = { r in
            if !quiet {
                Console.note(String(format: "epoch %d/%d  %@ %.3f per example  %.0f examples/s  %.2f s",
                                    r.epoch, total, objective == .elbo ? "ELBO" : "IWAE bound", r.meanObjective, r.examplesPerSecond, r.seconds))
            }
        }
        let (reports, seconds) = Console.timed { model.train(on: x, options: options) }
        let final = reports.last!.meanObjective
        let training = TrainingSummary(logLikelihood: final * Double(x.rows), count: x.rows, iterations: epochs, converged: true, seed: seed,
                                       settings: ["objective": objective.rawValue, "epochs": String(epochs), "batchSize": String(batchSize),
                                                  "learningRate": "\(learningRate)", "hidden": hidden, "latent": String(latent)], history: reports.map { $0.meanObjective * Double(x.rows) })
        try ModelFile(model: .variationalAutoencoder(model), columns: table.columnNames, training: training).write(to: output)
        var o = likelihoodSummary(model: "vae", logLikelihood: final * Double(x.rows), count: x.rows, parameters: model.parameterCount,
                                  iterations: epochs, converged: true, seconds: seconds)
        o["estimator"] = .string(objective == .elbo ? "elbo (training average over the last epoch)" : "iwae bound (training average over the last epoch)")
        o["epochs"] = .integer(epochs)
        o["objectiveByEpoch"] = .numbers(reports.map(\.meanObjective))
        o["output"] = .string(output)
        if outputOptions.json {
            Console.printJSON(o)
        } else {
            Console.print("Variational autoencoder \(x.columns)-\(hidden)-\(latent), \(likelihood.rawValue) decoder: \(objective.rawValue) \(Console.number(final)) per example after \(epochs) epochs (\(Console.number(seconds, 3)) s)\n")
        }
    }
}

extension OptimizerKind: ExpressibleByArgument {}
extension LogLikelihoodEstimator: ExpressibleByArgument {}
