/// Gradient-based optimisers.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case adam, sgd }

/// Adam (Kingma & Ba 2015) or plain SGD, keeping per-parameter state across steps. Call
/// ``beginStep()`` once per step, then ``update(_:parameters:gradient:adding:scale:ascend:)-(_,[S],_,_,_,_)`` for each array (or weight matrix).
public struct Optimizer<S: NeuralScalar>: Sendable {
    public let kind: OptimizerKind
    public var learningRate: S
    public var beta1: S = 0.9
    public var beta2: S = 0.999
    public var epsilon: S = 1e-8
    /// Cores for the elementwise updates of large arrays (elementwise, so the result does not depend on it).
    public var threads: Int = 1
    private var m: [[S]] = []
    private var v: [[S]] = []
    private var beta1Power: S = 1
    private var beta2Power: S = 1

    public init(_ kind: OptimizerKind, learningRate: S) {
        self.kind = kind
        self.learningRate = learningRate
    }

    /// Advances the step counter (Adam's bias correction).
    public mutating func beginStep() {
        beta1Power *= beta1
        beta2Power *= beta2
    }

    /// Moves parameter array number `index` along `scale ×` its gradient (`ascend`) or against it; with
    /// `second` (a batch's other half), along their sum, added in the same pass.
    public mutating func update(_ index: Int, parameters: inout [S], gradient: [S], adding second: [S]? = nil, scale: S = 1,
                                ascend: Bool) {
        precondition(second.map { $0.count == gradient.count } ?? true, "The two gradients differ in size")
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                guard let second else { return update(index, parameters: p, gradient: g, adding: nil, scale: scale, ascend: ascend) }
                second.withUnsafeBufferPointer { g2 in update(index, parameters: p, gradient: g, adding: g2, scale: scale, ascend: ascend) }
            }
        }
    }

    /// Moves the weight matrix number `index` along `scale ×` its gradient (`ascend`) or against it;
    /// with `second`, along their sum.
    public mutating func update(_ index: Int, parameters: inout Matrix<S>, gradient: Matrix<S>, adding second: Matrix<S>? = nil,
                                scale: S = 1, ascend: Bool) {
        precondition(parameters.rows == gradient.rows && parameters.columns == gradient.columns, "Gradient and parameters differ in shape")
        precondition(second.map { $0.rows == gradient.rows && $0.columns == gradient.columns } ?? true, "The two gradients differ in shape")
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                guard let second else { return update(index, parameters: p, gradient: g, adding: nil, scale: scale, ascend: ascend) }
                second.withUnsafeBufferPointer { g2 in update(index, parameters: p, gradient: g, adding: g2, scale: scale, ascend: ascend) }
            }
        }
    }

    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    private mutating func update(_ index: Int, parameters: UnsafeMutableBufferPointer<S>, gradient: UnsafeBufferPointer<S>,
                                 adding second: UnsafeBufferPointer<S>?, scale: S, ascend: Bool) {
        precondition(parameters.count == gradient.count, "Gradient and parameters differ in size")
        let sign: S = ascend ? 1 : -1
        guard let pb = parameters.baseAddress, let gb = gradient.baseAddress else { return }
        let g2b = second?.baseAddress
        switch kind {
        case .sgd:
            for i in parameters.indices {
                let g = g2b.map { gradient[i] + $0[i] } ?? gradient[i]
                parameters[i] += sign * learningRate * scale * g
            }
        case .adam:
            while m.count <= index { m.append([]); v.append([]) }
            if m[index].count != parameters.count {
                m[index] = [S](repeating: 0, count: parameters.count)
                v[index] = m[index]
            }
            let c1 = 1 - beta1Power, c2 = 1 - beta2Power
            let rate = learningRate * c2.squareRoot() / c1
            let epsHat = epsilon * c2.squareRoot()
            let b1 = beta1, b2 = beta2
            let work = ChunkedWork(count: parameters.count, minimumChunk: 32_768, maxChunks: 8)
            let threads = self.threads
            m[index].withUnsafeMutableBufferPointer { mp in
                v[index].withUnsafeMutableBufferPointer { vp in
                    let mb = mp.start, vb = vp.start
                    if S.self == Float.self {
                        // Single precision: the dispatched C kernel (the widest vectors this CPU has).
                        let constants: [Float] = [scale, b1, b2, sign * rate, epsHat].map { Float($0) }
                        let p = UnsafeMutableRawPointer(pb).assumingMemoryBound(to: Float.self)
                        let g = UnsafeRawPointer(gb).assumingMemoryBound(to: Float.self)
                        let g2 = g2b.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) }
                        let m = UnsafeMutableRawPointer(mb).assumingMemoryBound(to: Float.self)
                        let v = UnsafeMutableRawPointer(vb).assumingMemoryBound(to: Float.self)
                        work.run(threads: threads) { _, range in
                            VectorMath.adam(parameters: p + range.lowerBound, gradient: g + range.lowerBound,
                                            adding: g2.map { $0 + range.lowerBound }, first: m + range.lowerBound,
                                            second: v + range.lowerBound, count: range.count, constants: constants)
                        }
                    } else {
                        work.run(threads: threads) { _, range in
                            Self.adam(range, p: pb, g: gb, g2: g2b, m: mb, v: vb, scale: scale, b1: b1, b2: b2,
                                      step: sign * rate, epsilon: epsHat)
                        }
                    }
                }
            }
        }
    }

    /// Adam's elementwise update over `range`, eight lanes at a time (double precision; single
    /// precision takes the C kernel, the same formula).
    @inline(__always)
    private static func adam(_ range: Range<Int>, p: UnsafeMutablePointer<S>, g: UnsafePointer<S>, g2: UnsafePointer<S>?,
                             m: UnsafeMutablePointer<S>, v: UnsafeMutablePointer<S>,
                             scale: S, b1: S, b2: S, step: S, epsilon: S) {
        typealias V = SIMD8<S>
        @inline(__always) func load(_ x: UnsafePointer<S>, _ i: Int) -> V { UnsafeRawPointer(x + i).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ x: V, _ to: UnsafeMutablePointer<S>, _ i: Int) { UnsafeMutableRawPointer(to + i).storeBytes(of: x, as: V.self) }
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gi = V(repeating: scale) * (g2.map { load(g, i) + load($0, i) } ?? load(g, i))
            let mi = V(repeating: b1) * load(m, i) + V(repeating: 1 - b1) * gi
            let vi = V(repeating: b2) * load(v, i) + V(repeating: 1 - b2) * gi * gi
            store(mi, m, i)
            store(vi, v, i)
            store(load(p, i) + V(repeating: step) * mi / (vi.squareRoot() + V(repeating: epsilon)), p, i)
            i += 8
        }
        while i < range.upperBound {
            let gi = scale * (g2.map { g[i] + $0[i] } ?? g[i])
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            p[i] += step * m[i] / (v[i].squareRoot() + epsilon)
            i += 1
        }
    }
}
