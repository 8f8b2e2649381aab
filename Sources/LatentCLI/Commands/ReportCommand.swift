import ArgumentParser
import Foundation
import Latent

/// `latent report`: one self-contained HTML page of charts for a model and a data set.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML page of charts (inline SVG) about a model on a data set.",
        discussion: """
        Mixtures: the data on two columns (or the first two principal axes) coloured by cluster, with each \
        component's 1- and 2-σ ellipses. Factor models: the loadings as a heat map and the latent scores. \
        Hidden Markov models: the series with its Viterbi path and the posterior state probabilities. Linear \
        dynamical systems: filtered and smoothed state means with 2-σ bands. VAEs, RBMs and DBNs: samples, \
        reconstructions and, for two latent dimensions, the latent space (coloured by --labels). Every fit: \
        the log-likelihood (or bound, or objective) per iteration, from the model file.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Labels to colour points by: a CSV (first column) or IDX file with one value per data row.")
    var labels: String?
    @Option(name: .long, help: "Hidden Markov models and linear dynamical systems: a column whose value changes between sequences.")
    var sequenceColumn: String?
    @Option(name: .long, help: "Seed of the samples drawn for the page.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Where to write the page (HTML).")
    var output: String
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        try Console.checkOutput(output, inputs: [("model file", modelOptions.model), ("data file", dataOptions.data), ("labels file", labels)])
    }

    /// At most this many points in a scatter chart (evenly spaced rows), so that pages stay small.
    static let scatterRows = 2_000

    func run() throws {
        BLAS.setThreads(1)
        let file = try modelOptions.load()
        var page = ReportPage(title: "\(file.model.kind) model: \(URL(fileURLWithPath: modelOptions.model).lastPathComponent)")
        page.summary = [("model", file.model.kind), ("parameters", String(file.model.parameterCount)), ("columns", file.columns.count <= 12 ? file.columns.joined(separator: ", ")
                                    : file.columns.prefix(6).joined(separator: ", ") + ", … (\(file.columns.count) columns)"),
                        ("data", dataOptions.data)]
        if let t = file.training { page.summary.append(("fitted on", "\(t.count) rows, seed \(t.seed)")) }
        let labelValues = try labels.map(readLabels)
        var rng = Xoshiro256StarStar(seed: seed)
        switch file.model {
        case .gaussianMixture(let m):
            let x = try completeRows(file)
            let groups = m.predict(x)
            let components = (0..<m.componentCount).map { (mean: m.means.row($0), covariance: m.covariances.matrix(component: $0, dimension: m.dimension)) }
            page.sections.append(("Clusters", "Each point coloured by its most probable component; ellipses at 1 and 2 standard deviations.",
                                  [mixtureChart(x, groups: groups, components: components, file: file)]))
        case .bayesianMixture(let m):
            let x = try completeRows(file)
            let groups = m.predict(x), w = m.weights, covariances = m.covariances
            let kept = (0..<m.componentCount).filter { w[$0] >= BayesianGaussianMixture.effectiveWeightThreshold }
            let components = kept.map { (mean: m.means.row($0), covariance: covariances.matrix(component: $0, dimension: m.dimension)) }
            let relabel = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, $0) })
            page.sections.append(("Clusters", "The \(kept.count) components with at least 1% of the weight; ellipses at 1 and 2 expected standard deviations.",
                                  [mixtureChart(x, groups: groups.map { relabel[$0] ?? kept.count }, components: components, file: file)]))
        case .linearGaussian(let m):
            let x = try prepare(try dataOptions.load(quiet: outputOptions.quiet), for: file, explicit: dataOptions.columns != nil)
            let z = m.latentMeans(of: x)
            let labelValues = try labels(labelValues, rows: x.rows)
            let loadings = (0..<m.dimension).map { m.loadings.row($0) }
            var charts = [SVGChart.heatMap(title: "Loadings (column × factor)", rowLabels: file.columns,
                                           columnLabels: (0..<m.factorCount).map { "z\($0)" }, values: loadings)]
            let rows = Self.evenRows(z.rows)
            let points = rows.map { i in (m.factorCount > 1 ? z[i, 0] : Double(i + 1), m.factorCount > 1 ? z[i, 1] : z[i, 0], labelValues?[i] ?? 0) }
            charts.append(SVGChart.scatter(title: "Latent scores E[z | x]", xLabel: m.factorCount > 1 ? "z0" : "row", yLabel: m.factorCount > 1 ? "z1" : "z0",
                                           points: points, groupNames: labelNames(labelValues)))
            page.sections.append(("Factors", nil, charts))
        case .hiddenMarkov(let m):
            let (x, sequences) = try hmmData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn)
            try m.validate(x)
            let path = m.viterbi(x, sequences: sequences, threads: 1).states
            let posteriors = m.posteriors(of: x, sequences: sequences, threads: 1)
            // Each state drawn at the mean of the rows the Viterbi path assigns to it.
            var sums = [Double](repeating: 0, count: m.stateCount), counts = [Double](repeating: 0, count: m.stateCount)
            for t in 0..<x.rows { sums[path[t]] += x[t, 0]; counts[path[t]] += 1 }
            let level = (0..<m.stateCount).map { counts[$0] > 0 ? sums[$0] / counts[$0] : .nan }
            let series = SVGChart.lines(title: "\(file.columns.first ?? "x") and the Viterbi path", xLabel: "step", yLabel: file.columns.first ?? "x",
                                        series: [("data", (0..<x.rows).map { (Double($0 + 1), x[$0, 0]) }, 0),
                                                 ("Viterbi state (its rows' mean)", (0..<x.rows).map { (Double($0 + 1), level[path[$0]]) }, 1)])
            let probabilities = SVGChart.lines(title: "Posterior state probabilities p(z_t | x)", xLabel: "step", yLabel: "probability",
                                               series: (0..<m.stateCount).map { k in ("state \(k)", (0..<x.rows).map { (Double($0 + 1), posteriors[$0, k]) }, k + 2) })
            page.sections.append(("States", sequences.count > 1 ? "\(sequences.count) sequences, drawn one after another." : nil, [series, probabilities]))
        case .linearDynamical:
            let (m, y, sequences) = try stateSpaceData(file, dataOptions: dataOptions, sequenceColumn: sequenceColumn, quiet: outputOptions.quiet)
            let first = sequences[0], part = y.selectingRows(first)
            let smoothed = try m.smooth(part), l = m.latentDimension
            var charts: [String] = []
            for j in 0..<min(l, 3) {
                let steps = 0..<part.rows
                func band(_ means: Matrix<Double>, _ covariances: Matrix<Double>) -> [(Double, Double, Double)] {
                    steps.map { t in
                        let sd = max(0, covariances[t, j * l + j]).squareRoot()
                        return (Double(t + 1), means[t, j] - 2 * sd, means[t, j] + 2 * sd)
                    }
                }
                charts.append(SVGChart.lines(title: "State x\(j + 1): filtered and smoothed means, ±2 sd", xLabel: "step", yLabel: "x\(j + 1)",
                                             series: [("filtered", steps.map { (Double($0 + 1), smoothed.filtering.filteredMeans[$0, j]) }, 3),
                                                      ("smoothed", steps.map { (Double($0 + 1), smoothed.means[$0, j]) }, 0)],
                                             bands: [(band(smoothed.filtering.filteredMeans, smoothed.filtering.filteredCovariances), 3),
                                                     (band(smoothed.means, smoothed.covariances), 0)]))
            }
            let observed = (0..<part.rows).filter { !part[$0, 0].isNaN }.map { (Double($0 + 1), part[$0, 0]) }
            let fitted = (0..<part.rows).map { t in
                (Double(t + 1), m.offset[0] + (0..<l).reduce(0) { $0 + m.observation[0, $1] * smoothed.means[t, $1] })
            }
            charts.append(SVGChart.lines(title: "\(file.columns[0]): data and the smoothed fit C x + d", xLabel: "step", yLabel: file.columns[0],
                                         series: [("data", observed, 7), ("smoothed fit", fitted, 0)]))
            page.sections.append(("States", sequences.count > 1 ? "The first of \(sequences.count) sequences." : nil, charts))
        case .variationalAutoencoder(let m):
            let x: Matrix<Float> = m.preprocessing.apply(try completeRows(file))
            let labelValues = try labels(labelValues, rows: x.rows)
            var charts: [String] = []
            let side = Self.imageSide(m.dimension)
            if let side {
                let z = Matrix<Float>(rows: 16, columns: m.latentSize, storage: (0..<(16 * m.latentSize)).map { _ in Float(rng.nextNormal()) })
                charts.append(SVGChart.imageGrid(title: "Samples: decoder means at z ~ 𝒩(0, I)", images: Self.rows(m.decode(z)), side: side))
                charts.append(reconstructionGrid(x, m.reconstruct(x.selectingRows(0..<min(8, x.rows))), side: side))
            }
            if m.latentSize == 2 {
                let means = m.encode(x).mean, rows = Self.evenRows(x.rows)
                charts.append(SVGChart.scatter(title: "Latent means μ(x)", xLabel: "z0", yLabel: "z1",
                                               points: rows.map { (Double(means[$0, 0]), Double(means[$0, 1]), labelValues?[$0] ?? 0) },
                                               groupNames: labelNames(labelValues)))
            }
            page.sections.append(("Samples and reconstructions", nil, charts))
        case .autoencoder(let m):
            let x: Matrix<Float> = m.preprocessing.apply(try completeRows(file))
            if let side = Self.imageSide(m.dimension) {
                page.sections.append(("Reconstructions", nil, [reconstructionGrid(x, m.reconstruct(x.selectingRows(0..<min(8, x.rows))), side: side)]))
            }
        case .restrictedBoltzmann(let m):
            let x: Matrix<Float> = m.preprocessing.apply(try completeRows(file))
            if let side = Self.imageSide(m.visibleCount) {
                var chains = m.sample(count: 16, gibbsSteps: 1_000, using: &rng)
                chains = m.visibleMeans(m.hiddenProbabilities(chains))
                var h = m.hiddenProbabilities(x.selectingRows(0..<min(8, x.rows)))
                h.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = rng.nextUniform() < Double($0[i]) ? 1 : 0 } }
                page.sections.append(("Samples and reconstructions", "Samples: 16 chains of 1,000 Gibbs sweeps from the base model (visible means shown).",
                                      [SVGChart.imageGrid(title: "Samples", images: Self.rows(chains), side: side),
                                       reconstructionGrid(x, m.visibleMeans(h), side: side)]))
            }
        case .deepBelief(let m):
            if let side = Self.imageSide(m.visibleCount) {
                let draws = m.sample(count: 16, gibbsSteps: 1_000, using: &rng)
                page.sections.append(("Samples", "16 chains of 1,000 Gibbs sweeps in the top RBM, then a down pass.",
                                      [SVGChart.imageGrid(title: "Samples", images: Self.rows(draws), side: side)]))
            }
        }
        if let selection = file.training?.selection, !selection.isEmpty {
            let types = selection.reduce(into: [CovarianceType]()) { if !$0.contains($1.covariance) { $0.append($1.covariance) } }
            var series: [(name: String, points: [(Double, Double)], colour: Int)] = []
            for (t, type) in types.enumerated() {
                let rows = selection.filter { $0.covariance == type }
                series.append(("BIC \(type.rawValue)", rows.compactMap { e in e.bic.map { (Double(e.components), $0) } }, t))
                series.append(("ICL \(type.rawValue)", rows.compactMap { e in e.icl.map { (Double(e.components), $0) } }, t + 4))
            }
            page.sections.append(("Model selection", "The model came from `latent select`: every candidate's BIC and ICL (lower is better).",
                                  [SVGChart.lines(title: "BIC and ICL over the number of components", xLabel: "components K", yLabel: "criterion",
                                                  series: series.filter { !$0.points.isEmpty })]))
        }
        if let history = file.training?.history, history.count >= 2, let count = file.training?.count, count > 0 {
            // The gain since the start, per row: the last digits of a converged fit stay readable.
            let (title, axis) = Self.historyNames(file.model), start = history[0] / Double(count)
            page.sections.append(("Fit", "Start: \(Console.number(start, 8)) per row; end: \(Console.number(history.last! / Double(count), 8)) per row.",
                                  [SVGChart.lines(title: title, xLabel: axis, yLabel: "gain per row since the start",
                                                  series: [("", history.enumerated().map { (Double($0.offset), $0.element / Double(count) - start) }, 0)])]))
        }
        try AtomicFile.write(Data(page.html.utf8), to: output)
        if outputOptions.json {
            var o = JSONObject()
            o["model"] = .string(file.model.kind)
            o["charts"] = .integer(page.chartCount)
            o["output"] = .string(output)
            Console.printJSON(o)
        } else {
            Console.print("wrote \(output): \(page.chartCount) charts\n")
        }
    }

    static func historyNames(_ model: LatentModel) -> (String, String) {
        switch model {
        case .bayesianMixture: return ("Evidence lower bound per sweep", "sweep")
        case .variationalAutoencoder: return ("Training objective (ELBO or IWAE bound) per epoch", "epoch")
        case .autoencoder: return ("Reconstruction log-likelihood per epoch", "epoch")
        case .restrictedBoltzmann: return ("Pseudo-log-likelihood per epoch", "epoch")
        default: return ("Log-likelihood per EM iteration (0: the start)", "iteration")
        }
    }

    /// The model's columns of the data, complete rows only.
    func completeRows(_ file: ModelFile) throws -> Matrix<Double> {
        let x = try prepare(try dataOptions.load(quiet: outputOptions.quiet), for: file, explicit: dataOptions.columns != nil)
        let keep = (0..<x.rows).filter { i in (0..<x.columns).allSatisfy { !x[i, $0].isNaN } }
        guard !keep.isEmpty else { throw ValidationError("\(dataOptions.data) has no complete row in the model's columns") }
        return keep.count == x.rows ? x : x.selectingRows(keep)
    }

    /// Non-negative whole numbers, one per data row: the first column of a CSV file, or an IDX/.npy file's values.
    func readLabels(_ path: String) throws -> [Int] {
        let (table, skipped) = try DataLoader.load(path: path)
        if path.lowercased().hasSuffix(".csv") {
            let first = (try String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n").first?
                .split(separator: ",").first.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" \r")) } ?? ""
            if skipped.contains(first) {
                throw ValidationError("--labels \(path): its first column '\(first)' holds text; give labels as whole numbers 0, 1, …")
            }
        }
        let values = path.lowercased().hasSuffix(".csv") ? (0..<table.values.rows).map { table.values[$0, 0] } : table.values.elements
        return try values.enumerated().map { i, v in
            guard v.isFinite, v >= 0, v == v.rounded(), v < 1_000_000 else {
                throw ValidationError("--labels \(path): row \(i + 1) holds \(v); labels must be whole numbers from 0")
            }
            return Int(v)
        }
    }

    /// The labels, checked to give one per data row.
    func labels(_ values: [Int]?, rows: Int) throws -> [Int]? {
        guard let values else { return nil }
        guard values.count == rows else {
            throw ValidationError("--labels \(labels ?? ""): \(values.count) labels for the \(rows) rows of \(dataOptions.data)")
        }
        return values
    }

    func labelNames(_ labels: [Int]?) -> [String] {
        guard let labels else { return [] }
        return (0...(labels.max() ?? 0)).map(String.init)
    }

    /// The data on two columns (D = 2) or the first two principal axes, with component ellipses.
    func mixtureChart(_ x: Matrix<Double>, groups: [Int], components: [(mean: [Double], covariance: Matrix<Double>)], file: ModelFile) -> String {
        let d = x.columns
        var centre = [Double](repeating: 0, count: d)
        var axes: [[Double]]
        var names: (String, String)
        if d == 1 {
            axes = [[1]]
            names = (file.columns[0], "row")
        } else if d == 2 {
            axes = [[1, 0], [0, 1]]
            names = (file.columns[0], file.columns[1])
        } else {
            for i in 0..<x.rows { for j in 0..<d { centre[j] += x[i, j] / Double(x.rows) } }
            var covariance = Matrix<Double>(rows: d, columns: d)
            for i in 0..<x.rows { for a in 0..<d { for b in 0..<d { covariance[a, b] += (x[i, a] - centre[a]) * (x[i, b] - centre[b]) } } }
            let eigen = try? SymmetricEigen(covariance)
            axes = eigen.map { e in [d - 1, d - 2].map { k in (0..<d).map { e.vectors[$0, k] } } } ?? [[1] + [Double](repeating: 0, count: d - 1)]
            names = ("principal axis 1", "principal axis 2")
        }
        func project(_ v: [Double]) -> (Double, Double) {
            let p = axes.map { a in (0..<d).reduce(0) { $0 + a[$1] * (v[$1] - centre[$1]) } }
            return (p[0], p.count > 1 ? p[1] : 0)
        }
        let rows = Self.evenRows(x.rows)
        let points = rows.map { i -> (Double, Double, Int) in
            let p = project(x.row(i))
            return (p.0, d == 1 ? Double(i + 1) : p.1, groups[i])
        }
        let ellipses = d == 1 ? [] : components.enumerated().map { k, c -> (centre: (Double, Double), covariance: [[Double]], group: Int) in
            let m = project(c.mean)
            let s = (0..<2).map { a in (0..<2).map { b in
                (0..<d).reduce(0.0) { total, i in total + (0..<d).reduce(0.0) { $0 + axes[a][i] * c.covariance[i, $1] * axes[b][$1] } }
            } }
            return ((m.0, m.1), s, k)
        }
        return SVGChart.scatter(title: "Data coloured by cluster", xLabel: names.0, yLabel: names.1, points: points,
                                groupNames: (0..<max(components.count, 1)).map { "component \($0)" }, ellipses: ellipses)
    }

    func reconstructionGrid(_ x: Matrix<Float>, _ reconstructed: Matrix<Float>, side: Int) -> String {
        let n = reconstructed.rows
        let originals = Self.rows(x.selectingRows(0..<n)), copies = Self.rows(reconstructed)
        return SVGChart.imageGrid(title: "Reconstructions: data (top) and the model's reconstruction (below)", images: originals + copies, side: side,
                                  columns: max(n, 1))
    }

    static func rows(_ m: Matrix<Float>) -> [[Double]] { (0..<m.rows).map { i in m.row(i).map(Double.init) } }

    /// The side of square images of `pixels` values (28 for MNIST), if that many pixels make a square of at least 8 × 8.
    static func imageSide(_ pixels: Int) -> Int? {
        let side = Int(Double(pixels).squareRoot().rounded())
        return side * side == pixels && side >= 8 ? side : nil
    }

    static func evenRows(_ n: Int) -> [Int] {
        guard n > scatterRows else { return Array(0..<n) }
        return (0..<scatterRows).map { $0 * n / scatterRows }
    }
}
