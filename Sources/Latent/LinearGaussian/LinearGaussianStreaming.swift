import Foundation

extension FactorAnalysis {
    /// Fits `factors` factors to rows read a block at a time (a `.npy` or CSV file larger than
    /// memory, through `RowBlocks`).
    ///
    /// Factor analysis depends on the data only through its count, column means and scatter matrix
    /// (``LinearGaussianStatistics``), so one pass that accumulates them block by block replaces
    /// the data, and EM runs on those moments exactly as ``fit(_:factors:options:)`` runs on
    /// complete data in memory: the same model, to rounding, in `O(D²)` memory beside one block.
    /// With missing values (NaN) the pass keeps those moments per missingness pattern, which is
    /// all that EM with missing values reads in memory too: the same model again, in
    /// `O(patterns · D²)` memory.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` naming the row
    ///   and column of an infinite value, or the row whose every value is missing.
    /// - Complexity: one pass of `O(N·D²)` (one SYRK per block and pattern), then EM in `O(D²k)`
    ///   per iteration and pattern.
    public static func fitStreamed(_ source: any RowBlocks, factors: Int, blockRows: Int = 65_536,
                                   options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fitStreamed(source, factors: factors, noise: .diagonal, blockRows: blockRows, options: options)
    }
}

extension ProbabilisticPCA {
    /// Probabilistic PCA of rows read a block at a time: the closed form from the scatter matrix of
    /// one pass over the source (see ``FactorAnalysis/fitStreamed(_:factors:blockRows:options:)``).
    public static func fitStreamed(_ source: any RowBlocks, components: Int, blockRows: Int = 65_536,
                                   options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fitStreamed(source, factors: components, noise: .isotropic, blockRows: blockRows, options: options)
    }
}

extension LinearGaussianFitting {
    static func fitStreamed(_ source: any RowBlocks, factors: Int, noise: LinearGaussianNoise, blockRows: Int,
                            options: LinearGaussianFitOptions) throws -> (model: LinearGaussianModel, report: FitReport) {
        let n = source.rowCount, d = source.columnCount
        guard n > 0, d > 0 else { throw ModelError.emptyData }
        // One pass: each pattern's moments, each block's about its own mean, merged into its total.
        var patterns = PatternStatistics(dimension: d)
        let step = max(1, blockRows)
        var start = 0
        while start < n {
            let block = try source.rows(start..<min(n, start + step))
            do {
                try patterns.accumulate(block, rowOffset: start)
            } catch ModelError.invalidSetting(let message) {
                throw ModelError.invalidSetting("\(source.sourceName): \(message)")
            }
            start += block.rows
        }
        if let complete = patterns.completeStatistics {
            return try fit(statistics: complete, factors: factors, noise: noise, options: options)
        }
        return try patterns.fit(factors: factors, noise: noise, options: options)
    }
}

/// The count, column means and scatter of the observed values of each missingness pattern, in
/// order of first appearance: what EM with missing values reads (``LinearGaussianTrainingData``).
struct PatternStatistics {
    let dimension: Int
    private(set) var observed: [[Int]] = []
    private(set) var moments: [LinearGaussianStatistics] = []
    private var index: [[Int]: Int] = [:]

    init(dimension: Int) { self.dimension = dimension }

    /// Adds the rows of `x`, `rowOffset` rows into the source for messages.
    mutating func accumulate(_ x: Matrix<Double>, rowOffset: Int) throws {
        let d = dimension
        if let i = x.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("row \(rowOffset + i / d + 1), column \(i % d + 1) holds \(x.elements[i]); a factor model needs finite numbers (NaN marks a missing value)")
        }
        if !x.elements.contains(where: \.isNaN) {
            // A complete block (the usual case) goes whole into the complete pattern: one SYRK, no grouping.
            try add(x, observed: Array(0..<d))
            return
        }
        for group in MissingnessPatterns(x).groups {
            guard !group.observed.isEmpty else {
                throw ModelError.invalidSetting("row \(rowOffset + group.rows[0] + 1) has every value missing; drop it")
            }
            var values = Matrix<Double>(rows: group.rows.count, columns: group.observed.count)
            for (r, i) in group.rows.enumerated() { for (t, j) in group.observed.enumerated() { values[r, t] = x[i, j] } }
            try add(values, observed: group.observed)
        }
    }

    /// Adds `values` (the observed columns `observed` of some rows) to their pattern's moments.
    private mutating func add(_ values: Matrix<Double>, observed columns: [Int]) throws {
        if let p = index[columns] {
            try moments[p].accumulate(values)
        } else {
            index[columns] = observed.count
            observed.append(columns)
            moments.append(try LinearGaussianStatistics(values))
        }
    }

    /// The statistics when every value was observed.
    var completeStatistics: LinearGaussianStatistics? {
        observed.count == 1 && observed[0].count == dimension ? moments[0] : nil
    }

    /// The fit of the rows held, as ``LinearGaussianFitting/fit(_:factors:noise:options:)`` fits them in
    /// memory: columns scaled to unit variance for factor analysis, moments about the observed
    /// column means, the floor of probabilistic PCA scaled by the mean column variance.
    func fit(factors: Int, noise: LinearGaussianNoise, options: LinearGaussianFitOptions) throws -> (model: LinearGaussianModel, report: FitReport) {
        let d = dimension
        let rows = moments.reduce(0) { $0 + $1.count }
        guard factors >= 1, factors < d || (noise == .diagonal && factors <= d) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(d - 1) for \(d) columns")
        }
        guard rows >= 2 else { throw ModelError.tooFewPoints(points: rows, needed: 2, what: "a linear-Gaussian model") }
        // Each column's observed count, mean and sum of squared deviations.
        var count = [Double](repeating: 0, count: d), sum = [Double](repeating: 0, count: d)
        for (o, m) in zip(observed, moments) { for (t, j) in o.enumerated() { count[j] += Double(m.count); sum[j] += Double(m.count) * m.mean[t] } }
        let mean = (0..<d).map { count[$0] > 0 ? sum[$0] / count[$0] : 0 }
        var squares = [Double](repeating: 0, count: d)
        for (o, m) in zip(observed, moments) {
            for (t, j) in o.enumerated() {
                let offset = m.mean[t] - mean[j]
                squares[j] += m.scatter[t * o.count + t] + Double(m.count) * offset * offset
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
        let patterns = zip(observed, moments).map { o, m -> LinearGaussianTrainingData.PatternMoments in
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
        let data = LinearGaussianTrainingData(patterns: patterns, shift: (0..<d).map { mean[$0] * scales[$0] }, count: rows,
                                              noiseFloor: options.noiseFloor)
        let logJacobian = (0..<d).reduce(0.0) { $0 + count[$1] * log(scales[$1]) }
        return try LinearGaussianFitting.fit(data, factors: factors, noise: noise, options: options, scales: scales,
                                             logJacobian: logJacobian, complete: false)
    }
}
