import ArgumentParser
import Latent

/// `latent sample`: draw new points from a model.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw points from a model: CSV of the model's columns and the latent variable of each (component, or factors z0…)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, parsing: .unconditional, help: "Number of points.")
    var count: Int
    @Option(name: .long, help: "Seed; the same seed gives the same points.")
    var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "RBMs: block Gibbs sweeps from the base model before each draw is taken.")
    var gibbsSteps: Int = 1_000

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must be non-negative") }
        guard gibbsSteps >= 0 else { throw ValidationError("--gibbs-steps must be non-negative") }
    }

    /// Rows drawn and printed at a time, so that any --count runs in bounded memory.
    static let blockRows = 4096

    /// Draws `n` more points (and what generated each), continuing the previous draw for sequence models.
    typealias Draw = (Int, inout Xoshiro256StarStar) -> (Matrix<Double>, Matrix<Double>)

    func run() throws {
        let file = try modelOptions.load()
        var rng = Xoshiro256StarStar(seed: seed)
        let (header, draw) = try sampler(for: file, rng: rng)
        Console.printCSV(header: header, rows: Matrix(rows: 0, columns: header.count))
        var remaining = count
        while remaining > 0 {
            let n = min(remaining, Self.blockRows)
            let (points, labels) = draw(n, &rng)
            Console.print(Self.rows(points, beside: labels))
            remaining -= n
        }
    }

    /// The CSV header and the drawing function for the model in `file`: independent rows for any
    /// ``RowSampling`` model; chains for RBMs and DBNs; one continuing sequence for HMMs and LDSs.
    private func sampler(for file: ModelFile, rng: Xoshiro256StarStar) throws -> ([String], Draw) {
        if let sampler = file.model.base as? any RowSampling {
            return (file.columns + sampler.latentColumnNames, { n, rng in sampler.sampleRows(count: n, using: &rng) })
        }
        switch file.model {
        case .restrictedBoltzmann(let m):
            // Independent chains (one per row), each --gibbs-steps sweeps long.
            let steps = gibbsSteps
            return (file.columns, { n, rng in (m.sample(count: n, gibbsSteps: steps, using: &rng).double, Matrix(rows: n, columns: 0)) })
        case .deepBelief(let m):
            // Independent chains in the top RBM, each --gibbs-steps sweeps long, then a down pass.
            let steps = gibbsSteps
            return (file.columns, { n, rng in (m.sample(count: n, gibbsSteps: steps, using: &rng).double, Matrix(rows: n, columns: 0)) })
        case .hiddenMarkov(let m):
            // One sequence of --count steps, drawn in blocks that continue the chain.
            var lastState: Int?
            return (file.columns + ["state"], { n, rng in
                let (x, states) = m.sample(length: n, after: lastState, using: &rng)
                lastState = states.last ?? lastState
                return (x, Matrix(rows: n, columns: 1, storage: states.map(Double.init)))
            })
        case .linearDynamical(let m):
            // One sequence of --count steps, drawn in blocks that continue the state path. A zero-length
            // draw checks, before any output, that Q, R and V₀ have Cholesky factors (it uses no randomness).
            guard m.initialState == .learned else {
                throw ValidationError("the model has a diffuse first state, which has no distribution to draw from; refit it with --initial-state learned to sample, or use `latent forecast` to continue observed data")
            }
            var probe = rng
            _ = try m.sample(length: 0, using: &probe)
            var lastHiddenState: [Double]?
            return (file.columns + (1...m.latentDimension).map { "x\($0)" }, { n, rng in
                // The factors exist: the zero-length draw above would have thrown.
                let (y, states) = try! m.sample(length: n, after: lastHiddenState, using: &rng)
                if n > 0 { lastHiddenState = states.row(n - 1) }
                return (y, states)
            })
        case .autoencoder:
            throw ValidationError("an autoencoder has no prior over its codes, so it cannot sample; fit a VAE (`latent fit vae`) for that")
        default:
            throw ValidationError("a \(file.model.kind) model cannot draw samples")
        }
    }

    /// CSV rows (no header) of the samples and, beside each, what generated it (component, state or latent values).
    private static func rows(_ points: Matrix<Double>, beside labels: Matrix<Double>) -> String {
        var rows = Matrix<Double>(rows: points.rows, columns: points.columns + labels.columns)
        for i in 0..<points.rows {
            for j in 0..<points.columns { rows[i, j] = points[i, j] }
            for j in 0..<labels.columns { rows[i, points.columns + j] = labels[i, j] }
        }
        return CSV.render(rows: rows, 0..<rows.rows)
    }
}
