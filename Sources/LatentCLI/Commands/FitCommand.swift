import ArgumentParser

/// `latent fit <model>`.
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a model to data and save it.",
        subcommands: [FitGMMCommand.self, FitBayesianGMMCommand.self, FitFactorAnalysisCommand.self, FitPPCACommand.self, FitHMMCommand.self, FitLDSCommand.self, FitVAECommand.self, FitAutoencoderCommand.self, FitRBMCommand.self, FitDBNCommand.self]
    )
}
