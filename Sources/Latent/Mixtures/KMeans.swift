import Foundation

/// k-means clustering: k-means++ seeding and Lloyd iterations, used to start mixtures and HMMs.
public enum KMeans {
    /// Row indices of `k` seeds chosen by greedy k-means++ (Arthur & Vassilvitskii 2007): each new
    /// seed is the best of `2 + ⌊log k⌋` candidates drawn with probability proportional to the
    /// squared distance to the nearest seed so far.
    public static func plusPlusSeeds(_ x: Matrix<Double>, count k: Int, using rng: inout Xoshiro256StarStar) -> [Int] {
        let n = x.rows, d = x.columns
        precondition(k >= 1 && k <= n, "Need 1 ≤ k ≤ rows")
        let trials = 2 + Int(log(Double(k)))
        return x.withUnsafeBufferPointer { xp in
            let base = xp.start
            /// `min(closest[i], ‖xᵢ − x_candidate‖²)` for every row, into `out`; returns their sum.
            func distances(to candidate: Int, below closest: [Double], into out: inout [Double]) -> Double {
                let c = base + candidate &* d
                var total = 0.0
                for i in 0..<n {
                    let row = base + i &* d
                    var s = 0.0
                    for t in 0..<d { let diff = row[t] - c[t]; s += diff * diff }
                    let m = Swift.min(s, closest[i])
                    out[i] = m
                    total += m
                }
                return total
            }
            var seeds = [rng.nextInt(below: n)]
            var closest = [Double](repeating: .infinity, count: n)
            var potential = distances(to: seeds[0], below: closest, into: &closest)
            var candidateDistances = [Double](repeating: 0, count: n)
            var bestDistances = [Double](repeating: 0, count: n)
            while seeds.count < k {
                var bestCandidate = -1
                var bestPotential = Double.infinity
                for _ in 0..<trials {
                    let candidate: Int
                    if potential > 0 {
                        let u = rng.nextUniform() * potential
                        var acc = 0.0, pick = n - 1
                        for i in 0..<n { acc += closest[i]; if acc > u { pick = i; break } }
                        candidate = pick
                    } else {
                        candidate = rng.nextInt(below: n)
                    }
                    let total = distances(to: candidate, below: closest, into: &candidateDistances)
                    if total < bestPotential {
                        bestPotential = total; bestCandidate = candidate
                        swap(&bestDistances, &candidateDistances)
                    }
                }
                seeds.append(bestCandidate)
                swap(&closest, &bestDistances)
                potential = bestPotential
            }
            return seeds
        }
    }

    /// Lloyd's algorithm from the given centres until no label changes, the centres move by less
    /// than `tolerance` (the summed squared shift of all centres, relative to the data's mean
    /// column variance, as scikit-learn's `KMeans(tol:)`), or `maxIterations`. An empty cluster
    /// keeps its centre. - Complexity: `O(N·K·D)` per iteration.
    public static func lloyd(_ x: Matrix<Double>, centers initial: Matrix<Double>, maxIterations: Int = 100,
                             tolerance: Double = 1e-4) -> (centers: Matrix<Double>, labels: [Int])
    {
        let k = initial.rows, d = x.columns
        var centers = initial
        var labels = nearest(x, centers)
        var columnMean = [Double](repeating: 0, count: d), columnSquares = [Double](repeating: 0, count: d)
        for i in 0..<x.rows { for j in 0..<d { columnMean[j] += x[i, j]; columnSquares[j] += x[i, j] * x[i, j] } }
        let n = Double(max(1, x.rows))
        let meanVariance = (0..<d).reduce(0.0) { $0 + max(0, columnSquares[$1] / n - (columnMean[$1] / n) * (columnMean[$1] / n)) } / Double(d)
        for _ in 0..<maxIterations {
            var sums = [Double](repeating: 0, count: k * d)
            var counts = [Int](repeating: 0, count: k)
            x.withUnsafeBufferPointer { xp in
                sums.withUnsafeMutableBufferPointer { sp in
                    for i in 0..<x.rows {
                        let l = labels[i], row = xp.start + i &* d, sum = sp.start + l &* d
                        counts[l] += 1
                        for j in 0..<d { sum[j] += row[j] }
                    }
                }
            }
            var shift = 0.0
            for c in 0..<k where counts[c] > 0 {
                for j in 0..<d {
                    let moved = sums[c * d + j] / Double(counts[c])
                    shift += (moved - centers[c, j]) * (moved - centers[c, j])
                    centers[c, j] = moved
                }
            }
            let next = nearest(x, centers)
            if next == labels { break }
            labels = next
            if shift <= tolerance * meanVariance { break }
        }
        return (centers, labels)
    }

    /// Index of the nearest centre for each row (the first on ties).
    /// - Complexity: `O(N·K·D)`.
    public static func nearest(_ x: Matrix<Double>, _ centers: Matrix<Double>) -> [Int] {
        let d = x.columns, k = centers.rows
        var labels = [Int](repeating: 0, count: x.rows)
        x.withUnsafeBufferPointer { xp in
            centers.withUnsafeBufferPointer { cp in
                let c0 = cp.start
                for i in 0..<x.rows {
                    let row = xp.start + i &* d
                    var best = 0, bestDistance = Double.infinity
                    for c in 0..<k {
                        let center = c0 + c &* d
                        var s = 0.0
                        for t in 0..<d { let diff = row[t] - center[t]; s += diff * diff }
                        if s < bestDistance { bestDistance = s; best = c }
                    }
                    labels[i] = best
                }
            }
        }
        return labels
    }

    @inline(__always)
    static func squaredDistance(_ a: Matrix<Double>, _ i: Int, _ b: Matrix<Double>, _ j: Int, _ d: Int) -> Double {
        var s = 0.0
        for t in 0..<d { let diff = a.elements[i &* d &+ t] - b.elements[j &* d &+ t]; s += diff * diff }
        return s
    }
}
