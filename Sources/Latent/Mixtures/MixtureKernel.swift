import Foundation

/// The hot loop of a Gaussian mixture: weighted log-densities of a block of rows, their
/// log-sum-exp, the responsibilities, and the sufficient statistics of the M-step, in one pass.
///
/// Rows are processed in blocks of ``blockRows`` after subtracting a fixed `shift` (the data mean
/// during fitting), so products never cancel catastrophically on data far from the origin. With full
/// covariances the Mahalanobis terms of all components come from one GEMM of the block with the
/// `D × K·D` matrix of stacked precision factors; the second moments are accumulated with SYRK.
///
/// Statistics layout (flat doubles): `n[K] | s[K·D] | second | logLikelihood` where, for component
/// k, `s` is `Σᵢ rᵢₖ (xᵢ − shift)` and `second` is the upper triangle of
/// `Σᵢ rᵢₖ (xᵢ − μₖ)(xᵢ − μₖ)ᵀ` (full, `K·D·D`), `Σᵢ rᵢₖ (xᵢ − μₖ)²` (diag and spherical, `K·D`), or
/// nothing (tied: the M-step uses the constant Gram matrix of the data). Diagonal and spherical
/// covariances use the GEMM form `x²·(1/σ²) − 2x·(μ/σ²) + Σμ²/σ²` and raw second moments about the
/// shift (`Σᵢ rᵢₖ (xᵢ − shift)²`), as scikit-learn does: two BLAS-3 calls per block instead of `N·K·D`
/// scalar updates, at a rounding cost of about `ε·(|μ − shift|/σ)²`, negligible on centred data.
struct MixtureKernel {
    static let blockRows = 256
    /// Up to this dimension, full covariances' Mahalanobis terms are formed without GEMM.
    static let smallDimension = 8
    /// Rows per block: 256 keeps full covariances' `B × K·D` products in cache; the other types'
    /// buffers are small, and larger blocks amortise the fixed cost of each BLAS call.
    var blockRows: Int { type == .full ? Self.blockRows : 2048 }
    let k: Int
    let d: Int
    let type: CovarianceType
    let shift: [Double]
    /// μₖ − shift, `K × D`.
    let centeredMeans: [Double]
    /// log wₖ − ½ log det Σₖ − (D/2) log 2π.
    let constants: [Double]
    /// full: `D × K·D` stacked precision factors Pₖ = Lₖ⁻ᵀ; tied: the `D × D` factor.
    let precisionFactors: [Double]
    /// (μₖ − shift)·Pₖ, `K × D` (full and tied).
    let projectedMeans: [Double]
    /// diag and spherical: `[1/σ² | μ/σ²]`, two `D × K` matrices for the GEMM form of the E-step.
    let diagonalTerms: [Double]
    /// diag and spherical: `log wₖ − ½ log det Σₖ − (D/2) log 2π − ½ Σⱼ μ²/σ²`.
    let diagonalOffsets: [Double]

    /// - Parameter logWeights: replaces `log wₖ` in the constants (the variational mixture puts its
    ///   `E[log πₖ]` and expected log-determinant terms here); the model's weights by default.
    init(_ model: GaussianMixture, shift: [Double], logWeights: [Double]? = nil) {
        k = model.componentCount
        d = model.dimension
        type = model.covarianceType
        self.shift = shift
        var centered = model.means.elements
        for i in 0..<k { for j in 0..<d { centered[i * d + j] -= shift[j] } }
        centeredMeans = centered
        let logDets = model.logDeterminants
        let halfLog2Pi = 0.5 * Double(d) * log(2 * Double.pi)
        let logW = logWeights ?? model.weights.map { log($0) }
        constants = (0..<k).map { logW[$0] - 0.5 * logDets[$0] - halfLog2Pi }
        var factors: [Double] = []
        var projected: [Double] = []
        var inverse: [Double] = []
        var terms: [Double] = []
        var offsets: [Double] = []
        switch model.covariances {
        case .full:
            factors = [Double](repeating: 0, count: d * k * d)
            projected = [Double](repeating: 0, count: k * d)
            for c in 0..<k {
                let p = model.choleskyFactors[c].precisionFactor
                for a in 0..<d { for b in 0..<d { factors[a * k * d + c * d + b] = p[a, b] } }
                for b in 0..<d {
                    var s = 0.0
                    for a in 0...b { s += centered[c * d + a] * p[a, b] }
                    projected[c * d + b] = s
                }
            }
        case .tied:
            let p = model.choleskyFactors[0].precisionFactor
            factors = p.elements
            projected = [Double](repeating: 0, count: k * d)
            for c in 0..<k {
                for b in 0..<d {
                    var s = 0.0
                    for a in 0...b { s += centered[c * d + a] * p[a, b] }
                    projected[c * d + b] = s
                }
            }
        case .diag(let v):
            inverse = v.elements.map { 1 / $0 }
        case .spherical(let v):
            let dimension = d
            inverse = v.flatMap { [Double](repeating: 1 / $0, count: dimension) }
        }
        if !inverse.isEmpty {
            // (x − μ)ᵀ diag(1/σ²) (x − μ) = x²·(1/σ²) − 2 x·(μ/σ²) + Σ μ²/σ²: two GEMMs per block.
            terms = [Double](repeating: 0, count: 2 * d * k)
            offsets = constants
            for c in 0..<k {
                var q = 0.0
                for j in 0..<d {
                    let iv = inverse[c * d + j], m = centered[c * d + j]
                    terms[j * k + c] = iv
                    terms[d * k + j * k + c] = m * iv
                    q += m * m * iv
                }
                offsets[c] -= 0.5 * q
            }
        }
        precisionFactors = factors
        projectedMeans = projected
        diagonalTerms = terms
        diagonalOffsets = offsets
    }

    /// Length of the secondary-moment block in the statistics.
    var secondMomentCount: Int {
        switch type {
        case .full: return k * d * d
        case .tied: return 0
        case .diag, .spherical: return k * d
        }
    }

    /// The means (centred on the shift) about which the second moments are taken: the current means
    /// for full covariances, the shift itself (zeros) for diagonal and spherical ones.
    var secondMomentReference: [Double] {
        type == .full ? centeredMeans : [Double](repeating: 0, count: k * d)
    }

    /// Length of the statistics vector.
    var statisticsCount: Int { k + k * d + secondMomentCount + 1 }

    /// Evaluates `rows` of the row-major `data` (`D` columns).
    ///
    /// - Parameters:
    ///   - logLikelihoods: if given, receives `log p(xᵢ)` at index `i` (absolute row).
    ///   - responsibilities: if given, receives `p(z = k | xᵢ)` at `i·K + k`.
    ///   - componentLogDensities: if given, receives `log wₖ + log 𝒩(xᵢ | μₖ, Σₖ)` at `i·K + k`.
    ///   - statistics: if given, the sufficient statistics of these rows are added to it.
    func evaluate(data: UnsafePointer<Double>, rows: Range<Int>,
                  logLikelihoods: UnsafeMutablePointer<Double>?,
                  responsibilities: UnsafeMutablePointer<Double>?,
                  statistics: UnsafeMutablePointer<Double>?,
                  componentLogDensities: UnsafeMutablePointer<Double>? = nil) {
        let k = self.k, d = self.d, kd = k &* d
        let blockRows = Swift.min(self.blockRows, Swift.max(1, rows.count))
        let small = type == .full && d <= Self.smallDimension
        var xc = [Double](repeating: 0, count: blockRows * d)
        var y = [Double](repeating: 0, count: type == .full ? blockRows * kd : blockRows * d)
        var lp = [Double](repeating: 0, count: blockRows * k)
        var rowLL = [Double](repeating: 0, count: blockRows)
        var w = [Double](repeating: 0, count: type == .full ? blockRows * d : 0)
        shift.withUnsafeBufferPointer { shift in
        centeredMeans.withUnsafeBufferPointer { mu in
        constants.withUnsafeBufferPointer { constants in
        precisionFactors.withUnsafeBufferPointer { factors in
        projectedMeans.withUnsafeBufferPointer { projected in
        diagonalTerms.withUnsafeBufferPointer { terms in
        diagonalOffsets.withUnsafeBufferPointer { offsets in
        xc.withUnsafeMutableBufferPointer { xcBuffer in
        y.withUnsafeMutableBufferPointer { yBuffer in
        lp.withUnsafeMutableBufferPointer { lpBuffer in
        rowLL.withUnsafeMutableBufferPointer { llBuffer in
        w.withUnsafeMutableBufferPointer { wBuffer in
            let xc = xcBuffer.start, lp = lpBuffer.start, rowLL = llBuffer.start
            var start = rows.lowerBound
            while start < rows.upperBound {
                let b = Swift.min(blockRows, rows.upperBound &- start)
                if small {
                    // Straight from the data, and straight into the output when only densities are asked for.
                    let densitiesOnly = componentLogDensities != nil && logLikelihoods == nil && responsibilities == nil && statistics == nil
                    VectorMath.smallFullLogDensities(data + start &* d, rows: b, components: k, dimension: d,
                                                     shift: shift.start, factors: factors.start, projected: projected.start,
                                                     constants: constants.start,
                                                     into: densitiesOnly ? componentLogDensities! + start &* k : lp)
                    if densitiesOnly { start &+= b; continue }
                }
                // 1. Centre the block.
                if !small || statistics != nil {
                    for i in 0..<b {
                        let src = data + (start &+ i) &* d, dst = xc + i &* d
                        for j in 0..<d { dst[j] = src[j] - shift[j] }
                    }
                }
                // 2. Weighted log-densities.
                switch type {
                case .full:
                    let y = yBuffer.start
                    if small { break }
                    Double.gemm(.none, .none, m: b, n: kd, k: d, alpha: 1, a: xc, lda: d,
                                b: factors.start, ldb: kd, beta: 0, c: y, ldc: kd)
                    VectorMath.whitenedLogDensities(y, rows: b, components: k, dimension: d, rowStride: kd, componentStride: d,
                                                    projected: projected.start, constants: constants.start, into: lp)
                case .tied:
                    let y = yBuffer.start
                    Double.gemm(.none, .none, m: b, n: d, k: d, alpha: 1, a: xc, lda: d,
                                b: factors.start, ldb: d, beta: 0, c: y, ldc: d)
                    VectorMath.whitenedLogDensities(y, rows: b, components: k, dimension: d, rowStride: d, componentStride: 0,
                                                    projected: projected.start, constants: constants.start, into: lp)
                case .diag, .spherical:
                    // y = x², then lp = offsets − ½ y·(1/σ²) + x·(μ/σ²).
                    let y = yBuffer.start
                    for t in 0..<(b &* d) { y[t] = xc[t] * xc[t] }
                    Double.gemm(.none, .none, m: b, n: k, k: d, alpha: -0.5, a: y, lda: d,
                                b: terms.start, ldb: k, beta: 0, c: lp, ldc: k)
                    Double.gemm(.none, .none, m: b, n: k, k: d, alpha: 1, a: xc, lda: d,
                                b: terms.start + d &* k, ldb: k, beta: 1, c: lp, ldc: k)
                    for i in 0..<b {
                        let row = lp + i &* k
                        for c in 0..<k { row[c] += offsets[c] }
                    }
                }
                if let out = componentLogDensities {
                    (out + start &* k).update(from: lp, count: b &* k)
                    if logLikelihoods == nil && responsibilities == nil && statistics == nil { start &+= b; continue }
                }
                // 3. log p(x) and responsibilities.
                VectorMath.logSumExpRows(lp, rows: b, columns: k, into: rowLL,
                                         normalize: responsibilities != nil || statistics != nil)
                if let out = logLikelihoods { (out + start).update(from: rowLL, count: b) }
                if let out = responsibilities { (out + start &* k).update(from: lp, count: b &* k) }
                // 4. Sufficient statistics.
                if let stats = statistics {
                    let n = stats, s = stats + k, second = stats + (k &+ kd)
                    var total = 0.0
                    for i in 0..<b { total += rowLL[i] }
                    stats[k &+ kd &+ secondMomentCount] += total
                    for i in 0..<b { for c in 0..<k { n[c] += lp[i &* k &+ c] } }
                    // Σᵢ rᵢₖ (xᵢ − shift) for every component at once: Rᵀ·Xc.
                    Double.gemm(.transpose, .none, m: k, n: d, k: b, alpha: 1, a: lp, lda: k, b: xc, ldb: d,
                                beta: 1, c: s, ldc: d)
                    switch type {
                    case .full:
                        let w = wBuffer.start
                        for c in 0..<k {
                            let mc = mu.start + c &* d
                            VectorMath.weightedDeviations(xc, rows: b, dimension: d, mean: mc, weights: lp + c,
                                                          weightStride: k, into: w)
                            Double.syrkTransposed(n: d, k: b, alpha: 1, a: w, lda: d, beta: 1,
                                                  c: second + c &* d &* d, ldc: d)
                        }
                    case .tied:
                        break
                    case .diag, .spherical:
                        // Σᵢ rᵢₖ (xᵢ − shift)² for every component at once: Rᵀ·(Xc ∘ Xc).
                        Double.gemm(.transpose, .none, m: k, n: d, k: b, alpha: 1, a: lp, lda: k,
                                    b: yBuffer.start, ldb: d, beta: 1, c: second, ldc: d)
                    }
                }
                start &+= b
            }
        }}}}}}}}}}}}
    }
}
