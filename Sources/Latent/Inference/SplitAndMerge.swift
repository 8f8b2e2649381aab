import Foundation

/// One move of split-and-merge EM: components `first` and `second` merge into `first`, and
/// component `split` (possibly the merged one) splits in two, into `split` and `second`, so the
/// number of components stays the same.
public struct SplitMergeMove: Sendable, Equatable {
    public let first: Int
    public let second: Int
    public let split: Int
    /// When set, `second` restarts as a new narrow component around this row of the data instead of
    /// taking half of `split` (which is then unused): the move that finds optima with a small,
    /// tight component that no split of a broad one reaches.
    public let seedRow: Int?

    public init(first: Int, second: Int, split: Int, seedRow: Int? = nil) {
        self.first = first
        self.second = second
        self.split = split
        self.seedRow = seedRow
    }
}

/// A model whose components (mixture components, HMM states) split-and-merge EM can move.
public protocol SplitMergeable: DegeneracyChecking {
    /// Candidate moves on `data`, most promising first (usually from
    /// ``SplitAndMerge/rankedMoves(responsibilities:broadness:pairs:splits:)``).
    func splitMergeMoves(on data: TrainingData) -> [SplitMergeMove]
    /// This model after `move`, or nil when the move cannot be made.
    func applying(_ move: SplitMergeMove, on data: TrainingData, using rng: inout Xoshiro256StarStar) -> Self?
    /// EM iterations a move gets to pass the current likelihood, and the iterations after which it
    /// is dropped as soon as its gains extrapolate short of it
    /// (``ExpectationMaximization/cannotReach(_:_:earliest:margin:)``). By default ``SplitAndMerge/lookIterations``
    /// and ``ExpectationMaximization/earliestVerdict``.
    static var splitMergeLook: (iterations: Int, verdictAfter: Int) { get }
}

extension SplitMergeable {
    public static var splitMergeLook: (iterations: Int, verdictAfter: Int) {
        (SplitAndMerge.lookIterations, ExpectationMaximization.earliestVerdict)
    }
}

/// Split-and-merge EM after convergence (after Ueda, Nakano, Ghahramani & Hinton 2000), written
/// once for every ``SplitMergeable`` model.
///
/// EM often ends with two components sharing one cluster while another covers two. A move merges
/// an overlapping pair and splits a broad component, keeping their number. EM gets
/// ``lookIterations`` iterations to pass the current likelihood and then runs to convergence; the
/// move is kept only if the likelihood rises and no component is degenerate. Moves are ranked by
/// the model and ranked again after one is kept.
public enum SplitAndMerge {
    /// Iterations a move gets to pass the current likelihood before it is dropped.
    public static let lookIterations = 20

    /// Tries up to `trials` moves from `model` (converged, with `trace`).
    ///
    /// - Returns: the improved model, its trace and the EM iterations spent; the given model with
    ///   the iterations spent when no move helped; nil when none was tried.
    public static func refine<Model: SplitMergeable>(
        _ model: Model, trace: EMTrace, data: Model.TrainingData, count: Int, em: EMOptions, trials: Int,
        rng: inout Xoshiro256StarStar
    ) -> (Model, EMTrace, spent: Int)? {
        guard trials > 0 else { return nil }
        var improved = false
        var spent = 0
        var current = model, currentTrace = trace
        var moves = current.splitMergeMoves(on: data)
        guard !moves.isEmpty else { return nil }
        for _ in 0..<trials {
            guard !moves.isEmpty else { break }
            let move = moves.removeFirst()
            guard var candidate = current.applying(move, on: data, using: &rng) else { continue }
            // A short look first: a move that has not passed the current likelihood after a few
            // iterations rarely does, and is dropped without running to convergence.
            let (lookLength, verdictAfter) = Model.splitMergeLook
            // Plain EM even when `em` asks for SQUAREM: accelerated looks passed the current
            // likelihood more often, and the HMM reference suite (seeds 0–7) lost 6 of its 304 hits.
            let look = EMOptions(maxIterations: min(lookLength, em.maxIterations), tolerance: em.tolerance)
            let target = currentTrace.logLikelihood
            // Unscored after its last M-step: most looks are dropped, and a kept one is scored by the
            // run that continues it.
            guard let lookTrace = try? ExpectationMaximization.run(&candidate, on: data, count: count, options: look,
                                                                    stop: { $0.count > verdictAfter && ExpectationMaximization.cannotReach(target, $0) },
                                                                    scoringTheLastStep: false) else { continue }
            spent += lookTrace.iterations
            guard lookTrace.logLikelihood > currentTrace.logLikelihood,
                  let candidateTrace = try? ExpectationMaximization.run(&candidate, on: data, count: count, options: em) else { continue }
            spent += candidateTrace.iterations
            if candidateTrace.logLikelihood > currentTrace.logLikelihood + 1e-9 * abs(currentTrace.logLikelihood),
               candidate.degeneracies(on: data).isEmpty {
                current = candidate
                currentTrace = candidateTrace
                improved = true
                moves = current.splitMergeMoves(on: data)
            }
        }
        return improved ? (current, currentTrace, spent) : (model, trace, spent)
    }

    /// The `count` rows farthest from the responsibility-weighted mean of their most probable
    /// component (rows of `x`, standardised columns), one per distinct row: the tails a model
    /// explains worst, where a seeded move (``SplitMergeMove/seedRow``) restarts a component.
    /// - Complexity: `O(N·K·D + N log N)`.
    public static func seedRows(_ x: Matrix<Double>, responsibilities gamma: Matrix<Double>, count: Int) -> [Int] {
        let n = x.rows, k = gamma.columns, d = x.columns
        var means = Matrix<Double>(rows: k, columns: d), weights = [Double](repeating: 0, count: k)
        for t in 0..<n { for s in 0..<k { weights[s] += gamma[t, s]; for c in 0..<d { means[s, c] += gamma[t, s] * x[t, c] } } }
        for s in 0..<k where weights[s] > 0 { for c in 0..<d { means[s, c] /= weights[s] } }
        var distance = [Double](repeating: 0, count: n)
        for t in 0..<n {
            var best = -1.0, state = 0
            for s in 0..<k where gamma[t, s] > best { best = gamma[t, s]; state = s }
            for c in 0..<d { distance[t] += (x[t, c] - means[state, c]) * (x[t, c] - means[state, c]) }
        }
        var chosen: [Int] = []
        for t in (0..<n).sorted(by: { distance[$0] > distance[$1] }) where chosen.count < count {
            if !chosen.contains(where: { c in (0..<d).allSatisfy { x[c, $0] == x[t, $0] } }) { chosen.append(t) }
        }
        return chosen
    }

    /// Rows where the data are densest relative to the model, the largest `log p̂(x) − log p(x)`:
    /// `p̂` is the `k`-nearest-neighbour density estimate in `x`'s units (standardised columns,
    /// `k` = `neighbourShare` of the rows it looks among, at least `D + 1`; a
    /// neighbour radius below 0.01 counts as 0.01, so repeated values do not win by their ties
    /// alone) and `modelLogDensity` the model's log-density of each row (in any units: a change of
    /// units shifts every row's alike). A tight cluster that the model covers with a broad
    /// component stands out. The `k` neighbours of a chosen row are not chosen again. Candidates
    /// are at most 1,000 and neighbours at most 2,000 evenly spaced rows.
    /// - Complexity: `O(min(N, 1000)·min(N, 2000)·(D + k))` at worst, `k ≤ 100` by default.
    public static func underfitRows(_ x: Matrix<Double>, modelLogDensity: [Double], neighbourShare: Double = 0.05,
                                    count: Int) -> [Int] {
        let n = x.rows, d = x.columns
        func evenly(_ limit: Int) -> [Int] { Array(stride(from: 0, to: n, by: max(1, (n + limit - 1) / limit))) }
        let candidates = evenly(1_000), references = evenly(2_000)
        let kk = min(max(d + 1, Int(neighbourShare * Double(references.count))), references.count - 1)
        guard kk >= 1, count > 0 else { return [] }
        var scored: [(score: Double, row: Int, near: [Int])] = []
        scored.reserveCapacity(candidates.count)
        var nearest: [(Double, Int)] = []   // the kk + 1 nearest so far, ascending
        nearest.reserveCapacity(kk + 2)
        for t in candidates {
            nearest.removeAll(keepingCapacity: true)
            for u in references {
                var distance = 0.0
                for c in 0..<d { let e = x[t, c] - x[u, c]; distance += e * e }
                guard !(distance.isNaN), nearest.count <= kk || distance < nearest[kk].0 else { continue }
                let at = nearest.firstIndex { $0.0 > distance } ?? nearest.count
                nearest.insert((distance, u), at: at)
                if nearest.count > kk + 1 { nearest.removeLast() }
            }
            guard nearest.count == kk + 1 else { continue }
            let radius = max(nearest[kk].0.squareRoot(), 0.01)
            scored.append((-Double(d) * log(radius) - modelLogDensity[t], t, nearest.map(\.1)))
        }
        scored.sort { $0.score > $1.score }
        var chosen: [Int] = [], covered = Set<Int>()
        for candidate in scored where chosen.count < count && !covered.contains(candidate.row) && candidate.score.isFinite {
            chosen.append(candidate.row)
            covered.formUnion(candidate.near)
        }
        return chosen
    }

    /// The rows of `x` nearest row `seed` (squared Euclidean distance, columns as given), nearest first.
    /// - Complexity: `O(N·D + N log N)`.
    public static func nearestRows(_ x: Matrix<Double>, to seed: Int, count: Int) -> [Int] {
        let distance = (0..<x.rows).map { t in (0..<x.columns).reduce(0.0) { $0 + (x[t, $1] - x[seed, $1]) * (x[t, $1] - x[seed, $1]) } }
        return Array((0..<x.rows).sorted { distance[$0] < distance[$1] }.prefix(count))
    }

    /// Moves best first from a model's responsibilities (`N × K`) and each component's broadness
    /// (weight × spread, in units that do not depend on the data's): merge `i` and `j` for the
    /// `pairs` pairs whose responsibility vectors have the largest cosine, most overlapping first,
    /// each with a split of one of the `splits` broadest components other than `i` and `j` (the
    /// merged one itself when `K = 2`), broadest first.
    /// - Complexity: `O(N·K²)`.
    public static func rankedMoves(responsibilities r: Matrix<Double>, broadness: [Double], pairs pairCount: Int = 5,
                                   splits splitCount: Int = 3) -> [SplitMergeMove] {
        let k = r.columns
        guard k >= 2 else { return [] }
        var norms = [Double](repeating: 0, count: k)
        var dots = Matrix<Double>(rows: k, columns: k)
        for i in 0..<r.rows {
            for a in 0..<k {
                norms[a] += r[i, a] * r[i, a]
                for b in (a + 1)..<max(a + 1, k) { dots[a, b] += r[i, a] * r[i, b] }
            }
        }
        var pairs: [(Double, Int, Int)] = []
        for a in 0..<k { for b in (a + 1)..<k { pairs.append((dots[a, b] / max((norms[a] * norms[b]).squareRoot(), 1e-300), a, b)) } }
        pairs.sort { $0.0 > $1.0 }
        return pairs.prefix(pairCount).flatMap { _, i, j in
            let splits = k == 2 ? [i] : (0..<k).filter { $0 != i && $0 != j }.sorted { broadness[$0] > broadness[$1] }
            return splits.prefix(splitCount).map { SplitMergeMove(first: i, second: j, split: $0) }
        }
    }
}
