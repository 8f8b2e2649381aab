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
    /// - Complexity: `O(min(N, 1000)·min(N, 2000)·D)` on average.
    public static func underfitRows(_ x: Matrix<Double>, modelLogDensity: [Double], neighbourShare: Double = 0.05,
                                    count: Int) -> [Int] {
        guard count > 0 else { return [] }
        return underfitRows(x, radii: neighbourRadii(x, neighbourShare: neighbourShare), modelLogDensity: modelLogDensity, count: count)
    }

    /// ``underfitRows(_:modelLogDensity:neighbourShare:count:)`` with the neighbour radii, which do
    /// not depend on the model, computed once (``neighbourRadii(_:neighbourShare:)`` of the same `x`).
    /// - Precondition: `radii` was computed from `x`'s shape; one model log-density per row.
    /// - Complexity: `O(C log C + count·R·(D + log R))` for `C` candidates and `R` reference rows.
    public static func underfitRows(_ x: Matrix<Double>, radii: NeighbourRadii, modelLogDensity: [Double], count: Int) -> [Int] {
        precondition(modelLogDensity.count == x.rows, "One model log-density per row")
        precondition(radii.rows == x.rows && radii.columns == x.columns, "Neighbour radii of another data set")
        guard count > 0 else { return [] }
        let d = Double(x.columns)
        var scored = zip(radii.candidates, radii.radii).compactMap { row, radius -> (score: Double, row: Int)? in
            radius.isNaN ? nil : (-d * log(radius) - modelLogDensity[row], row)
        }
        scored.sort { $0.score > $1.score }
        // The neighbours are found only for the rows chosen, to keep them from being chosen again.
        var chosen: [Int] = [], covered = Set<Int>()
        for candidate in scored where chosen.count < count && !covered.contains(candidate.row) && candidate.score.isFinite {
            chosen.append(candidate.row)
            covered.formUnion(nearestReferences(x, to: candidate.row, among: radii.references, count: radii.neighbours + 1))
        }
        return chosen
    }

    /// The model-free half of ``underfitRows(_:modelLogDensity:neighbourShare:count:)``: for each
    /// candidate row, the `(k + 1)`-th smallest distance to the reference rows (a candidate that is
    /// itself a reference counts itself, at distance 0), at least 0.01.
    public struct NeighbourRadii: Sendable {
        /// The shape of the data they were computed from.
        public let rows: Int, columns: Int
        /// Rows scored: at most 1,000, evenly spaced.
        public let candidates: [Int]
        /// Rows searched for neighbours: at most 2,000, evenly spaced.
        public let references: [Int]
        /// `k`: `neighbourShare` of the references, at least `D + 1`.
        public let neighbours: Int
        /// Each candidate's radius; NaN where fewer than `k + 1` references are comparable (missing values).
        public let radii: [Double]
    }

    /// Each candidate row's `k`-nearest-neighbour radius in `x`'s units (see ``NeighbourRadii``).
    /// - Complexity: `O(C·R·D)` for `C ≤ 1000` candidates and `R ≤ 2000` references.
    public static func neighbourRadii(_ x: Matrix<Double>, neighbourShare: Double = 0.05) -> NeighbourRadii {
        let n = x.rows, d = x.columns
        func evenly(_ limit: Int) -> [Int] { Array(stride(from: 0, to: n, by: max(1, (n + limit - 1) / limit))) }
        let candidates = evenly(1_000), references = evenly(2_000)
        let k = min(max(d + 1, Int(neighbourShare * Double(references.count))), references.count - 1)
        guard k >= 1 else { return NeighbourRadii(rows: n, columns: d, candidates: [], references: references, neighbours: 0, radii: []) }
        var distances = [Double](repeating: 0, count: references.count)
        let radii = x.elements.withUnsafeBufferPointer { e in
            candidates.map { t -> Double in
                var m = 0
                for u in references {
                    var distance = 0.0
                    for c in 0..<d { let gap = e[t * d + c] - e[u * d + c]; distance += gap * gap }
                    if !distance.isNaN { distances[m] = distance; m += 1 }
                }
                return m > k ? max(Selection.smallest(k, in: &distances, count: m).squareRoot(), 0.01) : .nan
            }
        }
        return NeighbourRadii(rows: n, columns: d, candidates: candidates, references: references, neighbours: k, radii: radii)
    }

    /// The `count` rows of `references` nearest row `t` (squared distance, rows with a missing
    /// value left out; of equally near rows, the earlier in `references`).
    private static func nearestReferences(_ x: Matrix<Double>, to t: Int, among references: [Int], count: Int) -> [Int] {
        let measured = references.compactMap { u -> (distance: Double, row: Int)? in
            let distance = squaredDistance(x, t, u)
            return distance.isNaN ? nil : (distance, u)
        }
        return measured.enumerated().sorted { ($0.element.distance, $0.offset) < ($1.element.distance, $1.offset) }
            .prefix(count).map(\.element.row)
    }

    /// The rows of `x` nearest row `seed` (squared Euclidean distance, columns as given), nearest first.
    /// - Complexity: `O(N·D + N log N)`.
    public static func nearestRows(_ x: Matrix<Double>, to seed: Int, count: Int) -> [Int] {
        let distance = (0..<x.rows).map { squaredDistance(x, $0, seed) }
        return Array((0..<x.rows).sorted { distance[$0] < distance[$1] }.prefix(count))
    }

    /// The squared Euclidean distance between rows `t` and `u` of `x`, columns summed in order.
    private static func squaredDistance(_ x: Matrix<Double>, _ t: Int, _ u: Int) -> Double {
        var sum = 0.0
        for c in 0..<x.columns { let gap = x[t, c] - x[u, c]; sum += gap * gap }
        return sum
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
