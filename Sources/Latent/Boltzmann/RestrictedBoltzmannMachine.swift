import Foundation

/// A restricted Boltzmann machine: binary hidden units `h` (`H`) coupled to visible units `v`
/// (`V`) by the energy `E(v, h) = −bᵀv − cᵀh − hᵀW v` (Bernoulli visibles) or
/// `E(v, h) = ½‖v − b‖² − cᵀh − hᵀW v` (Gaussian visibles with unit variance, for standardised
/// real-valued columns), with `p(v, h) = exp(−E(v, h)) / Z`.
///
/// Its marginal is `p(v) = exp(−F(v)) / Z` with the free energy `F(v) = −bᵀv − Σⱼ softplus(cⱼ + Wⱼv)`
/// (Bernoulli) or `½‖v − b‖² − Σⱼ softplus(cⱼ + Wⱼv)` (Gaussian); the partition function `Z` is a
/// sum over `2^min(H, V)` configurations (see ``logPartition(threads:)``) or an annealed importance
/// sampling estimate (see ``estimateLogPartition(options:)``).
///
/// Parameters are single precision and laid out as PyTorch's: `weights` is `H × V` (`[out, in]`
/// of the visible → hidden map), so the free energy can be recomputed from a model file alone.
public struct RestrictedBoltzmannMachine: Sendable, Equatable {
    /// The distribution of a visible unit given the hidden ones.
    public enum VisibleUnits: String, Sendable, Codable, CaseIterable {
        /// `p(vᵢ = 1 | h) = σ(bᵢ + (Wᵀh)ᵢ)`, for binary (or [0, 1]) data.
        case bernoulli
        /// `vᵢ | h ~ 𝒩(bᵢ + (Wᵀh)ᵢ, 1)`, for standardised real-valued data.
        case gaussian
    }

    public var visibleUnits: VisibleUnits
    /// `W` (`H × V`).
    public var weights: Matrix<Float>
    /// `b` (`V`).
    public var visibleBias: [Float]
    /// `c` (`H`).
    public var hiddenBias: [Float]
    /// The visible biases of the base model that annealed importance sampling starts from (the
    /// training data's log-odds for Bernoulli visibles, its means for Gaussian ones); `b` if empty.
    public var baseVisibleBias: [Float]
    /// How raw data become visible values (scaling of IDX pixels, thresholding).
    public var preprocessing: Preprocessing

    public var visibleCount: Int { weights.columns }
    public var hiddenCount: Int { weights.rows }
    /// `H·V + H + V`.
    public var parameterCount: Int { hiddenCount * visibleCount + hiddenCount + visibleCount }

    /// An untrained machine: weights drawn from `𝒩(0, 0.01²)`, biases zero (Hinton 2010, §8).
    public init(visible: Int, hidden: Int, visibleUnits: VisibleUnits = .bernoulli, preprocessing: Preprocessing = Preprocessing(),
                using rng: inout Xoshiro256StarStar) {
        precondition(visible >= 1 && hidden >= 1, "An RBM needs at least one visible and one hidden unit")
        var w = Matrix<Float>(rows: hidden, columns: visible)
        w.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        self.visibleUnits = visibleUnits
        weights = 0.01 * w
        visibleBias = [Float](repeating: 0, count: visible)
        hiddenBias = [Float](repeating: 0, count: hidden)
        baseVisibleBias = []
        self.preprocessing = preprocessing
    }

    /// A machine from its parameters.
    /// - Throws: ``ModelError/invalidSetting(_:)`` when the shapes disagree or a value is not finite.
    public init(weights: Matrix<Float>, visibleBias: [Float], hiddenBias: [Float], visibleUnits: VisibleUnits,
                baseVisibleBias: [Float] = [], preprocessing: Preprocessing = Preprocessing()) throws {
        guard weights.rows >= 1, weights.columns >= 1, visibleBias.count == weights.columns, hiddenBias.count == weights.rows,
              baseVisibleBias.isEmpty || baseVisibleBias.count == weights.columns else {
            throw ModelError.invalidSetting("RBM: weights are \(weights.rows) × \(weights.columns) (hidden × visible) but there are \(visibleBias.count) visible and \(hiddenBias.count) hidden biases")
        }
        guard (weights.elements + visibleBias + hiddenBias + baseVisibleBias).allSatisfy(\.isFinite) else {
            throw ModelError.invalidSetting("RBM: a weight or bias is not a finite number")
        }
        self.visibleUnits = visibleUnits
        self.weights = weights
        self.visibleBias = visibleBias
        self.hiddenBias = hiddenBias
        self.baseVisibleBias = baseVisibleBias
        self.preprocessing = preprocessing
    }

    /// `b_A`: the base model's visible biases.
    var baseBias: [Float] { baseVisibleBias.isEmpty ? visibleBias : baseVisibleBias }
}

// MARK: - Conditionals and the free energy

extension RestrictedBoltzmannMachine {
    /// `c + W v` for each row `v` of `v` (`B × V` → `B × H`).
    /// - Complexity: one GEMM; for 256 rows or more of mostly-zero Bernoulli visibles (at most 30%
    ///   nonzero, such as binary images) a product over their nonzeros instead, after one `O(H·V)`
    ///   transposition of the weights.
    public func hiddenPreactivations(_ v: Matrix<Float>) -> Matrix<Float> {
        precondition(v.columns == visibleCount, "Data has \(v.columns) columns, the RBM \(visibleCount) visible units")
        if visibleUnits == .bernoulli, v.rows >= 256, let nonzeros = SparseRows(v) {
            return Self.hiddenPreactivations(v, nonzeros: nonzeros, transposedWeights: weights.transposed, bias: hiddenBias)
        }
        var out = Matrix<Float>(rows: v.rows, columns: hiddenCount)
        for i in 0..<v.rows { for j in 0..<hiddenCount { out[i, j] = hiddenBias[j] } }
        Self.multiply(v, weights, transposeRight: true, into: &out, accumulate: true)
        return out
    }

    /// `p(hⱼ = 1 | v) = σ(cⱼ + Wⱼv)` for each row (`B × H`): the features an RBM extracts.
    public func hiddenProbabilities(_ v: Matrix<Float>) -> Matrix<Float> {
        var p = hiddenPreactivations(v)
        Self.sigmoidInPlace(&p)
        return p
    }

    /// The mean of `p(v | h)` for each row of `h` (`B × H` → `B × V`): `σ(b + Wᵀh)` or `b + Wᵀh`.
    public func visibleMeans(_ h: Matrix<Float>) -> Matrix<Float> {
        precondition(h.columns == hiddenCount, "Hidden states have \(h.columns) columns, the RBM \(hiddenCount) hidden units")
        var out = Matrix<Float>(rows: h.rows, columns: visibleCount)
        for i in 0..<h.rows { for j in 0..<visibleCount { out[i, j] = visibleBias[j] } }
        Self.multiply(h, weights, transposeRight: false, into: &out, accumulate: true)
        if visibleUnits == .bernoulli { Self.sigmoidInPlace(&out) }
        return out
    }

    /// `F(v)` of each row, in double precision (see the type's description).
    /// - Complexity: one ``hiddenPreactivations(_:)`` and `B·(H + V)` further operations.
    public func freeEnergies(_ v: Matrix<Float>) -> [Double] {
        let pre = hiddenPreactivations(v)
        let h = hiddenCount, d = visibleCount
        return (0..<v.rows).map { i in
            // Σⱼ softplus(xⱼ) = Σⱼ [softplus(xⱼ) − softplus(0)] + H·log 2, eight lanes at a time.
            var f = pre.withUnsafeBufferPointer { -VectorMath.softplusDifference($0.start + i * h, count: h, scale: 1, previous: 0) }
            f -= Double(h) * Foundation.log(2.0)
            switch visibleUnits {
            case .bernoulli:
                for a in 0..<d { f -= Double(visibleBias[a]) * Double(v[i, a]) }
            case .gaussian:
                for a in 0..<d { let t = Double(v[i, a]) - Double(visibleBias[a]); f += 0.5 * t * t }
            }
            return f
        }
    }

    /// One block Gibbs sweep from visible states `v`: `h ~ p(h | v)`, then `v ~ p(v | h)`.
    public func gibbsStep(_ v: Matrix<Float>, using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
        var h = hiddenProbabilities(v)
        Self.sampleBernoulliInPlace(&h, using: &rng)
        return sampleVisibles(given: h, using: &rng)
    }

    /// Draws `v ~ p(v | h)` for each row of `h`.
    public func sampleVisibles(given h: Matrix<Float>, using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
        var v = visibleMeans(h)
        switch visibleUnits {
        case .bernoulli: Self.sampleBernoulliInPlace(&v, using: &rng)
        case .gaussian: v.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += Float(rng.nextNormal()) } }
        }
        return v
    }

    /// `count` draws after `gibbsSteps` block Gibbs sweeps from states drawn from the base model
    /// (independent visibles with the base biases). Longer chains mix better.
    public func sample(count: Int, gibbsSteps: Int, using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
        var v = baseSample(count: count, using: &rng)
        for _ in 0..<gibbsSteps { v = gibbsStep(v, using: &rng) }
        return v
    }

    /// Independent visibles from the base model: `Bernoulli(σ(b_A))` or `𝒩(b_A, I)`.
    func baseSample(count: Int, using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
        let base = baseBias, d = visibleCount
        var v = Matrix<Float>(rows: count, columns: d)
        for i in 0..<count {
            for a in 0..<d {
                switch visibleUnits {
                case .bernoulli: v[i, a] = rng.nextUniform() < Self.sigmoid(Double(base[a])) ? 1 : 0
                case .gaussian: v[i, a] = base[a] + Float(rng.nextNormal())
                }
            }
        }
        return v
    }
}

// MARK: - Shared numerics

extension RestrictedBoltzmannMachine {
    /// `out (+)= left · op(right)` with single-precision GEMM.
    static func multiply(_ left: Matrix<Float>, _ right: Matrix<Float>, transposeRight: Bool, into out: inout Matrix<Float>,
                         accumulate: Bool) {
        let m = left.rows, k = left.columns, n = transposeRight ? right.rows : right.columns
        precondition(out.rows == m && out.columns == n && (transposeRight ? right.columns : right.rows) == k, "Shapes do not match")
        guard m > 0, n > 0 else { return }
        left.withUnsafeBufferPointer { a in
            right.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    Float.gemm(.none, transposeRight ? .transpose : .none, m: m, n: n, k: k, alpha: 1, a: a.start, lda: k,
                               b: b.start, ldb: right.columns, beta: accumulate ? 1 : 0, c: c.start, ldc: n)
                }
            }
        }
    }

    @inline(__always) static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
    }

    /// `log(1 + eˣ)`, exact in double precision for every `x`.
    @inline(__always) static func softplus(_ x: Double) -> Double {
        max(x, 0) + log1p(Foundation.exp(-abs(x)))
    }

    /// `σ(x)` elementwise (the C kernel; single-precision exponential, relative error ~2e-7).
    static func sigmoidInPlace(_ x: inout Matrix<Float>) {
        x.withUnsafeMutableBufferPointer { VectorMath.sigmoidInPlace($0) }
    }

    /// Eight uniforms on [0, 1) with 24 random bits each, from four 64-bit draws.
    @inline(__always) static func uniforms(_ rng: inout Xoshiro256StarStar) -> SIMD8<Float> {
        var bits = SIMD8<UInt32>()
        for q in 0..<4 {
            let r = rng.next()
            bits[2 * q] = UInt32(truncatingIfNeeded: r >> 32)
            bits[2 * q + 1] = UInt32(truncatingIfNeeded: r)
        }
        return SIMD8<Float>(bits &>> 8) * (1 / 16_777_216)
    }

    /// `out[i] ~ Bernoulli(σ(scale · logits[i]))`, the logistic eight lanes at a time (single precision).
    static func sampleLogistic(_ logits: UnsafePointer<Float>, scale: Float = 1, into out: UnsafeMutablePointer<Float>, count n: Int,
                               using rng: inout Xoshiro256StarStar) {
        var i = 0
        while i + 8 <= n {
            let x = SIMD8<Float>(UnsafeBufferPointer(start: logits + i, count: 8)) * scale
            let p = 1 / (1 + VectorMath.exp(-x))
            let draw = SIMD8<Float>(repeating: 0).replacing(with: 1, where: uniforms(&rng) .< p)
            for lane in 0..<8 { out[i + lane] = draw[lane] }
            i += 8
        }
        while i < n {
            out[i] = rng.nextUniform() < sigmoid(Double(scale * logits[i])) ? 1 : 0
            i += 1
        }
    }

    /// Replaces each probability `p` by a draw of `Bernoulli(p)`.
    static func sampleBernoulliInPlace(_ p: inout Matrix<Float>, using rng: inout Xoshiro256StarStar) {
        p.withUnsafeMutableBufferPointer { p in
            let n = p.count, base = p.baseAddress
            var i = 0
            while i + 8 <= n {
                let probability = SIMD8<Float>(UnsafeBufferPointer(start: base! + i, count: 8))
                let draw = SIMD8<Float>(repeating: 0).replacing(with: 1, where: uniforms(&rng) .< probability)
                for lane in 0..<8 { base![i + lane] = draw[lane] }
                i += 8
            }
            while i < n { p[i] = Float(rng.nextUniform()) < p[i] ? 1 : 0; i += 1 }
        }
    }
}
