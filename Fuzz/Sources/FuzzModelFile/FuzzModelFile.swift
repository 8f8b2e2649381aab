import Foundation
import Latent

/// Any bytes as a model file (JSON or safetensors): decoding returns a model or throws, never
/// traps; a decoded model scores a row without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard let file = try? ModelFile.decode(Data(bytes: start, count: count), source: "fuzz.json") else { return 0 }
    let row = Matrix<Double>(rows: 1, columns: file.model.dimension, repeating: 0.5)
    switch file.model {
    case .gaussianMixture(let m): _ = m.logLikelihoods(of: row, threads: 1)
    case .linearGaussian(let m): _ = m.logLikelihoods(of: row)
    default: break
    }
    return 0
}

/// SwiftPM renames an executable's entry point to `<module>_main`; it hands over to libFuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

@_cdecl("FuzzModelFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments, { fuzz($0, $1) })
}
