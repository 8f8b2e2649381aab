import ArgumentParser
import Latent

/// The `latent` command: fit latent-variable models, then score, cluster, sample and inspect them.
public struct LatentCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "latent",
        abstract: "Latent-variable models: Gaussian mixtures, factor analysis, probabilistic PCA, hidden Markov models; scoring, clustering, imputation, sampling.",
        discussion: """
        Data files are CSV with a header row (empty, NA or NaN mark a missing value), NumPy .npy, or \
        MNIST IDX. With --json a command prints one JSON object on standard output; progress and \
        warnings go to standard error.
        """,
        subcommands: [FitCommand.self, ScoreCommand.self, PredictCommand.self, TransformCommand.self,
                      ImputeCommand.self, DecodeCommand.self, FilterCommand.self, SmoothCommand.self, ForecastCommand.self, BenchCommand.self, SampleCommand.self, InfoCommand.self, SelectCommand.self, CompareCommand.self, ReportCommand.self,
                      StatisticsCommand.self, MergeCommand.self, MaximizeCommand.self]
    )

    public init() {}
}
