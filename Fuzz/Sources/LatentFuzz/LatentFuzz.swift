import Foundation
import Latent

/// One libFuzzer executable for every reader: `LatentFuzz <reader> [libFuzzer options] [corpus…]`.
/// Every reader must return a value or throw on any bytes, never trap.
enum Reader: String, CaseIterable {
    case csv = "CSV", numpy = "NumPy", idx = "IDX", safetensors = "SafeTensors", modelFile = "ModelFile"

    func read(_ data: Data) {
        switch self {
        case .csv:
            let text = String(decoding: data, as: UTF8.self)
            _ = try? CSV.parse(text, source: "fuzz.csv")
            _ = try? CSV.parse(text, source: "fuzz.csv", columns: ["a", "b"])
        case .numpy:
            _ = try? NumPy.decode(data, source: "fuzz.npy")
        case .idx:
            _ = try? IDX.decode(data, source: "fuzz-idx3-ubyte")
        case .safetensors:
            _ = try? SafeTensors.decode(data, source: "fuzz.safetensors")
        case .modelFile:
            // A decoded model that scores rows also scores one without trapping.
            guard let file = try? ModelFile.decode(data, source: "fuzz.json") else { return }
            let row = Matrix<Double>(rows: 1, columns: file.model.dimension, repeating: 0.5)
            if let scorer = file.model.base as? any RowScoring { _ = scorer.logLikelihoods(of: row, threads: 1) }
        }
    }
}

/// The reader under test (libFuzzer's callback is a C function and cannot capture it).
nonisolated(unsafe) var reader = Reader.csv

/// libFuzzer's entry point (its runtime refers to it by this name).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ size: Int) -> CInt {
    reader.read(Data(bytes: start, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

/// SwiftPM renames an executable's entry point to `<module>_main`: read the reader's name, then
/// hand the remaining arguments to libFuzzer.
@_cdecl("LatentFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    guard argc >= 2, let name = argv[1].map({ String(cString: $0) }), let chosen = Reader(rawValue: name) else {
        print("usage: LatentFuzz <\(Reader.allCases.map(\.rawValue).joined(separator: "|"))> [libFuzzer options] [corpus…]")
        return 2
    }
    reader = chosen
    argv[1] = argv[0]   // libFuzzer sees the program name followed by its own arguments
    var count = argc - 1
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv + 1
    return runFuzzerDriver(&count, &arguments, fuzzOne)
}
