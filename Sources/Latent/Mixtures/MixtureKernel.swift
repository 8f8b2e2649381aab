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
/// nothing (tied: the M-step uses the constant Gram matrix of the data).
struct MixtureKernel {
    static let blockRows = 256
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
    /// diag: `K × D` inverse variances; spherical: `K` inverse variances.
    let inverseVariances: [Double]

    init(_ model: GaussianMixture, shift: [Double]) {
        k = model.componentCount
        d = model.dimension
        type = model.covarianceType
        self.shift = shift
        var centered = model.means.storage
        for i in 0..<k { for j in 0..<d { centered[i * d + j] -= shift[j] } }
        centeredMeans = centered
        let logDets = model.logDeterminants
        let halfLog2Pi = 0.5 * Double(d) * log(2 * Double.pi)
        constants = (0..<k).map { log(model.weights[$0]) - 0.5 * logDets[$0] - halfLog2Pi }
        var factors: [Double] = []
        var projected: [Double] = []
        var inverse: [Double] = []
        switch model.covariances {
        case .full:
            factors = [Double](repeating: 0, count: d * k * d)
            projected = [Double](repeating: 0, count: k * d)
            for c in 0..<k {
                let p = Cholesky.precisionFactor(lower: model.choleskyFactors[c])
                for a in 0..<d { for b in 0..<d { factors[a * k * d + c * d + b] = p[a, b] } }
                for b in 0..<d {
                    var s = 0.0
                    for a in 0...b { s += centered[c * d + a] * p[a, b] }
                    projected[c * d + b] = s
                }
            }
        case .tied:
            let p = Cholesky.precisionFactor(lower: model.choleskyFactors[0])
            factors = p.storage
            projected = [Double](repeating: 0, count: k * d)
            for c in 0..<k {
                for b in 0..<d {
                    var s = 0.0
                    for a in 0...b { s += centered[c * d + a] * p[a, b] }
                    projected[c * d + b] = s
                }
            }
        case .diag(let v):
            inverse = v.storage.map { 1 / $0 }
        case .spherical(let v):
            inverse = v.map { 1 / $0 }
        }
        precisionFactors = factors
        projectedMeans = projected
        inverseVariances = inverse
    }

    /// Length of the secondary-moment block in the statistics.
    var secondMomentCount: Int {
        switch type {
        case .full: return k * d * d
        case .tied: return 0
        case .diag, .spherical: return k * d
        }
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
        let blockRows = Self.blockRows
        var xc = [Double](repeating: 0, count: blockRows * d)
        var y = [Double](repeating: 0, count: type == .full ? blockRows * kd : (type == .tied ? blockRows * d : 0))
        var lp = [Double](repeating: 0, count: blockRows * k)
        var rowLL = [Double](repeating: 0, count: blockRows)
        var w = [Double](repeating: 0, count: type == .full ? blockRows * d : 0)
        shift.withUnsafeBufferPointer { shift in
        centeredMeans.withUnsafeBufferPointer { mu in
        constants.withUnsafeBufferPointer { constants in
        precisionFactors.withUnsafeBufferPointer { factors in
        projectedMeans.withUnsafeBufferPointer { projected in
        inverseVariances.withUnsafeBufferPointer { inverse in
        xc.withUnsafeMutableBufferPointer { xcBuffer in
        y.withUnsafeMutableBufferPointer { yBuffer in
        lp.withUnsafeMutableBufferPointer { lpBuffer in
        rowLL.withUnsafeMutableBufferPointer { llBuffer in
        w.withUnsafeMutableBufferPointer { wBuffer in
            let xc = xcBuffer.baseAddress!, lp = lpBuffer.baseAddress!, rowLL = llBuffer.baseAddress!
            var start = rows.lowerBound
            while start < rows.upperBound {
                let b = Swift.min(blockRows, rows.upperBound &- start)
                // 1. Centre the block.
                for i in 0..<b {
                    let src = data + (start &+ i) &* d, dst = xc + i &* d
                    for j in 0..<d { dst[j] = src[j] - shift[j] }
                }
                // 2. Weighted log-densities.
                switch type {
                case .full:
                    let y = yBuffer.baseAddress!
                    Double.gemm(.none, .none, m: b, n: kd, k: d, alpha: 1, a: xc, lda: d,
                                b: factors.baseAddress!, ldb: kd, beta: 0, c: y, ldc: kd)
                    for i in 0..<b {
                        let row = y + i &* kd
                        for c in 0..<k {
                            let s = VectorMath.squaredDistance(row + c &* d, projected.baseAddress! + c &* d, count: d)
                            lp[i &* k &+ c] = constants[c] - 0.5 * s
                        }
                    }
                case .tied:
                    let y = yBuffer.baseAddress!
                    Double.gemm(.none, .none, m: b, n: d, k: d, alpha: 1, a: xc, lda: d,
                                b: factors.baseAddress!, ldb: d, beta: 0, c: y, ldc: d)
                    for i in 0..<b {
                        let row = y + i &* d
                        for c in 0..<k {
                            let s = VectorMath.squaredDistance(row, projected.baseAddress! + c &* d, count: d)
                            lp[i &* k &+ c] = constants[c] - 0.5 * s
                        }
                    }
                case .diag:
                    for i in 0..<b {
                        let row = xc + i &* d
                        for c in 0..<k {
                            let s = VectorMath.weightedSquaredDistance(row, mu.baseAddress! + c &* d,
                                                                       inverse.baseAddress! + c &* d, count: d)
                            lp[i &* k &+ c] = constants[c] - 0.5 * s
                        }
                    }
                case .spherical:
                    for i in 0..<b {
                        let row = xc + i &* d
                        for c in 0..<k {
                            let s = VectorMath.squaredDistance(row, mu.baseAddress! + c &* d, count: d)
                            lp[i &* k &+ c] = constants[c] - 0.5 * s * inverse[c]
                        }
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
                        let w = wBuffer.baseAddress!
                        for c in 0..<k {
                            let mc = mu.baseAddress! + c &* d
                            for i in 0..<b {
                                VectorMath.scaledDifference(xc + i &* d, mc, scale: lp[i &* k &+ c].squareRoot(),
                                                            into: w + i &* d, count: d)
                            }
                            Double.syrkTransposed(n: d, k: b, alpha: 1, a: w, lda: d, beta: 1,
                                                  c: second + c &* d &* d, ldc: d)
                        }
                    case .tied:
                        break
                    case .diag, .spherical:
                        for i in 0..<b {
                            let row = xc + i &* d
                            for c in 0..<k {
                                VectorMath.accumulateWeightedSquaredDifference(row, mu.baseAddress! + c &* d, weight: lp[i &* k &+ c],
                                                                               into: second + c &* d, count: d)
                            }
                        }
                    }
                }
                start &+= b
            }
        }}}}}}}}}}}
    }
}

extension Cholesky {
    /// `L⁻ᵀ` for a lower-triangular Cholesky factor `L`.
    static func precisionFactor(lower: Matrix<Double>) -> Matrix<Double> {
        let n = lower.rows
        var inv = Matrix<Double>(rows: n, columns: n)
        // Forward substitution column by column: L · inv = I.
        for c in 0..<n {
            for i in c..<n {
                var s = i == c ? 1.0 : 0.0
                for j in c..<i { s -= lower[i, j] * inv[j, c] }
                inv[i, c] = s / lower[i, i]
            }
        }
        return inv.transposed
    }
}
