import Foundation

/// Settings of ``RestrictedBoltzmannMachine/train(on:options:)``.
public struct RBMTrainingOptions: Sendable {
    /// How the negative phase of the gradient is sampled.
    public enum Method: Sendable, Equatable {
        /// CD-k: `steps` Gibbs sweeps from the mini-batch itself (Hinton 2002).
        case contrastiveDivergence(steps: Int)
        /// PCD-k: `steps` Gibbs sweeps of persistent chains, one per mini-batch row, that carry over
        /// from batch to batch (Tieleman 2008).
        case persistent(steps: Int)

        var steps: Int {
            switch self { case .contrastiveDivergence(let k), .persistent(let k): return k }
        }
    }

    public var method: Method
    public var epochs: Int
    public var batchSize: Int
    /// The step size at the first epoch.
    public var learningRate: Double
    /// The step size falls linearly to `learningRate × finalLearningRateFraction` at the last epoch
    /// (1: constant).
    public var finalLearningRateFraction: Double
    /// Momentum of the parameter updates (Hinton 2010, §9: 0.5).
    public var momentum: Double
    /// L2 penalty on the weights (Hinton 2010, §10: 1e-4).
    public var weightDecay: Double
    public var seed: UInt64
    /// Called after each epoch.
    public var progress: (@Sendable (RBMEpoch) -> Void)?

    public init(method: Method = .contrastiveDivergence(steps: 1), epochs: Int = 10, batchSize: Int = 100,
                learningRate: Double = 0.05, finalLearningRateFraction: Double = 1, momentum: Double = 0.5,
                weightDecay: Double = 1e-4, seed: UInt64 = 0, progress: (@Sendable (RBMEpoch) -> Void)? = nil) {
        self.method = method
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.finalLearningRateFraction = finalLearningRateFraction
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.seed = seed
        self.progress = progress
    }
}

/// What one epoch of RBM training measured.
public struct RBMEpoch: Sendable, Codable, Equatable {
    public var epoch: Int
    /// Mean squared difference between each of up to 1,000 training rows and the mean of
    /// `p(v | h)` with `h ~ p(h | v)` (the one-step reconstruction), after the epoch.
    public var reconstructionError: Double
    /// Bernoulli visibles: the stochastic pseudo-log-likelihood of up to 1,000 training rows,
    /// `V · log σ(F(ṽ) − F(v))` with one random unit of each row flipped (scikit-learn's
    /// `score_samples`), per row; `nil` for Gaussian visibles.
    public var pseudoLogLikelihood: Double?
    /// The whole epoch: its mini-batches and the monitor above.
    public var seconds: Double
    /// The epoch's mini-batches alone (the training that scikit-learn's `partial_fit` does; the
    /// monitor, four products with 1,000 rows, is the rest of ``seconds``).
    public var trainingSeconds: Double?

    /// An epoch's record; `trainingSeconds` is nil in records written before it was measured.
    public init(epoch: Int, reconstructionError: Double, pseudoLogLikelihood: Double?, seconds: Double, trainingSeconds: Double? = nil) {
        self.epoch = epoch
        self.reconstructionError = reconstructionError
        self.pseudoLogLikelihood = pseudoLogLikelihood
        self.seconds = seconds
        self.trainingSeconds = trainingSeconds
    }
}

extension RestrictedBoltzmannMachine {
    /// Trains by stochastic gradient ascent on the log-likelihood, whose gradient
    /// `E_data[h vᵀ] − E_model[h vᵀ]` has its second term estimated by CD-k or PCD-k.
    ///
    /// Each epoch visits the rows in a fresh random order in mini-batches; the update of `W` is
    /// `(p(h | v₀)ᵀ v₀ − p(h | v_k)ᵀ v_k) / B − λW` with momentum, `v_k` the negative samples. The base
    /// model of annealed importance sampling is set from the data (log-odds of each column's mean,
    /// or its mean for Gaussian visibles). Every random draw comes from `options.seed`.
    /// - Parameters:
    ///   - x: `N × V` rows: values in [0, 1] for Bernoulli visibles (probabilities are
    ///     used as they are), standardised values for Gaussian ones.
    ///   - options: CD-k or PCD-k, epochs, batch size, learning rate and its schedule, momentum,
    ///     weight decay and the seed.
    /// - Returns: one ``RBMEpoch`` per epoch.
    /// - Complexity: per epoch `O(N·H·V·(2k + 3))` multiply-adds in single precision: `p(v | h)` by
    ///   GEMM; `p(h | v)` and the gradient by GEMM too, or over the nonzeros of the visible rows when
    ///   at most 30% of their entries are nonzero (binary images), which costs that fraction of the
    ///   multiply-adds. Plus a monitor of `O(min(N, 1000)·H·V)` after each epoch.
    @discardableResult
    public mutating func train(on x: Matrix<Float>, options: RBMTrainingOptions) throws -> [RBMEpoch] {
        guard x.rows >= 1 else { throw ModelError.emptyData }
        guard x.columns == visibleCount else { throw ModelError.invalidSetting("the data has \(x.columns) columns, the RBM \(visibleCount) visible units") }
        guard options.epochs >= 1, options.batchSize >= 1, options.method.steps >= 1 else {
            throw ModelError.invalidSetting("epochs, batch size and Gibbs steps must be at least 1")
        }
        guard options.learningRate > 0, options.learningRate.isFinite, options.momentum >= 0, options.momentum < 1,
              options.weightDecay >= 0, options.finalLearningRateFraction >= 0 else {
            throw ModelError.invalidSetting("the learning rate must be positive, the momentum in [0, 1), weight decay and the final learning-rate fraction non-negative")
        }
        if visibleUnits == .bernoulli, let bad = x.elements.first(where: { !($0 >= 0 && $0 <= 1) }) {
            throw ModelError.invalidSetting("Bernoulli visible units need values in [0, 1]; found \(bad) (binarise or scale the data, or use Gaussian visibles)")
        }
        guard x.elements.allSatisfy(\.isFinite) else { throw ModelError.invalidSetting("the data hold a value that is not a finite number") }
        baseVisibleBias = Self.baseBias(for: x, units: visibleUnits)
        var rng = Xoshiro256StarStar(seed: options.seed)
        let n = x.rows, h = hiddenCount, d = visibleCount, batch = min(options.batchSize, n)
        // The training master is Wᵀ (V × H): binary visible rows are mostly zeros, and with the weights
        // in that layout `v·Wᵀ` and the gradient `vᵀh` run over the nonzeros alone (``SparseRows``);
        // `weights` is rewritten from it after every epoch.
        var step = TrainingStep(transposedWeights: weights.transposed, visibleCount: d, hiddenCount: h)
        let nonzeros = SparseRows(x)
        // Persistent chains keep their hidden states (scikit-learn's BernoulliRBM does the same); they
        // start from p(h | v) of random data rows.
        var chains = hiddenProbabilities(x.selectingRows((0..<batch).map { _ in rng.nextInt(below: n) }))
        Self.sampleBernoulliInPlace(&chains, using: &rng)
        let monitorRows = Array((0..<n).shuffled(using: &rng).prefix(1_000)).sorted()
        let monitor = x.selectingRows(monitorRows)
        var history: [RBMEpoch] = []
        for epoch in 0..<options.epochs {
            let started = Date()
            let progressFraction = options.epochs == 1 ? 0 : Double(epoch) / Double(options.epochs - 1)
            let rate = options.learningRate * (1 - (1 - options.finalLearningRateFraction) * progressFraction)
            let order = (0..<n).shuffled(using: &rng)
            var start = 0
            while start < n {
                let rows = order[start..<min(n, start + batch)]
                start += batch
                let b = rows.count
                let v0 = x.selectingRows(rows), s0 = nonzeros.map { $0.selecting(rows) } ?? SparseRows(v0)
                let h0 = step.hiddenProbabilities(v0, nonzeros: s0, bias: hiddenBias)
                // Negative phase: k sweeps h → v → h from the batch's own hidden sample (CD) or the chains' (PCD).
                var hs: Matrix<Float>
                switch options.method {
                case .contrastiveDivergence:
                    hs = h0
                    Self.sampleBernoulliInPlace(&hs, using: &rng)
                case .persistent:
                    hs = chains.rows == b ? chains : chains.selectingRows(Array(0..<b))
                }
                var vk = step.sampleVisibles(given: hs, bias: visibleBias, units: visibleUnits, using: &rng)
                var sk = SparseRows(vk)
                var hk = step.hiddenProbabilities(vk, nonzeros: sk, bias: hiddenBias)
                for _ in 1..<options.method.steps {
                    hs = hk
                    Self.sampleBernoulliInPlace(&hs, using: &rng)
                    vk = step.sampleVisibles(given: hs, bias: visibleBias, units: visibleUnits, using: &rng)
                    sk = SparseRows(vk)
                    hk = step.hiddenProbabilities(vk, nonzeros: sk, bias: hiddenBias)
                }
                if case .persistent = options.method, hk.rows == chains.rows {
                    chains = hk
                    Self.sampleBernoulliInPlace(&chains, using: &rng)
                }
                step.update(positive: (v0, s0, h0), negative: (vk, sk, hk), rate: Float(rate), momentum: Float(options.momentum),
                            weightDecay: Float(options.weightDecay))
                let (gb, gc) = Self.biasGradients(v0: v0, h0: h0, vk: vk, hk: hk)
                let lr = Float(rate), mom = Float(options.momentum), scale = 1 / Float(b)
                for a in 0..<d { step.visibleVelocity[a] = mom * step.visibleVelocity[a] + lr * gb[a] * scale; visibleBias[a] += step.visibleVelocity[a] }
                for j in 0..<h { step.hiddenVelocity[j] = mom * step.hiddenVelocity[j] + lr * gc[j] * scale; hiddenBias[j] += step.hiddenVelocity[j] }
            }
            weights = step.transposedWeights.transposed
            let trainingSeconds = Date().timeIntervalSince(started)
            // The one-step reconstruction error on the monitored rows.
            var hm = hiddenProbabilities(monitor)
            Self.sampleBernoulliInPlace(&hm, using: &rng)
            let reconstruction = visibleMeans(hm)
            var squaredError = 0.0
            for i in monitor.elements.indices { let t = Double(monitor.elements[i] - reconstruction.elements[i]); squaredError += t * t }
            guard (weights.elements + visibleBias + hiddenBias).allSatisfy(\.isFinite) else {
                throw ModelError.fitFailed("RBM training diverged in epoch \(epoch + 1) (a weight is not a finite number); lower the learning rate")
            }
            let record = RBMEpoch(epoch: epoch + 1, reconstructionError: squaredError / Double(monitor.rows * d),
                                  pseudoLogLikelihood: visibleUnits == .bernoulli ? pseudoLogLikelihood(monitor, using: &rng) : nil,
                                  seconds: Date().timeIntervalSince(started), trainingSeconds: trainingSeconds)
            history.append(record)
            options.progress?(record)
        }
        return history
    }

    /// The column sums of `v₀ − v_k` and `h₀ − h_k`: the biases' gradients times the batch size.
    private static func biasGradients(v0: Matrix<Float>, h0: Matrix<Float>, vk: Matrix<Float>, hk: Matrix<Float>) -> ([Float], [Float]) {
        let d = v0.columns, h = h0.columns
        // Row by row into raw buffers: each inner loop is one vectorised pass.
        func columnSums(_ a: Matrix<Float>, minus b: Matrix<Float>, width: Int) -> [Float] {
            [Float](unsafeUninitializedCapacity: width) { sums, count in
                sums.initialize(repeating: 0)
                let out = sums.baseAddress!
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        let x = ap.start, y = bp.start
                        for i in 0..<a.rows {
                            let row = i &* width
                            for j in 0..<width { out[j] += x[row &+ j] - y[row &+ j] }
                        }
                    }
                }
                count = width
            }
        }
        return (columnSums(v0, minus: vk, width: d), columnSums(h0, minus: hk, width: h))
    }

    /// `c + v·Wᵀ` (`B × H`) given `Wᵀ` (`V × H`): over the nonzeros of `v` when they are listed (binary
    /// rows, mostly zeros), else one GEMM. Shared by training and annealed importance sampling.
    static func hiddenPreactivations(_ v: Matrix<Float>, nonzeros: SparseRows<Float>?, transposedWeights: Matrix<Float>,
                                     bias: [Float]) -> Matrix<Float> {
        let h = transposedWeights.columns
        var out = Matrix<Float>(rows: v.rows, columns: h) { buffer in
            for i in 0..<v.rows { (buffer.baseAddress! + i * h).initialize(from: bias, count: h) }
        }
        guard v.rows > 0 else { return out }
        out.withUnsafeMutableBufferPointer { o in
            transposedWeights.withUnsafeBufferPointer { w in
                if let nonzeros {
                    nonzeros.multiply(w.start, outputs: h, into: o.start)
                } else {
                    v.withUnsafeBufferPointer { vp in
                        Float.gemm(.none, .none, m: v.rows, n: h, k: v.columns, alpha: 1, a: vp.start, lda: v.columns,
                                   b: w.start, ldb: h, beta: 1, c: o.start, ldc: h)
                    }
                }
            }
        }
        return out
    }

    /// The weights' side of a training step, with the weights as `Wᵀ` (V × H) and their velocity in
    /// the same layout.
    private struct TrainingStep {
        var transposedWeights: Matrix<Float>
        var velocity: [Float]
        var visibleVelocity: [Float]
        var hiddenVelocity: [Float]
        /// `v₀ᵀh₀ − v_kᵀh_k` in the weights' layout (`positive`; `negative` holds `v_kᵀh_k` while
        /// they are computed apart, when a phase is dense). Reused from batch to batch.
        var positive: Matrix<Float>
        var negative: Matrix<Float>

        init(transposedWeights: Matrix<Float>, visibleCount d: Int, hiddenCount h: Int) {
            self.transposedWeights = transposedWeights
            velocity = [Float](repeating: 0, count: d * h)
            visibleVelocity = [Float](repeating: 0, count: d)
            hiddenVelocity = [Float](repeating: 0, count: h)
            positive = Matrix(rows: d, columns: h)
            negative = Matrix(rows: d, columns: h)
        }

        /// `σ(c + v·Wᵀ)`: over the nonzeros of `v` when it has them listed, else one GEMM.
        func hiddenProbabilities(_ v: Matrix<Float>, nonzeros: SparseRows<Float>?, bias: [Float]) -> Matrix<Float> {
            var out = RestrictedBoltzmannMachine.hiddenPreactivations(v, nonzeros: nonzeros, transposedWeights: transposedWeights, bias: bias)
            out.withUnsafeMutableBufferPointer { VectorMath.sigmoidInPlace($0) }
            return out
        }

        /// `v ~ p(v | h)`: the means `b + h·W` (σ of them for Bernoulli units), then a draw.
        func sampleVisibles(given hs: Matrix<Float>, bias: [Float], units: VisibleUnits,
                            using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
            let d = transposedWeights.rows, h = transposedWeights.columns
            var v = Matrix<Float>(rows: hs.rows, columns: d) { buffer in
                for i in 0..<hs.rows { (buffer.baseAddress! + i * d).initialize(from: bias, count: d) }
            }
            guard hs.rows > 0 else { return v }
            v.withUnsafeMutableBufferPointer { o in
                hs.withUnsafeBufferPointer { hp in
                    transposedWeights.withUnsafeBufferPointer { w in
                        Float.gemm(.none, .transpose, m: hs.rows, n: d, k: h, alpha: 1, a: hp.start, lda: h, b: w.start, ldb: h,
                                   beta: 1, c: o.start, ldc: d)
                    }
                }
            }
            switch units {
            case .bernoulli:
                RestrictedBoltzmannMachine.sigmoidInPlace(&v)
                RestrictedBoltzmannMachine.sampleBernoulliInPlace(&v, using: &rng)
            case .gaussian:
                v.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += Float(rng.nextNormal()) } }
            }
            return v
        }

        /// `Wᵀ += velocity`, with `velocity ← μ·velocity + ε·((v₀ᵀh₀ − v_kᵀh_k)/B − λWᵀ)` (without
        /// momentum the velocity is not kept: `Wᵀ += ε·(…)`).
        mutating func update(positive p: (Matrix<Float>, SparseRows<Float>?, Matrix<Float>),
                             negative q: (Matrix<Float>, SparseRows<Float>?, Matrix<Float>),
                             rate lr: Float, momentum mom: Float, weightDecay decay: Float) {
            let scale = 1 / Float(p.0.rows), count = positive.elements.count
            if let s0 = p.1, let sk = q.1 {
                // Without momentum the step lands in place: Wᵀ ← (1 − ελ)·Wᵀ + (ε/B)·(v₀ᵀh₀ − v_kᵀh_k), each
                // row of Wᵀ read and written once, no gradient buffer.
                if mom == 0 {
                    Self.sparseProduct(p, s0, minus: q, sk, into: &transposedWeights, alpha: lr * scale, beta: 1 - lr * decay)
                    return
                }
                Self.sparseProduct(p, s0, minus: q, sk, into: &positive, alpha: 1, beta: 0)
            } else {
                Self.transposedProduct(p.0, p.1, p.2, into: &positive)
                Self.transposedProduct(q.0, q.1, q.2, into: &negative)
                positive.withUnsafeMutableBufferPointer { gp in
                    negative.withUnsafeBufferPointer { gn in for i in 0..<count { gp[i] -= gn[i] } }
                }
            }
            positive.withUnsafeBufferPointer { g in
                transposedWeights.withUnsafeMutableBufferPointer { w in
                    if mom == 0 {
                        for i in 0..<count { w[i] += lr * (g[i] * scale - decay * w[i]) }
                        return
                    }
                    velocity.withUnsafeMutableBufferPointer { vw in
                        for i in 0..<count {
                            vw[i] = mom * vw[i] + lr * (g[i] * scale - decay * w[i])
                            w[i] += vw[i]
                        }
                    }
                }
            }
        }

        /// `out ← α·(v₀ᵀh₀ − v_kᵀh_k) + β·out` when both phases' visibles are sparse, in one product: over
        /// the runs of nonzeros along the rows (``KernelScalar/chunkedTransposedMultiply``, chunks of four
        /// pixels) when at most 0.6 of a chunk per nonzero holds one (binary images: about 0.43 for the
        /// data, 0.7 for early negative samples), else over the nonzeros of v₀ and of v_k negated, stacked.
        private static func sparseProduct(_ p: (Matrix<Float>, SparseRows<Float>?, Matrix<Float>), _ s0: SparseRows<Float>,
                                          minus q: (Matrix<Float>, SparseRows<Float>?, Matrix<Float>), _ sk: SparseRows<Float>,
                                          into out: inout Matrix<Float>, alpha: Float, beta: Float) {
            let d = out.rows, hc = out.columns, limit = (s0.nonzeroCount + sk.nonzeroCount) * 3 / 5
            let chunked = out.withUnsafeMutableBufferPointer { o in
                p.0.withUnsafeBufferPointer { v0 in
                    p.2.withUnsafeBufferPointer { h0 in
                        q.0.withUnsafeBufferPointer { vk in
                            q.2.withUnsafeBufferPointer { hk in
                                Float.chunkedTransposedMultiply(columns: d, outputs: hc, x: v0.start, g: h0.start, rowsX: p.0.rows,
                                                                y: vk.start, k: hk.start, rowsY: q.0.rows, sign: -1,
                                                                into: o.start, alpha: alpha, beta: beta, limit: limit)
                            }
                        }
                    }
                }
            }
            guard !chunked else { return }
            let stacked = s0.stacked(above: sk, negatingBelow: true), both = p.2.stacked(above: q.2)
            out.withUnsafeMutableBufferPointer { o in
                both.withUnsafeBufferPointer { hp in stacked.transposedMultiply(hp.start, outputs: hc, into: o.start, alpha: alpha, beta: beta) }
            }
        }

        /// `vᵀh` (V × H): over the nonzeros of `v` when listed, else one GEMM.
        private static func transposedProduct(_ v: Matrix<Float>, _ nonzeros: SparseRows<Float>?, _ h: Matrix<Float>,
                                              into out: inout Matrix<Float>) {
            let d = out.rows, hc = h.columns
            out.withUnsafeMutableBufferPointer { o in
                h.withUnsafeBufferPointer { hp in
                    if let nonzeros {
                        nonzeros.transposedMultiply(hp.start, outputs: hc, into: o.start)
                    } else {
                        v.withUnsafeBufferPointer { vp in
                            Float.gemm(.transpose, .none, m: d, n: hc, k: v.rows, alpha: 1, a: vp.start, lda: d, b: hp.start, ldb: hc,
                                       beta: 0, c: o.start, ldc: hc)
                        }
                    }
                }
            }
        }
    }

    /// The mean stochastic pseudo-log-likelihood of the rows of `v` (Bernoulli visibles).
    func pseudoLogLikelihood(_ v: Matrix<Float>, using rng: inout Xoshiro256StarStar) -> Double {
        guard v.rows > 0 else { return 0 }
        var flipped = v
        for i in 0..<v.rows {
            let a = rng.nextInt(below: visibleCount)
            flipped[i, a] = 1 - v[i, a]   // as scikit-learn: a value in [0, 1] becomes its complement
        }
        let f = freeEnergies(v), g = freeEnergies(flipped)
        var total = 0.0
        // log σ(g − f) = −softplus(f − g).
        for i in 0..<v.rows { total -= Self.softplus(f[i] - g[i]) }
        return Double(visibleCount) * total / Double(v.rows)
    }

    /// The base model's visible biases: each column's log-odds (its mean clamped to
    /// [0.5/N, 1 − 0.5/N]) for Bernoulli visibles, its mean for Gaussian ones.
    static func baseBias(for x: Matrix<Float>, units: VisibleUnits) -> [Float] {
        let n = Double(x.rows), d = x.columns
        var sums = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { xp in
            for i in 0..<x.rows { for a in 0..<d { sums[a] += Double(xp[i &* d &+ a]) } }
        }
        return sums.map { s in
            let mean = s / n
            switch units {
            case .bernoulli:
                let p = min(max(mean, 0.5 / n), 1 - 0.5 / n)
                return Float(log(p / (1 - p)))
            case .gaussian:
                return Float(mean)
            }
        }
    }
}
