import ArgumentParser
import Latent

/// `latent transform`: latent features of each row.
struct TransformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Latent features of each row as CSV: E[z|x] (factor models), the encoder mean μ(x) (VAEs), p(z|x) (mixtures), p(z_t|x) (HMMs)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Cores to use (default: all).")
    var threads: Int = availableCores

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        let table = try dataOptions.load()
        if case .linearDynamical = file.model {
            let (m, y, sequences) = try stateSpaceData(file, dataOptions: dataOptions, sequenceColumn: nil, quiet: true)
            var means = Matrix<Double>(rows: y.rows, columns: m.latentDimension)
            for range in sequences {
                let smoothed = try m.smooth(y.selectingRows(range)).means
                for (t, row) in range.enumerated() { for j in 0..<m.latentDimension { means[row, j] = smoothed[t, j] } }
            }
            Console.printCSV(header: (1...m.latentDimension).map { "x\($0)" }, rows: means)
            return
        }
        if case .hiddenMarkov(let m) = file.model {
            let (seqX, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: nil)
            Console.printCSV(header: (0..<m.stateCount).map { "p\($0)" }, rows: m.posteriors(of: seqX, sequences: sequences, threads: threads))
            return
        }
        guard let extractor = file.model.base as? any FeatureExtracting else {
            throw ValidationError("a \(file.model.kind) model has no per-row features")
        }
        let x = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        if !extractor.integratesMissingValues {
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()
        }
        Console.printCSV(header: extractor.featureNames, rows: extractor.features(of: x, threads: threads))
    }
}
