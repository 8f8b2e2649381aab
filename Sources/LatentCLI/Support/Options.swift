import ArgumentParser
import Foundation
import Latent

/// `--data` and `--columns`.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data file: .csv with a header row, .npy, or IDX.")
    var data: String

    @Option(name: .long, help: "Comma-separated column names to use (default: every numeric column).")
    var columns: String?

    var columnList: [String]? {
        columns.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func validate() throws {
        guard let names = columnList else { return }
        if names.contains(where: \.isEmpty) { throw ValidationError("--columns '\(columns ?? "")' has an empty name; separate column names by single commas") }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw ValidationError("--columns names '\(name)' twice; each column can be used once")
        }
    }

    /// Loads the data, reporting skipped label columns on standard error and in `--json` warnings.
    func load(quiet: Bool = false) throws -> DataTable {
        let (table, skipped) = try DataLoader.load(path: data, columns: columnList)
        if !skipped.isEmpty {
            Console.dataWarning("\(data): skipped column(s) without numbers: \(skipped.joined(separator: ", "))", quiet: quiet)
        }
        return table
    }
}

/// `--json` and `--quiet`.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .long, help: "No progress on standard error.")
    var quiet = false
}

/// `--memory-limit`: the memory budget of work whose size is known before it starts.
struct MemoryOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Gigabytes the command may use for work whose size is known up front (default: half the physical memory); larger work is refused before it starts.")
    var memoryLimit: Double?

    var budget: MemoryBudget {
        memoryLimit.map { MemoryBudget(bytes: Int(clamping: Int64(min($0, 1e9) * Double(1 << 30)))) } ?? .default
    }

    func validate() throws {
        if let memoryLimit, !(memoryLimit > 0) { throw ValidationError("--memory-limit must be a positive number of gigabytes") }
    }
}

extension MemoryBudget {
    /// Refuses a mixture fit whose responsibilities, data copies and covariances (`K` of `D × D`
    /// for full and tied ones, and for split-and-merge moves up to 1,000 columns) exceed the budget.
    func requireMixtureFit(rows n: Int, columns d: Int, components k: Int, type: CovarianceType) throws {
        let matrices = type == .full || type == .tied || d <= 1_000
        let bytes = MemoryBudget.sum(MemoryBudget.product(8, n, k, 3), MemoryBudget.product(8, n, d, 3),
                                     matrices ? MemoryBudget.product(8, k + 2, d, d, 2) : MemoryBudget.product(8, k, d, 4))
        try require(bytes, for: "a \(k)-component \(type.rawValue) mixture of \(n) rows × \(d) columns")
    }
}

/// Settings every fitting command shares.
struct FitOptions: ParsableArguments {
    @Option(name: .long, help: "Seed of every random choice; the same seed gives the same model.")
    var seed: UInt64 = 0

    @Option(name: .long, parsing: .unconditional, help: "Upper bound on EM iterations (default: 1000 for mixtures and HMMs, 10000 for factor models).")
    var maxIterations: Int?

    @Option(name: .long, parsing: .unconditional, help: "EM stops when the mean log-likelihood per row improves by less than this, and Aitken's estimate of the gain still to come is below it too (default: 1e-6 for mixtures and HMMs, 1e-7 for factor models).")
    var tolerance: Double?

    @Option(name: .long, help: "How EM moves between E-steps: squarem (extrapolation from two EM steps, never lowering the likelihood; the default for in-memory mixture and HMM fits) or none (plain EM; the only choice of streamed and online fits and of the other models).")
    var acceleration: EMAcceleration?

    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores

    @Option(name: .long, help: "Where to write the fitted model (JSON).")
    var output: String

    /// EM settings: the flags given, the model's defaults for the others.
    func em(defaults: EMOptions) -> EMOptions {
        EMOptions(maxIterations: maxIterations ?? defaults.maxIterations, tolerance: tolerance ?? defaults.tolerance,
                  acceleration: acceleration ?? defaults.acceleration)
    }

    /// Refuses `--acceleration squarem` for a fit that runs plain EM only (`fit` names it).
    func requirePlainEM(_ fit: String) throws {
        if acceleration == .squarem {
            throw ValidationError("--acceleration squarem: \(fit) runs plain EM (SQUAREM needs the in-memory mixture and HMM fits' parameter vector); leave the flag out or pass --acceleration none")
        }
    }

    func validate() throws {
        if let maxIterations, maxIterations < 1 { throw ValidationError("--max-iterations must be at least 1") }
        if let tolerance, !(tolerance >= 0 && tolerance.isFinite) { throw ValidationError("--tolerance must be a non-negative number") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}

/// `--model`.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A model file written by `latent fit`.")
    var model: String

    func load() throws -> ModelFile { try ModelFile.read(path: model) }
}

extension CovarianceType: ExpressibleByArgument {}
extension EMAcceleration: ExpressibleByArgument {}
extension FactorRotation: ExpressibleByArgument {}
extension ScoringPrecision: ExpressibleByArgument {}
extension MixtureInitialization: ExpressibleByArgument {}
extension LinearDynamicalSystem.ObservationNoise: ExpressibleByArgument {}
extension LinearDynamicalSystem.InitialState: ExpressibleByArgument {}
extension BayesianMixturePrior.WeightPrior: ExpressibleByArgument {}
