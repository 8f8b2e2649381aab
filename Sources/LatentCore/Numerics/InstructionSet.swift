import LatentKernels

/// The instruction set whose build of Latent's C kernels (exponentials, log-sum-exp, Gaussian
/// log-densities, Bernoulli likelihoods) runs on this machine.
///
/// The kernels are compiled for each set and the widest one the CPU and operating system support is
/// selected when first used, so a plain `swift build` (baseline x86-64, as when Latent is a package
/// dependency) runs them at the speed of a build for the host CPU. `LATENT_SIMD=baseline` (or `avx2`)
/// in the environment caps the selection, to compare or to rule a variant out. On other
/// architectures there is one build, reported as ``baseline``.
public enum InstructionSet: Int, Sendable, Comparable, CustomStringConvertible {
    /// SSE2 on x86-64; the compiler's default target elsewhere (NEON with fused multiply-add on arm64).
    case baseline = 0
    /// AVX2 with fused multiply-add (x86-64).
    case avx2 = 1
    /// AVX-512 F, DQ, BW and VL (x86-64).
    case avx512 = 2

    /// The build in use.
    public static var selected: InstructionSet { InstructionSet(rawValue: Int(latent_simd_selected().rawValue)) ?? .baseline }
    /// The widest build this machine can run, whatever `LATENT_SIMD` says.
    public static var widestSupported: InstructionSet {
        InstructionSet(rawValue: Int(latent_simd_widest_supported().rawValue)) ?? .baseline
    }

    public var description: String {
        switch self {
        case .baseline: return "baseline"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool { a.rawValue < b.rawValue }
}
