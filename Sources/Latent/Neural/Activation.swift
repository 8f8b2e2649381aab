/// An elementwise nonlinearity. Each derivative is computed from the activation's output, so a
/// layer caches only its outputs for the backward pass.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case identity, relu, tanh, softplus, sigmoid

    /// Applies the function in place.
    @inlinable
    public func apply<S: NeuralScalar>(_ x: UnsafeMutableBufferPointer<S>) {
        switch self {
        case .identity: return
        case .relu:
            // A C kernel: a loop of conditional stores does not vectorise in baseline x86-64 code.
            guard let base = x.baseAddress else { return }
            S.zeroWhereNotPositive(base, reference: base, count: x.count, strictly: true)
        case .tanh: for i in x.indices { x[i] = S.hyperbolicTangent(x[i]) }
        case .softplus: for i in x.indices { x[i] = S.softplus(x[i]) }
        case .sigmoid: for i in x.indices { x[i] = S.sigmoid(x[i]) }
        }
    }

    /// Multiplies `gradient` in place by `f′(a)` where `output = f(a)`.
    @inlinable
    public func backward<S: NeuralScalar>(output: UnsafeBufferPointer<S>, gradient: UnsafeMutableBufferPointer<S>) {
        switch self {
        case .identity: return
        case .relu:
            guard let g = gradient.baseAddress, let o = output.baseAddress else { return }
            S.zeroWhereNotPositive(g, reference: o, count: min(gradient.count, output.count), strictly: false)
        case .tanh: for i in gradient.indices { gradient[i] *= 1 - output[i] * output[i] }
        case .softplus: for i in gradient.indices { gradient[i] *= 1 - S.exponential(-output[i]) }   // σ(a) = 1 − e^{−softplus(a)}
        case .sigmoid: for i in gradient.indices { gradient[i] *= output[i] * (1 - output[i]) }
        }
    }
}
