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
        var seeds = [rng.nextInt(below: n)]
        var closest = (0..<n).map { squaredDistance(x, $0, x, seeds[0], d) }
        while seeds.count < k {
            let potential = closest.reduce(0, +)
            var bestCandidate = -1
            var bestPotential = Double.infinity
            var bestDistances: [Double] = []
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
                var distances = closest
                var total = 0.0
                for i in 0..<n {
                    let dist = squaredDistance(x, i, x, candidate, d)
                    if dist < distances[i] { distances[i] = dist }
                    total += distances[i]
                }
                if total < bestPotential { bestPotential = total; bestCandidate = candidate; bestDistances = distances }
            }
            seeds.append(bestCandidate)
            closest = bestDistances
        }
        return seeds
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
            var sums = Matrix<Double>(rows: k, columns: d)
            var counts = [Int](repeating: 0, count: k)
            for i in 0..<x.rows {
                counts[labels[i]] += 1
                for j in 0..<d { sums[labels[i], j] += x[i, j] }
            }
            var shift = 0.0
            for c in 0..<k where counts[c] > 0 {
                for j in 0..<d {
                    let moved = sums[c, j] / Double(counts[c])
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

    /// Index of the nearest centre for each row.
    public static func nearest(_ x: Matrix<Double>, _ centers: Matrix<Double>) -> [Int] {
        let d = x.columns, k = centers.rows
        var labels = [Int](repeating: 0, count: x.rows)
        x.withUnsafeBufferPointer { xp in
            centers.withUnsafeBufferPointer { cp in
                for i in 0..<x.rows {
                    var best = 0, bestDistance = Double.infinity
                    for c in 0..<k {
                        let dist = VectorMath.squaredDistance(xp.baseAddress! + i * d, cp.baseAddress! + c * d, count: d)
                        if dist < bestDistance { bestDistance = dist; best = c }
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
        for t in 0..<d { let diff = a.storage[i &* d &+ t] - b.storage[j &* d &+ t]; s += diff * diff }
        return s
    }
}
