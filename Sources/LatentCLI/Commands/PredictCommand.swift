import ArgumentParser
import Latent

/// `latent predict`: the most probable component of each row, or all posterior probabilities.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Cluster labels (0-based component of highest posterior probability), or p(z|x) with --probabilities."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Print the responsibilities p(z = k | x), one column per component.")
    var probabilities = false
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        let table = try dataOptions.load()
        let x = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        switch file.model {
        case .gaussianMixture(let m):
            if probabilities {
                let r = m.responsibilities(for: x, threads: threads)
                Console.printCSV(header: (0..<m.componentCount).map { "p\($0)" }, rows: r)
            } else {
                let labels = m.predict(x, threads: threads)
                Console.printCSV(header: ["component"], rows: Matrix(rows: labels.count, columns: 1, storage: labels.map(Double.init)))
            }
        case .bayesianMixture(let m):
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()   // the predictive needs whole rows
            if probabilities {
                Console.printCSV(header: (0..<m.componentCount).map { "p\($0)" }, rows: m.predictiveResponsibilities(x))
            } else {
                let labels = m.predict(x)
                Console.printCSV(header: ["component"], rows: Matrix(rows: labels.count, columns: 1, storage: labels.map(Double.init)))
            }
        case .restrictedBoltzmann, .deepBelief:
            throw ValidationError("predict assigns clusters; an RBM or a deep belief network has none. Use `latent transform` for its hidden-unit probabilities")
        case .variationalAutoencoder, .autoencoder:
            throw ValidationError("predict assigns clusters; a VAE has none. Use `latent transform` for its latent means")
        case .hiddenMarkov:
            throw ValidationError("predict assigns clusters; for a hidden Markov model use `latent decode`")
        case .linearGaussian:
            throw ValidationError("predict assigns clusters; a \(file.model.kind) model has none. Use `latent transform` for its latent factors")
        case .linearDynamical:
            throw ValidationError("predict assigns clusters; a linear dynamical system has none. Use `latent smooth` or `latent filter` for its states, `latent forecast` for future values")
        }
    }
}
