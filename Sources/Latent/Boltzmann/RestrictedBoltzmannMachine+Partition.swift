import Foundation

/// Settings of annealed importance sampling (``RestrictedBoltzmannMachine/estimateLogPartition(options:)``).
public struct AISOptions: Sendable {
    /// Independent annealing runs `M`.
    public var runs: Int
    /// Intermediate distributions `K` (Salakhutdinov & Murray 2008 use 14,500).
    public var steps: Int
    public var seed: UInt64

    public init(runs: Int = 100, steps: Int = 14_500, seed: UInt64 = 0) {
        self.runs = runs
        self.steps = steps
        self.seed = seed
    }
}

/// An estimate of `log Z` from `M` importance weights `w_m`.
public struct PartitionEstimate: Sendable, Codable, Equatable {
    /// `log Ẑ = log Z_A + log mean(w)`.
    public var logPartition: Double
    /// Standard error of `log Ẑ` (delta method: `sd(w) / (mean(w) √M)`); 0 for an exact value.
    public var standardError: Double
    /// `log(mean(w) − 3 se(w)) + log Z_A` (−∞ when that difference is not positive) and
    /// `log(mean(w) + 3 se(w)) + log Z_A`: the usual bracket of AIS estimates.
    public var lowerBound: Double
    public var upperBound: Double
    /// "exact" or "ais".
    public var method: String
    public var runs: Int
    public var steps: Int

    public init(logPartition: Double, standardError: Double, lowerBound: Double, upperBound: Double, method: String, runs: Int, steps: Int) {
        self.logPartition = logPartition
        self.standardError = standardError
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.method = method
        self.runs = runs
        self.steps = steps
    }

    /// An exact value: no error.
    public static func exact(_ logPartition: Double) -> PartitionEstimate {
        PartitionEstimate(logPartition: logPartition, standardError: 0, lowerBound: logPartition, upperBound: logPartition,
                          method: "exact", runs: 0, steps: 0)
    }
}

extension RestrictedBoltzmannMachine {
    /// The most units in the smaller layer (the hidden layer for Gaussian visibles) for which
    /// ``logPartition(threads:)`` enumerates: `2²⁴` configurations.
    public static let exactLimit = 24

    /// Whether ``logPartition(threads:)`` can enumerate this machine.
    public var hasExactPartition: Bool {
        visibleUnits == .bernoulli ? min(hiddenCount, visibleCount) <= Self.exactLimit : hiddenCount <= Self.exactLimit
    }

    /// The exact `log Z`, summing over every configuration of the smaller layer (the hidden layer
    /// for Gaussian visibles, whose integral is closed-form): with `s` the enumerated layer,
    /// `log Z = log Σ_s exp(aᵀs + Σ_k softplus(e_k + (Mᵀs)_k))` (Bernoulli) or
    /// `V/2 log 2π + log Σ_h exp(cᵀh + bᵀu + ½‖u‖²)`, `u = Wᵀh` (Gaussian), in double precision.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when that layer has more than ``exactLimit`` units.
    /// - Complexity: `O(2^n · m)` for `n` enumerated and `m` other units, split across `threads`.
    public func logPartition(threads: Int = availableCores) throws -> Double {
        guard hasExactPartition else {
            throw ModelError.invalidSetting("the exact partition function sums over 2^n states of the smaller layer; n = \(visibleUnits == .bernoulli ? min(hiddenCount, visibleCount) : hiddenCount) exceeds \(Self.exactLimit): use annealed importance sampling")
        }
        let h = hiddenCount, d = visibleCount
        let w = weights.elements.map(Double.init)
        let b = visibleBias.map(Double.init), c = hiddenBias.map(Double.init)
        if visibleUnits == .gaussian {
            let rows = (0..<h).map { j in Array(w[(j * d)..<((j + 1) * d)]) }
            return 0.5 * Double(d) * log(2 * Double.pi)
                + Self.logSumOverStates(couplings: rows, stateBias: c, otherBias: [Double](repeating: 0, count: d), threads: threads) { u in
                    var s = 0.0
                    for k in u.indices { s += b[k] * u[k] + 0.5 * u[k] * u[k] }
                    return s
                }
        }
        if h <= d {
            let rows = (0..<h).map { j in Array(w[(j * d)..<((j + 1) * d)]) }
            return Self.logSumOverStates(couplings: rows, stateBias: c, otherBias: b, threads: threads, Self.softplusSum)
        }
        let columns = (0..<d).map { a in (0..<h).map { w[$0 * d + a] } }
        return Self.logSumOverStates(couplings: columns, stateBias: b, otherBias: c, threads: threads, Self.softplusSum)
    }

    /// `log Σ_{s ∈ {0,1}ⁿ} exp(aᵀs + g(e + Σᵢ sᵢ Mᵢ))` for `n` coupling rows `Mᵢ` (each of length `m`).
    /// The low 10 bits of `s` are tabulated once; each pattern of the high bits is one task.
    static func logSumOverStates(couplings: [[Double]], stateBias a: [Double], otherBias e: [Double], threads: Int,
                                 _ g: @escaping ([Double]) -> Double) -> Double {
        let n = couplings.count, m = e.count
        let lowBits = min(n, 10), highBits = n - lowBits
        let lowCount = 1 << lowBits
        var lowSums = [Double](repeating: 0, count: lowCount * m), lowLinear = [Double](repeating: 0, count: lowCount)
        for r in 1..<max(1, lowCount) {
            let bit = r.trailingZeroBitCount, rest = r & (r - 1)
            for k in 0..<m { lowSums[r * m + k] = lowSums[rest * m + k] + couplings[bit][k] }
            lowLinear[r] = lowLinear[rest] + a[bit]
        }
        let patterns = 1 << highBits
        let work = ChunkedWork(count: patterns, minimumChunk: 1, maxChunks: 64)
        var partial = [Double](repeating: -.infinity, count: 2 * work.ranges.count)   // (max, Σ exp(term − max)) per chunk
        partial.withUnsafeMutableBufferPointer { out in
            let out = out.start
            work.run(threads: threads) { chunk, range in
                var top = -Double.infinity, sum = 0.0
                var x = [Double](repeating: 0, count: m)
                for p in range {
                    var high = e, highLinear = 0.0
                    for bit in 0..<highBits where p & (1 << bit) != 0 {
                        for k in 0..<m { high[k] += couplings[lowBits + bit][k] }
                        highLinear += a[lowBits + bit]
                    }
                    for r in 0..<lowCount {
                        for k in 0..<m { x[k] = lowSums[r * m + k] + high[k] }
                        let term = lowLinear[r] + highLinear + g(x)
                        if term > top { sum = sum * Foundation.exp(top - term) + 1; top = term } else { sum += Foundation.exp(term - top) }
                    }
                }
                out[2 * chunk] = top
                out[2 * chunk + 1] = sum
            }
        }
        let top = stride(from: 0, to: partial.count, by: 2).map { partial[$0] }.max() ?? -.infinity
        var sum = 0.0
        for c in 0..<work.ranges.count where partial[2 * c].isFinite { sum += partial[2 * c + 1] * Foundation.exp(partial[2 * c] - top) }
        return top + log(sum)
    }

    /// `Σₖ softplus(xₖ)`: `Σ max(x, 0) + log Π (1 + e^{−|x|})`, the exponentials eight at a time and
    /// one logarithm per lane for every 64 factors (each factor lies in (1, 2]).
    static func softplusSum(_ x: [Double]) -> Double {
        var positive = 0.0, logProduct = 0.0
        var product = SIMD8<Double>(repeating: 1)
        var factors = 0, i = 0
        x.withUnsafeBufferPointer { p in
            let base = p.start
            while i + 8 <= x.count {
                let v = SIMD8<Double>(UnsafeBufferPointer(start: base + i, count: 8))
                positive += v.replacing(with: 0, where: v .< 0).sum()
                let magnitude = v.replacing(with: -v, where: v .< 0)
                product *= 1 + VectorMath.exp(-magnitude)
                factors += 1
                if factors == 64 {
                    for lane in 0..<8 { logProduct += log(product[lane]) }
                    product = SIMD8(repeating: 1)
                    factors = 0
                }
                i += 8
            }
        }
        for lane in 0..<8 { logProduct += log(product[lane]) }
        while i < x.count { positive += softplus(x[i]) ; i += 1 }
        return positive + logProduct
    }

    /// `log Z_A` of the base model (`β = 0`): independent visibles with the base biases, and `H`
    /// hidden units each contributing a factor 2.
    var baseLogPartition: Double {
        let hiddenTerm = Double(hiddenCount) * log(2)
        switch visibleUnits {
        case .bernoulli: return hiddenTerm + baseBias.reduce(0) { $0 + Self.softplus(Double($1)) }
        case .gaussian: return hiddenTerm + 0.5 * Double(visibleCount) * log(2 * Double.pi)
        }
    }

    /// The inverse temperatures `0 = β₀ < β₁ < … < β_K = 1`: Salakhutdinov & Murray's schedule scaled
    /// to `steps` — the first 500/14,500 of the steps spaced evenly over [0, 0.5], the next
    /// 4,000/14,500 over [0.5, 0.9], the rest over [0.9, 1].
    public static func annealingSchedule(steps: Int) -> [Double] {
        let k = max(steps, 3)
        let first = max(1, Int((Double(k) * 500 / 14_500).rounded())), second = max(1, Int((Double(k) * 4_000 / 14_500).rounded()))
        let third = max(1, k - first - second)
        var betas: [Double] = [0]
        for (count, from, to) in [(first, 0.0, 0.5), (second, 0.5, 0.9), (third, 0.9, 1.0)] {
            for s in 1...count { betas.append(from + (to - from) * Double(s) / Double(count)) }
        }
        return betas
    }

    /// Annealed importance sampling of `log Z` (Neal 2001; Salakhutdinov & Murray 2008) from the base
    /// model with the same hidden units and no couplings: the intermediate distributions are
    /// `p_β(v) ∝ exp((1 − β)·ℓ_A(v) + β·ℓ(v)) Π_j (1 + e^{β(c_j + W_j v)})` with `ℓ` the visible
    /// term of the free energy (`bᵀv`, or `−½‖v − b‖²`) and `ℓ_A` the base model's; each run moves
    /// by one block Gibbs sweep at each `β` of ``annealingSchedule(steps:)``.
    /// - Complexity: `O(M·K·H·V)`: two single-precision GEMMs of the `M` runs per step.
    public func estimateLogPartition(options: AISOptions) throws -> PartitionEstimate {
        guard options.runs >= 2, options.steps >= 3 else { throw ModelError.invalidSetting("AIS needs at least 2 runs and 3 steps") }
        var rng = Xoshiro256StarStar(seed: options.seed)
        let betas = Self.annealingSchedule(steps: options.steps)
        let m = options.runs, h = hiddenCount, d = visibleCount
        let base = baseBias, bias = visibleBias
        var v = baseSample(count: m, using: &rng)
        var logWeights = [Double](repeating: 0, count: m)
        var hidden = Matrix<Float>(rows: m, columns: h), centre = Matrix<Float>(rows: m, columns: d)
        let gaussian = visibleUnits == .gaussian
        let difference = (0..<d).map { bias[$0] - base[$0] }
        // Binary visible samples are mostly zeros on data such as digits: `v·Wᵀ` over their nonzeros.
        let transposedWeights = weights.transposed
        for k in 1..<betas.count {
            let previous = betas[k - 1], beta = betas[k], step = beta - previous
            let x = Self.hiddenPreactivations(v, nonzeros: gaussian ? nil : SparseRows(v), transposedWeights: transposedWeights,
                                              bias: hiddenBias)
            v.withUnsafeBufferPointer { vp in
            x.withUnsafeBufferPointer { xp in
            hidden.withUnsafeMutableBufferPointer { hp in
                for i in 0..<m {
                    let row = vp.start + i * d
                    // The visible part of log p*_β(v) − log p*_β′(v), per unit of β.
                    var visibleTerm = 0.0
                    if gaussian {
                        for a in 0..<d {
                            let ta = Double(row[a]) - Double(base[a]), tb = Double(row[a]) - Double(bias[a])
                            visibleTerm += 0.5 * (ta * ta - tb * tb)
                        }
                    } else {
                        var dot: Float = 0
                        for a in 0..<d { dot += difference[a] * row[a] }
                        visibleTerm = Double(dot)
                    }
                    let xi = xp.start + i * h, hi = hp.start + i * h
                    let hiddenTerm = VectorMath.softplusDifference(xi, count: h, scale: beta, previous: previous)
                    logWeights[i] += step * visibleTerm + hiddenTerm
                    // h ~ p_β(h | v), used below if the run goes on.
                    Self.sampleLogistic(xi, scale: Float(beta), into: hi, count: h, using: &rng)
                }
            } } }
            guard k < betas.count - 1 else { break }
            // v ~ p_β(v | h): centre (1 − β) b_A + β (b + Wᵀh), one GEMM for the Wᵀh part.
            centre.withUnsafeMutableBufferPointer { cp in
                for i in 0..<m { for a in 0..<d { cp[i * d + a] = Float((1 - beta) * Double(base[a]) + beta * Double(bias[a])) } }
                hidden.withUnsafeBufferPointer { hp in
                    weights.withUnsafeBufferPointer { wp in
                        Float.gemm(.none, .none, m: m, n: d, k: h, alpha: Float(beta), a: hp.start, lda: h, b: wp.start, ldb: d,
                                   beta: 1, c: cp.start, ldc: d)
                    }
                }
            }
            v.withUnsafeMutableBufferPointer { vp in
                centre.withUnsafeBufferPointer { cp in
                    if gaussian {
                        for i in 0..<(m * d) { vp[i] = cp[i] + Float(rng.nextNormal()) }
                    } else {
                        Self.sampleLogistic(cp.start, into: vp.start, count: m * d, using: &rng)
                    }
                }
            }
        }
        return Self.estimate(logWeights: logWeights, logBase: baseLogPartition, steps: options.steps)
    }

    /// `log Z_A + log mean(w)` with its standard error and ±3 standard-error bracket.
    static func estimate(logWeights: [Double], logBase: Double, steps: Int) -> PartitionEstimate {
        let m = Double(logWeights.count)
        let top = logWeights.max() ?? 0
        let scaled = logWeights.map { Foundation.exp($0 - top) }
        let mean = scaled.reduce(0, +) / m
        let variance = scaled.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, m - 1)
        let se = (variance / m).squareRoot()
        let logMean = top + log(mean)
        return PartitionEstimate(logPartition: logBase + logMean, standardError: se / mean,
                                 lowerBound: mean - 3 * se > 0 ? logBase + top + log(mean - 3 * se) : -.infinity,
                                 upperBound: logBase + top + log(mean + 3 * se), method: "ais",
                                 runs: logWeights.count, steps: steps)
    }

    /// `log p(v) = −F(v) − log Z` of each row, given `log Z`.
    public func logLikelihoods(of v: Matrix<Float>, logPartition: Double) -> [Double] {
        freeEnergies(v).map { -$0 - logPartition }
    }
}
