import Foundation

extension HiddenMarkovModel {
    /// Forward-backward on each sequence (row ranges of the emission log-likelihoods `logB`, `T × K`),
    /// in parallel over sequences; results in the order of `sequences`. See ``ForwardBackward``.
    func forwardBackward(logB: UnsafePointer<Double>, sequences: [SequenceRange], gamma: UnsafeMutablePointer<Double>?,
                         wantTransitions: Bool, threads: Int) -> [ForwardBackwardResult] {
        let passes = ForwardBackward(self)
        // A lone sequence gets every core for its own passes; many are split into a few chunks per
        // core, each chunk reusing one set of buffers.
        guard sequences.count > 1, threads > 1 else {
            return passes.run(logB: logB, sequences: sequences[...], gamma: gamma, wantTransitions: wantTransitions,
                              threads: sequences.count == 1 ? threads : 1)
        }
        var results = [ForwardBackwardResult](repeating: ForwardBackwardResult(logLikelihood: 0, transitionCounts: []), count: sequences.count)
        results.withUnsafeMutableBufferPointer { rp in
            let base = rp.start
            ChunkedWork(count: sequences.count, minimumChunk: 1, maxChunks: 4 * threads).run(threads: threads) { _, range in
                let chunk = passes.run(logB: logB, sequences: sequences[range], gamma: gamma, wantTransitions: wantTransitions, threads: 1)
                for (offset, result) in chunk.enumerated() { base[range.lowerBound + offset] = result }
            }
        }
        return results
    }

    /// Runs `body(s, cores)` for each sequence `s`, in parallel over sequences, in a deterministic
    /// order of results. A lone sequence gets all `threads` cores to split its own work over.
    func forEachSequence<R>(_ sequences: [SequenceRange], threads: Int, _ body: (Int, Int) -> R) -> [R] {
        var results = [R?](repeating: nil, count: sequences.count)
        results.withUnsafeMutableBufferPointer { rp in
            let base = rp.start
            let work = ChunkedWork(count: sequences.count, minimumChunk: 1, maxChunks: 64)
            work.run(threads: sequences.count > 1 ? threads : 1) { _, range in
                for s in range { base[s] = body(s, sequences.count == 1 ? threads : 1) }
            }
        }
        return results.map { $0! }
    }

    /// The total log-likelihood `Σ_s log p(x^(s))` of the sequences (rows of `x`, split by `sequences`).
    public func logLikelihood(of x: Matrix<Double>, sequences: [SequenceRange]? = nil, threads: Int = availableCores) -> Double {
        let seqs = sequences ?? .single(x.rows)
        let logB = emission.logLikelihoods(of: x, threads: threads)
        return logB.withUnsafeBufferPointer { lb in
            forwardBackward(logB: lb.start, sequences: seqs, gamma: nil, wantTransitions: false, threads: threads)
                .reduce(0) { $0 + $1.logLikelihood }
        }
    }

    /// Posterior state probabilities `p(z_t = k | x)` for every row (`T × K`).
    public func posteriors(of x: Matrix<Double>, sequences: [SequenceRange]? = nil, threads: Int = availableCores) -> Matrix<Double> {
        let seqs = sequences ?? .single(x.rows)
        let logB = emission.logLikelihoods(of: x, threads: threads)
        var gamma = Matrix<Double>(rows: x.rows, columns: stateCount)
        logB.withUnsafeBufferPointer { lb in
            gamma.withUnsafeMutableBufferPointer { gp in
                let g = gp.start
                _ = forwardBackward(logB: lb.start, sequences: seqs, gamma: g, wantTransitions: false, threads: threads)
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
        let logA = transitions.elements.map { log($0) }
        let logPi = startProbabilities.map { log($0) }
        var path = [Int](repeating: 0, count: x.rows)
        let scores: [Double] = path.withUnsafeMutableBufferPointer { pp in
            let pathBase = pp.start
            return forEachSequence(seqs, threads: threads) { s, _ in
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

    /// Draws a sequence of `length` steps: the states and the observations. With `previous`, the
    /// sequence continues a chain whose last state was `previous` (so a long sequence can be drawn
    /// in blocks: the same generator gives the same sequence either way).
    /// - Complexity: `O(length · (K + D))` for diagonal emissions.
    public func sample(length: Int, after previous: Int? = nil, using rng: inout Xoshiro256StarStar) -> (observations: Matrix<Double>, states: [Int]) {
        precondition(previous.map { (0..<stateCount).contains($0) } ?? true, "previous must be a state")
        var states = [Int](repeating: 0, count: length)
        var x = Matrix<Double>(rows: length, columns: emission.dimension)
        var state = previous ?? 0
        for t in 0..<length {
            state = t == 0 && previous == nil ? rng.nextCategorical(startProbabilities) : rng.nextCategorical(transitions.row(state))
            states[t] = state
            let v = emission.sample(state: state, using: &rng)
            for j in 0..<emission.dimension { x[t, j] = v[j] }
        }
        return (x, states)
    }
}
