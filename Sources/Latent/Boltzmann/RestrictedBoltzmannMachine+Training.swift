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
    public var seconds: Double
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
    /// - Complexity: per epoch `O(N·H·V·(2k + 3))` in single-precision GEMMs.
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
        var velocityW = [Float](repeating: 0, count: h * d), velocityB = [Float](repeating: 0, count: d), velocityC = [Float](repeating: 0, count: h)
        var gradient = Matrix<Float>(rows: h, columns: d)
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
                let rows = Array(order[start..<min(n, start + batch)])
                start += batch
                let b = rows.count
                let v0 = x.selectingRows(rows)
                let h0 = hiddenProbabilities(v0)
                // Negative phase: k sweeps h → v → h from the batch's own hidden sample (CD) or the chains' (PCD).
                var hs: Matrix<Float>
                switch options.method {
                case .contrastiveDivergence:
                    hs = h0
                    Self.sampleBernoulliInPlace(&hs, using: &rng)
                case .persistent:
                    hs = chains.rows == b ? chains : chains.selectingRows(Array(0..<b))
                }
                var vk = sampleVisibles(given: hs, using: &rng)
                var hk = hiddenProbabilities(vk)
                for _ in 1..<options.method.steps {
                    hs = hk
                    Self.sampleBernoulliInPlace(&hs, using: &rng)
                    vk = sampleVisibles(given: hs, using: &rng)
                    hk = hiddenProbabilities(vk)
                }
                if case .persistent = options.method, hk.rows == chains.rows {
                    chains = hk
                    Self.sampleBernoulliInPlace(&chains, using: &rng)
                }
                applyUpdate(v0: v0, h0: h0, vk: vk, hk: hk, rate: Float(rate), options: options, gradient: &gradient,
                            velocityW: &velocityW, velocityB: &velocityB, velocityC: &velocityC)
            }
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
                                  seconds: Date().timeIntervalSince(started))
            history.append(record)
            options.progress?(record)
        }
        return history
    }

    /// One momentum step: `∇W = (h₀ᵀv₀ − h_kᵀv_k)/B − λW` (two GEMMs), the biases' gradients the
    /// column means of `v₀ − v_k` and `h₀ − h_k`.
    private mutating func applyUpdate(v0: Matrix<Float>, h0: Matrix<Float>, vk: Matrix<Float>, hk: Matrix<Float>, rate lr: Float,
                                      options: RBMTrainingOptions, gradient: inout Matrix<Float>, velocityW: inout [Float],
                                      velocityB: inout [Float], velocityC: inout [Float]) {
        let h = hiddenCount, d = visibleCount, b = v0.rows
        let scale = Float(1) / Float(b), mom = Float(options.momentum), decay = Float(options.weightDecay)
        var gb = [Float](repeating: 0, count: d), gc = [Float](repeating: 0, count: h)
        h0.withUnsafeBufferPointer { h0p in v0.withUnsafeBufferPointer { v0p in
        hk.withUnsafeBufferPointer { hkp in vk.withUnsafeBufferPointer { vkp in
        gradient.withUnsafeMutableBufferPointer { g in
        weights.withUnsafeMutableBufferPointer { w in
        velocityW.withUnsafeMutableBufferPointer { vw in
            Float.gemm(.transpose, .none, m: h, n: d, k: b, alpha: scale, a: h0p.start, lda: h, b: v0p.start, ldb: d,
                       beta: 0, c: g.start, ldc: d)
            Float.gemm(.transpose, .none, m: h, n: d, k: b, alpha: -scale, a: hkp.start, lda: h, b: vkp.start, ldb: d,
                       beta: 1, c: g.start, ldc: d)
            for i in 0..<(h * d) {
                vw[i] = mom * vw[i] + lr * (g[i] - decay * w[i])
                w[i] += vw[i]
            }
            for i in 0..<b {
                for a in 0..<d { gb[a] += v0p[i * d + a] - vkp[i * d + a] }
                for j in 0..<h { gc[j] += h0p[i * h + j] - hkp[i * h + j] }
            }
        } } } } } } }
        for a in 0..<d { velocityB[a] = mom * velocityB[a] + lr * gb[a] * scale; visibleBias[a] += velocityB[a] }
        for j in 0..<h { velocityC[j] = mom * velocityC[j] + lr * gc[j] * scale; hiddenBias[j] += velocityC[j] }
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
        let n = Double(x.rows)
        return (0..<x.columns).map { a in
            var s = 0.0
            for i in 0..<x.rows { s += Double(x[i, a]) }
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
