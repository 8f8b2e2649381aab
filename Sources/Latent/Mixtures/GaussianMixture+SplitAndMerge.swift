import Foundation

extension GaussianMixture: SplitMergeable {
    /// Moves ranked by ``SplitAndMerge/rankedMoves(responsibilities:broadness:pairs:splits:)``,
    /// broadness being weight × generalised variance in standardised units: the 20 most overlapping
    /// pairs, each with the 6 broadest splits (every move up to `K = 7`). Then, with three or more
    /// components, ``MixtureFitOptions/seededMoves`` moves that merge the most overlapping pair and
    /// restart the freed component on the rows nearest one of the rows the mixture explains worst
    /// (``SplitAndMerge/seedRows(_:responsibilities:count:)``): optima with a small, tight
    /// component that no split of a broad one reaches. One pass over the data. None for diagonal
    /// and spherical mixtures in more than 1,000 (`largestDimensionForMoves`) columns: a move works
    /// on `D × D` covariance matrices, which such mixtures otherwise never build.
    public func splitMergeMoves(on data: MixtureTrainingData) -> [SplitMergeMove] {
        guard Self.movesFit(covarianceType, dimension: dimension) else { return [] }
        let r = responsibilities(for: data.initializationData, threads: data.threads)
        let logDet = logDeterminants
        let scaleLog = data.columnVariances.reduce(0) { $0 + log(max($1, 1e-300)) }
        let broadness = (0..<componentCount).map { weights[$0] * exp((logDet[$0] - scaleLog) / Double(dimension)) }
        let ranked = SplitAndMerge.rankedMoves(responsibilities: r, broadness: broadness, pairs: 20, splits: 6)
        guard data.seededMoves > 0, componentCount >= 3, let top = ranked.first else { return ranked }
        let seeds = SplitAndMerge.seedRows(InitializationSpaces.standardize(data), responsibilities: r, count: data.seededMoves)
        return ranked + seeds.map { SplitMergeMove(first: top.first, second: top.second, split: top.second, seedRow: $0) }
    }

    public func applying(_ move: SplitMergeMove, on data: MixtureTrainingData, using rng: inout Xoshiro256StarStar) -> GaussianMixture? {
        var parts = merged(move.first, move.second)
        let l = move.split, j = move.second, d = dimension
        if let seed = move.seedRow {
            // j restarts on the max(D + 2, N/20) rows nearest the seed, in standardised units, with
            // their share of the rows as its weight.
            let x = data.initializationData, n = x.rows, m = Swift.max(d + 2, n / 20)
            guard n > m else { return nil }
            let near = SplitAndMerge.nearestRows(InitializationSpaces.standardize(data), to: seed, count: m)
            var mean = [Double](repeating: 0, count: d)
            for t in near { for a in 0..<d { mean[a] += x[t, a] / Double(m) } }
            var covariance = Matrix<Double>(rows: d, columns: d)
            for t in near { for a in 0..<d { for b in 0..<d { covariance[a, b] += (x[t, a] - mean[a]) * (x[t, b] - mean[b]) / Double(m) } } }
            for a in 0..<d { covariance[a, a] += data.floors[a] + 1e-6 * data.columnVariances[a] }
            for a in 0..<d { parts.means[j, a] = mean[a] }
            parts.covariances[j] = covariance
            parts.weights[j] = Double(m) / Double(n)
        } else {
            // l (which may be the merged one) splits in two, into l and j, half a standard deviation
            // each way along its widest axis.
            let source = parts.covariances[l]
            guard let (plus, minus) = Self.split(mean: parts.means.row(l), covariance: source, scales: data.columnScales, rng: &rng)
            else { return nil }
            for a in 0..<d { parts.means[l, a] = plus[a]; parts.means[j, a] = minus[a] }
            parts.covariances[j] = source
            parts.weights[j] = parts.weights[l] / 2
            parts.weights[l] /= 2
        }
        let total = parts.weights.reduce(0, +)
        return try? GaussianMixture(weights: parts.weights.map { $0 / total }, means: parts.means,
                                    covariances: covariances.replacing(withFull: parts.covariances))
    }

    /// Columns above which diagonal and spherical mixtures make no split-and-merge moves or repairs.
    static let largestDimensionForMoves = 1_000

    static func movesFit(_ type: CovarianceType, dimension: Int) -> Bool {
        type == .full || type == .tied || dimension <= largestDimensionForMoves
    }

    /// This mixture's parameters (covariances as `D × D` matrices) with components `i` and `j`
    /// merged into `i`, moment-matched: weights add, means average, covariances add their spread
    /// about the new mean. Component `j` is left as it was, for the move to re-place.
    private func merged(_ i: Int, _ j: Int) -> (weights: [Double], means: Matrix<Double>, covariances: [Matrix<Double>]) {
        let d = dimension
        var w = weights, mu = means
        var full = (0..<componentCount).map { covariances.matrix(component: $0, dimension: d) }
        let wij = weights[i] + weights[j]
        var merged = Matrix<Double>(rows: d, columns: d)
        var mean = [Double](repeating: 0, count: d)
        for a in 0..<d { mean[a] = (weights[i] * means[i, a] + weights[j] * means[j, a]) / wij }
        for c in [i, j] {
            let f = weights[c] / wij
            for a in 0..<d { for b in 0..<d {
                merged[a, b] += f * (full[c][a, b] + (means[c, a] - mean[a]) * (means[c, b] - mean[b]))
            } }
        }
        w[i] = wij
        for a in 0..<d { mu[i, a] = mean[a] }
        full[i] = merged
        return (w, mu, full)
    }
}
