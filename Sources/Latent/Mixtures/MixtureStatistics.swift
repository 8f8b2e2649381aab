import Foundation

/// The sufficient statistics of one E-step of a Gaussian mixture over some rows: what an M-step
/// needs, in a form that adds up across blocks of rows, files and machines.
///
/// Every moment is taken about a centre fixed by the model (its mixture mean `Σₖ wₖ μₖ`), and full
/// second moments about the model's own means, so that statistics of any split of the data, made by
/// the same model, merge by addition into exactly those of the whole (up to the order of floating-
/// point sums). The data's own moments ride along (their column sums and Gram matrix), so that the
/// M-step can set the variance floor from the whole data's column variances, as an in-memory fit does.
///
/// Rows may have missing values (NaN): the E-step then integrates them out through each
/// component's conditional Gaussian, as ``GaussianMixture/fit(_:components:options:)`` does, and
/// the data moments are over the observed values (``observedCounts`` holds each column's count).
///
/// ```swift
/// var total = try model.statistics(of: part1)
/// try total.merge(model.statistics(of: part2))
/// let next = try model.maximizing(total)          // one EM step over part1 ∪ part2
/// ```
public struct MixtureStatistics: MergeableStatistics {
    /// Bumped when the layout changes; other versions are refused when read or merged. Version 2
    /// added the tied covariances' pooled second moments and ``observedCounts``.
    public static let version = 2

    public let version: Int
    public let covarianceType: CovarianceType
    public let components: Int
    public let dimension: Int
    /// ``GaussianMixture/fingerprint`` of the model whose E-step these are: only statistics of the
    /// same model merge, and only that model's M-step takes them.
    public let modelFingerprint: String
    /// The centre `c` of every moment (the model's mixture mean), `D`.
    public let shift: [Double]
    /// Rows accumulated.
    public private(set) var rows: Int
    /// `Σᵢ log p(xᵢ)` under the model.
    public private(set) var logLikelihood: Double
    /// `Σᵢ rᵢₖ`, `K`.
    public private(set) var counts: [Double]
    /// `Σᵢ rᵢₖ (xᵢ − c)`, `K × D` row-major.
    public private(set) var sums: [Double]
    /// full: `Σᵢ rᵢₖ (xᵢ − μₖ)(xᵢ − μₖ)ᵀ` (upper triangles, `K × D × D`); diag and spherical:
    /// `Σᵢ rᵢₖ (xᵢ − c)²` (`K × D`); tied: `Σₖ Σᵢ rᵢₖ (xᵢ − μₖ)(xᵢ − μₖ)ᵀ` (upper triangle, `D × D`;
    /// the M-step of complete rows uses ``gram`` instead). Missing values enter through their
    /// conditional expectations.
    public private(set) var secondMoments: [Double]
    /// `Σᵢ (xᵢ − c)` over observed values, `D`.
    public private(set) var columnSums: [Double]
    /// `Σᵢ (xᵢ − c)(xᵢ − c)ᵀ` over rows where both columns are observed, `D × D` row-major.
    public private(set) var gram: [Double]
    /// Each column's number of observed values, `D`; nil when every value was observed (each is then
    /// ``rows``).
    public private(set) var observedCounts: [Double]?

    /// Adds `other`'s rows. - Throws: ``ModelError/invalidSetting(_:)`` when `other` comes from
    /// another model (fingerprint, shape) or another version.
    public mutating func merge(_ other: MixtureStatistics) throws {
        guard other.version == version else {
            throw ModelError.invalidSetting("statistics of version \(other.version) cannot merge with version \(version); recompute them with this version of Latent")
        }
        guard other.modelFingerprint == modelFingerprint, other.components == components, other.dimension == dimension,
              other.covarianceType == covarianceType, other.shift == shift else {
            throw ModelError.invalidSetting("these statistics come from different models (fingerprints \(modelFingerprint) and \(other.modelFingerprint)); merge only statistics computed with the same model file")
        }
        try validateShape()
        try other.validateShape()   // a damaged file must not index past an array
        logLikelihood += other.logLikelihood
        for i in counts.indices { counts[i] += other.counts[i] }
        for i in sums.indices { sums[i] += other.sums[i] }
        for i in secondMoments.indices { secondMoments[i] += other.secondMoments[i] }
        for i in columnSums.indices { columnSums[i] += other.columnSums[i] }
        for i in gram.indices { gram[i] += other.gram[i] }
        if observedCounts != nil || other.observedCounts != nil {
            observedCounts = zip(columnObservations, other.columnObservations).map { $0 + $1 }
        }
        rows += other.rows
    }

    /// Each column's number of observed values.
    var columnObservations: [Double] { observedCounts ?? [Double](repeating: Double(rows), count: dimension) }


    /// Each column's sample variance from the data moments: the squared deviations of its observed
    /// values from their mean, divided by `N − 1` (`N` every row, as an in-memory fit does after
    /// filling missing values with the column's mean).
    public var columnVariances: [Double] {
        let n = Double(rows), observed = columnObservations
        return (0..<dimension).map { j in
            max(0, gram[j * dimension + j] - columnSums[j] * columnSums[j] / max(observed[j], 1)) / max(1, n - 1)
        }
    }

    /// Checks that the arrays have the sizes the shape implies (a file may have been edited).
    func validateShape() throws {
        let k = components, d = dimension
        guard version == Self.version else {
            throw ModelError.invalidSetting("these statistics are of version \(version); this version of Latent reads version \(Self.version): recompute them")
        }
        let second = Self.secondMomentCount(covarianceType, components: k, dimension: d)
        guard k >= 1, d >= 1, rows >= 0, shift.count == d, counts.count == k,
              sums.count == k * d, secondMoments.count == second, columnSums.count == d, gram.count == d * d,
              observedCounts.map({ $0.count == d && $0.allSatisfy { $0 >= 0 && $0 <= Double(rows) } }) ?? true,
              (counts + sums + secondMoments + columnSums + gram + shift + [logLikelihood]).allSatisfy(\.isFinite) else {
            throw ModelError.invalidSetting("the statistics do not have the sizes their shape (K = \(k), D = \(d), \(covarianceType.rawValue)) implies, or hold a non-finite number")
        }
    }

    /// Length of ``secondMoments``.
    static func secondMomentCount(_ type: CovarianceType, components k: Int, dimension d: Int) -> Int {
        switch type {
        case .full: return k * d * d
        case .tied: return d * d
        case .diag, .spherical: return k * d
        }
    }

    /// From the flat layout `n | s | second | logLikelihood`, `second` as ``secondMoments``.
    init(model: GaussianMixture, shift: [Double], rows: Int, kernelStatistics s: [Double], columnSums: [Double], gram: [Double],
         observedCounts: [Double]? = nil) {
        self.init(fingerprint: model.fingerprint, covarianceType: model.covarianceType, components: model.componentCount,
                  shift: shift, rows: rows, kernelStatistics: s, columnSums: columnSums, gram: gram, observedCounts: observedCounts)
    }

    /// From the flat layout, made by the model with `fingerprint` (a Gaussian mixture or the
    /// variational mixture's E-step).
    init(fingerprint: String, covarianceType: CovarianceType, components k: Int, shift: [Double], rows: Int, kernelStatistics s: [Double],
         columnSums: [Double], gram: [Double], observedCounts: [Double]? = nil) {
        let d = shift.count
        let second = Self.secondMomentCount(covarianceType, components: k, dimension: d)
        precondition(s.count == k + k * d + second + 1, "The flat statistics have the layout n | s | second | logLikelihood")
        self.observedCounts = observedCounts
        version = Self.version
        self.covarianceType = covarianceType
        components = k
        dimension = d
        modelFingerprint = fingerprint
        self.shift = shift
        self.rows = rows
        counts = Array(s[0..<k])
        sums = Array(s[k..<(k + k * d)])
        secondMoments = Array(s[(k + k * d)..<(k + k * d + second)])
        logLikelihood = s[k + k * d + second]
        self.columnSums = columnSums
        self.gram = gram
    }

    /// The M-step's flat layout `n | s | second | logLikelihood` (tied: `second` only with missing values).
    var kernelLayout: [Double] {
        counts + sums + (covarianceType == .tied && observedCounts == nil ? [] : secondMoments) + [logLikelihood]
    }

    /// The statistics of complete rows `x` from a mixture kernel about `shift` (the E-step of the
    /// mixture with these `means`, or the variational mixture's), with the data's moments.
    static func ofCompleteRows(_ x: Matrix<Double>, kernel: MixtureKernel, means: Matrix<Double>, shift: [Double], fingerprint: String,
                               covarianceType: CovarianceType, threads: Int) -> MixtureStatistics {
        var flat = GaussianMixture.statistics(kernel, rows: x, work: ChunkedWork(count: x.rows, minimumChunk: 1024), threads: max(1, threads))
        let (columnSums, gram, _) = dataMoments(x, about: shift)
        if covarianceType == .tied { insertPooledSecondMoments(into: &flat, gram: gram, centre: shift, means: means) }
        return MixtureStatistics(fingerprint: fingerprint, covarianceType: covarianceType, components: means.rows, shift: shift,
                                 rows: x.rows, kernelStatistics: flat, columnSums: columnSums, gram: gram,
                                 observedCounts: nil)
    }

    /// The data's column sums and Gram matrix about `shift` over observed values (a missing value
    /// counts as the shift), and each column's number of observed values.
    static func dataMoments(_ x: Matrix<Double>, about shift: [Double]) -> (columnSums: [Double], gram: [Double], observed: [Double]) {
        let d = x.columns
        var centered = x
        var observed = [Double](repeating: 0, count: d)
        centered.withUnsafeMutableBufferPointer { p in
            for i in 0..<x.rows {
                for j in 0..<d {
                    if p[i * d + j].isNaN { p[i * d + j] = 0 } else { p[i * d + j] -= shift[j]; observed[j] += 1 }
                }
            }
        }
        let columnSums = (0..<d).map { j in (0..<x.rows).reduce(0) { $0 + centered[$1, j] } }
        let gram = x.rows > 0 ? centered.gram.elements : [Double](repeating: 0, count: d * d)
        return (columnSums, gram, observed)
    }

    /// Inserts a tied mixture's pooled second moments `Σₖ Σᵢ rᵢₖ (x − μₖ)(x − μₖ)ᵀ` (upper triangle)
    /// after the sums of the flat statistics `n | s | logLikelihood` of complete rows, from the Gram
    /// matrix `G` about `centre` (c): `G − Σₖ (sₖ δₖᵀ + δₖ sₖᵀ) + Σₖ nₖ δₖ δₖᵀ`, `δₖ = μₖ − c`.
    static func insertPooledSecondMoments(into flat: inout [Double], gram: [Double], centre: [Double], means: Matrix<Double>) {
        let d = means.columns, k = means.rows
        var pooled = [Double](repeating: 0, count: d * d)
        for a in 0..<d { for b in a..<d { pooled[a * d + b] = gram[a * d + b] } }
        for c in 0..<k {
            let delta = (0..<d).map { means[c, $0] - centre[$0] }
            for a in 0..<d {
                for b in a..<d {
                    pooled[a * d + b] += -flat[k + c * d + a] * delta[b] - delta[a] * flat[k + c * d + b] + flat[c] * delta[a] * delta[b]
                }
            }
        }
        flat.insert(contentsOf: pooled, at: k + k * d)
    }
}

extension GaussianMixture {
    /// A fingerprint of the parameters (FNV-1a over their bit patterns, the covariance type and the
    /// shape), 16 hexadecimal digits: statistics carry it so that only the model that made them
    /// merges or maximises them.
    public var fingerprint: String {
        Fingerprint.of(shape: [componentCount, dimension], tag: covarianceType.rawValue, values: parameterValues)
    }

    /// Weights, means and each component's covariance matrix, in that order.
    var parameterValues: [Double] {
        weights + means.elements + (0..<componentCount).flatMap { covariances.matrix(component: $0, dimension: dimension).elements }
    }

    /// The model's mixture mean `Σₖ wₖ μₖ`: the centre of its statistics.
    var mixtureMean: [Double] {
        (0..<dimension).map { j in (0..<componentCount).reduce(0) { $0 + weights[$1] * means[$1, j] } }
    }

    /// The E-step statistics of the rows of `x` (`N × D`; NaN marks a missing value, integrated out
    /// as ``fit(_:components:options:)`` does) under this model; see ``MixtureStatistics``.
    ///
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a width other than ``dimension``, an infinite
    ///   value, or a row with every value missing, naming the row and column.
    /// - Complexity: one E-step, `O(N·K·D²)` for full covariances, plus `O(N·D²)` for the Gram
    ///   matrix; rows with missing values cost `O(K·D³)` per missingness pattern and `O(K·D²)` per row.
    public func statistics(of x: Matrix<Double>, threads: Int = 1) throws -> MixtureStatistics {
        guard x.columns == dimension else {
            throw ModelError.invalidSetting("the data has \(x.columns) columns; the model \(dimension)")
        }
        let d = dimension
        if let i = x.elements.firstIndex(where: \.isInfinite) {
            throw ModelError.invalidSetting("row \(i / d + 1), column \(i % d + 1) holds \(x.elements[i]); statistics need finite numbers (NaN marks a missing value)")
        }
        if let i = (0..<x.rows).first(where: { i in (0..<d).allSatisfy { x[i, $0].isNaN } }) {
            throw ModelError.invalidSetting("row \(i + 1) has every value missing; drop it")
        }
        let shift = mixtureMean
        guard x.containsNaN else {
            return .ofCompleteRows(x, kernel: MixtureKernel(self, shift: shift), means: means, shift: shift, fingerprint: fingerprint,
                                   covarianceType: covarianceType, threads: threads)
        }
        let (columnSums, gram, observed) = MixtureStatistics.dataMoments(x, about: shift)
        return MixtureStatistics(model: self, shift: shift, rows: x.rows, kernelStatistics: missingValueStatistics(x, shift: shift),
                                 columnSums: columnSums, gram: gram, observedCounts: observed)
    }

    /// The statistics of rows with missing values about `shift`, in ``MixtureStatistics``' layout:
    /// the conditional E-step's second moments (about each component's mean) re-centred on `shift`
    /// for diagonal and spherical covariances and pooled over components for tied ones.
    private func missingValueStatistics(_ x: Matrix<Double>, shift: [Double], weights: Matrix<Double>? = nil) -> [Double] {
        let d = dimension, k = componentCount
        let s = evaluateWithMissing(x, shift: shift, statistics: true, imputation: false, weights: weights).statistics
        let second = k + k * d
        switch covarianceType {
        case .full:
            return s
        case .tied:
            var pooled = [Double](repeating: 0, count: d * d)
            for c in 0..<k { for t in 0..<(d * d) { pooled[t] += s[second + c * d * d + t] } }
            return Array(s[..<second]) + pooled + [s[s.count - 1]]
        case .diag, .spherical:
            // Σ r (x − c)² = Σ r (x − μ)² + 2δ·Σ r (x − c) − n δ², δ = μ − c.
            var out = s
            for c in 0..<k {
                for j in 0..<d {
                    let delta = means[c, j] - shift[j]
                    out[second + c * d + j] += 2 * delta * s[k + c * d + j] - s[c] * delta * delta
                }
            }
            return out
        }
    }

    /// The statistics of rows weighted by given responsibilities `r` (`N × K`) instead of
    /// the model's own: the emission statistics of a hidden Markov model, whose state posteriors
    /// weigh its states' densities (missing values integrated out through each state's conditional
    /// Gaussian). Taken about this model's mixture mean (full second moments
    /// about its means), as ``statistics(of:threads:)``; the log-likelihood slot is 0.
    /// `dataGram` is `Σᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ` about the data's column means (the data's `shift`).
    /// - Complexity: `O(N·K·D²)` for full covariances, `O(N·K·D)` otherwise.
    func statistics(of data: MixtureTrainingData, responsibilities r: Matrix<Double>, dataGram: Matrix<Double>) -> MixtureStatistics {
        let k = componentCount, d = dimension, n = data.data.rows
        let c = mixtureMean
        if data.hasMissing {
            // Missing values integrated out through each state's conditional Gaussian, as in statistics(of:threads:).
            var flat = missingValueStatistics(data.data, shift: c, weights: r)
            flat[flat.count - 1] = 0
            let (columnSums, gram, observed) = MixtureStatistics.dataMoments(data.data, about: c)
            return MixtureStatistics(model: self, shift: c, rows: n, kernelStatistics: flat, columnSums: columnSums, gram: gram,
                                     observedCounts: observed)
        }
        var flat = Self.responsibilityStatistics(r, type: covarianceType, data: data, shift: c)
        if covarianceType == .full {
            // Σ r (x − μ)(x − μ)ᵀ = Σ r (x − c)(x − c)ᵀ − δ sᵀ − s δᵀ + n δ δᵀ, δ = μ − c, s = Σ r (x − c).
            let second = k + k * d
            for comp in 0..<k {
                let count = flat[comp]
                let delta = (0..<d).map { means[comp, $0] - c[$0] }
                for a in 0..<d {
                    for b in a..<d {
                        let sa = flat[k + comp * d + a], sb = flat[k + comp * d + b]
                        flat[second + comp * d * d + a * d + b] += -delta[a] * sb - sa * delta[b] + count * delta[a] * delta[b]
                    }
                }
            }
        }
        flat[flat.count - 1] = 0
        let offset = (0..<d).map { data.shift[$0] - c[$0] }
        let columnSums = offset.map { Double(n) * $0 }
        var gram = dataGram.elements
        for a in 0..<d { for b in 0..<d { gram[a * d + b] += Double(n) * offset[a] * offset[b] } }
        if covarianceType == .tied { MixtureStatistics.insertPooledSecondMoments(into: &flat, gram: gram, centre: c, means: means) }
        return MixtureStatistics(model: self, shift: c, rows: n, kernelStatistics: flat, columnSums: columnSums, gram: gram)
    }

    /// The M-step from statistics of this model's E-step: one EM step over the rows they hold.
    ///
    /// The variance floor is `regularization + relativeRegularization ×` each column's variance over
    /// those rows, as in ``fit(_:components:options:)``.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the statistics come from another model or
    ///   hold fewer rows than components; ``ModelError/singularCovariance(component:detail:)`` and the like
    ///   when the new covariances are not positive definite.
    public func maximizing(_ s: MixtureStatistics, regularization: Double = 0,
                           relativeRegularization: Double = MixtureFitOptions().relativeRegularization) throws -> GaussianMixture {
        try s.validateShape()
        guard s.modelFingerprint == fingerprint, s.components == componentCount, s.dimension == dimension,
              s.covarianceType == covarianceType else {
            throw ModelError.invalidSetting("these statistics were computed with another model (fingerprint \(s.modelFingerprint), this model's \(fingerprint)); compute them with this model file")
        }
        guard s.rows >= componentCount else {
            throw ModelError.tooFewPoints(points: s.rows, needed: componentCount, what: "a mixture of \(componentCount) components")
        }
        let floors = s.columnVariances.map { regularization + relativeRegularization * $0 }
        // Complete rows: tied covariances come from the Gram matrix; with missing values, from the
        // pooled second moments about the current means.
        let pooledTied = covarianceType == .tied && s.observedCounts != nil
        var reference = [Double](repeating: 0, count: componentCount * dimension)
        if covarianceType == .full || pooledTied {
            for c in 0..<componentCount { for j in 0..<dimension { reference[c * dimension + j] = means[c, j] - s.shift[j] } }
        }
        return try Self.maximization(s.kernelLayout, components: componentCount, type: covarianceType,
                                     dimension: dimension, rows: s.rows, shift: s.shift, floors: floors,
                                     gram: covarianceType == .tied ? Matrix(rows: dimension, columns: dimension, storage: s.gram) : nil,
                                     hasMissing: false, referenceMeans: reference, pooledTied: pooledTied)
    }
}

/// Fingerprints of model parameters, carried by statistics so that only the model that made them
/// merges or maximises them.
enum Fingerprint {
    /// FNV-1a over the shape, a tag and the values' bit patterns: 16 hexadecimal digits.
    static func of(shape: [Int], tag: String, values: [Double]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            var v = value
            for _ in 0..<8 { hash = (hash ^ (v & 0xff)) &* 0x0000_0100_0000_01b3; v >>= 8 }
        }
        for n in shape { mix(UInt64(n)) }
        for byte in tag.utf8 { mix(UInt64(byte)) }
        for v in values { mix(v.bitPattern) }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
