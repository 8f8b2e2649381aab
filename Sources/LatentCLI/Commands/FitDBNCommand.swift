import ArgumentParser
import Foundation
import Latent

/// `latent fit dbn`: a deep belief network trained greedily, one RBM per layer.
struct FitDBNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dbn",
        abstract: "Train a deep belief network: RBMs stacked greedily, each on the hidden probabilities of the one below.",
        discussion: """
        Every layer is trained with the same options (--epochs per layer). The model is written as safetensors: \
        layers.l.weight [hidden, visible], layers.l.visible_bias, layers.l.hidden_bias. `latent score` gives the \
        variational lower bound on log p(x) with the top RBM's log Z exact or by AIS.
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Threshold the (scaled) data at 0.5.")
    var binarize = false
    @Option(name: .long, help: "Hidden units per layer from the bottom, comma-separated (e.g. 500,2000).")
    var layers: String
    @Option(name: .long, help: "Visible units of the first layer: bernoulli or gaussian (unit variance, for standardised columns).")
    var visible: RestrictedBoltzmannMachine.VisibleUnits = .bernoulli
    @OptionGroup var training: RBMTrainingArguments
    @Option(name: .long, help: "Where to write the model (safetensors).")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        _ = try parseWidths(layers, option: "--layers")
        try Console.checkOutput(output, inputs: [("data file", dataOptions.data)])
    }

    func run() throws {
        BLAS.setThreads(1)
        let widths = try parseWidths(layers, option: "--layers")
        let (table, preprocessing, x) = try loadNetworkData(dataOptions, binarize: binarize, bernoulli: visible == .bernoulli,
                                                            quiet: outputOptions.quiet, gaussianOption: "--visible gaussian")
        let ((network, history), seconds) = try Console.timed {
            try DeepBeliefNetwork.train(on: x, widths: widths, visibleUnits: visible, preprocessing: preprocessing,
                                        options: training.options(quiet: outputOptions.quiet, seedOffset: 0))
        }
        let settings = ["method": training.methodName, "epochs": String(training.epochs), "layers": layers,
                        "visibleUnits": visible.rawValue, "learningRate": "\(training.learningRate)"]
        let summary = TrainingSummary(logLikelihood: 0, count: x.rows, iterations: training.epochs * widths.count, converged: true,
                                      seed: training.seed, settings: settings)
        try ModelFile(model: .deepBelief(network), columns: table.columnNames, training: summary).write(to: output)
        var o = JSONObject()
        o["model"] = .string("dbn")
        o["n"] = .integer(x.rows)
        o["parameters"] = .integer(network.parameterCount)
        o["layers"] = .array(widths.map { .integer($0) })
        o["method"] = .string(training.methodName)
        o["epochs"] = .integer(training.epochs)
        o["reconstructionErrorByLayer"] = .numbers(history.map { $0.last!.reconstructionError })
        o["seconds"] = .number(seconds)
        o["output"] = .string(output)
        if outputOptions.json {
            Console.printJSON(o)
        } else {
            Console.print("Deep belief network \(x.columns)-\(layers) (\(training.methodName), \(training.epochs) epochs per layer, \(Console.number(seconds, 3)) s); `latent score` gives its lower bound on log p(x)\n")
        }
    }
}
