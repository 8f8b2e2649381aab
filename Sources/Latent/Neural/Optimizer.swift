/// Gradient-based optimisers.
public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case adam, sgd }

/// Adam (Kingma & Ba 2015) or plain SGD, keeping per-parameter state across steps. Call
/// ``beginStep()`` once per step, then ``update(_:parameters:gradient:ascend:)`` for each array.
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

    /// Moves parameter array number `index` along `scale ×` its gradient (`ascend`) or against it.
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public mutating func update(_ index: Int, parameters: inout [S], gradient: [S], scale: S = 1, ascend: Bool) {
        precondition(parameters.count == gradient.count, "Gradient and parameters differ in size")
        let sign: S = ascend ? 1 : -1
        switch kind {
        case .sgd:
            for i in parameters.indices { parameters[i] += sign * learningRate * scale * gradient[i] }
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
            parameters.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { g in
                    m[index].withUnsafeMutableBufferPointer { mp in
                        v[index].withUnsafeMutableBufferPointer { vp in
                            let pb = p.baseAddress!, gb = g.baseAddress!, mb = mp.baseAddress!, vb = vp.baseAddress!
                            work.run(threads: threads) { _, range in
                                for i in range {
                                    let gi = scale * gb[i]
                                    mb[i] = b1 * mb[i] + (1 - b1) * gi
                                    vb[i] = b2 * vb[i] + (1 - b2) * gi * gi
                                    pb[i] += sign * rate * mb[i] / (vb[i].squareRoot() + epsHat)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
