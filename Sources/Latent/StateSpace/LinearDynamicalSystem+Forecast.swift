import Foundation

/// Predicted observations some steps ahead.
public struct StateSpaceForecast: Sendable {
    /// `E[y_{T+h} | y₁…y_T]` for `h = 1…H` (`H × D`).
    public var means: Matrix<Double>
    /// Standard deviations of `y_{T+h}` given the data (`H × D`): state uncertainty and observation noise.
    public var standardDeviations: Matrix<Double>
}

extension LinearDynamicalSystem {
    /// Forecasts `steps` observations after the end of sequence `y` (`T × D`, NaN = missing; `T = 0`
    /// forecasts from the first-state distribution).
    /// - Complexity: the filter's cost plus `O(H·(L³ + D·L²))`.
    public func forecast(after y: Matrix<Double>, steps: Int) throws -> StateSpaceForecast {
        precondition(steps >= 0, "steps must be non-negative")
        var mean = initialMean, covariance = initialCovariance
        var first = true
        if y.rows > 0 {
            let filtering = try filter(y)
            mean = filtering.filteredMeans.row(y.rows - 1)
            covariance = filtering.filteredCovariances.covariance(latentDimension, at: y.rows - 1)
            first = false
        }
        var means = Matrix<Double>(rows: steps, columns: dimension)
        var deviations = Matrix<Double>(rows: steps, columns: dimension)
        for h in 0..<steps {
            if !first || h > 0 {
                mean = SmallDense.apply(transition, mean)
                covariance = SmallDense.sandwich(transition, covariance) + stateNoise
            }
            let m = SmallDense.apply(observation, mean)
            let s = SmallDense.sandwich(observation, covariance) + observationNoise
            for j in 0..<dimension {
                means[h, j] = m[j] + offset[j]
                deviations[h, j] = max(s[j, j], 0).squareRoot()
            }
        }
        return StateSpaceForecast(means: means, standardDeviations: deviations)
    }

    /// Draws one sequence of `length` observations and its hidden states; with `after`, the
    /// sequence continues from that state (so that a long sequence can be drawn in blocks).
    /// - Returns: the observations (`length × D`) and the states (`length × L`).
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a diffuse model without `after` (its first
    ///   state has no proper distribution to draw from: `μ₀` is a placeholder), and when `Q`, `R` or
    ///   `V₀` has no Cholesky factor even with a tiny jitter.
    public func sample(length: Int, after state: [Double]? = nil,
                       using rng: inout Xoshiro256StarStar) throws -> (observations: Matrix<Double>, states: Matrix<Double>) {
        let l = latentDimension, d = dimension
        if initialState == .diffuse && state == nil {
            throw ModelError.invalidSetting("a linear dynamical system with a diffuse first state has no distribution to draw its first state from; give the state to continue from, or fit with a learned first state")
        }
        let stateFactor = try SmallDense.robustCholesky(stateNoise).lower
        let noiseFactor = try SmallDense.robustCholesky(observationNoise).lower
        let initialFactor = try SmallDense.robustCholesky(initialCovariance).lower
        var ys = Matrix<Double>(rows: length, columns: d), xs = Matrix<Double>(rows: length, columns: l)
        var x = state ?? initialMean
        for t in 0..<length {
            let first = t == 0 && state == nil
            let shock = SmallDense.apply(first ? initialFactor : stateFactor, (0..<l).map { _ in rng.nextNormal() })
            if !first { x = SmallDense.apply(transition, x) }
            for j in 0..<l { x[j] += shock[j]; xs[t, j] = x[j] }
            let noise = SmallDense.apply(noiseFactor, (0..<d).map { _ in rng.nextNormal() })
            let y = SmallDense.apply(observation, x)
            for j in 0..<d { ys[t, j] = y[j] + offset[j] + noise[j] }
        }
        return (ys, xs)
    }
}
