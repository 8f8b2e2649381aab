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
            var rows = Matrix<Double>(rows: count, columns: m.dimension + 1)
            for i in 0..<count {
                for j in 0..<m.dimension { rows[i, j] = points[i, j] }
                rows[i, m.dimension] = Double(components[i])
            }
            Console.print(CSV.render(header: file.columns + ["component"], rows: rows))
        case .linearGaussian(let m):
            let (points, latents) = m.sample(count: count, using: &rng)
            var rows = Matrix<Double>(rows: count, columns: m.dimension + m.factorCount)
            for i in 0..<count {
                for j in 0..<m.dimension { rows[i, j] = points[i, j] }
                for f in 0..<m.factorCount { rows[i, m.dimension + f] = latents[i, f] }
            }
            Console.print(CSV.render(header: file.columns + (0..<m.factorCount).map { "z\($0)" }, rows: rows))
        case .variationalAutoencoder(let m):
            let (points, latents) = m.sample(count: count, using: &rng)
            var rows = Matrix<Double>(rows: count, columns: m.dimension + m.latentSize)
            for i in 0..<count {
                for j in 0..<m.dimension { rows[i, j] = Double(points[i, j]) }
                for f in 0..<m.latentSize { rows[i, m.dimension + f] = Double(latents[i, f]) }
            }
            Console.print(CSV.render(header: file.columns + (0..<m.latentSize).map { "z\($0)" }, rows: rows))
        case .autoencoder:
            throw ValidationError("an autoencoder has no prior over its codes, so it cannot sample; fit a VAE (`latent fit vae`) for that")
        case .hiddenMarkov(let m):
            // One sequence of --count steps.
            let (x, states) = m.sample(length: count, using: &rng)
            var rows = Matrix<Double>(rows: count, columns: m.dimension + 1)
            for t in 0..<count {
                for j in 0..<m.dimension { rows[t, j] = x[t, j] }
                rows[t, m.dimension] = Double(states[t])
            }
            Console.print(CSV.render(header: file.columns + ["state"], rows: rows))
        }
    }
}
