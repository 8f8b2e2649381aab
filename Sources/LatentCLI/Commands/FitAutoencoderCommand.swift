import ArgumentParser
import Foundation
import Latent

/// `latent fit autoencoder`: a plain deterministic autoencoder from the VAE's parts.
struct FitAutoencoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoencoder",
        abstract: "Train a deterministic autoencoder (encoder to a code, decoder back) on the reconstruction log-likelihood.",
        discussion: "Same data handling and files as `latent fit vae`; an autoencoder has no prior, so it gives codes (transform) and reconstruction scores, not log p(x) or samples."
    )

    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Threshold the (scaled) data at 0.5.")
    var binarize = false
    @Option(name: .long, parsing: .unconditional, help: "Code dimension.")
    var latent: Int = 20
    @Option(name: .long, help: "Hidden widths, comma-separated (the decoder mirrors them).")
    var hidden: String = "400"
    @Option(name: .long, help: "Reconstruction likelihood: bernoulli or gaussian (fixed variance --variance).")
    var likelihood: LikelihoodChoice = .bernoulli
    @Option(name: .long, help: "Gaussian likelihood: its fixed variance.")
    var variance: Double = 1
    @Option(name: .long, parsing: .unconditional, help: "Training epochs.")
    var epochs: Int = 10
    @Option(name: .long, help: "Mini-batch size.")
    var batchSize: Int = 100
    @Option(name: .long, help: "Learning rate.")
    var learningRate: Double = 1e-3
    @Option(name: .long, help: "Optimiser: adam or sgd.")
    var optimizer: OptimizerKind = .adam
    @Option(name: .long, help: "Seed of the initial weights and the shuffling.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Where to write the model (safetensors).")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard latent >= 1, epochs >= 1, batchSize >= 1 else { throw ValidationError("--latent, --epochs and --batch-size must be at least 1") }
        guard learningRate > 0, variance > 0 else { throw ValidationError("--learning-rate and --variance must be positive") }
        _ = try parseWidths(hidden)
        try Console.checkOutput(output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        let (table, preprocessing, x) = try loadNetworkData(dataOptions, binarize: binarize, bernoulli: likelihood == .bernoulli, quiet: outputOptions.quiet)
        var rng = Xoshiro256StarStar(seed: seed)
        var model = Autoencoder<Float>(dimension: x.columns, code: latent, hidden: try parseWidths(hidden),
                                       likelihood: likelihood == .bernoulli ? .bernoulli : .gaussianFixed(variance: variance),
                                       preprocessing: preprocessing, using: &rng)
        var options = VAETrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.optimizer = optimizer
        options.seed = seed &+ 1
        let quiet = outputOptions.quiet, total = epochs
        options.progress = { r in
            if !quiet { Console.note(String(format: "epoch %d/%d  reconstruction log-likelihood %.3f per example  %.0f examples/s", r.epoch, total, r.meanObjective, r.examplesPerSecond)) }
        }
        let (reports, seconds) = Console.timed { model.train(on: x, options: options) }
        let final = reports.last!.meanObjective
        let training = TrainingSummary(logLikelihood: final * Double(x.rows), count: x.rows, iterations: epochs, converged: true, seed: seed,
                                       settings: ["epochs": String(epochs), "hidden": hidden, "latent": String(latent)])
        try ModelFile(model: .autoencoder(model), columns: table.columnNames, training: training).write(to: output)
        var o = likelihoodSummary(model: "autoencoder", logLikelihood: final * Double(x.rows), count: x.rows, parameters: model.parameterCount,
                                  iterations: epochs, converged: true, seconds: seconds)
        o["estimator"] = .string("reconstruction log-likelihood (training average over the last epoch; not log p(x))")
        o["epochs"] = .integer(epochs)
        o["output"] = .string(output)
        if outputOptions.json { Console.printJSON(o) } else {
            Console.print("Autoencoder \(x.columns)-\(hidden)-\(latent): reconstruction log-likelihood \(Console.number(final)) per example after \(epochs) epochs\n")
        }
    }
}

/// Comma-separated positive widths.
func parseWidths(_ text: String, option: String = "--hidden") throws -> [Int] {
    let widths = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("\(option) '\(text)': give positive widths like 400 or 400,200") }
    return widths.map { $0! }
}

/// Loads data for a network: IDX pixels scaled to [0, 1], optional binarisation, a [0, 1] check for Bernoulli.
func loadNetworkData(_ dataOptions: DataOptions, binarize: Bool, bernoulli: Bool, quiet: Bool,
                     gaussianOption: String = "--likelihood gaussian") throws -> (DataTable, Preprocessing, Matrix<Float>) {
    let table = try dataOptions.load(quiet: quiet)
    try table.requireComplete()
    let preprocessing = Preprocessing(scale: DataLoader.isIDX(dataOptions.data) ? 1.0 / 255 : 1, binarizeThreshold: binarize ? 0.5 : nil)
    if let problem = preprocessing.mismatch(with: table.values) {
        throw CommandLineError(description: "\(table.source): \(problem)")
    }
    let x: Matrix<Float> = preprocessing.apply(table.values)
    if bernoulli, let bad = x.elements.first(where: { $0 < 0 || $0 > 1 }) {
        throw ValidationError("a Bernoulli likelihood needs data in [0, 1]; found \(bad). Use --binarize, scale the data, or \(gaussianOption)")
    }
    return (table, preprocessing, x)
}
