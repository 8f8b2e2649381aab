import Foundation

/// The sufficient statistics of factor analysis and probabilistic PCA on complete rows: the row
/// count, the column means and the scatter matrix `Σᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ`.
///
/// The likelihood of a linear-Gaussian model depends on complete data only through these moments,
/// so they do not depend on the model, and one pass that accumulates them replaces the data: a fit
/// from them (`FactorAnalysis.fit(statistics:factors:options:)`) is the fit to the rows they
/// hold. They add up across blocks, files and machines with the pairwise update of Chan, Golub &
/// LeVeque (1979): merging is exact in exact arithmetic, whatever the split, and stable in floating
/// point because each part is centred on its own mean.
///
/// ```swift
/// var total = try LinearGaussianStatistics(part1)
/// try total.merge(LinearGaussianStatistics(part2))
/// let (model, _) = try FactorAnalysis.fit(statistics: total, factors: 2)   // = fit(part1 ∪ part2)
/// ```
public struct LinearGaussianStatistics: MergeableStatistics {
    /// Bumped when the layout changes; other versions are refused when merged or fitted.
    public static let version = 1

    public let version: Int
    /// Columns `D`.
    public let dimension: Int
    /// Rows accumulated.
    public private(set) var count: Int
    /// Column means `x̄` (`D`; zeros while empty).
    public private(set) var mean: [Double]
    /// `Σᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ`, `D × D` row-major.
    public private(set) var scatter: [Double]

    /// No rows yet, in `dimension` columns.
    public init(dimension: Int) {
        precondition(dimension >= 1, "At least one column")
        version = Self.version
        self.dimension = dimension
        count = 0
        mean = [Double](repeating: 0, count: dimension)
        scatter = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Statistics with the given count, mean and scatter (the online fit's running moments).
    init(count: Int, mean: [Double], scatter: [Double]) {
        self.init(dimension: mean.count)
        self.count = count
        self.mean = mean
        self.scatter = scatter
    }

    /// The statistics of the rows of `x` (`N × D`, complete).
    /// - Throws: ``ModelError/invalidSetting(_:)`` naming the row and column of a missing or
    ///   non-finite value.
    /// - Complexity: `O(N·D²)` (one SYRK).
    public init(_ x: Matrix<Double>) throws {
        self.init(dimension: max(1, x.columns))
        try accumulate(x)
    }

    /// Adds the rows of `x` (`N × D`, complete), `rowOffset` rows into the source for messages.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for another width, or a missing or non-finite value.
    public mutating func accumulate(_ x: Matrix<Double>, rowOffset: Int = 0) throws {
        guard x.rows > 0 else { return }
        guard x.columns == dimension else {
            throw ModelError.invalidSetting("the rows have \(x.columns) columns; these statistics \(dimension)")
        }
        if let i = x.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("row \(rowOffset + i / dimension + 1), column \(i % dimension + 1) holds \(x.elements[i]); the statistics of a factor model need complete rows of finite numbers")
        }
        let d = dimension
        var blockMean = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { p in
            for i in 0..<x.rows { for j in 0..<d { blockMean[j] += p[i * d + j] } }
        }
        blockMean = blockMean.map { $0 / Double(x.rows) }
        var centred = x
        centred.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows { for j in 0..<d { p[i * d + j] -= blockMean[j] } }
        }
        var block = LinearGaussianStatistics(dimension: d)
        block.count = x.rows
        block.mean = blockMean
        block.scatter = centred.gram.elements
        try merge(block)
    }

    /// Adds `other`'s rows: `n = n_a + n_b`, `x̄ = x̄_a + δ·n_b/n`, `S = S_a + S_b + δδᵀ·n_a·n_b/n` with
    /// `δ = x̄_b − x̄_a`.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for another version or width.
    public mutating func merge(_ other: LinearGaussianStatistics) throws {
        guard other.version == version else {
            throw ModelError.invalidSetting("statistics of version \(other.version) cannot merge with version \(version); recompute them with this version of Latent")
        }
        guard other.dimension == dimension else {
            throw ModelError.invalidSetting("statistics of \(other.dimension) columns cannot merge with statistics of \(dimension)")
        }
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let na = Double(count), nb = Double(other.count), n = na + nb
        let delta = (0..<dimension).map { other.mean[$0] - mean[$0] }
        let weight = na * nb / n
        for a in 0..<dimension {
            for b in 0..<dimension {
                scatter[a * dimension + b] += other.scatter[a * dimension + b] + delta[a] * delta[b] * weight
            }
        }
        for j in 0..<dimension { mean[j] += delta[j] * nb / n }
        count += other.count
    }


    /// Checks the sizes and values (a file may have been edited).
    func validate() throws {
        guard version == Self.version else {
            throw ModelError.invalidSetting("statistics of version \(version); this Latent reads version \(Self.version): recompute them")
        }
        guard dimension >= 1, count >= 0, mean.count == dimension, scatter.count == dimension * dimension,
              (mean + scatter).allSatisfy(\.isFinite) else {
            throw ModelError.invalidSetting("the statistics do not have the sizes their dimension (\(dimension)) implies, or hold a non-finite number")
        }
    }
}

extension FactorAnalysis {
    /// Fits `factors` factors to the rows the statistics hold: the same model as
    /// ``fit(_:factors:options:)`` on those rows (complete), to rounding.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` for damaged statistics.
    /// - Complexity: EM in `O(D²k)` per iteration; the rows are not needed.
    public static func fit(statistics: LinearGaussianStatistics, factors: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fit(statistics: statistics, factors: factors, noise: .diagonal, options: options)
    }
}

extension ProbabilisticPCA {
    /// Probabilistic PCA of the rows the statistics hold (the closed form from their scatter).
    /// - Throws: as ``fit(_:components:options:)``.
    public static func fit(statistics: LinearGaussianStatistics, components: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fit(statistics: statistics, factors: components, noise: .isotropic, options: options)
    }
}

extension LinearGaussianFitting {
    /// The fit from moments, shared by the streamed fits and the statistics files.
    static func fit(statistics s: LinearGaussianStatistics, factors: Int, noise: LinearGaussianNoise,
                    options: LinearGaussianFitOptions) throws -> (model: LinearGaussianModel, report: FitReport) {
        try s.validate()
        let n = s.count, d = s.dimension
        guard n > 0 else { throw ModelError.emptyData }
        guard factors >= 1, factors < d || (noise == .diagonal && factors <= d) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(d - 1) for \(d) columns")
        }
        guard n >= 2 else { throw ModelError.tooFewPoints(points: n, needed: 2, what: "a linear-Gaussian model") }
        let scatter = Matrix(rows: d, columns: d, storage: s.scatter)
        // As the in-memory fit: factor analysis at unit variance per column, PPCA as it is with its
        // floor scaled by the mean column variance.
        let unit = (0..<d).map { j -> Double in
            let sd = (scatter[j, j] / Double(n)).squareRoot()
            return sd > 0 && sd.isFinite ? 1 / sd : 1
        }
        let scales = noise == .diagonal ? unit : [Double](repeating: 1, count: d)
        var options = options
        options.noiseFloor *= noise == .diagonal ? 1 : unit.map { 1 / ($0 * $0) }.reduce(0, +) / Double(d)
        var scaledScatter = scatter
        for i in 0..<d { for j in 0..<d { scaledScatter[i, j] *= scales[i] * scales[j] } }
        let data = LinearGaussianTrainingData(count: n, mean: (0..<d).map { s.mean[$0] * scales[$0] }, scatter: scaledScatter,
                                              noiseFloor: options.noiseFloor)
        let logJacobian = Double(n) * scales.reduce(0) { $0 + log($1) }
        return try fit(data, factors: factors, noise: noise, options: options, scales: scales, logJacobian: logJacobian, complete: true)
    }
}
