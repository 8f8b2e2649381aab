import ArgumentParser
import Latent

/// `latent decode`: hidden states of each row under a hidden Markov model.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "The Viterbi state of each row (0-based), or with --probabilities the posterior state probabilities."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Print p(z_t = k | x) for every state instead of the Viterbi path.")
    var probabilities = false
    @Option(name: .long, help: "A column whose value changes between sequences (default: the one used in fitting, if present).")
    var sequenceColumn: String?
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        guard case .hiddenMarkov(let m) = file.model else {
            throw ValidationError("decode needs a hidden Markov model; \(modelOptions.model) holds a \(file.model.kind) model")
        }
        let (x, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn)
        try m.validate(x)
        if probabilities {
            Console.printCSV(header: (0..<m.stateCount).map { "p\($0)" }, rows: m.posteriors(of: x, sequences: sequences, threads: threads))
        } else {
            let path = m.viterbi(x, sequences: sequences, threads: threads).states
            Console.printCSV(header: ["state"], rows: Matrix(rows: path.count, columns: 1, storage: path.map(Double.init)))
        }
    }
}

/// An HMM's data: the model's columns, split into sequences by the given (or the fitting) column.
func hmmData(_ file: ModelFile, dataOptions: DataOptions, sequenceColumn: String?) throws -> (Matrix<Double>, [SequenceRange]) {
    var column = sequenceColumn
    if column == nil, let fitted = file.training?.settings["sequenceColumn"] {
        let names = try DataLoader.load(path: dataOptions.data).table.columnNames
        if names.contains(fitted) { column = fitted }
    }
    // Gaussian emissions integrate missing values out; the others need complete rows.
    var gaussian = false
    if case .hiddenMarkov(.gaussian) = file.model { gaussian = true }
    let loaded = try SequenceData.load(dataOptions, sequenceColumn: column, modelColumns: file.columns, quiet: true, allowMissing: gaussian)
    // A step with nothing observed is a gap in its sequence, not a row to refuse.
    let x = try modelColumns(of: loaded.table, for: file, explicit: dataOptions.columns != nil).values
    return (x, loaded.sequences)
}
