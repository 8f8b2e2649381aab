import Foundation

/// The sufficient statistics of factor analysis and probabilistic PCA on rows with missing values:
/// for each missingness pattern (the columns a row observes), the count of its rows and the means
/// and scatter of its observed columns (a ``LinearGaussianStatistics`` over those columns).
///
/// EM with missing values reads nothing else of the data (``FactorAnalysis/fit(_:factors:options:)``
/// groups rows by pattern in memory too), so these statistics replace the rows: a fit from them is
/// the fit to the rows they hold, to rounding. Like the complete-data moments they do not depend on
/// any model, and they merge exactly: equal patterns merge their moments (Chan, Golub & LeVeque),
/// other patterns join the list, which is kept in one order (by observed columns) whatever the split.
///
/// ```swift
/// var total = try LinearGaussianPatternStatistics(part1)          // NaN marks a missing value
/// try total.merge(LinearGaussianPatternStatistics(part2))
/// let (model, _) = try FactorAnalysis.fit(statistics: total, factors: 3)   // = fit(part1 ∪ part2)
/// ```
public struct LinearGaussianPatternStatistics: MergeableStatistics {
    /// Bumped when the layout changes; other versions are refused when merged or fitted.
    public static let version = 1

    /// One missingness pattern: the columns its rows observe (increasing) and their moments.
    public struct Pattern: Codable, Sendable, Equatable {
        /// Observed columns, increasing, at least one.
        public let observed: [Int]
        /// Count, means and scatter of the observed columns over the pattern's rows.
        public fileprivate(set) var moments: LinearGaussianStatistics
    }

    public let version: Int
    /// Columns `D`.
    public let dimension: Int
    /// The patterns, ordered by their observed columns (lexicographically).
    public private(set) var patterns: [Pattern]

    /// No rows yet, in `dimension` columns.
    public init(dimension: Int) {
        precondition(dimension >= 1, "At least one column")
        version = Self.version
        self.dimension = dimension
        patterns = []
    }

    /// The statistics of the rows of `x` (`N × D`; NaN marks a missing value).
    /// - Throws: ``ModelError/invalidSetting(_:)`` naming the row and column of an infinite value, or
    ///   the row whose every value is missing.
    /// - Complexity: `O(N·D²)`: one SYRK per pattern of `x`.
    public init(_ x: Matrix<Double>) throws {
        self.init(dimension: max(1, x.columns))
        try accumulate(x)
    }

    /// Complete rows' moments as the one pattern that observes every column.
    public init(complete: LinearGaussianStatistics) {
        self.init(dimension: complete.dimension)
        if complete.count > 0 { patterns = [Pattern(observed: Array(0..<complete.dimension), moments: complete)] }
    }

    /// Rows held.
    public var count: Int { patterns.reduce(0) { $0 + $1.moments.count } }

    /// The moments when every row held is complete (nil otherwise, or when empty).
    public var completeStatistics: LinearGaussianStatistics? {
        patterns.count == 1 && patterns[0].observed.count == dimension ? patterns[0].moments : nil
    }

    /// Adds the rows of `x` (`N × D`; NaN marks a missing value), `rowOffset` rows into the source for messages.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for another width, an infinite value or a row with
    ///   every value missing (each named by row and column).
    public mutating func accumulate(_ x: Matrix<Double>, rowOffset: Int = 0) throws {
        guard x.rows > 0 else { return }
        let d = dimension
        guard x.columns == d else { throw ModelError.invalidSetting("the rows have \(x.columns) columns; these statistics \(d)") }
        if let i = x.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("row \(rowOffset + i / d + 1), column \(i % d + 1) holds \(x.elements[i]); a factor model needs finite numbers (NaN marks a missing value)")
        }
        if !x.containsNaN {
            // A complete block (the usual case) goes whole into the complete pattern: one SYRK, no grouping.
            try add(LinearGaussianStatistics(x), observed: Array(0..<d))
            return
        }
        for group in MissingnessPatterns(x).groups {
            guard !group.observed.isEmpty else {
                throw ModelError.invalidSetting("row \(rowOffset + group.rows[0] + 1) has every value missing; drop it")
            }
            var values = Matrix<Double>(rows: group.rows.count, columns: group.observed.count)
            for (r, i) in group.rows.enumerated() { for (t, j) in group.observed.enumerated() { values[r, t] = x[i, j] } }
            try add(LinearGaussianStatistics(values), observed: group.observed)
        }
    }

    /// Adds `other`'s rows: pattern by pattern.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for another version or width, or damaged statistics.
    public mutating func merge(_ other: LinearGaussianPatternStatistics) throws {
        guard other.version == version else {
            throw ModelError.invalidSetting("statistics of version \(other.version) cannot merge with version \(version); recompute them with this version of Latent")
        }
        guard other.dimension == dimension else {
            throw ModelError.invalidSetting("statistics of \(other.dimension) columns cannot merge with statistics of \(dimension)")
        }
        try other.validate()
        for pattern in other.patterns { try add(pattern.moments, observed: pattern.observed) }
    }

    /// Merges `moments` into the pattern `observed`, or inserts that pattern in order.
    private mutating func add(_ moments: LinearGaussianStatistics, observed: [Int]) throws {
        guard moments.count > 0 else { return }
        var lo = 0, hi = patterns.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if patterns[mid].observed.lexicographicallyPrecedes(observed) { lo = mid + 1 } else { hi = mid }
        }
        if lo < patterns.count && patterns[lo].observed == observed {
            try patterns[lo].moments.merge(moments)
        } else {
            patterns.insert(Pattern(observed: observed, moments: moments), at: lo)
        }
    }

    /// Checks the sizes, order and values (a file may have been edited).
    func validate() throws {
        guard version == Self.version else {
            throw ModelError.invalidSetting("statistics of version \(version); this Latent reads version \(Self.version): recompute them")
        }
        for (i, p) in patterns.enumerated() {
            let increasing = zip(p.observed, p.observed.dropFirst()).allSatisfy { $0 < $1 }
            guard !p.observed.isEmpty, increasing, p.observed.first! >= 0, p.observed.last! < dimension,
                  p.moments.dimension == p.observed.count, i == 0 || patterns[i - 1].observed.lexicographicallyPrecedes(p.observed) else {
                throw ModelError.invalidSetting("pattern \(i + 1) of the statistics does not fit their \(dimension) columns or their order")
            }
            try p.moments.validate()
        }
    }

    /// The fit of the rows held, as ``LinearGaussianFitting/fit(_:factors:noise:options:)`` fits them in
    /// memory: columns scaled to unit variance for factor analysis, moments about the observed
    /// column means, the floor of probabilistic PCA scaled by the mean column variance.
    func fit(factors: Int, noise: LinearGaussianNoise, options: LinearGaussianFitOptions) throws -> (model: LinearGaussianModel, report: FitReport) {
        try validate()
        if let complete = completeStatistics {
            return try LinearGaussianFitting.fit(statistics: complete, factors: factors, noise: noise, options: options)
        }
        let d = dimension
        let rows = count
        guard factors >= 1, factors < d || (noise == .diagonal && factors <= d) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(d - 1) for \(d) columns")
        }
        guard rows >= 2 else { throw ModelError.tooFewPoints(points: rows, needed: 2, what: "a linear-Gaussian model") }
        // Each column's observed count, mean and sum of squared deviations.
        var count = [Double](repeating: 0, count: d), sum = [Double](repeating: 0, count: d)
        for p in patterns { for (t, j) in p.observed.enumerated() { count[j] += Double(p.moments.count); sum[j] += Double(p.moments.count) * p.moments.mean[t] } }
        let mean = (0..<d).map { count[$0] > 0 ? sum[$0] / count[$0] : 0 }
        var squares = [Double](repeating: 0, count: d)
        for p in patterns {
            for (t, j) in p.observed.enumerated() {
                let offset = p.moments.mean[t] - mean[j]
                squares[j] += p.moments.scatter[t * p.observed.count + t] + Double(p.moments.count) * offset * offset
            }
        }
        let unit = (0..<d).map { j -> Double in
            guard count[j] > 1 else { return 1 }
            let sd = (squares[j] / count[j]).squareRoot()
            return sd > 0 && sd.isFinite ? 1 / sd : 1
        }
        let scales = noise == .diagonal ? unit : [Double](repeating: 1, count: d)
        var options = options
        options.noiseFloor *= noise == .diagonal ? 1 : unit.map { 1 / ($0 * $0) }.reduce(0, +) / Double(d)
        // Each pattern's moments about the observed column means, in scaled coordinates.
        let moments = patterns.map { p -> LinearGaussianTrainingData.PatternMoments in
            let o = p.observed, m = p.moments
            let np = Double(m.count), dObs = o.count
            let offset = o.enumerated().map { t, j in m.mean[t] - mean[j] }
            var scatter = Matrix<Double>(rows: dObs, columns: dObs)
            for t in 0..<dObs {
                for u in 0..<dObs {
                    scatter[t, u] = (m.scatter[t * dObs + u] + np * offset[t] * offset[u]) * scales[o[t]] * scales[o[u]]
                }
            }
            return .init(observed: o, missing: (0..<d).filter { !o.contains($0) }, count: m.count,
                         sum: o.enumerated().map { t, j in np * offset[t] * scales[j] }, scatter: scatter)
        }
        let data = LinearGaussianTrainingData(patterns: moments, shift: (0..<d).map { mean[$0] * scales[$0] }, count: rows,
                                              noiseFloor: options.noiseFloor)
        let logJacobian = (0..<d).reduce(0.0) { $0 + count[$1] * log(scales[$1]) }
        return try LinearGaussianFitting.fit(data, factors: factors, noise: noise, options: options, scales: scales,
                                             logJacobian: logJacobian, complete: false)
    }
}

extension FactorAnalysis {
    /// Fits `factors` factors to the rows the pattern statistics hold: the same model as
    /// ``fit(_:factors:options:)`` on those rows, missing values and all, to rounding.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` for damaged statistics.
    /// - Complexity: EM in `O(D²k)` per iteration and pattern; the rows are not needed.
    public static func fit(statistics: LinearGaussianPatternStatistics, factors: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try statistics.fit(factors: factors, noise: .diagonal, options: options)
    }
}

extension ProbabilisticPCA {
    /// Probabilistic PCA of the rows the pattern statistics hold (EM with missing values; the
    /// closed form when every row is complete).
    /// - Throws: as ``fit(_:components:options:)``; ``ModelError/invalidSetting(_:)`` for damaged statistics.
    public static func fit(statistics: LinearGaussianPatternStatistics, components: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try statistics.fit(factors: components, noise: .isotropic, options: options)
    }
}
