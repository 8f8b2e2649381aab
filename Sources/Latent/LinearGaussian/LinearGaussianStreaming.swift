import Foundation

extension FactorAnalysis {
    /// Fits `factors` factors to rows read a block at a time (a `.npy` or CSV file larger than
    /// memory, through `RowBlocks`).
    ///
    /// Factor analysis depends on the data only through its count, column means and scatter matrix
    /// (``LinearGaussianStatistics``), so one pass that accumulates them block by block replaces
    /// the data, and EM runs on those moments exactly as ``fit(_:factors:options:)`` runs on
    /// complete data in memory: the same model, to rounding, in `O(D²)` memory beside one block.
    /// With missing values (NaN) the pass keeps those moments per missingness pattern
    /// (``LinearGaussianPatternStatistics``), which is all that EM with missing values reads in
    /// memory too: the same model again, in `O(patterns · D²)` memory.
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
        var patterns = LinearGaussianPatternStatistics(dimension: d)
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
        return try patterns.fit(factors: factors, noise: noise, options: options)
    }
}
