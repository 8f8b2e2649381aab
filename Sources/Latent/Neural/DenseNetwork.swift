/// One fully connected layer `y = f(x·W + b)`, with `W` stored `inputs × outputs`, row-major.
public struct DenseLayer<S: NeuralScalar>: Equatable, Sendable {
    public var weights: Matrix<S>
    public var bias: [S]
    public var activation: Activation

    public var inputs: Int { weights.rows }
    public var outputs: Int { weights.columns }

    /// A layer with Glorot-uniform weights (He-uniform for ReLU) and zero bias.
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public init(inputs: Int, outputs: Int, activation: Activation, using rng: inout Xoshiro256StarStar) {
        let limit = activation == .relu ? (6.0 / Double(inputs)).squareRoot() : (6.0 / Double(inputs + outputs)).squareRoot()
        var storage = [S](repeating: 0, count: inputs * outputs)
        for i in storage.indices { storage[i] = S((2 * rng.nextUniform() - 1) * limit) }
        weights = Matrix(rows: inputs, columns: outputs, storage: storage)
        bias = [S](repeating: 0, count: outputs)
        self.activation = activation
    }

    public init(weights: Matrix<S>, bias: [S], activation: Activation) {
        precondition(bias.count == weights.columns, "One bias per output")
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }
}

/// The gradient of a loss with respect to one layer's parameters.
public struct DenseGradient<S: NeuralScalar>: Sendable {
    public var weights: Matrix<S>
    public var bias: [S]

    /// Adds another gradient of the same layer.
    public mutating func add(_ other: DenseGradient) {
        weights.withUnsafeMutableBufferPointer { w in
            other.weights.withUnsafeBufferPointer { o in for i in w.indices { w[i] += o[i] } }
        }
        for i in bias.indices { bias[i] += other.bias[i] }
    }
}

/// A stack of dense layers with hand-written forward and backward passes on SGEMM/DGEMM (the
/// first layer's products skip the zeros of a mostly-zero input: see `SparseRows`).
public struct DenseNetwork<S: NeuralScalar>: Equatable, Sendable {
    public var layers: [DenseLayer<S>]

    public init(layers: [DenseLayer<S>]) { self.layers = layers }

    /// A network with the given widths (`[in, hidden…, out]`), `hidden` activation between layers
    /// and `output` activation on the last.
    public init(widths: [Int], hidden: Activation, output: Activation, using rng: inout Xoshiro256StarStar) {
        precondition(widths.count >= 2, "A network needs at least an input and an output width")
        layers = (0..<(widths.count - 1)).map { i in
            DenseLayer(inputs: widths[i], outputs: widths[i + 1], activation: i == widths.count - 2 ? output : hidden, using: &rng)
        }
    }

    public var inputs: Int { layers[0].inputs }
    public var outputs: Int { layers[layers.count - 1].outputs }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weights.elements.count + $1.bias.count } }

    /// The output for a batch (`B × inputs`), with every layer's output (the input first) for the backward pass.
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func forward(_ x: Matrix<S>) -> [Matrix<S>] {
        forward(x, sparseInput: SparseRows(x))
    }

    /// ``forward(_:)`` with the nonzeros of `x` already found (nil: `x` is dense).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func forward(_ x: Matrix<S>, sparseInput: SparseRows<S>?) -> [Matrix<S>] {
        var outputs = [x]
        outputs.reserveCapacity(layers.count + 1)
        for (l, layer) in layers.enumerated() {
            let input = outputs[outputs.count - 1]
            var y = Matrix<S>(rows: input.rows, columns: layer.outputs) { yp in
                guard let base = yp.baseAddress else { return }
                for i in 0..<input.rows { (base + i &* layer.outputs).initialize(from: layer.bias, count: layer.outputs) }
            }
            y.withUnsafeMutableBufferPointer { yp in
                if l == 0, let sparse = sparseInput {
                    layer.weights.withUnsafeBufferPointer { sparse.multiply($0.start, outputs: layer.outputs, into: yp.start) }
                    layer.activation.apply(yp)
                    return
                }
                input.withUnsafeBufferPointer { xp in
                    layer.weights.withUnsafeBufferPointer { wp in
                        S.gemm(.none, .none, m: input.rows, n: layer.outputs, k: layer.inputs, alpha: 1, a: xp.start, lda: layer.inputs,
                               b: wp.start, ldb: layer.outputs, beta: 1, c: yp.start, ldc: layer.outputs)
                    }
                }
                layer.activation.apply(yp)
            }
            outputs.append(y)
        }
        return outputs
    }

    /// Back-propagates `gradient` (∂loss/∂output, `B × outputs`) through the cached `outputs` of
    /// ``forward(_:)``: the parameter gradients of every layer and ∂loss/∂input (empty, and not
    /// computed, when `inputGradient` is off: for a first network such as an encoder that saves its
    /// largest product).
    @_specialize(exported: true, where S == Float)
    @_specialize(exported: true, where S == Double)
    public func backward(_ outputs: [Matrix<S>], gradient: Matrix<S>, inputGradient: Bool = true) -> (layers: [DenseGradient<S>], input: Matrix<S>) {
        backward(outputs, gradient: gradient, inputGradient: inputGradient, sparseInput: SparseRows(outputs[0]))
    }

    /// ``backward(_:gradient:inputGradient:)`` with the nonzeros of the input already found.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func backward(_ outputs: [Matrix<S>], gradient: Matrix<S>, inputGradient: Bool,
                  sparseInput: SparseRows<S>?) -> (layers: [DenseGradient<S>], input: Matrix<S>) {
        var g = gradient
        var grads = [DenseGradient<S>?](repeating: nil, count: layers.count)
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l], y = outputs[l + 1], x = outputs[l]
            y.withUnsafeBufferPointer { yp in g.withUnsafeMutableBufferPointer { layer.activation.backward(output: yp, gradient: $0) } }
            // Both are overwritten below (GEMM with β = 0, or the sparse product, which clears first).
            var dw = Matrix<S>(rows: layer.inputs, columns: layer.outputs) { _ in }
            var db = [S](repeating: 0, count: layer.outputs)
            var dx = Matrix<S>(rows: l > 0 || inputGradient ? x.rows : 0, columns: layer.inputs) { _ in }
            let sparse = l == 0 ? sparseInput : nil
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeBufferPointer { gp in
                    dw.withUnsafeMutableBufferPointer { dwp in
                        if let sparse {
                            sparse.transposedMultiply(gp.start, outputs: layer.outputs, into: dwp.start)
                        } else {
                            S.gemm(.transpose, .none, m: layer.inputs, n: layer.outputs, k: x.rows, alpha: 1, a: xp.start, lda: layer.inputs,
                                   b: gp.start, ldb: layer.outputs, beta: 0, c: dwp.start, ldc: layer.outputs)
                        }
                    }
                    for i in 0..<x.rows { for j in 0..<layer.outputs { db[j] += gp[i &* layer.outputs &+ j] } }
                    if l > 0 {
                        layer.weights.withUnsafeBufferPointer { wp in
                            dx.withUnsafeMutableBufferPointer { dxp in
                                S.gemm(.none, .transpose, m: x.rows, n: layer.inputs, k: layer.outputs, alpha: 1, a: gp.start, lda: layer.outputs,
                                       b: wp.start, ldb: layer.outputs, beta: 0, c: dxp.start, ldc: layer.inputs)
                            }
                        }
                    }
                }
            }
            if l == 0 && inputGradient {
                // ∂loss/∂input is needed by callers that chain networks (or check gradients).
                g.withUnsafeBufferPointer { gp in
                    layer.weights.withUnsafeBufferPointer { wp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            S.gemm(.none, .transpose, m: x.rows, n: layer.inputs, k: layer.outputs, alpha: 1, a: gp.start, lda: layer.outputs,
                                   b: wp.start, ldb: layer.outputs, beta: 0, c: dxp.start, ldc: layer.inputs)
                        }
                    }
                }
            }
            grads[l] = DenseGradient(weights: dw, bias: db)
            g = dx
        }
        return (grads.map { $0! }, g)
    }
}
