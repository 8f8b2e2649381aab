import Foundation

extension BayesianGaussianMixture {
    /// A fingerprint of the posterior and its prior (FNV-1a over their bit patterns, the covariance
    /// type, the weight prior and the shape), 16 hexadecimal digits: statistics carry it so that only
    /// the posterior that made them merges or updates from them.
    public var fingerprint: String {
        let k = componentCount, d = dimension
        let posterior = weightConcentration + weightConcentration2 + meanPrecision + means.elements + degreesOfFreedom
            + (0..<k).flatMap { scaleInverses.matrix(component: $0, dimension: d).elements }
        let priorValues = [prior.weightConcentration, prior.meanPrecision, prior.degreesOfFreedom] + prior.mean + prior.covariance.elements
        return Fingerprint.of(shape: [k, d], tag: "bayesian-\(covarianceType.rawValue)-\(prior.weightPrior.rawValue)",
                              values: posterior + priorValues)
    }

    /// The centre of the statistics: the component means weighted by the posterior's expected weights.
    private var statisticsCentre: [Double] {
        let w = weights
        return (0..<dimension).map { j in (0..<componentCount).reduce(0) { $0 + w[$1] * means[$1, j] } }
    }

    /// The variational E-step's statistics of the rows of `x` (`N × D`, complete and finite) under
    /// this posterior: the responsibilities' sums and moments in ``MixtureStatistics``' layout,
    /// whose ``MixtureStatistics/logLikelihood`` is the bound's data term `Σₙ log Σₖ ρₙₖ`, so that
    /// statistics of any split of the rows merge into those of the whole and
    /// ``updating(from:)`` takes one coordinate-ascent sweep over all of them.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a width other than ``dimension`` or a missing
    ///   or non-finite value (naming its row and column).
    /// - Complexity: one sweep's E-step, `O(N·K·D²)` (full) or `O(N·K·D)`, plus `O(N·D²)` for the Gram matrix.
    public func statistics(of x: Matrix<Double>, threads: Int = 1) throws -> MixtureStatistics {
        guard x.columns == dimension else {
            throw ModelError.invalidSetting("the data has \(x.columns) columns; the model \(dimension)")
        }
        if let i = x.elements.firstIndex(where: { !$0.isFinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) holds \(x.elements[i]); the variational mixture needs complete, finite rows")
        }
        let centre = statisticsCentre
        return .ofCompleteRows(x, kernel: try expectationKernel(shift: centre), means: means, shift: centre, fingerprint: fingerprint,
                               covarianceType: covarianceType, threads: threads)
    }

    /// The evidence lower bound of this posterior over the rows its statistics hold, with the
    /// responsibilities it implies (as ``lowerBound(on:)``).
    /// - Throws: as ``updating(from:)`` when the statistics come from another posterior.
    public func lowerBound(from s: MixtureStatistics) throws -> Double {
        try check(s)
        return s.logLikelihood - (try divergence())
    }

    /// The posterior one variational M-step makes from statistics of this posterior's E-step
    /// (merged over any parts of the data): one coordinate-ascent sweep over the rows they hold.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the statistics come from another posterior,
    ///   another covariance type, rows with missing values, or are damaged.
    /// - Complexity: `O(K·D³)`.
    public func updating(from s: MixtureStatistics) throws -> BayesianGaussianMixture {
        try check(s)
        let k = componentCount, d = dimension
        var reference = [Double](repeating: 0, count: k * d)
        if covarianceType == .full {
            for c in 0..<k { for j in 0..<d { reference[c * d + j] = means[c, j] - s.shift[j] } }
        }
        let moments = MixtureMoments(s.kernelLayout, components: k, type: covarianceType, dimension: d,
                                     gram: covarianceType == .tied ? Matrix(rows: d, columns: d, storage: s.gram) : nil,
                                     referenceMeans: reference)
        var next = self
        next.update(from: moments, shift: s.shift)
        return next
    }

    private func check(_ s: MixtureStatistics) throws {
        try s.validateShape()
        guard s.modelFingerprint == fingerprint, s.components == componentCount, s.dimension == dimension,
              s.covarianceType == covarianceType else {
            throw ModelError.invalidSetting("these statistics were computed with another model (fingerprint \(s.modelFingerprint), this posterior's \(fingerprint)); compute them with this model file")
        }
        guard s.observedCounts == nil else {
            throw ModelError.invalidSetting("these statistics hold rows with missing values; the variational mixture needs complete rows")
        }
    }
}
