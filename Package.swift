// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Latent",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Latent", targets: ["Latent"]),
        .executable(name: "latent", targets: ["latent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target Latent` (the DocC catalogue in Sources/Latent/Latent.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // The only module that talks to C: BLAS and LAPACK (OpenBLAS + LAPACKE on Linux,
        // Accelerate on Apple platforms).
        .target(
            name: "CLapack",
            linkerSettings: [
                .linkedLibrary("openblas", .when(platforms: [.linux])),
                .linkedLibrary("lapacke", .when(platforms: [.linux])),
                .linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS])),
            ]
        ),
        // The hot loops in C, built once per instruction set (baseline x86-64, AVX2, AVX-512) and
        // selected at load time, so a plain `swift build` as a package dependency runs them at full speed.
        .target(name: "LatentKernels"),
        // Matrices, linear algebra, random numbers, vector maths and data I/O.
        .target(name: "LatentCore", dependencies: ["CLapack", "LatentKernels"]),
        // The models.
        .target(name: "Latent", dependencies: ["LatentCore"]),
        // The command-line interface as a library, so tests can drive it.
        .target(
            name: "LatentCLI",
            dependencies: ["Latent", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "latent", dependencies: ["LatentCLI", "LatentCore"]),
        .target(name: "TestSupport", dependencies: ["Latent"], path: "Tests/TestSupport"),
        .testTarget(name: "LatentCoreTests", dependencies: ["LatentCore", "LatentKernels", "TestSupport"]),
        .testTarget(name: "LatentTests", dependencies: ["Latent", "TestSupport"]),
        .testTarget(name: "LatentCLITests", dependencies: ["LatentCLI", "latent", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
