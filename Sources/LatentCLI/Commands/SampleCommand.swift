import ArgumentParser
import Latent

/// `latent sample`: draw new points from a model.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw points from a model: CSV of the model's columns and the latent variable of each (component, or factors z0…)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "Number of points.")
    var count: Int
    @Option(name: .long, help: "Seed; the same seed gives the same points.")
    var seed: UInt64 = 0

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must be non-negative") }
    }

    func run() throws {
        let file = try modelOptions.load()
        var rng = Xoshiro256StarStar(seed: seed)
        switch file.model {
        case .gaussianMixture(let m):
            let (points, components) = m.sample(count: count, using: &rng)
            printSamples(points, labels: Matrix(rows: count, columns: 1, storage: components.map(Double.init)),
                         header: file.columns + ["component"])
        case .linearGaussian(let m):
            let (points, latents) = m.sample(count: count, using: &rng)
            printSamples(points, labels: latents, header: file.columns + (0..<m.factorCount).map { "z\($0)" })
        case .variationalAutoencoder(let m):
            let (points, latents) = m.sample(count: count, using: &rng)
            printSamples(Matrix(rows: count, columns: m.dimension, storage: points.storage.map(Double.init)),
                         labels: Matrix(rows: count, columns: m.latentSize, storage: latents.storage.map(Double.init)),
                         header: file.columns + (0..<m.latentSize).map { "z\($0)" })
        case .autoencoder:
            throw ValidationError("an autoencoder has no prior over its codes, so it cannot sample; fit a VAE (`latent fit vae`) for that")
        case .hiddenMarkov(let m):
            // One sequence of --count steps.
            let (x, states) = m.sample(length: count, using: &rng)
            printSamples(x, labels: Matrix(rows: count, columns: 1, storage: states.map(Double.init)),
                         header: file.columns + ["state"])
        }
    }

    /// Prints the samples and, beside each, what generated it (component, state or latent values).
    private func printSamples(_ points: Matrix<Double>, labels: Matrix<Double>, header: [String]) {
        var rows = Matrix<Double>(rows: points.rows, columns: points.columns + labels.columns)
        for i in 0..<points.rows {
            for j in 0..<points.columns { rows[i, j] = points[i, j] }
            for j in 0..<labels.columns { rows[i, points.columns + j] = labels[i, j] }
        }
        Console.print(CSV.render(header: header, rows: rows))
    }
}
