import Foundation

/// What the Kalman filter computes for one sequence. Covariances are stored flat, one `L × L`
/// matrix per row (row-major); `Matrix.covariance(_:at:)` reads one back.
public struct KalmanFiltering: Sendable {
    /// `E[xₜ | y₁…yₜ₋₁]`, one row per time step (`T × L`).
    public var predictedMeans: Matrix<Double>
    /// `Cov[xₜ | y₁…yₜ₋₁]`, flat (`T × L²`).
    public var predictedCovariances: Matrix<Double>
    /// `E[xₜ | y₁…yₜ]` (`T × L`).
    public var filteredMeans: Matrix<Double>
    /// `Cov[xₜ | y₁…yₜ]`, flat (`T × L²`).
    public var filteredCovariances: Matrix<Double>
    /// `log p(yₜ | y₁…yₜ₋₁)` of each step's observed values (0 for a step with none).
    public var stepLogLikelihoods: [Double]
    /// Leading steps whose terms a diffuse start leaves out of ``logLikelihood`` (0 for a learned start).
    public var burnIn: Int
    /// Steps at which the filter had reached its steady state (every value observed and the
    /// covariance unchanged from the step before, to rounding): their covariances and gain are those
    /// of the step before. The smoother reuses its gain there.
    public var steady: [Bool]

    /// The log-likelihood of the sequence's observed values (after the burn-in of a diffuse start).
    public var logLikelihood: Double { stepLogLikelihoods.dropFirst(burnIn).reduce(0, +) }
}

/// What the Rauch–Tung–Striebel smoother adds.
public struct KalmanSmoothing: Sendable {
    /// `E[xₜ | y₁…y_T]` (`T × L`).
    public var means: Matrix<Double>
    /// `Cov[xₜ | y₁…y_T]`, flat (`T × L²`).
    public var covariances: Matrix<Double>
    /// `Cov[xₜ₊₁, xₜ | y₁…y_T]` for `t = 1…T−1`, flat (`(T−1) × L²`; row `t−1` pairs steps `t+1` and `t`).
    public var lagOneCovariances: Matrix<Double>
    /// The filter pass it was computed from.
    public var filtering: KalmanFiltering
}

extension Matrix where Scalar == Double {
    /// Row `t` of a flat stack of `n × n` matrices, as a matrix.
    public func covariance(_ n: Int, at t: Int) -> Matrix<Double> {
        Matrix(rows: n, columns: n, storage: Array(elements[(t * n * n)..<((t + 1) * n * n)]))
    }
}

extension LinearDynamicalSystem {
    /// The Kalman filter on one sequence `y` (`T × D`, NaN = missing).
    ///
    /// Each update uses the observed coordinates only; a step with none observed is a pure
    /// prediction. Covariances are updated in Joseph form, `(I − KC)P(I − KC)ᵀ + KRKᵀ`, and
    /// symmetrised, so they stay symmetric positive semi-definite in floating point.
    /// - Throws: ``ModelError/singularCovariance(component:detail:)`` when an innovation covariance
    ///   is not positive definite.
    /// - Complexity: `O(T·(L³ + D³ + D·L²))` time, `O(T·L²)` memory; no allocation per step.
    /// With `steadyState` (the default) a fully observed stretch past the filter's steady state costs
    /// only the mean updates; `false` runs every covariance update (for checks).
    public func filter(_ y: Matrix<Double>, steadyState: Bool = true) throws -> KalmanFiltering {
        precondition(y.columns == dimension, "The data has \(y.columns) columns; the model \(dimension)")
        let t = y.rows, l = latentDimension, d = dimension, ll = l * l
        // Outputs in local arrays (a write through a stored property checks uniqueness each time).
        // Every step writes all four (no zero-filling of T·L² doubles first).
        func uninitialized(_ n: Int) -> [Double] { [Double](unsafeUninitializedCapacity: n) { _, count in count = n } }
        var predictedMeans = uninitialized(t * l), predictedCovariances = uninitialized(t * ll)
        var filteredMeans = uninitialized(t * l), filteredCovariances = uninitialized(t * ll)
        var stepLogLikelihoods = [Double](repeating: 0, count: t), steadySteps = [Bool](repeating: false, count: t)
        var burnIn = 0
        let a = transition.elements, q = stateNoise.elements, c = observation.elements, r = observationNoise.elements
        let log2Pi = log(2 * Double.pi)
        var mean = initialMean, covariance = initialCovariance.elements
        var scratchMean = [Double](repeating: 0, count: l)
        var product = [Double](repeating: 0, count: ll), reduction = [Double](repeating: 0, count: ll)
        var pct = [Double](repeating: 0, count: l * d), gain = [Double](repeating: 0, count: l * d), kr = [Double](repeating: 0, count: l * d)
        var s = [Double](repeating: 0, count: d * d), factor = [Double](repeating: 0, count: d * d)
        var innovation = [Double](repeating: 0, count: d), solved = [Double](repeating: 0, count: d)
        var observed = [Int](repeating: 0, count: d)
        var observedSoFar = 0
        var burning = initialState == .diffuse
        // Steady state: once a fully observed step leaves the filtered covariance as it was, the
        // gain, the innovation covariance and both covariances stay fixed while every value keeps
        // being observed, and only the means need updating.
        var steady = false, previousFull = false
        var previousCovariance = [Double](repeating: 0, count: ll)
        var steadyLogDeterminant = 0.0
        var steadyInverse = [Double](repeating: 0, count: d * d)   // S⁻¹ of the steady state
        let log2PiD = Double(d) * log2Pi
        var next = 0
        while next < t {
            let step = next
            next += 1
            var full = true
            for j in 0..<d where y.elements[step * d + j].isNaN { full = false; break }
            if steady && full {
                // The fully observed stretch from here on: only the means change.
                let end = y.withUnsafeBufferPointer { yp in
                    steadyStretch(yp, from: step, mean: &mean, gain: gain, inverse: steadyInverse,
                                  logConstant: -0.5 * (log2PiD + steadyLogDeterminant), predictedMeans: &predictedMeans,
                                  filteredMeans: &filteredMeans, stepLogLikelihoods: &stepLogLikelihoods)
                }
                predictedCovariances.withUnsafeMutableBufferPointer { pc in
                    filteredCovariances.withUnsafeMutableBufferPointer { fc in
                        covariance.withUnsafeBufferPointer { filtered in
                            let pc = pc.start, fc = fc.start
                            for k in step..<end {
                                (pc + k * ll).update(from: pc + (step - 1) * ll, count: ll)
                                (fc + k * ll).update(from: filtered.start, count: ll)
                            }
                        }
                    }
                }
                for k in step..<end { steadySteps[k] = true }
                precondition(end > step, "A steady stretch starts at a fully observed step")
                next = end
                continue
            }
            steady = false
            if step > 0 {
                // m ← A m;  P ← A P Aᵀ + Q.
                for i in 0..<l { var v = 0.0; for k in 0..<l { v += a[i * l + k] * mean[k] }; scratchMean[i] = v }
                swap(&mean, &scratchMean)
                for i in 0..<l { for j in 0..<l { var v = 0.0; for k in 0..<l { v += a[i * l + k] * covariance[k * l + j] }; product[i * l + j] = v } }
                for i in 0..<l { for j in i..<l {
                    var v = q[i * l + j]
                    for k in 0..<l { v += product[i * l + k] * a[j * l + k] }
                    covariance[i * l + j] = v; covariance[j * l + i] = v
                } }
            }
            for i in 0..<l { predictedMeans[step * l + i] = mean[i] }
            for i in 0..<ll { predictedCovariances[step * ll + i] = covariance[i] }
            var o = 0
            for j in 0..<d where !y.elements[step * d + j].isNaN { observed[o] = j; o += 1 }
            if o > 0 {
                // P Cᵀ (L × o) and S = C P Cᵀ + R (o × o).
                for i in 0..<l { for b in 0..<o {
                    var v = 0.0
                    for k in 0..<l { v += covariance[i * l + k] * c[observed[b] * l + k] }
                    pct[i * o + b] = v
                } }
                for x in 0..<o { for z in x..<o {
                    var v = r[observed[x] * d + observed[z]]
                    for k in 0..<l { v += c[observed[x] * l + k] * pct[k * o + z] }
                    s[x * o + z] = v; s[z * o + x] = v
                } }
                guard SmallCholesky.robustFactor(s, into: &factor, n: o) else {
                    throw ModelError.singularCovariance(component: nil, detail: "the innovation covariance at time step \(step + 1) is not positive definite")
                }
                for x in 0..<o {
                    var v = y.elements[step * d + observed[x]] - offset[observed[x]]
                    for k in 0..<l { v -= c[observed[x] * l + k] * mean[k] }
                    innovation[x] = v; solved[x] = v
                }
                SmallCholesky.solve(factor, n: o, &solved)
                var quadratic = 0.0
                for x in 0..<o { quadratic += innovation[x] * solved[x] }
                stepLogLikelihoods[step] = -0.5 * (Double(o) * log2Pi + SmallCholesky.logDeterminant(factor, n: o) + quadratic)
                // K = P Cᵀ S⁻¹, row by row; m ← m + K v.
                for i in 0..<l {
                    for x in 0..<o { gain[i * o + x] = pct[i * o + x] }
                    SmallCholesky.solve(factor, n: o, &gain, offset: i * o)
                    var v = 0.0
                    for x in 0..<o { v += gain[i * o + x] * innovation[x] }
                    mean[i] += v
                }
                // Joseph form: M = I − K C;  P ← M P Mᵀ + K R Kᵀ.
                for i in 0..<l { for j in 0..<l {
                    var v = i == j ? 1.0 : 0.0
                    for x in 0..<o { v -= gain[i * o + x] * c[observed[x] * l + j] }
                    reduction[i * l + j] = v
                } }
                for i in 0..<l { for j in 0..<l { var v = 0.0; for k in 0..<l { v += reduction[i * l + k] * covariance[k * l + j] }; product[i * l + j] = v } }
                for i in 0..<l { for x in 0..<o {
                    var v = 0.0
                    for z in 0..<o { v += gain[i * o + z] * r[observed[z] * d + observed[x]] }
                    kr[i * o + x] = v
                } }
                for i in 0..<l { for j in i..<l {
                    var v = 0.0
                    for k in 0..<l { v += product[i * l + k] * reduction[j * l + k] }
                    for x in 0..<o { v += kr[i * o + x] * gain[j * o + x] }
                    covariance[i * l + j] = v; covariance[j * l + i] = v
                } }
                if burning {
                    observedSoFar += o
                    burnIn = step + 1
                    if observedSoFar >= l { burning = false }
                } else if steadyState && full && previousFull {
                    var change = 0.0, size = 0.0
                    for i in 0..<ll { change = max(change, abs(covariance[i] - previousCovariance[i])); size = max(size, abs(covariance[i])) }
                    if change <= Self.steadyStateTolerance * size {
                        steady = true
                        steadyLogDeterminant = SmallCholesky.logDeterminant(factor, n: d)
                        for x in 0..<(d * d) { steadyInverse[x] = x % (d + 1) == 0 ? 1 : 0 }
                        for x in 0..<d { SmallCholesky.solve(factor, n: d, &steadyInverse, offset: x * d) }
                    }
                }
            } else if burning {
                burnIn = step + 1
            }
            previousFull = full && !burning
            for i in 0..<ll { previousCovariance[i] = covariance[i] }
            for i in 0..<l { filteredMeans[step * l + i] = mean[i] }
            for i in 0..<ll { filteredCovariances[step * ll + i] = covariance[i] }
        }
        return KalmanFiltering(predictedMeans: Matrix(rows: t, columns: l, storage: predictedMeans),
                               predictedCovariances: Matrix(rows: t, columns: ll, storage: predictedCovariances),
                               filteredMeans: Matrix(rows: t, columns: l, storage: filteredMeans),
                               filteredCovariances: Matrix(rows: t, columns: ll, storage: filteredCovariances),
                               stepLogLikelihoods: stepLogLikelihoods, burnIn: burnIn, steady: steadySteps)
    }

    /// The steady-state filter over the fully observed steps from `start` (≥ 1) to the first step
    /// with a missing value (or the end), with the gain `K` (`L × D`) and `S⁻¹` fixed. Returns the step
    /// it stopped at.
    ///
    /// With `ỹₜ = yₜ − d`, the filtered means follow `mₜ = F mₜ₋₁ + K ỹₜ` with `F = (I − KC)A`, an
    /// `L × L` recursion; everything else is a product over the whole stretch (BLAS-3): `K ỹₜ`, the
    /// predicted means `A mₜ₋₁`, the innovations `vₜ = ỹₜ − C A mₜ₋₁` and their quadratic forms
    /// `vₜᵀS⁻¹vₜ`, which give `log p(yₜ | y₁..ₜ₋₁) = logConstant − ½ vₜᵀS⁻¹vₜ`.
    /// - Complexity: `O(n·(D² + D·L + L²))` for `n` steps, `L²` of it sequential.
    private func steadyStretch(_ y: UnsafeBufferPointer<Double>, from start: Int, mean: inout [Double], gain: [Double],
                               inverse: [Double], logConstant: Double, predictedMeans: inout [Double],
                               filteredMeans: inout [Double], stepLogLikelihoods: inout [Double]) -> Int {
        let l = latentDimension, d = dimension, t = y.count / d
        var end = start
        while end < t, !(0..<d).contains(where: { y[end * d + $0].isNaN }) { end += 1 }
        let n = end - start
        guard n > 0, start >= 1 else { return start }
        // F = (I − K C) A.
        var reduction = [Double](repeating: 0, count: l * l)
        for i in 0..<l { for j in 0..<l {
            var v = i == j ? 1.0 : 0.0
            for x in 0..<d { v -= gain[i * d + x] * observation.elements[x * l + j] }
            reduction[i * l + j] = v
        } }
        let f = SmallDense.product(Matrix(rows: l, columns: l, storage: reduction), transition).elements
        var centred = [Double](repeating: 0, count: n * d), driven = [Double](repeating: 0, count: n * l)
        var weighted = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for x in 0..<d { centred[i * d + x] = y[(start + i) * d + x] - offset[x] } }
        centred.withUnsafeMutableBufferPointer { yc in
        driven.withUnsafeMutableBufferPointer { u in
        weighted.withUnsafeMutableBufferPointer { w in
        gain.withUnsafeBufferPointer { k in
        inverse.withUnsafeBufferPointer { sInverse in
        f.withUnsafeBufferPointer { f in
        transition.withUnsafeBufferPointer { a in
        observation.withUnsafeBufferPointer { c in
        predictedMeans.withUnsafeMutableBufferPointer { pm in
        filteredMeans.withUnsafeMutableBufferPointer { fm in
        stepLogLikelihoods.withUnsafeMutableBufferPointer { lp in
            let yc = yc.start, u = u.start, w = w.start, fm = fm.start, pm = pm.start
            // K ỹₜ for every step, then the recursion from the filtered mean before the stretch.
            Double.gemm(.none, .transpose, m: n, n: l, k: d, alpha: 1, a: yc, lda: d, b: k.start, ldb: d,
                        beta: 0, c: u, ldc: l)
            for i in 0..<n {
                let previous = fm + (start + i - 1) * l, current = fm + (start + i) * l
                for r in 0..<l {
                    var v = u[i * l + r]
                    for q in 0..<l { v += f[r * l + q] * previous[q] }
                    current[r] = v
                }
            }
            // Predicted means A mₜ₋₁, innovations ỹₜ − C A mₜ₋₁ (in place of ỹ), and S⁻¹ vₜ.
            Double.gemm(.none, .transpose, m: n, n: l, k: l, alpha: 1, a: fm + (start - 1) * l, lda: l, b: a.start, ldb: l,
                        beta: 0, c: pm + start * l, ldc: l)
            Double.gemm(.none, .transpose, m: n, n: d, k: l, alpha: -1, a: pm + start * l, lda: l, b: c.start, ldb: l,
                        beta: 1, c: yc, ldc: d)
            Double.gemm(.none, .none, m: n, n: d, k: d, alpha: 1, a: yc, lda: d, b: sInverse.start, ldb: d,
                        beta: 0, c: w, ldc: d)
            for i in 0..<n {
                var quadratic = 0.0
                for x in 0..<d { quadratic += yc[i * d + x] * w[i * d + x] }
                lp[start + i] = logConstant - 0.5 * quadratic
            }
        } } } } } } } } } } }
        for r in 0..<l { mean[r] = filteredMeans[(end - 1) * l + r] }
        return end
    }

    /// Largest change of the filtered covariance between two fully observed steps, relative to its
    /// largest entry, at which the filter takes its steady state as reached.
    public static let steadyStateTolerance = 1e-13

    /// The Rauch–Tung–Striebel smoother on one sequence (one filter pass and one backward pass),
    /// with the lag-one covariances EM needs.
    /// - Complexity: `O(T·(L³ + D³ + D·L²))` time, `O(T·L²)` memory.
    public func smooth(_ y: Matrix<Double>, steadyState: Bool = true) throws -> KalmanSmoothing {
        let filtering = try filter(y, steadyState: steadyState)
        let t = y.rows, l = latentDimension, ll = l * l
        // Local arrays: a write through a stored property checks uniqueness each time.
        var means = filtering.filteredMeans.elements, covariances = filtering.filteredCovariances.elements
        var lagOne = [Double](unsafeUninitializedCapacity: max(0, t - 1) * ll) { _, count in count = max(0, t - 1) * ll }   // every step writes it
        let filteredMeans = filtering.filteredMeans.elements, predictedMeans = filtering.predictedMeans.elements
        let filteredCovariances = filtering.filteredCovariances.elements, predictedCovariances = filtering.predictedCovariances.elements
        let a = transition.elements
        var pat = [Double](repeating: 0, count: ll), gain = [Double](repeating: 0, count: ll)
        var predicted = [Double](repeating: 0, count: ll), factor = [Double](repeating: 0, count: ll)
        var difference = [Double](repeating: 0, count: ll), product = [Double](repeating: 0, count: ll)
        var change = [Double](repeating: 0, count: l)
        var haveGain = false, repeating = false
        for step in stride(from: t - 2, through: 0, by: -1) {
            let f = step * ll, next = (step + 1) * ll
            for i in 0..<ll { predicted[i] = predictedCovariances[next + i] }
            // J = P_t Aᵀ (P_{t+1|t})⁻¹ depends on P_t and P_{t+1|t}, which the filter's steady state
            // keeps fixed: when steps t+1 and t+2 are steady, J is the one of step t+1.
            let reuse = haveGain && step + 2 < t && filtering.steady[step + 1] && filtering.steady[step + 2]
            if !reuse {
                for i in 0..<l { for j in 0..<l {
                    var v = 0.0
                    for k in 0..<l { v += filteredCovariances[f + i * l + k] * a[j * l + k] }
                    pat[i * l + j] = v
                } }
                guard SmallCholesky.robustFactor(predicted, into: &factor, n: l) else {
                    throw ModelError.singularCovariance(component: nil, detail: "the predicted state covariance at time step \(step + 2) is singular")
                }
                for i in 0..<ll { gain[i] = pat[i] }
                for i in 0..<l { SmallCholesky.solve(factor, n: l, &gain, offset: i * l) }
                haveGain = true
            }
            // m^s_t = m_t + J (m^s_{t+1} − m_{t+1|t}).
            for j in 0..<l { change[j] = means[(step + 1) * l + j] - predictedMeans[(step + 1) * l + j] }
            for i in 0..<l {
                var v = 0.0
                for k in 0..<l { v += gain[i * l + k] * change[k] }
                means[step * l + i] = filteredMeans[step * l + i] + v
            }
            // Where J is fixed and P^s_{t+1} = P^s_{t+2} (the backward recursion has converged too),
            // P^s_t and the lag-one covariance repeat those of step t+1.
            // Once a step has repeated its successor, every earlier step of the stretch does too.
            if reuse && !repeating {
                var change = 0.0, size = 0.0
                for i in 0..<ll {
                    change = max(change, abs(covariances[next + i] - covariances[next + ll + i]))
                    size = max(size, abs(covariances[next + i]))
                }
                repeating = change <= Self.steadyStateTolerance * size
            }
            repeating = repeating && reuse
            if repeating {
                covariances.withUnsafeMutableBufferPointer { cp in
                    lagOne.withUnsafeMutableBufferPointer { lp in
                        (cp.start + f).update(from: cp.start + next, count: ll)
                        (lp.start + step * ll).update(from: lp.start + (step + 1) * ll, count: ll)
                    }
                }
                continue
            }
            // P^s_t = P_t + J (P^s_{t+1} − P_{t+1|t}) Jᵀ;  Cov[x_{t+1}, x_t] = P^s_{t+1} Jᵀ.
            for i in 0..<ll { difference[i] = covariances[next + i] - predicted[i] }
            for i in 0..<l { for j in 0..<l { var v = 0.0; for k in 0..<l { v += gain[i * l + k] * difference[k * l + j] }; product[i * l + j] = v } }
            for i in 0..<l { for j in i..<l {
                var v = filteredCovariances[f + i * l + j]
                for k in 0..<l { v += product[i * l + k] * gain[j * l + k] }
                covariances[f + i * l + j] = v; covariances[f + j * l + i] = v
            } }
            for i in 0..<l { for j in 0..<l {
                var v = 0.0
                for k in 0..<l { v += covariances[next + i * l + k] * gain[j * l + k] }
                lagOne[step * ll + i * l + j] = v
            } }
        }
        return KalmanSmoothing(means: Matrix(rows: t, columns: l, storage: means), covariances: Matrix(rows: t, columns: ll, storage: covariances),
                               lagOneCovariances: Matrix(rows: max(0, t - 1), columns: ll, storage: lagOne), filtering: filtering)
    }

    /// Total log-likelihood of several sequences (rows `sequences` of `y`).
    public func logLikelihood(of y: Matrix<Double>, sequences: [SequenceRange]) throws -> Double {
        try sequenceLogLikelihoods(of: y, sequences: sequences).reduce(0, +)
    }

    /// The log-likelihood of each sequence.
    public func sequenceLogLikelihoods(of y: Matrix<Double>, sequences: [SequenceRange]) throws -> [Double] {
        try sequences.map { try filter(y.selectingRows($0)).logLikelihood }
    }
}
