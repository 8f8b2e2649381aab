import Foundation

extension FactorAnalysis {
    /// Fits `factors` factors to rows read a block at a time (a `.npy` or CSV file larger than
    /// memory, through `RowBlocks`).
    ///
    /// Factor analysis depends on the data only through its count, column means and scatter matrix
    /// (``LinearGaussianStatistics``), so one pass that accumulates them block by block replaces
    /// the data, and EM runs on those moments exactly as ``fit(_:factors:options:)`` runs on
    /// complete data in memory: the same model, to rounding, in `O(D²)` memory beside one block.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` naming the row
    ///   and column of a missing or non-finite value (streamed rows must be complete).
    /// - Complexity: one pass of `O(N·D²)` (one SYRK per block), then EM in `O(D²k)` per iteration.
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
        // One pass: each block's moments about its own mean, merged into the running total.
        var statistics = LinearGaussianStatistics(dimension: d)
        let step = max(1, blockRows)
        var start = 0
        while start < n {
            let block = try source.rows(start..<min(n, start + step))
            do {
                try statistics.accumulate(block, rowOffset: start)
            } catch ModelError.invalidSetting(let message) {
                throw ModelError.invalidSetting("\(source.sourceName): \(message)")
            }
            start += block.rows
        }
        return try fit(statistics: statistics, factors: factors, noise: noise, options: options)
    }
}
