import Foundation

/// A linear dynamical system (linear-Gaussian state-space model):
///
///     x₁ ~ 𝒩(μ₀, V₀),   xₜ = A xₜ₋₁ + wₜ,  wₜ ~ 𝒩(0, Q),
///     yₜ = C xₜ + d + vₜ,  vₜ ~ 𝒩(0, R),
///
/// with `L` hidden states `x` and `D` observed columns `y`. Rows are time steps; a data set may hold
/// several independent sequences, each starting from `𝒩(μ₀, V₀)`. Missing observations (NaN, a
/// whole row or single coordinates) are integrated out by the Kalman filter.
///
/// Inference: ``filter(_:steadyState:)`` (Kalman filter, exact log-likelihood by the prediction-error
/// decomposition), ``smooth(_:steadyState:)`` (Rauch–Tung–Striebel), ``forecast(after:steps:)``. Fitting:
/// ``fit(_:sequences:latent:options:)`` by EM (Shumway & Stoffer 1982; Ghahramani & Hinton 1996).
public struct LinearDynamicalSystem: Equatable, Sendable {
    /// How the observation noise covariance `R` is parametrised.
    public enum ObservationNoise: String, Codable, Sendable, CaseIterable {
        case full, diagonal
    }

    /// The parameters that EM can hold fixed at their starting values.
    public enum Parameter: String, Codable, Sendable, CaseIterable, Comparable {
        case transition, observation, offset, stateNoise = "state-noise", observationNoise = "observation-noise", initial
        public static func < (a: Parameter, b: Parameter) -> Bool { a.rawValue < b.rawValue }
    }

    /// How the first state is distributed.
    public enum InitialState: String, Codable, Sendable, CaseIterable {
        /// `μ₀` and `V₀` are parameters, learned by EM unless fixed.
        case learned
        /// An approximately diffuse prior: `μ₀ = 0`, `V₀ = κ·I` with `κ` ``diffuseScale`` times the
        /// largest observed column variance (divided by the squared largest entry of `C`), and the
        /// log-likelihood is that of the observations after the first time steps that carry at
        /// least `L` observed values (those pin the state down), as statsmodels' approximate-diffuse
        /// start excludes its burn-in steps.
        case diffuse
    }

    /// `V₀ = κ·I` of a diffuse start, in units of the observed variance.
    public static let diffuseScale = 1e7

    /// State transition `A` (`L × L`).
    public var transition: Matrix<Double>
    /// State noise covariance `Q` (`L × L`, symmetric positive semi-definite).
    public var stateNoise: Matrix<Double>
    /// Observation matrix `C` (`D × L`).
    public var observation: Matrix<Double>
    /// Observation offset `d` (`D`).
    public var offset: [Double]
    /// Observation noise covariance `R` (`D × D`; diagonal when ``observationNoiseType`` is `.diagonal`).
    public var observationNoise: Matrix<Double>
    public var observationNoiseType: ObservationNoise
    /// Mean `μ₀` of the first state (`L`).
    public var initialMean: [Double]
    /// Covariance `V₀` of the first state (`L × L`).
    public var initialCovariance: Matrix<Double>
    public var initialState: InitialState
    /// Parameters held fixed in fitting; they do not count in ``parameterCount``.
    public var fixed: Set<Parameter>

    /// Number of hidden states `L`.
    public var latentDimension: Int { transition.rows }
    /// Number of observed columns `D`.
    public var dimension: Int { observation.rows }

    /// Free parameters: `A` (`L²`), `C` (`D·L`), `d` (`D`), `Q` (`L(L+1)/2`), `R` (`D(D+1)/2` or
    /// `D`), `μ₀` and `V₀` (`L + L(L+1)/2`, none for a diffuse start), less those held fixed.
    public var parameterCount: Int {
        let l = latentDimension, d = dimension
        var count = 0
        if !fixed.contains(.transition) { count += l * l }
        if !fixed.contains(.observation) { count += d * l }
        if !fixed.contains(.offset) { count += d }
        if !fixed.contains(.stateNoise) { count += l * (l + 1) / 2 }
        if !fixed.contains(.observationNoise) { count += observationNoiseType == .full ? d * (d + 1) / 2 : d }
        if initialState == .learned && !fixed.contains(.initial) { count += l + l * (l + 1) / 2 }
        return count
    }

    /// A model from its parameters.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for inconsistent shapes, non-finite values,
    ///   asymmetric or indefinite covariances (`Q` and `V₀` may be singular, `R` must be positive definite).
    public init(transition: Matrix<Double>, stateNoise: Matrix<Double>, observation: Matrix<Double>, offset: [Double],
                observationNoise: Matrix<Double>, observationNoiseType: ObservationNoise = .full,
                initialMean: [Double], initialCovariance: Matrix<Double>, initialState: InitialState = .learned,
                fixed: Set<Parameter> = []) throws {
        let l = transition.rows, d = observation.rows
        func bad(_ why: String) -> ModelError { .invalidSetting("linear dynamical system: \(why)") }
        guard l >= 1, d >= 1 else { throw bad("it needs at least one state and one observed column") }
        guard transition.columns == l, stateNoise.rows == l, stateNoise.columns == l, observation.columns == l,
              offset.count == d, observationNoise.rows == d, observationNoise.columns == d,
              initialMean.count == l, initialCovariance.rows == l, initialCovariance.columns == l else {
            throw bad("the shapes disagree (A \(transition.rows)×\(transition.columns), Q \(stateNoise.rows)×\(stateNoise.columns), C \(observation.rows)×\(observation.columns), d \(offset.count), R \(observationNoise.rows)×\(observationNoise.columns), μ₀ \(initialMean.count), V₀ \(initialCovariance.rows)×\(initialCovariance.columns))")
        }
        for (name, m) in [("A", transition), ("Q", stateNoise), ("C", observation), ("R", observationNoise), ("V₀", initialCovariance)] {
            guard m.elements.allSatisfy(\.isFinite) else { throw bad("\(name) holds a value that is not a finite number") }
        }
        guard offset.allSatisfy(\.isFinite), initialMean.allSatisfy(\.isFinite) else { throw bad("d or μ₀ holds a value that is not a finite number") }
        for (name, m) in [("Q", stateNoise), ("R", observationNoise), ("V₀", initialCovariance)] {
            try Self.requireSymmetricSemidefinite(m, name: name)
        }
        if observationNoiseType == .diagonal {
            for i in 0..<d { for j in 0..<d where i != j && observationNoise[i, j] != 0 {
                throw bad("R is declared diagonal but entry (\(i + 1), \(j + 1)) is \(observationNoise[i, j])")
            } }
        }
        guard (try? Cholesky(observationNoise)) != nil else { throw bad("the observation noise covariance R is not positive definite") }
        self.transition = transition
        self.stateNoise = stateNoise
        self.observation = observation
        self.offset = offset
        self.observationNoise = observationNoise
        self.observationNoiseType = observationNoiseType
        self.initialMean = initialMean
        self.initialCovariance = initialCovariance
        self.initialState = initialState
        self.fixed = fixed
    }

    static func requireSymmetricSemidefinite(_ m: Matrix<Double>, name: String) throws {
        let n = m.rows
        for i in 0..<n { for j in 0..<i {
            let tolerance = 1e-9 * max(abs(m[i, j]), abs(m[j, i]), (abs(m[i, i]) * abs(m[j, j])).squareRoot(), 1e-300)
            guard abs(m[i, j] - m[j, i]) <= tolerance else {
                throw ModelError.invalidSetting("linear dynamical system: \(name) is not symmetric: entry (\(i + 1), \(j + 1)) is \(m[i, j]) but (\(j + 1), \(i + 1)) is \(m[j, i])")
            }
        } }
        guard let eigen = try? SymmetricEigen(m) else { throw ModelError.invalidSetting("linear dynamical system: \(name) has no eigendecomposition") }
        let top = max(eigen.values.last ?? 0, 0)
        guard (eigen.values.first ?? 0) >= -1e-9 * max(top, 1e-300) else {
            throw ModelError.invalidSetting("linear dynamical system: \(name) is not positive semi-definite (eigenvalue \(eigen.values.first ?? 0))")
        }
    }

    /// `V₀` of a diffuse start for data whose largest column variance is `variance`.
    static func diffuseCovariance(states l: Int, observation: Matrix<Double>, variance: Double) -> Matrix<Double> {
        let gain = max(observation.elements.map(abs).max() ?? 1, 1e-300)
        return Matrix.diagonal([Double](repeating: diffuseScale * max(variance, 1e-300) / (gain * gain), count: l))
    }
}
