/// Rows grouped by which of their values are missing (NaN), so that EM with missing data does its
/// per-pattern algebra once per pattern, not once per row. Complete data is a single group.
public struct MissingnessPatterns: Sendable {
    /// One pattern of observed columns and the rows that share it.
    public struct Group: Sendable {
        /// Observed column indices, ascending.
        public let observed: [Int]
        /// Missing column indices, ascending.
        public let missing: [Int]
        /// Rows with this pattern, ascending.
        public let rows: [Int]
    }

    /// The groups in order of first appearance.
    public let groups: [Group]

    /// Groups the rows of `x`.
    public init(_ x: Matrix<Double>) {
        let d = x.columns
        var index: [[Bool]: Int] = [:]
        var observed: [[Int]] = [], rows: [[Int]] = []
        var key = [Bool](repeating: false, count: d)
        for i in 0..<x.rows {
            for j in 0..<d { key[j] = !x.elements[i * d + j].isNaN }
            if let g = index[key] {
                rows[g].append(i)
            } else {
                index[key] = observed.count
                observed.append((0..<d).filter { key[$0] })
                rows.append([i])
            }
        }
        groups = zip(observed, rows).map { o, r in
            Group(observed: o, missing: (0..<d).filter { !o.contains($0) }, rows: r)
        }
    }

    /// Whether every value is observed.
    public var isComplete: Bool { groups.count == 1 && groups[0].missing.isEmpty }
}

extension Matrix where Scalar == Double {
    /// Column means over the observed (non-NaN) values; 0 for a column with none.
    public var observedColumnMeans: [Double] {
        var sums = [Double](repeating: 0, count: columns), counts = [Int](repeating: 0, count: columns)
        for i in 0..<rows { for j in 0..<columns where !self[i, j].isNaN { sums[j] += self[i, j]; counts[j] += 1 } }
        return (0..<columns).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : 0 }
    }

    /// The number of missing (NaN) values.
    public var missingCount: Int { elements.reduce(0) { $0 + ($1.isNaN ? 1 : 0) } }
}
