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
        var b = [Double](repeating: 0, count: steps * k)
        var alpha = [Double](repeating: 0, count: steps * k)
        var scale = [Double](repeating: 0, count: steps)
        var logLikelihood = 0.0
        let a = transitions.storage
        b.withUnsafeMutableBufferPointer { bp in
            let b = bp.baseAddress!
            // b_t(k) = exp(log p(x_t|k) − max_k), the maxima going into the likelihood.
            for t in 0..<steps {
                let src = logB + (range.lowerBound + t) &* k, dst = b + t &* k
                var m = -Double.infinity
                for s in 0..<k where src[s] > m { m = src[s] }
                if !m.isFinite { m = 0 }
                logLikelihood += m
                for s in 0..<k { dst[s] = src[s] - m }
            }
            VectorMath.expInPlace(bp)
        }
        // Forward.
        alpha.withUnsafeMutableBufferPointer { ap in
            let alpha = ap.baseAddress!
            var c = 0.0
            for s in 0..<k { alpha[s] = startProbabilities[s] * b[s]; c += alpha[s] }
            scale[0] = c
            if c > 0 { for s in 0..<k { alpha[s] /= c } }
            for t in 1..<max(1, steps) {
                let prev = alpha + (t - 1) &* k, cur = alpha + t &* k
                c = 0
                for j in 0..<k {
                    var v = 0.0
                    for i in 0..<k { v += prev[i] * a[i &* k &+ j] }
                    v *= b[t &* k &+ j]
                    cur[j] = v
                    c += v
                }
                scale[t] = c
                if c > 0 { for j in 0..<k { cur[j] /= c } }
            }
        }
        for t in 0..<steps { logLikelihood += log(scale[t]) }
        var counts = [Double](repeating: 0, count: wantTransitions ? k * k : 0)
        guard gamma != nil || wantTransitions, logLikelihood.isFinite else {
            return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
        }
        // Backward, with the posteriors and expected transitions on the way.
        var beta = [Double](repeating: 1, count: k)
        var next = [Double](repeating: 0, count: k)
        var weighted = [Double](repeating: 0, count: k)
        if let gamma {
            let g = gamma + (range.lowerBound + steps - 1) &* k
            for s in 0..<k { g[s] = alpha[(steps - 1) * k + s] }
        }
        var t = steps - 2
        while t >= 0 {
            // weighted_j = b_{t+1}(j) β_{t+1}(j) / c_{t+1}
            let inv = 1 / scale[t + 1]
            for j in 0..<k { weighted[j] = b[(t + 1) * k + j] * beta[j] * inv }
            if wantTransitions {
                for i in 0..<k {
                    let ai = alpha[t * k + i]
                    if ai == 0 { continue }
                    for j in 0..<k { counts[i * k + j] += ai * a[i * k + j] * weighted[j] }
                }
            }
            for i in 0..<k {
                var v = 0.0
                for j in 0..<k { v += a[i * k + j] * weighted[j] }
                next[i] = v
            }
            swap(&beta, &next)
            if let gamma {
                let g = gamma + (range.lowerBound + t) &* k
                var total = 0.0
                for s in 0..<k { g[s] = alpha[t * k + s] * beta[s]; total += g[s] }
                if total > 0 { for s in 0..<k { g[s] /= total } }
            }
            t -= 1
        }
        return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
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
