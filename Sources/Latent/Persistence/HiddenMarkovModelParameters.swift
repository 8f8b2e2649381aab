/// The stored form of an ``AnyHiddenMarkovModel``.
struct HiddenMarkovModelParameters: Codable, Equatable {
    var emission: String
    var startProbabilities: [Double]
    var transitions: [[Double]]
    /// Gaussian emissions: state means and covariances (weights unused).
    var gaussian: GaussianMixtureParameters?
    /// Categorical emissions: `K × M` probabilities.
    var categorical: [[Double]]?
    /// Poisson emissions: `K × D` rates.
    var poisson: [[Double]]?
    /// Gaussian-mixture emissions: the `K·M` components (state `k`'s at `k·M ..< (k+1)·M`, each
    /// weight its weight within the state divided by `K`), and `M`.
    var mixture: GaussianMixtureParameters?
    var componentsPerState: Int?

    init(_ m: AnyHiddenMarkovModel) {
        emission = m.emissionKind
        startProbabilities = m.startProbabilities
        transitions = m.transitions.rowArrays
        switch m {
        case .gaussian(let h): gaussian = GaussianMixtureParameters(h.emission.states)
        case .categorical(let h): categorical = h.emission.probabilities.rowArrays
        case .poisson(let h): poisson = h.emission.rates.rowArrays
        case .gaussianMixture(let h):
            mixture = GaussianMixtureParameters(h.emission.components)
            componentsPerState = h.emission.componentsPerState
        }
    }

    func makeModel() throws -> AnyHiddenMarkovModel {
        let k = startProbabilities.count
        guard k > 0, transitions.count == k, transitions.allSatisfy({ $0.count == k }) else {
            throw ModelError.invalidSetting("start probabilities and transitions must describe the same \(k) states")
        }
        func rows(_ r: [[Double]]?, _ what: String) throws -> Matrix<Double> {
            guard let r, r.count == k, let w = r.first?.count, w > 0, r.allSatisfy({ $0.count == w }) else {
                throw ModelError.invalidSetting("\(what) must have one row per state")
            }
            return Matrix(r)
        }
        let a = Matrix(transitions)
        switch emission {
        case GaussianEmission.kind:
            guard let g = gaussian else { throw ModelError.invalidSetting("no Gaussian emission parameters") }
            let mixture = try g.makeModel()
            guard mixture.componentCount == k else { throw ModelError.invalidSetting("emission has \(mixture.componentCount) states, the chain \(k)") }
            return .gaussian(try HiddenMarkovModel(startProbabilities: startProbabilities, transitions: a,
                                                   emission: GaussianEmission(means: mixture.means, covariances: mixture.covariances)))
        case CategoricalEmission.kind:
            return .categorical(try HiddenMarkovModel(startProbabilities: startProbabilities, transitions: a,
                                                      emission: CategoricalEmission(probabilities: rows(categorical, "categorical probabilities"))))
        case PoissonEmission.kind:
            return .poisson(try HiddenMarkovModel(startProbabilities: startProbabilities, transitions: a,
                                                  emission: PoissonEmission(rates: rows(poisson, "Poisson rates"))))
        case GaussianMixtureEmission.kind:
            guard let g = mixture, let m = componentsPerState, m >= 1 else {
                throw ModelError.invalidSetting("no Gaussian-mixture emission parameters (mixture and componentsPerState)")
            }
            let pooled = try g.makeModel()
            guard pooled.componentCount == k * m else {
                throw ModelError.invalidSetting("the emission has \(pooled.componentCount) components, not \(k) states × \(m)")
            }
            return .gaussianMixture(try HiddenMarkovModel(startProbabilities: startProbabilities, transitions: a,
                                                          emission: GaussianMixtureEmission(componentsPerState: m, pooled: pooled)))
        default:
            throw ModelError.invalidSetting("unknown emission '\(emission)'")
        }
    }
}
