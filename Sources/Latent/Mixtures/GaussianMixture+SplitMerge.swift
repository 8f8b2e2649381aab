import Foundation

extension GaussianMixture {
    /// Iterations a move gets to pass the current likelihood before it is dropped.
    static let lookIterations = 20

    /// Split-and-merge moves after EM has converged (after Ueda, Nakano, Ghahramani & Hinton 2000):
    /// EM often ends with two components sharing one cluster while another component covers two
    /// clusters. A move merges an overlapping pair and splits a broad component along its widest
    /// axis, keeping `K`. EM gets ``lookIterations`` iterations to pass the current likelihood and
    /// then runs to convergence; the move is kept only if the likelihood rises and no component is
    /// degenerate. Moves are ranked by ``rankedMoves(_:data:)`` and ranked again after one is kept.
    ///
    /// - Parameters:
    ///   - trials: moves tried at most.
    /// - Returns: the improved model, its trace and the iterations spent; the given model with the
    ///   iterations spent when no move helped; nil when none was tried.
    static func splitAndMerge(_ model: GaussianMixture, trace: EMTrace, data: MixtureTrainingData, em: EMOptions,
                              trials: Int, rng: inout Xoshiro256StarStar) throws -> (GaussianMixture, EMTrace, spent: Int)? {
        let k = model.componentCount
        guard k >= 2, trials > 0 else { return nil }
        var best: (model: GaussianMixture, trace: EMTrace)?
        var spent = 0
        var current = model, currentTrace = trace
        // Candidate moves of the current model, best first; ranked again after a move is kept.
        var moves = rankedMoves(current, data: data)
        for _ in 0..<trials {
            guard !moves.isEmpty else { break }
            let move = moves.removeFirst()
            guard var candidate = current.mergedAndSplit(merge: (move.i, move.j), split: move.split, scales: data.columnScales, rng: &rng) else { continue }
            // A short look first: a move that has not passed the current likelihood after a few
            // iterations rarely does, and is dropped without running to convergence.
            let look = EMOptions(maxIterations: min(lookIterations, em.maxIterations), tolerance: em.tolerance)
            guard var candidateTrace = try? ExpectationMaximization.run(&candidate, on: data, count: data.data.rows, options: look) else { continue }
            spent += candidateTrace.iterations
            guard candidateTrace.logLikelihood > currentTrace.logLikelihood else { continue }
            if !candidateTrace.converged {
                guard let rest = try? ExpectationMaximization.run(&candidate, on: data, count: data.data.rows, options: em) else { continue }
                spent += rest.iterations
                candidateTrace = rest
            }
            if candidateTrace.logLikelihood > currentTrace.logLikelihood + 1e-9 * abs(currentTrace.logLikelihood),
               candidate.degeneracies(on: data).isEmpty {
                current = candidate
                currentTrace = candidateTrace
                best = (candidate, candidateTrace)
                moves = rankedMoves(current, data: data)
            }
        }
        guard let best else { return spent > 0 ? (model, trace, spent) : nil }
        return (best.model, best.trace, spent)
    }

    /// Moves of `model`, best first: merge `i` and `j` (the five most overlapping pairs by the
    /// cosine of their responsibility vectors), split one of the three broadest components by
    /// weight × generalised variance in standardised units, other than `i` and `j` (the merged one
    /// itself when `K = 2`). One pass over the data for the responsibilities.
    private static func rankedMoves(_ model: GaussianMixture, data: MixtureTrainingData) -> [(i: Int, j: Int, split: Int)] {
        let k = model.componentCount, d = model.dimension
        let r = model.responsibilities(for: data.initializationData, threads: data.threads)
        var norms = [Double](repeating: 0, count: k)
        var dots = Matrix<Double>(rows: k, columns: k)
        for i in 0..<r.rows {
            for a in 0..<k {
                norms[a] += r[i, a] * r[i, a]
                for b in (a + 1)..<max(a + 1, k) { dots[a, b] += r[i, a] * r[i, b] }
            }
        }
        var pairs: [(Double, Int, Int)] = []
        for a in 0..<k { for b in (a + 1)..<max(a + 1, k) { pairs.append((dots[a, b] / max((norms[a] * norms[b]).squareRoot(), 1e-300), a, b)) } }
        pairs.sort { $0.0 > $1.0 }
        let logDet = model.logDeterminants
        let scaleLog = data.columnVariances.reduce(0) { $0 + log(max($1, 1e-300)) }
        let broadness = (0..<k).map { model.weights[$0] * exp((logDet[$0] - scaleLog) / Double(d)) }
        return pairs.prefix(5).flatMap { _, i, j in
            let splits = k == 2 ? [i] : (0..<k).filter { $0 != i && $0 != j }.sorted { broadness[$0] > broadness[$1] }
            return splits.prefix(3).map { (i: i, j: j, split: $0) }
        }
    }

    /// This mixture with components `i` and `j` merged into `i` (moment-matched) and component `l`
    /// split in two (into `l` and `j`) half a standard deviation each way along its widest axis.
    private func mergedAndSplit(merge: (Int, Int), split l: Int, scales: [Double], rng: inout Xoshiro256StarStar) -> GaussianMixture? {
        let (i, j) = merge
        let d = dimension, k = componentCount
        var w = weights, mu = means
        var full = (0..<k).map { covariances.matrix(component: $0, dimension: d) }
        // Merge i and j: weights add, means average, covariances add their spread about the new mean.
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
        // Split l (which may be the merged i) into l and j.
        let source = full[l]   // the merged one when l == i
        guard let (plus, minus) = Self.split(mean: mu.row(l), covariance: source, scales: scales, rng: &rng) else { return nil }
        for a in 0..<d { mu[l, a] = plus[a]; mu[j, a] = minus[a] }
        full[j] = source
        w[j] = w[l] / 2
        w[l] /= 2
        let total = w.reduce(0, +)
        return try? GaussianMixture(weights: w.map { $0 / total }, means: mu, covariances: covariances.replacing(withFull: full))
    }
}
