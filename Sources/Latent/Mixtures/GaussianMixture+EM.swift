import Foundation

/// The data of a mixture fit with what stays constant across EM iterations.
public struct MixtureTrainingData: Sendable {
    /// The data; NaN marks a missing value.
    let data: Matrix<Double>
    /// Whether some value is missing (EM then integrates them out).
    let hasMissing: Bool
    /// The data with missing values replaced by column means, for the initialisations.
    let initializationData: Matrix<Double>
    /// Column means: the kernel works on `x − shift`.
    let shift: [Double]
    /// `Σᵢ (xᵢ − shift)(xᵢ − shift)ᵀ`, needed by tied covariances.
    let gram: Matrix<Double>?
    /// Added to the variance of each column in every M-step: the absolute regularisation plus the
    /// relative one times the column's variance.
    let floors: [Double]
    /// Each column's sample variance.
    let columnVariances: [Double]
    /// Each column's resolution: the smallest gap between its distinct observed values (0 with
    /// fewer than two), on at most ``resolutionRows`` evenly spaced rows.
    let resolutions: [Double]
    static let resolutionRows = 10_000
    let threads: Int
    let work: ChunkedWork
    /// Seeded split-and-merge moves offered after the ranked ones (``MixtureFitOptions/seededMoves``).
    var seededMoves = 0

    init(_ data: Matrix<Double>, covarianceType: CovarianceType, regularization: Double,
         relativeRegularization: Double = 0, threads: Int) {
        self.data = data
        let n = data.rows, d = data.columns
        shift = data.observedColumnMeans
        hasMissing = data.missingCount > 0
        var filled = data
        if hasMissing {
            for i in 0..<n { for j in 0..<d where filled[i, j].isNaN { filled[i, j] = shift[j] } }
        }
        initializationData = filled
        if covarianceType == .tied && !hasMissing {
            var centered = data
            for i in 0..<n { for j in 0..<d { centered[i, j] -= shift[j] } }
            gram = centered.gram
        } else {
            gram = nil
        }
        var variance = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { let t = filled[i, j] - shift[j]; variance[j] += t * t } }
        columnVariances = variance.map { $0 / Double(max(1, n - 1)) }
        floors = columnVariances.map { regularization + relativeRegularization * $0 }
        resolutions = Self.resolutions(of: data)
        self.threads = threads
        work = ChunkedWork(count: n, minimumChunk: 1024)
    }
}

extension MixtureTrainingData {
    /// The smallest positive gap between distinct observed values of each column, on every
    /// `⌈N / resolutionRows⌉`-th row. - Complexity: `O(D · m log m)`, `m ≤ resolutionRows`.
    static func resolutions(of x: Matrix<Double>) -> [Double] {
        let step = max(1, (x.rows + resolutionRows - 1) / resolutionRows)
        return (0..<x.columns).map { j in
            let values = stride(from: 0, to: x.rows, by: step).map { x[$0, j] }.filter { !$0.isNaN }.sorted()
            var gap = Double.infinity
            for i in values.indices.dropFirst() where values[i] > values[i - 1] { gap = min(gap, values[i] - values[i - 1]) }
            return gap.isFinite ? gap : 0
        }
    }

    /// Each column's standard deviation (1 for a constant column).
    var columnScales: [Double] { columnVariances.map { $0 > 0 ? $0.squareRoot() : 1 } }
}

extension GaussianMixture: ExpectationMaximizable {
    public mutating func expectationMaximizationStep(on data: MixtureTrainingData) throws -> Double {
        if data.hasMissing {
            let stats = evaluateWithMissing(data.data, shift: data.shift, statistics: true, imputation: false).statistics
            var reference = means.elements
            for c in 0..<componentCount { for j in 0..<dimension { reference[c * dimension + j] -= data.shift[j] } }
            self = try Self.maximization(stats, components: componentCount, type: covarianceType, data: data, referenceMeans: reference)
            return stats[stats.count - 1]
        }
        let kernel = MixtureKernel(self, shift: data.shift)
        let stats = Self.statistics(kernel, data)
        self = try Self.maximization(stats, components: kernel.k, type: kernel.type, data: data,
                                     referenceMeans: kernel.secondMomentReference)
        return stats[kernel.statisticsCount - 1]
    }

    public func totalLogLikelihood(of data: MixtureTrainingData) throws -> Double {
        totalLogLikelihood(of: data.data, threads: data.threads)   // handles missing values too
    }

    /// Weights, means and each component's covariance matrix, in units of each column's standard
    /// deviation (``EMAcceleration/squarem``).
    public func extrapolationCoordinates(on data: MixtureTrainingData) -> [Double]? {
        extrapolationCoordinates(scales: data.columnScales)
    }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: MixtureTrainingData) -> GaussianMixture? {
        replacingExtrapolationCoordinates(coordinates, scales: data.columnScales)
    }

    /// Weights, means `μₖⱼ / sⱼ`, then covariances `Σₖᵢⱼ / (sᵢ sⱼ)`: every entry of each component's
    /// matrix for full and tied covariances (`K·D²`), the diagonal alone for diagonal and spherical
    /// ones (`K·D`: the off-diagonal zeros would only add to the norms nothing but cost).
    func extrapolationCoordinates(scales s: [Double]) -> [Double] {
        let k = componentCount, d = dimension, dense = covarianceType == .full || covarianceType == .tied
        var out = weights
        out.reserveCapacity(k + k * d + k * (dense ? d * d : d))
        for c in 0..<k { for j in 0..<d { out.append(means[c, j] / s[j]) } }
        for c in 0..<k {
            if dense {
                let m = covariances.matrix(component: c, dimension: d)
                for i in 0..<d { for j in 0..<d { out.append(m[i, j] / (s[i] * s[j])) } }
            } else {
                let v = covariances.variances(component: c, dimension: d)
                for j in 0..<d { out.append(v[j] / (s[j] * s[j])) }
            }
        }
        return out
    }

    /// The mixture of this shape and covariance type with these coordinates (the layout of
    /// ``extrapolationCoordinates(scales:)``), or nil when they are not valid parameters. A tied
    /// covariance reads the first component's matrix, a spherical one the first column's entry:
    /// every linear combination of coordinates keeps that structure.
    func replacingExtrapolationCoordinates(_ values: [Double], scales s: [Double]) -> GaussianMixture? {
        let k = componentCount, d = dimension, dense = covarianceType == .full || covarianceType == .tied
        let block = dense ? d * d : d, offset = k + k * d
        guard values.count == offset + k * block, s.count == d else { return nil }
        var means = Matrix<Double>(rows: k, columns: d)
        for c in 0..<k { for j in 0..<d { means[c, j] = values[k + c * d + j] * s[j] } }
        func covariance(_ c: Int) -> Matrix<Double> {
            var m = Matrix<Double>(rows: d, columns: d)
            for i in 0..<d { for j in 0..<d { m[i, j] = values[offset + c * block + i * d + j] * s[i] * s[j] } }
            return m
        }
        func variance(_ c: Int, _ j: Int) -> Double { values[offset + c * block + j] * s[j] * s[j] }
        let replaced: MixtureCovariances
        switch covariances {
        case .full: replaced = .full((0..<k).map(covariance))
        case .tied: replaced = .tied(covariance(0))
        case .diag: replaced = .diag(Matrix(rows: k, columns: d, storage: (0..<k).flatMap { c in (0..<d).map { variance(c, $0) } }))
        case .spherical: replaced = .spherical((0..<k).map { variance($0, 0) })
        }
        return try? GaussianMixture(weights: Array(values[0..<k]), means: means, covariances: replaced)
    }

    /// One E-step pass over all rows: per-chunk statistics reduced in chunk order (deterministic
    /// whatever the thread count).
    static func statistics(_ kernel: MixtureKernel, _ data: MixtureTrainingData) -> [Double] {
        statistics(kernel, rows: data.data, work: data.work, threads: data.threads)
    }

    /// ``statistics(_:_:)`` of the complete rows of `x`, split into `work`'s chunks.
    static func statistics(_ kernel: MixtureKernel, rows x: Matrix<Double>, work: ChunkedWork, threads: Int) -> [Double] {
        let size = kernel.statisticsCount
        let chunks = work.ranges.count
        var partial = [Double](repeating: 0, count: size * chunks)
        x.withUnsafeBufferPointer { xp in
            partial.withUnsafeMutableBufferPointer { pp in
                let base = pp.start
                work.run(threads: threads) { chunk, range in
                    kernel.evaluate(data: xp.start, rows: range, logLikelihoods: nil,
                                    responsibilities: nil, statistics: base + chunk * size)
                }
            }
        }
        var total = [Double](repeating: 0, count: size)
        for c in 0..<chunks { for i in 0..<size { total[i] += partial[c * size + i] } }
        return total
    }

    /// The M-step from statistics taken about `referenceMeans` (centred coordinates, `K × D`).
    static func maximization(_ stats: [Double], components k: Int, type: CovarianceType, data: MixtureTrainingData,
                             referenceMeans: [Double]) throws -> GaussianMixture {
        try maximization(stats, components: k, type: type, dimension: data.data.columns, rows: data.data.rows,
                         shift: data.shift, floors: data.floors, gram: data.gram, hasMissing: data.hasMissing,
                         referenceMeans: referenceMeans)
    }

    /// The M-step from statistics of `rows` rows taken about `shift` (second moments of full
    /// covariances about `referenceMeans`, centred); `gram` is `Σᵢ (xᵢ − shift)(xᵢ − shift)ᵀ`, needed
    /// by tied covariances of complete data.
    /// `pooledTied`: tied covariances from one pooled `D × D` block of second moments about the
    /// reference means (``MixtureStatistics`` with missing values) instead of the Gram matrix.
    static func maximization(_ stats: [Double], components k: Int, type: CovarianceType, dimension d: Int, rows: Int,
                             shift: [Double], floors: [Double], gram: Matrix<Double>?, hasMissing: Bool,
                             referenceMeans: [Double], pooledTied: Bool = false) throws -> GaussianMixture {
        let kd = k * d
        let tiny = 10 * Double.ulpOfOne
        let counts = (0..<k).map { stats[$0] + tiny }
        let total = counts.reduce(0, +)
        var centeredMeans = [Double](repeating: 0, count: kd)
        // New means (relative to the shift) and their offsets from the reference means about which
        // the second moments were taken.
        var offsets = [Double](repeating: 0, count: kd)
        for c in 0..<k {
            for j in 0..<d {
                centeredMeans[c * d + j] = stats[k + c * d + j] / counts[c]
                offsets[c * d + j] = centeredMeans[c * d + j] - referenceMeans[c * d + j]
            }
        }
        let second = k + kd
        let covariances: MixtureCovariances
        switch type {
        case .full:
            var ms: [Matrix<Double>] = []
            for c in 0..<k {
                var m = Matrix<Double>(rows: d, columns: d)
                for a in 0..<d {
                    let da = offsets[c * d + a]
                    for b in a..<d {
                        let db = offsets[c * d + b]
                        m[a, b] = stats[second + c * d * d + a * d + b] / counts[c] - da * db
                    }
                    m[a, a] += floors[a]
                }
                m.symmetrizeFromUpper()
                ms.append(m)
            }
            covariances = .full(ms)
        case .tied where pooledTied:
            var m = Matrix<Double>(rows: d, columns: d)
            for a in 0..<d {
                for b in a..<d {
                    var v = stats[second + a * d + b]
                    for c in 0..<k { v -= counts[c] * offsets[c * d + a] * offsets[c * d + b] }
                    m[a, b] = v
                }
            }
            m.symmetrizeFromUpper()
            let n = Double(rows)
            for a in 0..<d { for b in 0..<d { m[a, b] /= n }; m[a, a] += floors[a] }
            covariances = .tied(m)
        case .tied where hasMissing:
            // Per-component second moments (about the reference means) were accumulated.
            var m = Matrix<Double>(rows: d, columns: d)
            for c in 0..<k {
                for a in 0..<d {
                    for b in a..<d {
                        m[a, b] += stats[second + c * d * d + a * d + b] - counts[c] * offsets[c * d + a] * offsets[c * d + b]
                    }
                }
            }
            m.symmetrizeFromUpper()
            let n = Double(rows)
            for a in 0..<d { for b in 0..<d { m[a, b] /= n }; m[a, a] += floors[a] }
            covariances = .tied(m)
        case .tied:
            var m = gram!
            for c in 0..<k {
                for a in 0..<d { for b in 0..<d { m[a, b] -= counts[c] * centeredMeans[c * d + a] * centeredMeans[c * d + b] } }
            }
            let n = Double(rows)
            for a in 0..<d { for b in 0..<d { m[a, b] /= n }; m[a, a] += floors[a] }
            covariances = .tied(m)
        case .diag, .spherical:
            var v = Matrix<Double>(rows: k, columns: d)
            for c in 0..<k {
                for j in 0..<d {
                    let dj = offsets[c * d + j]
                    v[c, j] = max(0, stats[second + c * d + j] / counts[c] - dj * dj) + floors[j]
                }
            }
            if type == .diag {
                covariances = .diag(v)
            } else {
                covariances = .spherical((0..<k).map { c in v.row(c).reduce(0, +) / Double(d) })
            }
        }
        var means = Matrix<Double>(rows: k, columns: d, storage: centeredMeans)
        for c in 0..<k { for j in 0..<d { means[c, j] += shift[j] } }
        return try GaussianMixture(weights: counts.map { $0 / total }, means: means, covariances: covariances)
    }

    /// Parameters from given responsibilities (`N × K`): the M-step that starts EM, and the
    /// emission update of hidden Markov models. Statistics are taken about the data's shift, in
    /// blocks of rows split across cores (GEMM for `Rᵀ·X`, SYRK for second moments).
    static func fromResponsibilities(_ r: Matrix<Double>, type: CovarianceType, data: MixtureTrainingData) throws -> GaussianMixture {
        let stats = responsibilityStatistics(r, type: type, data: data)
        return try maximization(stats, components: r.columns, type: type, data: data,
                                referenceMeans: [Double](repeating: 0, count: r.columns * data.data.columns))
    }

    /// The M-step statistics (the kernel's layout, second moments about the shift) of given
    /// responsibilities (`N × K`), in blocks of rows split across cores; about `shift` if given,
    /// else the data's.
    static func responsibilityStatistics(_ r: Matrix<Double>, type: CovarianceType, data: MixtureTrainingData,
                                         shift given: [Double]? = nil) -> [Double] {
        let x = data.initializationData
        let n = x.rows, d = x.columns, k = r.columns
        precondition(r.rows == n, "One row of responsibilities per data row")
        let fullSecond = type == .full || (type == .tied && data.hasMissing)
        let secondCount = fullSecond ? k * d * d : (type == .tied ? 0 : k * d)
        let size = k + k * d + secondCount + 1
        let work = data.work
        var partial = [Double](repeating: 0, count: size * work.ranges.count)
        let shift = given ?? data.shift
        x.withUnsafeBufferPointer { xp in
            r.withUnsafeBufferPointer { rp in
                partial.withUnsafeMutableBufferPointer { pp in
                    let base = pp.start
                    work.run(threads: data.threads) { chunk, range in
                        let stats = base + chunk * size
                        if fullSecond && d <= MixtureKernel.smallDimension {
                            // Small D: a dot product per statistic over feature-major blocks of rows (a C
                            // kernel); a SYRK per component per block would cost more in call and packing
                            // overhead than in arithmetic.
                            VectorMath.smallDimensionStatistics(xp.start + range.lowerBound * d, responsibilities: rp.start + range.lowerBound * k,
                                                                 rows: range.count, dimension: d, components: k, shift: shift, into: stats)
                            return
                        }
                        let sums = stats + k, second = stats + k + k * d
                        let block = MixtureKernel.blockRows
                        var xc = [Double](repeating: 0, count: block * d)
                        var w = [Double](repeating: 0, count: secondCount > 0 ? block * d : 0)
                        xc.withUnsafeMutableBufferPointer { xcb in
                            w.withUnsafeMutableBufferPointer { wb in
                                let xc = xcb.start
                                var start = range.lowerBound
                                while start < range.upperBound {
                                    let b = min(block, range.upperBound - start)
                                    let rb = rp.start + start * k
                                    for i in 0..<b {
                                        let src = xp.start + (start + i) * d
                                        for j in 0..<d { xc[i * d + j] = src[j] - shift[j] }
                                        for c in 0..<k { stats[c] += rb[i * k + c] }
                                    }
                                    Double.gemm(.transpose, .none, m: k, n: d, k: b, alpha: 1, a: rb, lda: k, b: xc, ldb: d,
                                                beta: 1, c: sums, ldc: d)
                                    if fullSecond {
                                        let w = wb.start
                                        for c in 0..<k {
                                            for i in 0..<b {
                                                let root = rb[i * k + c].squareRoot()
                                                for j in 0..<d { w[i * d + j] = root * xc[i * d + j] }
                                            }
                                            Double.syrkTransposed(n: d, k: b, alpha: 1, a: w, lda: d, beta: 1,
                                                                  c: second + c * d * d, ldc: d)
                                        }
                                    } else if secondCount > 0 {
                                        // Σᵢ rᵢₖ (xᵢ − shift)² for every component at once: Rᵀ·(Xc ∘ Xc).
                                        let w = wb.start
                                        for t in 0..<(b * d) { w[t] = xc[t] * xc[t] }
                                        Double.gemm(.transpose, .none, m: k, n: d, k: b, alpha: 1, a: rb, lda: k, b: w, ldb: d,
                                                    beta: 1, c: second, ldc: d)
                                    }
                                    start += b
                                }
                            }
                        }
                    }
                }
            }
        }
        var stats = [Double](repeating: 0, count: size)
        for c in 0..<work.ranges.count { for i in 0..<size { stats[i] += partial[c * size + i] } }
        return stats
    }
}
