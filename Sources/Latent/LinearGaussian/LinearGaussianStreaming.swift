import Foundation

extension FactorAnalysis {
    /// Fits `factors` factors to rows read a block at a time (a `.npy` or CSV file larger than
    /// memory, through `RowBlocks`).
    ///
    /// Factor analysis depends on the data only through its count, column means and scatter matrix,
    /// so two passes (means, then the scatter about them) replace the data, and EM runs on those
    /// moments exactly as ``fit(_:factors:options:)`` runs on complete data in memory: the same
    /// model, to rounding, in `O(D²)` memory beside one block.
    /// - Throws: as ``fit(_:factors:options:)``; ``ModelError/invalidSetting(_:)`` naming the row
    ///   and column of a missing or non-finite value (streamed rows must be complete).
    /// - Complexity: two passes of `O(N·D²)` (one GEMM per block), then EM in `O(D²k)` per iteration.
    public static func fitStreamed(_ source: any RowBlocks, factors: Int, blockRows: Int = 65_536,
                                   options: LinearGaussianFitOptions = LinearGaussianFitOptions()) throws
        -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fitStreamed(source, factors: factors, noise: .diagonal, blockRows: blockRows, options: options)
    }
}

extension ProbabilisticPCA {
    /// Probabilistic PCA of rows read a block at a time: the closed form from the scatter matrix of
    /// two passes over the source (see ``FactorAnalysis/fitStreamed(_:factors:blockRows:options:)``).
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
        guard factors >= 1, factors < d || (noise == .diagonal && factors <= d) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(d - 1) for \(d) columns")
        }
        guard n >= 2 else { throw ModelError.tooFewPoints(points: n, needed: 2, what: "a linear-Gaussian model") }
        let step = max(1, blockRows)
        func forEachBlock(_ body: (Matrix<Double>) throws -> Void) throws {
            var start = 0
            while start < n {
                let block = try source.rows(start..<min(n, start + step))
                if let i = block.elements.firstIndex(where: { !$0.isFinite }) {
                    throw ModelError.invalidSetting("\(source.sourceName): row \(start + i / d + 1), column \(i % d + 1) holds \(block.elements[i]); a streamed fit needs complete rows of finite numbers")
                }
                try body(block)
                start += block.rows
            }
        }
        // Pass 1: the column means. Pass 2: the scatter about them (centred first, for accuracy).
        var sums = [Double](repeating: 0, count: d)
        try forEachBlock { block in
            block.withUnsafeBufferPointer { p in
                for i in 0..<block.rows { for j in 0..<d { sums[j] += p[i * d + j] } }
            }
        }
        let mean = sums.map { $0 / Double(n) }
        var scatter = Matrix<Double>(rows: d, columns: d)
        try forEachBlock { block in
            var centred = block
            centred.withUnsafeMutableBufferPointer { p in
                for i in 0..<block.rows { for j in 0..<d { p[i * d + j] -= mean[j] } }
            }
            let gram = centred.gram
            scatter.withUnsafeMutableBufferPointer { s in
                gram.withUnsafeBufferPointer { g in for i in s.indices { s[i] += g[i] } }
            }
        }
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
        let data = LinearGaussianTrainingData(count: n, mean: (0..<d).map { mean[$0] * scales[$0] }, scatter: scaledScatter,
                                              noiseFloor: options.noiseFloor)
        let logJacobian = Double(n) * scales.reduce(0) { $0 + log($1) }
        return try fit(data, factors: factors, noise: noise, options: options, scales: scales, logJacobian: logJacobian, complete: true)
    }
}
