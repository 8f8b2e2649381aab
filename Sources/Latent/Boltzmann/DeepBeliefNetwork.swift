import Foundation

/// A deep belief network (Hinton, Osindero & Teh 2006): a stack of restricted Boltzmann machines
/// trained greedily, layer by layer. The top two layers form an undirected RBM; every layer below
/// is a directed sigmoid (or, for the data layer, Gaussian) belief net with the lower RBMs'
/// weights: `p(v, h¹, …, hᴸ) = p(v | h¹) ⋯ p(hᴸ⁻² | hᴸ⁻¹) p(hᴸ⁻¹, hᴸ)`.
public struct DeepBeliefNetwork: Sendable, Equatable {
    /// The machines from the data upwards; layer `l`'s hidden units are layer `l + 1`'s visibles.
    public var layers: [RestrictedBoltzmannMachine]

    /// - Throws: ``ModelError/invalidSetting(_:)`` when there is no layer, adjacent layers do not
    ///   fit, or a layer above the first has Gaussian visibles.
    public init(layers: [RestrictedBoltzmannMachine]) throws {
        guard !layers.isEmpty else { throw ModelError.invalidSetting("a deep belief network needs at least one layer") }
        for l in 1..<layers.count {
            guard layers[l].visibleCount == layers[l - 1].hiddenCount, layers[l].visibleUnits == .bernoulli else {
                throw ModelError.invalidSetting("layer \(l + 1) must have \(layers[l - 1].hiddenCount) Bernoulli visible units (the hidden units of layer \(l))")
            }
        }
        self.layers = layers
    }

    public var visibleCount: Int { layers[0].visibleCount }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var preprocessing: Preprocessing { layers[0].preprocessing }

    /// Greedy layer-wise training: the first machine on the data, each next one on the hidden
    /// probabilities `p(h | v)` of the one below (the up pass), each with `options` (the seed moves
    /// on by one per layer).
    /// - Parameters:
    ///   - x: `N × V` training rows, already preprocessed (as ``RestrictedBoltzmannMachine/train(on:options:)`` takes them).
    ///   - widths: hidden units per layer, from the bottom.
    ///   - visibleUnits: the bottom machine's visible units; every higher machine has Bernoulli visibles.
    ///   - preprocessing: stored with the network, to be applied to data it scores later.
    ///   - options: every layer's training settings.
    public static func train(on x: Matrix<Float>, widths: [Int], visibleUnits: RestrictedBoltzmannMachine.VisibleUnits = .bernoulli,
                             preprocessing: Preprocessing = Preprocessing(), options: RBMTrainingOptions) throws
        -> (network: DeepBeliefNetwork, history: [[RBMEpoch]])
    {
        guard !widths.isEmpty, widths.allSatisfy({ $0 >= 1 }) else { throw ModelError.invalidSetting("every layer needs at least one hidden unit") }
        var rng = Xoshiro256StarStar(seed: options.seed)
        var input = x
        var layers: [RestrictedBoltzmannMachine] = [], history: [[RBMEpoch]] = []
        for (l, width) in widths.enumerated() {
            var machine = RestrictedBoltzmannMachine(visible: input.columns, hidden: width, visibleUnits: l == 0 ? visibleUnits : .bernoulli,
                                                     preprocessing: l == 0 ? preprocessing : Preprocessing(), using: &rng)
            var layerOptions = options
            layerOptions.seed = options.seed &+ UInt64(l + 1)
            history.append(try machine.train(on: input, options: layerOptions))
            input = machine.hiddenProbabilities(input)
            layers.append(machine)
        }
        return (try DeepBeliefNetwork(layers: layers), history)
    }

    /// The up pass: `p(h | v)` of each layer in turn; the top layer's probabilities (`N × H_top`).
    public func features(_ x: Matrix<Float>) -> Matrix<Float> {
        layers.reduce(x) { $1.hiddenProbabilities($0) }
    }

    /// `count` draws: `gibbsSteps` block Gibbs sweeps in the top RBM from its base model, then one
    /// down pass of `v ~ p(v | h)` through the lower layers.
    public func sample(count: Int, gibbsSteps: Int, using rng: inout Xoshiro256StarStar) -> Matrix<Float> {
        var v = layers[layers.count - 1].sample(count: count, gibbsSteps: gibbsSteps, using: &rng)
        for l in stride(from: layers.count - 2, through: 0, by: -1) { v = layers[l].sampleVisibles(given: v, using: &rng) }
        return v
    }

    /// The variational lower bound on `log p(v)` of each row (Salakhutdinov & Murray 2008, §4), with
    /// `Q(h¹, …, hᴸ⁻¹ | v) = Π_l p_l(hˡ | hˡ⁻¹)` from the up pass: the mean over `samples` draws
    /// `h ~ Q` of `log p*(hᴸ⁻¹) − log Z_top + Σ_l log p(hˡ⁻¹ | hˡ) − log Q(h | v)`, where `p*(hᴸ⁻¹) =
    /// exp(−F(hᴸ⁻¹))` is the top RBM's unnormalised marginal and `log Z_top` is given (exact or AIS).
    /// A one-layer network is its RBM: the bound is `log p(v)` itself.
    /// - Returns: per row the bound and the standard error of its Monte Carlo mean.
    public func lowerBounds(of x: Matrix<Float>, topLogPartition: Double, samples: Int, using rng: inout Xoshiro256StarStar)
        -> (bounds: [Double], standardErrors: [Double])
    {
        let top = layers[layers.count - 1]
        guard layers.count > 1 else {
            return (top.logLikelihoods(of: x, logPartition: topLogPartition), [Double](repeating: 0, count: x.rows))
        }
        let n = x.rows
        var total = [Double](repeating: 0, count: n), squares = [Double](repeating: 0, count: n)
        for _ in 0..<max(1, samples) {
            var below = x, value = [Double](repeating: 0, count: n)
            for l in 0..<(layers.count - 1) {
                let machine = layers[l]
                let probabilities = machine.hiddenProbabilities(below)
                var h = probabilities
                RestrictedBoltzmannMachine.sampleBernoulliInPlace(&h, using: &rng)
                // − log Q(hˡ | hˡ⁻¹) + log p(hˡ⁻¹ | hˡ).
                let generative = machine.logConditionalVisibles(below, given: h)
                for i in 0..<n {
                    var logQ = 0.0
                    for j in 0..<machine.hiddenCount {
                        let p = Double(probabilities[i, j])
                        logQ += h[i, j] > 0.5 ? log(max(p, 1e-300)) : log(max(1 - p, 1e-300))
                    }
                    value[i] += generative[i] - logQ
                }
                below = h
            }
            let topTerm = top.freeEnergies(below)
            for i in 0..<n {
                let v = value[i] - topTerm[i] - topLogPartition
                total[i] += v
                squares[i] += v * v
            }
        }
        let m = Double(max(1, samples))
        let bounds = total.map { $0 / m }
        let errors = (0..<n).map { i in m > 1 ? max(0, (squares[i] / m - bounds[i] * bounds[i]) / (m - 1)).squareRoot() : 0 }
        return (bounds, errors)
    }
}

extension RestrictedBoltzmannMachine {
    /// `log p(vᵢ | hᵢ)` of each row pair: Bernoulli with means `σ(b + Wᵀh)`, or Gaussian with unit
    /// variance around `b + Wᵀh`, in double precision.
    public func logConditionalVisibles(_ v: Matrix<Float>, given h: Matrix<Float>) -> [Double] {
        var pre = Matrix<Float>(rows: h.rows, columns: visibleCount)
        for i in 0..<h.rows { for a in 0..<visibleCount { pre[i, a] = visibleBias[a] } }
        Self.multiply(h, weights, transposeRight: false, into: &pre, accumulate: true)
        return (0..<v.rows).map { i in
            var s = 0.0
            for a in 0..<visibleCount {
                let x = Double(pre[i, a]), value = Double(v[i, a])
                switch visibleUnits {
                case .bernoulli: s += value * x - Self.softplus(x)
                case .gaussian: s -= 0.5 * (value - x) * (value - x) + 0.5 * log(2 * Double.pi)
                }
            }
            return s
        }
    }
}
