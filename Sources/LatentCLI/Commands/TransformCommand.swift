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
        if file.model.kind == "lds" {
            let (m, y, sequences) = try stateSpaceData(file, dataOptions: dataOptions, sequenceColumn: nil, quiet: true)
            var means = Matrix<Double>(rows: y.rows, columns: m.latentDimension)
            for range in sequences {
                let smoothed = try m.smooth(y.selectingRows(range)).means
                for (t, row) in range.enumerated() { for j in 0..<m.latentDimension { means[row, j] = smoothed[t, j] } }
            }
            Console.printCSV(header: (1...m.latentDimension).map { "x\($0)" }, rows: means)
            return
        }
        let x = file.model.kind == "hmm" ? table.values : try prepare(table, for: file, explicit: dataOptions.columns != nil)
        switch file.model {
        case .gaussianMixture(let m):
            Console.printCSV(header: (0..<m.componentCount).map { "p\($0)" }, rows: m.responsibilities(for: x, threads: threads))
        case .linearGaussian(let m):
            Console.printCSV(header: (0..<m.factorCount).map { "z\($0)" }, rows: m.latentMeans(of: x))
        case .variationalAutoencoder(let m):
            let encoded = m.encode(m.preprocessing.apply(x) as Matrix<Float>).mean
            Console.printCSV(header: (0..<m.latentSize).map { "z\($0)" }, rows: encoded.double)
        case .autoencoder(let m):
            let codes = m.encode(m.preprocessing.apply(x) as Matrix<Float>)
            Console.printCSV(header: (0..<m.codeSize).map { "z\($0)" }, rows: codes.double)
        case .hiddenMarkov(let m):
            let (seqX, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: nil)
            Console.printCSV(header: (0..<m.stateCount).map { "p\($0)" }, rows: m.posteriors(of: seqX, sequences: sequences, threads: threads))
        case .linearDynamical:
            break   // handled above
        case .bayesianMixture(let m):
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()   // the predictive needs whole rows
            Console.printCSV(header: (0..<m.componentCount).map { "p\($0)" }, rows: m.predictiveResponsibilities(x))
        case .restrictedBoltzmann(let m):
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()
            let features = m.hiddenProbabilities(m.preprocessing.apply(x) as Matrix<Float>)
            Console.printCSV(header: (0..<m.hiddenCount).map { "h\($0)" }, rows: features.double)
        case .deepBelief(let m):
            try modelColumns(of: table, for: file, explicit: dataOptions.columns != nil).requireComplete()
            let features = m.features(m.preprocessing.apply(x) as Matrix<Float>)
            Console.printCSV(header: (0..<features.columns).map { "h\($0)" }, rows: features.double)
        }
    }
}
