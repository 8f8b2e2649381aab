// swift-tools-version: 6.0
// libFuzzer targets for Latent's readers; build and run with Fuzz/run.sh (Linux).
import PackageDescription

let readers = ["CSV", "NumPy", "IDX", "SafeTensors", "ModelFile"]

let package = Package(
    name: "LatentFuzz",
    dependencies: [.package(name: "Latent", path: "..")],
    targets: readers.map { reader in
        .executableTarget(
            name: "Fuzz\(reader)",
            dependencies: [.product(name: "Latent", package: "Latent")],
            path: "Sources/Fuzz\(reader)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    },
    swiftLanguageModes: [.v5]
)
