import ArgumentParser
import Foundation
import Latent

/// `latent impute`: fill missing values under a fitted model.
struct ImputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impute",
        abstract: "Fill missing values with E[x_missing | x_observed] under a model (or draws from that conditional).",
        discussion: """
        The output is the input CSV with only the missing cells of the model's columns filled: every \
        other byte is unchanged. With --draws N the output holds N completed copies one after the other, \
        with a last column `draw` (1…N): multiple imputations from p(x_missing | x_observed).
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of multiple imputations drawn from the conditional distribution (default: conditional means).")
    var draws: Int?
    @Option(name: .long, help: "Seed of the draws.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Where to write the completed data (.csv, or .npy for .npy input).")
    var output: String
    @Flag(name: .long, help: "Print a JSON summary on standard output.")
    var json = false
    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if let draws, draws < 1 { throw ValidationError("--draws must be at least 1") }
        try Console.checkOutput(output, inputs: [("data file", dataOptions.data), ("model", modelOptions.model)])
        let npyIn = dataOptions.data.lowercased().hasSuffix(".npy"), npyOut = output.lowercased().hasSuffix(".npy")
        if npyIn != npyOut {
            throw ValidationError("--output \(output): impute writes the input's format (\(npyIn ? ".npy" : "CSV")); give an output path ending in \(npyIn ? ".npy" : ".csv")")
        }
    }

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        let table = try modelColumns(of: try dataOptions.load(), for: file, explicit: dataOptions.columns != nil)
        if ["hmm", "vae", "autoencoder", "lds", "bayesian-gmm", "rbm", "dbn"].contains(file.model.kind) {
            throw ValidationError("impute works with mixtures and factor models; \(file.model.kind) models do not take missing values yet")
        }
        let x = try prepare(table, for: file, explicit: dataOptions.columns != nil)
        var rng = Xoshiro256StarStar(seed: seed)
        func complete(draw: Bool) -> Matrix<Double> {
            switch file.model {
            case .gaussianMixture(let m): return draw ? m.imputeDraw(x, using: &rng) : m.impute(x)
            case .linearGaussian(let m): return draw ? m.imputeDraw(x, using: &rng) : m.impute(x)
            case .hiddenMarkov, .variationalAutoencoder, .autoencoder, .linearDynamical, .bayesianMixture, .restrictedBoltzmann, .deepBelief: return x
            }
        }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: dataOptions.data)[.size] as? Int) ?? 0
        try memory.budget.require(MemoryBudget.product(draws ?? 1, max(fileBytes, x.rows * x.columns * 8), 4),
                                  for: "--draws \(draws ?? 1) completed copies of \(dataOptions.data)")
        let copies = draws.map { n in (1...n).map { _ in complete(draw: true) } } ?? [complete(draw: false)]
        if dataOptions.data.lowercased().hasSuffix(".npy") {
            guard copies.count == 1 else { throw ValidationError("--draws writes CSV; give a .csv input") }
            try NumPy.write(copies[0], to: output)
        } else {
            let bytes = try FileBytes.read(dataOptions.data)
            // Foundation drops a UTF-8 byte-order mark when it decodes; the output keeps it.
            let byteOrderMark = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? "\u{FEFF}" : ""
            guard let text = String(data: bytes, encoding: .utf8) else {
                throw DataError.unreadable(path: dataOptions.data, reason: "not UTF-8 text")
            }
            var pieces: [String] = [byteOrderMark]
            for (i, filled) in copies.enumerated() {
                var piece = try CSV.fillingMissing(in: text, columns: table.columnNames, with: filled,
                                                   extraColumn: draws == nil ? nil : ("draw", String(i + 1)), source: dataOptions.data)
                if i > 0 {
                    // Later copies without their header line.
                    if let newline = piece.firstIndex(of: "\n") { piece = String(piece[piece.index(after: newline)...]) }
                }
                if !piece.hasSuffix("\n") { piece += "\n" }
                pieces.append(piece)
            }
            try AtomicFile.write(pieces.joined(), to: output)
        }
        if json {
            var o = JSONObject()
            o["model"] = .string(file.model.kind)
            o["n"] = .integer(x.rows)
            o["missingValues"] = .integer(x.missingCount)
            o["draws"] = .integer(draws ?? 0)
            o["output"] = .string(output)
            Console.printJSON(o)
        }
    }
}
