import Foundation

/// The scaled forward-backward pass over one sequence and its by-products.
struct ForwardBackwardResult {
    var logLikelihood: Double
    /// Σ_t ξ_t(i, j), `K × K` row-major (empty unless asked for).
    var transitionCounts: [Double]
}

/// Forward-backward over one sequence, vectorised over the states.
///
/// Three passes over the `T × K` emission log-likelihoods:
/// 1. `b_t = exp(log p(x_t | ·) − max)`, the maxima going into the likelihood;
/// 2. the forward recursion `α̂_t ∝ (α̂_{t−1} A) ⊙ b_t` and the backward recursion
///    `β̃_t ∝ A (b_{t+1} ⊙ β̃_{t+1})`, each scaled on its own. They do not depend on each other, so on
///    one core they run interleaved in one loop (two latency-bound chains overlap in the pipeline)
///    and on two cores at the same time;
/// 3. `γ_t = α̂_t ⊙ β̃_t / (α̂_t · β̃_t)` and `Σ_t ξ_t(i, j) = A_ij Σ_t α̂_t(i) b_{t+1}(j) β̃_{t+1}(j) / (d_t α̂_t · β̃_t)`,
///    `d_t` being the backward scale at `t`; the steps are independent (split over cores).
///
/// A vector is rescaled only when its sum leaves `[2⁻⁶⁴, 2⁶⁴]`: the division stays off the
/// recursions' critical path, and sequences of any length never underflow. States are padded to a
/// multiple of the SIMD width (4 lanes for `K ≤ 4`, else 8) with zero emissions. The arithmetic does
/// not depend on the number of cores.
struct ForwardBackward {
    let k: Int
    let start: [Double]
    /// `A`, `K × K` row-major.
    let transitions: [Double]

    init<E>(_ model: HiddenMarkovModel<E>) {
        k = model.stateCount
        start = model.startProbabilities
        transitions = model.transitions.elements
    }

    /// Runs the passes on each of `sequences` (row ranges of `logB`, `T × K`) in turn, writing `γ`
    /// into the same rows of `gamma` when given, and each sequence's expected transition counts when
    /// `wantTransitions` is set. One set of buffers, sized for the longest sequence, serves them all
    /// (many short sequences cost no allocation each); `threads > 1` splits each sequence's passes
    /// over two cores. Results in the order of `sequences`.
    func run(logB: UnsafePointer<Double>, sequences: ArraySlice<SequenceRange>, gamma: UnsafeMutablePointer<Double>?,
             wantTransitions: Bool, threads: Int) -> [ForwardBackwardResult] {
        let longest = sequences.lazy.map(\.count).max() ?? 0
        let backward = gamma != nil || wantTransitions
        if k <= 4 {
            var passes = Passes<SIMD4<Double>>(self, capacity: longest, backward: backward)
            return passes.runEach(logB: logB, sequences: sequences, gamma: gamma, wantTransitions: wantTransitions, parallel: threads > 1)
        }
        var passes = Passes<SIMD8<Double>>(self, capacity: longest, backward: backward)
        return passes.runEach(logB: logB, sequences: sequences, gamma: gamma, wantTransitions: wantTransitions, parallel: threads > 1)
    }
}

/// The buffers of forward-backward runs, `p` doubles per step (`K` padded to whole vectors `V`) for
/// up to `capacity` steps, freed with the value (each pointer below belongs to a ``ScratchBuffer``
/// held in `owners`); `steps` is the length of the sequence being run.
private struct Passes<V: SIMD> where V.Scalar == Double {
    let k: Int, lanes: Int, chunks: Int, p: Int
    private(set) var steps: Int
    let transitions: [Double]
    /// Padded `π`, rows of `A`, columns of `A` (column `j` as a vector over `i`).
    let pi: UnsafeMutablePointer<Double>
    let rows: UnsafeMutablePointer<Double>
    let columns: UnsafeMutablePointer<Double>
    /// `b_t`, `α̂_t`, `β̃_t` (`T × p`) and the scales applied at each step (1 where none was).
    let b: UnsafeMutablePointer<Double>
    let alpha: UnsafeMutablePointer<Double>
    let beta: UnsafeMutablePointer<Double>
    let forwardScale: UnsafeMutablePointer<Double>
    let backwardScale: UnsafeMutablePointer<Double>
    /// Pass 3's two halves of `Σ_t ξ_t` (`2 × K × p`; empty without the backward pass).
    let halfSums: UnsafeMutablePointer<Double>
    private let owners: [ScratchBuffer<Double>]

    static var low: Double { 0x1p-64 }
    static var high: Double { 0x1p64 }

    init(_ model: ForwardBackward, capacity: Int, backward: Bool) {
        k = model.k
        steps = capacity
        lanes = V.scalarCount
        chunks = (k + lanes - 1) / lanes
        p = chunks * lanes
        transitions = model.transitions
        // At least `lanes` rows, zero past `K`, so single-vector steps can run over every lane.
        let stored = max(k, lanes) * p
        let owners = [ScratchBuffer<Double>(count: p, repeating: 0), ScratchBuffer(count: stored, repeating: 0),
                      ScratchBuffer(count: stored, repeating: 0), ScratchBuffer(count: capacity * p), ScratchBuffer(count: capacity * p),
                      ScratchBuffer(count: backward ? capacity * p : 0), ScratchBuffer(count: capacity),
                      ScratchBuffer(count: backward ? capacity : 0), ScratchBuffer(count: backward ? 2 * k * p : 0)]
        self.owners = owners
        pi = owners[0].pointer
        rows = owners[1].pointer
        columns = owners[2].pointer
        for i in 0..<k {
            pi[i] = model.start[i]
            for j in 0..<k {
                rows[i * p + j] = model.transitions[i * k + j]
                columns[j * p + i] = model.transitions[i * k + j]
            }
        }
        b = owners[3].pointer
        alpha = owners[4].pointer
        beta = owners[5].pointer
        forwardScale = owners[6].pointer
        backwardScale = owners[7].pointer
        halfSums = owners[8].pointer
    }

    /// The two fixed halves of the sequence over which passes 1 and 3 are split.
    func half(_ h: Int) -> Range<Int> { h == 0 ? 0..<(steps / 2) : (steps / 2)..<steps }

    /// ``run(logB:gamma:wantTransitions:parallel:)`` on each sequence (row ranges of `logB` and
    /// `gamma`, at most `capacity` rows each), in order.
    mutating func runEach(logB: UnsafePointer<Double>, sequences: ArraySlice<SequenceRange>, gamma: UnsafeMutablePointer<Double>?,
                          wantTransitions: Bool, parallel: Bool) -> [ForwardBackwardResult] {
        var results: [ForwardBackwardResult] = []
        results.reserveCapacity(sequences.count)
        for range in sequences {
            guard !range.isEmpty else {
                results.append(ForwardBackwardResult(logLikelihood: 0, transitionCounts: []))
                continue
            }
            steps = range.count
            results.append(run(logB: logB + range.lowerBound * k, gamma: gamma.map { $0 + range.lowerBound * k },
                               wantTransitions: wantTransitions, parallel: parallel))
        }
        return results
    }

    @inline(__always) func load(_ pointer: UnsafePointer<Double>) -> V {
        UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
    }

    @inline(__always) func store(_ v: V, _ pointer: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: v, as: V.self)
    }

    /// Rescales `v` if its sum left `[2⁻⁶⁴, 2⁶⁴]`; returns the scale applied (1 if none).
    @inline(__always) func rescale(_ v: UnsafeMutablePointer<Double>, sum: Double) -> Double {
        guard sum > 0 && !(sum >= Self.low && sum <= Self.high) else { return 1 }
        let inverse = V(repeating: 1 / sum)
        for c in 0..<chunks { store(load(v + c * lanes) * inverse, v + c * lanes) }
        return sum
    }

    func run(logB: UnsafePointer<Double>, gamma: UnsafeMutablePointer<Double>?, wantTransitions: Bool,
             parallel: Bool) -> ForwardBackwardResult {
        var logLikelihood = exponentiate(logB, parallel: parallel)
        let backward = gamma != nil || wantTransitions
        if !backward && chunks == 1 {
            forwardStep(0)
            ScaledRecursions.forward(lanes: lanes, rows: rows, b: b, steps: steps, alpha: alpha, scales: forwardScale)
        } else if !backward {
            for t in 0..<steps { forwardStep(t) }
        } else if chunks == 1 {
            singleVectorRecursions(parallel: parallel)
        } else if parallel {
            runPair(true) { side in
                if side == 0 {
                    for t in 0..<steps { forwardStep(t) }
                } else {
                    var t = steps - 1
                    while t >= 0 { backwardStep(t); t -= 1 }
                }
            }
        } else {
            // Step t of one chain and step T−1−t of the other overlap in the pipeline.
            for t in 0..<steps {
                forwardStep(t)
                backwardStep(steps &- 1 &- t)
            }
        }
        logLikelihood += forwardLogScale()
        guard backward, logLikelihood.isFinite else {
            return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: [])
        }
        let counts = posteriors(gamma: gamma, wantTransitions: wantTransitions, parallel: parallel)
        return ForwardBackwardResult(logLikelihood: logLikelihood, transitionCounts: counts)
    }

    /// Pass 1: `b_t = exp(logB_t − max_t)` (padding lanes 0); returns `Σ_t max_t`.
    func exponentiate(_ logB: UnsafePointer<Double>, parallel: Bool) -> Double {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2) { maxima in
            runPair(parallel) { h in
                maxima[h] = ScaledRecursions.exponentiate(states: k, width: p, logB: logB, range: half(h), into: b)
            }
            return maxima[0] + maxima[1]
        }
    }

    /// `α̂_t` from `α̂_{t−1}` (or from `π` at `t = 0`).
    @inline(__always) func forwardStep(_ t: Int) {
        let out = alpha + t &* p, bt = b + t &* p
        var sum = 0.0
        if t == 0 {
            for c in 0..<chunks {
                let u = load(pi + c &* lanes) * load(bt + c &* lanes)
                store(u, out + c &* lanes)
                sum += u.sum()
            }
        } else {
            let previous = alpha + (t &- 1) &* p
            for c in 0..<chunks {
                // Two partial sums halve the chain of dependent multiply-adds.
                var even = V.zero, odd = V.zero
                var i = 0
                while i &+ 1 < k {
                    even.accumulate(V(repeating: previous[i]), load(rows + (i &* p &+ c &* lanes)))
                    odd.accumulate(V(repeating: previous[i &+ 1]), load(rows + ((i &+ 1) &* p &+ c &* lanes)))
                    i &+= 2
                }
                if i < k { even.accumulate(V(repeating: previous[i]), load(rows + (i &* p &+ c &* lanes))) }
                let u = (even + odd) * load(bt + c &* lanes)
                store(u, out + c &* lanes)
                sum += u.sum()
            }
        }
        forwardScale[t] = rescale(out, sum: sum)
    }

    /// `β̃_t` from `β̃_{t+1}` (or 1 at `t = T − 1`).
    @inline(__always) func backwardStep(_ t: Int) {
        let out = beta + t &* p
        if t == steps &- 1 {
            for s in 0..<p { out[s] = s < k ? 1 : 0 }
            backwardScale[t] = 1
            return
        }
        let next = beta + (t &+ 1) &* p, bn = b + (t &+ 1) &* p
        var sum = 0.0
        for c in 0..<chunks {
            var even = V.zero, odd = V.zero
            var j = 0
            while j &+ 1 < k {
                even.accumulate(V(repeating: bn[j] * next[j]), load(columns + (j &* p &+ c &* lanes)))
                odd.accumulate(V(repeating: bn[j &+ 1] * next[j &+ 1]), load(columns + ((j &+ 1) &* p &+ c &* lanes)))
                j &+= 2
            }
            if j < k { even.accumulate(V(repeating: bn[j] * next[j]), load(columns + (j &* p &+ c &* lanes))) }
            let v = even + odd
            store(v, out + c &* lanes)
            sum += v.sum()
        }
        backwardScale[t] = rescale(out, sum: sum)
    }

    /// The recursions when a step is a single vector (`K ≤ 8`; the C kernels of ``ScaledRecursions``,
    /// whose vectors stay in registers from one step to the next): interleaved in one loop on one core,
    /// or one chain per core.
    func singleVectorRecursions(parallel: Bool) {
        forwardStep(0)
        backwardStep(steps - 1)
        guard steps > 1 else { return }
        if parallel {
            runPair(true) { side in
                if side == 0 {
                    ScaledRecursions.forward(lanes: lanes, rows: rows, b: b, steps: steps, alpha: alpha, scales: forwardScale)
                } else {
                    ScaledRecursions.backward(lanes: lanes, columns: columns, b: b, steps: steps, beta: beta, scales: backwardScale)
                }
            }
        } else {
            ScaledRecursions.forwardBackward(lanes: lanes, rows: rows, columns: columns, b: b, steps: steps, alpha: alpha,
                                             beta: beta, forwardScales: forwardScale, backwardScales: backwardScale)
        }
    }

    /// `Σ_t log(scale_t) + log Σ α̂_{T−1}`, taking logarithms of running products.
    func forwardLogScale() -> Double {
        var total = 0.0, product = 1.0
        for t in 0..<steps {
            product *= forwardScale[t]
            if product < 1e-280 || product > 1e280 { total += log(product); product = 1 }
        }
        var last = 0.0
        for s in 0..<k { last += alpha[(steps - 1) * p + s] }
        return total + log(product) + log(last)
    }

    /// Pass 3: the posteriors into `gamma` (`T × K`) and, if asked, `Σ_t ξ_t` (`K × K`).
    func posteriors(gamma: UnsafeMutablePointer<Double>?, wantTransitions: Bool, parallel: Bool) -> [Double] {
        // Per half, M(i, j) = Σ_t α̂_t(i) w_t(j) with w_t = b_{t+1} ⊙ β̃_{t+1} / (d_t α̂_t · β̃_t).
        if wantTransitions { halfSums.update(repeating: 0, count: 2 * k * p) }
        let sumsBase = wantTransitions ? halfSums : nil
        runPair(parallel) { h in
            let m = sumsBase.map { $0 + h &* k &* p }
            if chunks == 1 {
                ScaledRecursions.posteriors(lanes: lanes, states: k, range: half(h), steps: steps, alpha: alpha, beta: beta,
                                            b: b, backwardScales: backwardScale, gamma: gamma, sums: m)
                return
            }
            for t in half(h) {
                let at = alpha + t &* p, bt = beta + t &* p
                var overlap = 0.0
                for c in 0..<chunks { overlap += (load(at + c &* lanes) * load(bt + c &* lanes)).sum() }
                guard overlap > 0 && overlap.isFinite else {
                    if let gamma { (gamma + t &* k).update(repeating: 0, count: k) }
                    continue
                }
                let inverse = 1 / overlap
                if let gamma {
                    let g = gamma + t &* k
                    for s in 0..<k { g[s] = at[s] * bt[s] * inverse }
                }
                if let m, t &+ 1 < steps {
                    let factor = V(repeating: inverse / backwardScale[t])
                    let bn = b + (t &+ 1) &* p, next = beta + (t &+ 1) &* p
                    for c in 0..<chunks {
                        let w = load(bn + c &* lanes) * load(next + c &* lanes) * factor
                        for i in 0..<k {
                            let target = m + (i &* p &+ c &* lanes)
                            store(load(target).adding(V(repeating: at[i]), times: w), target)
                        }
                    }
                }
            }
        }
        guard wantTransitions else { return [] }
        var counts = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k {
                counts[i * k + j] = transitions[i * k + j] * (halfSums[i * p + j] + halfSums[k * p + i * p + j])
            }
        }
        return counts
    }

    /// Runs `body(0)` and `body(1)`, on two cores when `parallel` is set.
    func runPair(_ parallel: Bool, _ body: (Int) -> Void) {
        runConcurrently(2, parallel: parallel, body)
    }
}
