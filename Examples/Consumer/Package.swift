// swift-tools-version: 6.0
// A separate package that uses Latent the way a Swift developer would: as a dependency, by path,
// through its public API only. CI builds and runs it (.ci/run).
import PackageDescription

let package = Package(
    name: "LatentConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Latent", path: "../..")],
    targets: [
        .executableTarget(name: "latent-consumer", dependencies: [.product(name: "Latent", package: "Latent")], path: "Sources"),
    ]
)
