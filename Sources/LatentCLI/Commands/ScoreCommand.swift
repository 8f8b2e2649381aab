import ArgumentParser
import Latent

/// `latent score`: log p(x) per row, or a summary.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Log-likelihood log p(x) of each row under a model (CSV), or a summary with --json."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Cores to use (default: all).")
    var threads: Int = availableCores
    @OptionGroup var output: OutputOptions

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        let table = try dataOptions.load(quiet: output.quiet)
        let x = try prepare(table, for: file)
        let (perRow, seconds): ([Double], Double) = Console.timed {
            switch file.model {
            case .gaussianMixture(let m): return m.logLikelihoods(of: x, threads: threads)
            case .linearGaussian(let m): return m.logLikelihoods(of: x)
            }
        }
        if output.json {
            let total = perRow.reduce(0, +)
            var o = likelihoodSummary(model: file.model.kind, logLikelihood: total, count: x.rows,
                                      parameters: file.model.parameterCount, iterations: file.training?.iterations,
                                      converged: file.training?.converged, seconds: seconds)
            o["minLogLikelihood"] = .number(perRow.min() ?? .nan)
            o["maxLogLikelihood"] = .number(perRow.max() ?? .nan)
            o["missingValues"] = .integer(x.missingCount)
            Console.print(o.render() + "\n")
        } else {
            Console.print(CSV.render(header: ["logLikelihood"], rows: Matrix(rows: perRow.count, columns: 1, storage: perRow)))
        }
    }
}
