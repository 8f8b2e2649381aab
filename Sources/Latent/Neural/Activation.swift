/// An elementwise nonlinearity. Each derivative is computed from the activation's output, so a
/// layer caches only its outputs for the backward pass.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case identity, relu, tanh, softplus, sigmoid

    /// Applies the function in place.
    @inlinable
    public func apply<S: NeuralScalar>(_ x: UnsafeMutableBufferPointer<S>) {
        switch self {
        case .identity: return
        // A select, not a conditional store, so that baseline SSE2 code vectorises it too.
        case .relu: for i in x.indices { x[i] = x[i] < 0 ? 0 : x[i] }
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
        case .relu: for i in gradient.indices { gradient[i] = output[i] <= 0 ? 0 : gradient[i] }
        case .tanh: for i in gradient.indices { gradient[i] *= 1 - output[i] * output[i] }
        case .softplus: for i in gradient.indices { gradient[i] *= 1 - S.exponential(-output[i]) }   // σ(a) = 1 − e^{−softplus(a)}
        case .sigmoid: for i in gradient.indices { gradient[i] *= output[i] * (1 - output[i]) }
        }
    }
}
