// swift-tools-version: 6.0
// libFuzzer targets for Latent's readers; build and run with Fuzz/run.sh (Linux).
import PackageDescription

let package = Package(
    name: "LatentFuzz",
    dependencies: [.package(name: "Latent", path: "..")],
    targets: [
        .executableTarget(
            name: "LatentFuzz",
            dependencies: [.product(name: "Latent", package: "Latent")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
