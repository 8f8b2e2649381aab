import Foundation

/// The scaled forward-backward pass over one sequence and its by-products.
struct ForwardBackwardResult {
    var logLikelihood: Double
    /// Σ_t ξ_t(i, j), `K × K` row-major.
    var transitionCounts: [Double]
}

extension HiddenMarkovModel {
    /// Scaled forward-backward on rows `range` of the emission log-likelihoods `logB` (`T × K`).
    ///
    /// Emission probabilities are exponentiated after subtracting each step's maximum, and `α`, `β`
    /// are renormalised at every step, so sequences of millions of steps never underflow. Writes the
    /// posteriors `γ_t(k)` into `gamma` (same rows) when given.
    func forwardBackward(logB: UnsafePointer<Double>, range: SequenceRange,
                         gamma: UnsafeMutablePointer<Double>?, wantTransitions: Bool) -> ForwardBackwardResult {
        let k = stateCount, steps = range.count
        let b = UnsafeMutablePointer<Double>.allocate(capacity: steps * k)
        let alpha = UnsafeMutablePointer<Double>.allocate(capacity: steps * k)
        let scale = UnsafeMutablePointer<Double>.allocate(capacity: steps)
        let a = UnsafeMutablePointer<Double>.allocate(capacity: k * k)
        defer { b.deallocate(); alpha.deallocate(); scale.deallocate(); a.deallocate() }
        transitions.storage.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: k * k) }
        var logLikelihood = 0.0
        // b_t(k) = exp(log p(x_t|k) − max_k), the maxima going into the likelihood.
        for t in 0..<steps {
            let src = logB + (range.lowerBound &+ t) &* k, dst = b + t &* k
            var m = -Double.infinity
            for s in 0..<k where src[s] > m { m = src[s] }
            if !m.isFinite { m = 0 }
            logLikelihood += m
            for s in 0..<k { dst[s] = src[s] - m }
        }
        VectorMath.expInPlace(UnsafeMutableBufferPointer(start: b, count: steps * k))
        // Forward, normalising α at every step.
        var c = 0.0
        for s in 0..<k { alpha[s] = startProbabilities[s] * b[s]; c += alpha[s] }
        scale[0] = c
        if c > 0 { let inv = 1 / c; for s in 0..<k { alpha[s] *= inv } }
        if k <= 8 {
            forwardSmall(alpha: alpha, b: b, scale: scale, steps: steps)
        } else {
            var t = 1
            while t < steps {
                let prev = alpha + (t &- 1) &* k, cur = alpha + t &* k, bt = b + t &* k
                for j in 0..<k { cur[j] = 0 }
                for i in 0..<k {
                    let p = prev[i], row = a + i &* k
                    for j in 0..<k { cur[j] += p * row[j] }
                }
                c = 0
                for j in 0..<k { cur[j] *= bt[j]; c += cur[j] }
                scale[t] = c
                if c > 0 { let inv = 1 / c; for j in 0..<k { cur[j] *= inv } }
                t &+= 1
            }
        }
        // Σ log c_t, taking logarithms of running products (one log per ~hundred steps).
        var product = 1.0
        for t in 0..<steps {
            product *= scale[t]
            if product < 1e-280 || product > 1e280 || product == 0 { logLikelihood += log(product); product = 1 }
        }
        logLikelihood += log(product)
        var counts = [Double](repeating: 0, count: wantTransitions ? k * k : 0)
        guard gamma != nil || wantTransitions, logLikelihood.isFinite else {
            return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
        }
        // Backward, with the posteriors and expected transitions on the way.
        var beta = [Double](repeating: 1, count: k)
        var next = [Double](repeating: 0, count: k)
        var weighted = [Double](repeating: 0, count: k)
        if let gamma {
            let g = gamma + (range.lowerBound &+ steps &- 1) &* k
            for s in 0..<k { g[s] = alpha[(steps &- 1) &* k &+ s] }
        }
        if k <= 8 {
            counts.withUnsafeMutableBufferPointer { countsBuffer in
                backwardSmall(alpha: alpha, b: b, scale: scale, range: range, gamma: gamma,
                              counts: wantTransitions ? countsBuffer.baseAddress : nil)
            }
            return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
        }
        counts.withUnsafeMutableBufferPointer { countsBuffer in
        beta.withUnsafeMutableBufferPointer { betaBuffer in
        next.withUnsafeMutableBufferPointer { nextBuffer in
        weighted.withUnsafeMutableBufferPointer { weightedBuffer in
            var beta = betaBuffer.baseAddress!, next = nextBuffer.baseAddress!
            let weighted = weightedBuffer.baseAddress!, counts = wantTransitions ? countsBuffer.baseAddress : nil
            var t = steps - 2
            while t >= 0 {
                // weighted_j = b_{t+1}(j) β_{t+1}(j) / c_{t+1}
                let inv = 1 / scale[t &+ 1], bt = b + (t &+ 1) &* k, at = alpha + t &* k
                for j in 0..<k { weighted[j] = bt[j] * beta[j] * inv }
                for i in 0..<k {
                    let row = a + i &* k
                    var v = 0.0
                    for j in 0..<k { v += row[j] * weighted[j] }
                    next[i] = v
                    if let counts, at[i] != 0 {
                        let ai = at[i], ci = counts + i &* k
                        for j in 0..<k { ci[j] += ai * row[j] * weighted[j] }
                    }
                }
                swap(&beta, &next)
                if let gamma {
                    let g = gamma + (range.lowerBound &+ t) &* k
                    var total = 0.0
                    for s in 0..<k { g[s] = at[s] * beta[s]; total += g[s] }
                    if total > 0 { let invTotal = 1 / total; for s in 0..<k { g[s] *= invTotal } }
                }
                t &-= 1
            }
        }}}}
        return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
    }

    /// The transition matrix as eight SIMD8 rows (and columns), zero-padded: the recursions for up to
    /// eight states run as a handful of vector operations per step.
    private func paddedTransitions() -> (rows: [SIMD8<Double>], columns: [SIMD8<Double>]) {
        let k = stateCount
        var rows = [SIMD8<Double>](repeating: .zero, count: 8), columns = rows
        for i in 0..<k { for j in 0..<k { rows[i][j] = transitions[i, j]; columns[j][i] = transitions[i, j] } }
        return (rows, columns)
    }

    @inline(__always)
    private func load(_ p: UnsafePointer<Double>, _ k: Int) -> SIMD8<Double> {
        var v = SIMD8<Double>.zero
        for s in 0..<k { v[s] = p[s] }
        return v
    }

    /// Forward recursion for `K ≤ 8` (α₀ and c₀ already set).
    private func forwardSmall(alpha: UnsafeMutablePointer<Double>, b: UnsafeMutablePointer<Double>,
                              scale: UnsafeMutablePointer<Double>, steps: Int) {
        let k = stateCount
        let rows = paddedTransitions().rows
        var prev = load(alpha, k)
        var t = 1
        while t < steps {
            var cur = SIMD8<Double>.zero
            for i in 0..<k { cur.addProduct(SIMD8(repeating: prev[i]), rows[i]) }
            cur *= load(b + t &* k, k)
            let c = cur.sum()
            scale[t] = c
            if c > 0 { cur *= SIMD8(repeating: 1 / c) }
            let out = alpha + t &* k
            for s in 0..<k { out[s] = cur[s] }
            prev = cur
            t &+= 1
        }
    }

    /// Backward recursion for `K ≤ 8`, writing posteriors and accumulating expected transitions.
    private func backwardSmall(alpha: UnsafeMutablePointer<Double>, b: UnsafeMutablePointer<Double>,
                               scale: UnsafeMutablePointer<Double>, range: SequenceRange,
                               gamma: UnsafeMutablePointer<Double>?, counts: UnsafeMutablePointer<Double>?) {
        let k = stateCount, steps = range.count
        let (rows, columns) = paddedTransitions()
        var accumulated = [SIMD8<Double>](repeating: .zero, count: 8)
        var beta = SIMD8<Double>.zero
        for s in 0..<k { beta[s] = 1 }
        var t = steps - 2
        while t >= 0 {
            // w_j = b_{t+1}(j) β_{t+1}(j) / c_{t+1}
            let w = load(b + (t &+ 1) &* k, k) * beta * SIMD8(repeating: 1 / scale[t &+ 1])
            let at = load(alpha + t &* k, k)
            // β_t(i) = Σ_j A_ij w_j
            var next = SIMD8<Double>.zero
            for j in 0..<k { next.addProduct(SIMD8(repeating: w[j]), columns[j]) }
            if counts != nil {
                for i in 0..<k { accumulated[i].addProduct(SIMD8(repeating: at[i]), rows[i] * w) }
            }
            beta = next
            if let gamma {
                var g = at * beta
                let total = g.sum()
                if total > 0 { g *= SIMD8(repeating: 1 / total) }
                let out = gamma + (range.lowerBound &+ t) &* k
                for s in 0..<k { out[s] = g[s] }
            }
            t &-= 1
        }
        if let counts {
            for i in 0..<k { for j in 0..<k { counts[i &* k &+ j] += accumulated[i][j] } }
        }
    }

    /// Runs `body` for each sequence, in parallel over sequences, in a deterministic order of results.
    func forEachSequence<R>(_ sequences: [SequenceRange], threads: Int, _ body: (Int) -> R) -> [R] {
        var results = [R?](repeating: nil, count: sequences.count)
        results.withUnsafeMutableBufferPointer { rp in
            let base = rp.baseAddress!
            let work = ChunkedWork(count: sequences.count, minimumChunk: 1, maxChunks: 64)
            work.run(threads: sequences.count > 1 ? threads : 1) { _, range in
                for s in range { base[s] = body(s) }
            }
        }
        return results.map { $0! }
    }

    /// The total log-likelihood `Σ_s log p(x^(s))` of the sequences (rows of `x`, split by `sequences`).
    public func logLikelihood(of x: Matrix<Double>, sequences: [SequenceRange]? = nil, threads: Int = availableCores) -> Double {
        let seqs = sequences ?? .single(x.rows)
        let logB = emission.logLikelihoods(of: x, threads: threads)
        return logB.withUnsafeBufferPointer { lb in
            forEachSequence(seqs, threads: threads) { s in
                forwardBackward(logB: lb.baseAddress!, range: seqs[s], gamma: nil, wantTransitions: false).logLikelihood
            }.reduce(0, +)
        }
    }

    /// Posterior state probabilities `p(z_t = k | x)` for every row (`T × K`).
    public func posteriors(of x: Matrix<Double>, sequences: [SequenceRange]? = nil, threads: Int = availableCores) -> Matrix<Double> {
        let seqs = sequences ?? .single(x.rows)
        let logB = emission.logLikelihoods(of: x, threads: threads)
        var gamma = Matrix<Double>(rows: x.rows, columns: stateCount)
        logB.withUnsafeBufferPointer { lb in
            gamma.withUnsafeMutableBufferPointer { gp in
                let g = gp.baseAddress!
                _ = forEachSequence(seqs, threads: threads) { s in
                    forwardBackward(logB: lb.baseAddress!, range: seqs[s], gamma: g, wantTransitions: false).logLikelihood
                }
            }
        }
        return gamma
    }

    /// The most probable state path of each sequence (Viterbi, in log space) and its log-probability
    /// `log p(x, z*)` summed over sequences.
    public func viterbi(_ x: Matrix<Double>, sequences: [SequenceRange]? = nil, threads: Int = availableCores) -> (states: [Int], logProbability: Double) {
        let seqs = sequences ?? .single(x.rows)
        let k = stateCount
        let logB = emission.logLikelihoods(of: x, threads: threads)
        let logA = transitions.storage.map { log($0) }
        let logPi = startProbabilities.map { log($0) }
        var path = [Int](repeating: 0, count: x.rows)
        let scores: [Double] = path.withUnsafeMutableBufferPointer { pp in
            let pathBase = pp.baseAddress!
            return forEachSequence(seqs, threads: threads) { s in
                let range = seqs[s], steps = range.count
                var delta = (0..<k).map { logPi[$0] + logB[range.lowerBound, $0] }
                var back = [Int32](repeating: 0, count: steps * k)
                var next = delta
                for t in 1..<max(1, steps) {
                    for j in 0..<k {
                        var best = -Double.infinity, arg = 0
                        for i in 0..<k {
                            let v = delta[i] + logA[i * k + j]
                            if v > best { best = v; arg = i }
                        }
                        next[j] = best + logB[range.lowerBound + t, j]
                        back[t * k + j] = Int32(arg)
                    }
                    swap(&delta, &next)
                }
                var state = 0
                for j in 1..<k where delta[j] > delta[state] { state = j }
                let score = delta[state]
                var t = steps - 1
                while t >= 0 {
                    pathBase[range.lowerBound + t] = state
                    if t > 0 { state = Int(back[t * k + state]) }
                    t -= 1
                }
                return score
            }
        }
        return (path, scores.reduce(0, +))
    }

    /// Draws a sequence of `length` steps: the states and the observations.
    public func sample(length: Int, using rng: inout Xoshiro256StarStar) -> (observations: Matrix<Double>, states: [Int]) {
        var states = [Int](repeating: 0, count: length)
        var x = Matrix<Double>(rows: length, columns: emission.dimension)
        var state = length > 0 ? rng.nextCategorical(startProbabilities) : 0
        for t in 0..<length {
            if t > 0 { state = rng.nextCategorical(transitions.row(state)) }
            states[t] = state
            let v = emission.sample(state: state, using: &rng)
            for j in 0..<emission.dimension { x[t, j] = v[j] }
        }
        return (x, states)
    }
}
