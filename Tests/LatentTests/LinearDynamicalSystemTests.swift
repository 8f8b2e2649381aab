import Foundation
import Testing
import Latent
import TestSupport

/// The Kalman filter and smoother against the dense Gaussian they summarise, EM's monotonicity and
/// parameter recovery, and the Nile local-level model against statsmodels.
struct LinearDynamicalSystemTests {
    /// A small 2-state, 2-column system with correlated noises.
    static func smallModel(noise: LinearDynamicalSystem.ObservationNoise = .full) throws -> LinearDynamicalSystem {
        try LinearDynamicalSystem(
            transition: Matrix([[0.9, 0.2], [-0.1, 0.7]]), stateNoise: Matrix([[0.5, 0.1], [0.1, 0.3]]),
            observation: Matrix([[1.0, 0.5], [0.3, -1.2]]), offset: [2, -1],
            observationNoise: noise == .full ? Matrix([[0.4, 0.15], [0.15, 0.6]]) : Matrix([[0.4, 0], [0, 0.6]]),
            observationNoiseType: noise, initialMean: [0.5, -0.5], initialCovariance: Matrix([[1.0, 0.2], [0.2, 0.8]]))
    }

    /// The joint Gaussian of the stacked states (`T·L`) and observations (`T·D`) of a system.
    struct DenseJoint {
        var stateMean: [Double], stateCovariance: Matrix<Double>
        var observationMean: [Double], observationCovariance: Matrix<Double>, crossCovariance: Matrix<Double>   // Cov[X, Y]

        init(_ m: LinearDynamicalSystem, steps t: Int) {
            let l = m.latentDimension, d = m.dimension
            func mul(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Matrix<Double> { a.multiplied(by: b) }
            var marginal: [Matrix<Double>] = [m.initialCovariance]
            var means: [[Double]] = [m.initialMean]
            for s in 1..<t {
                marginal.append(mul(mul(m.transition, marginal[s - 1]), m.transition.transposed) + m.stateNoise)
                means.append((0..<l).map { i in (0..<l).reduce(0) { $0 + m.transition[i, $1] * means[s - 1][$1] } })
            }
            var powers: [Matrix<Double>] = [Matrix.identity(l)]
            for k in 1..<t { powers.append(mul(m.transition, powers[k - 1])) }
            stateMean = means.flatMap { $0 }
            stateCovariance = Matrix(rows: t * l, columns: t * l)
            for a in 0..<t { for b in 0..<t {
                let block = a >= b ? mul(powers[a - b], marginal[b]) : mul(marginal[a], powers[b - a].transposed)
                for i in 0..<l { for j in 0..<l { stateCovariance[a * l + i, b * l + j] = block[i, j] } }
            } }
            observationMean = (0..<t).flatMap { a in (0..<d).map { i in m.offset[i] + (0..<l).reduce(0) { $0 + m.observation[i, $1] * means[a][$1] } } }
            observationCovariance = Matrix(rows: t * d, columns: t * d)
            crossCovariance = Matrix(rows: t * l, columns: t * d)
            for a in 0..<t { for b in 0..<t {
                var block = Matrix<Double>(rows: l, columns: l)
                for i in 0..<l { for j in 0..<l { block[i, j] = stateCovariance[a * l + i, b * l + j] } }
                let yy = mul(mul(m.observation, block), m.observation.transposed)
                let xy = mul(block, m.observation.transposed)
                for i in 0..<d { for j in 0..<d { observationCovariance[a * d + i, b * d + j] = yy[i, j] + (a == b ? m.observationNoise[i, j] : 0) } }
                for i in 0..<l { for j in 0..<d { crossCovariance[a * l + i, b * d + j] = xy[i, j] } }
            } }
        }

        /// log density of the observed entries of `y` and the conditional mean of the states.
        func condition(on y: Matrix<Double>) throws -> (logDensity: Double, stateMean: [Double]) {
            let observed = y.elements.indices.filter { !y.elements[$0].isNaN }
            var s = Matrix<Double>(rows: observed.count, columns: observed.count)
            for (a, i) in observed.enumerated() { for (b, j) in observed.enumerated() { s[a, b] = observationCovariance[i, j] } }
            let factor = try Cholesky(s)
            let residual = observed.map { y.elements[$0] - observationMean[$0] }
            let solved = factor.solve(residual)
            let quadratic = zip(residual, solved).reduce(0) { $0 + $1.0 * $1.1 }
            let logDensity = -0.5 * (Double(observed.count) * log(2 * Double.pi) + factor.logDeterminant + quadratic)
            let mean = stateMean.indices.map { i in stateMean[i] + observed.indices.reduce(0) { $0 + crossCovariance[i, observed[$1]] * solved[$1] } }
            return (logDensity, mean)
        }
    }

    static func simulated(_ m: LinearDynamicalSystem, length: Int, seed: UInt64) throws -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        return try m.sample(length: length, using: &rng).observations
    }

    @Test(arguments: [LinearDynamicalSystem.ObservationNoise.full, .diagonal])
    func filterAndSmootherEqualTheDenseGaussian(_ noise: LinearDynamicalSystem.ObservationNoise) throws {
        let m = try Self.smallModel(noise: noise)
        var y = try Self.simulated(m, length: 6, seed: 1)
        let joint = DenseJoint(m, steps: 6)
        for missing in [false, true] {
            if missing {
                y[1, 0] = .nan; y[3, 0] = .nan; y[3, 1] = .nan; y[4, 1] = .nan   // one coordinate, a whole row, another coordinate
            }
            let dense = try joint.condition(on: y)
            let smoothing = try m.smooth(y)
            #expect(abs(smoothing.filtering.logLikelihood - dense.logDensity) < 1e-9 * abs(dense.logDensity), "missing \(missing)")
            for t in 0..<6 { for j in 0..<2 {
                #expect(abs(smoothing.means[t, j] - dense.stateMean[t * 2 + j]) < 1e-8, "missing \(missing), step \(t), state \(j)")
            } }
            // The last filtered mean is the last smoothed one.
            #expect(smoothing.filtering.filteredMeans.row(5) == smoothing.means.row(5))
        }
    }

    /// Past the steady state only the means are updated; the answers equal the full recursions.
    @Test func theSteadyStateShortcutChangesNothing() throws {
        let m = try Self.smallModel()
        var y = try Self.simulated(m, length: 3000, seed: 12)
        for i in 1500..<1510 { y[i, 0] = .nan }                // leaves the steady state and finds it again
        for i in 2000..<2003 { y[i, 0] = .nan; y[i, 1] = .nan }
        let fast = try m.smooth(y), slow = try m.smooth(y, steadyState: false)
        #expect(fast.filtering.steady.filter { $0 }.count > 2500)
        #expect(!fast.filtering.steady[1505] && !fast.filtering.steady[2001])
        #expect(abs(fast.filtering.logLikelihood - slow.filtering.logLikelihood) < 1e-9 * abs(slow.filtering.logLikelihood))
        for i in fast.means.elements.indices { #expect(abs(fast.means.elements[i] - slow.means.elements[i]) < 1e-8) }
        for i in fast.covariances.elements.indices { #expect(abs(fast.covariances.elements[i] - slow.covariances.elements[i]) < 1e-9) }
        for i in fast.lagOneCovariances.elements.indices { #expect(abs(fast.lagOneCovariances.elements[i] - slow.lagOneCovariances.elements[i]) < 1e-9) }
    }

    @Test func emNeverDecreasesAndRecoversTheParameters() throws {
        let truth = try Self.smallModel(noise: .diagonal)
        var y = try Self.simulated(truth, length: 3000, seed: 7)
        var rng = Xoshiro256StarStar(seed: 8)
        for i in 0..<y.rows where rng.nextUniform() < 0.1 { y[i, Int(rng.nextUniform() * 2)] = .nan }   // 10% of rows lose one value
        for i in 100..<110 { y[i, 0] = .nan; y[i, 1] = .nan }                                             // and a gap
        var options = StateSpaceFitOptions(observationNoise: .diagonal)
        options.em = EMOptions(maxIterations: 500, tolerance: 1e-9)
        let (model, report) = try LinearDynamicalSystem.fit(y, latent: 2, options: options)
        let history = report.trace.history
        #expect(zip(history, history.dropFirst()).allSatisfy { $1 >= $0 - 1e-9 * abs($0) }, "EM decreased the likelihood")
        #expect(!report.trace.stoppedOnDecrease)
        let trueLogLikelihood = try truth.logLikelihood(of: y, sequences: .single(y.rows))
        #expect(report.logLikelihood >= trueLogLikelihood - 1)
        // States are identified up to a linear map: compare what is invariant.
        func eigenvalues(_ a: Matrix<Double>) -> [Double] {
            let trace = a[0, 0] + a[1, 1], det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
            let disc = trace * trace - 4 * det
            return disc >= 0 ? [(trace - disc.squareRoot()) / 2, (trace + disc.squareRoot()) / 2] : [trace / 2, trace / 2]
        }
        let found = eigenvalues(model.transition), expected = eigenvalues(truth.transition)
        print("LDS recovery: \(report.trace.iterations) iterations, converged \(report.trace.converged), log-likelihood \(report.logLikelihood) (truth \(trueLogLikelihood)); eigenvalues of A \(found) (true \(expected)); R \(model.observationNoise.diagonal) (true [0.4, 0.6]); d \(model.offset)")
        for (f, e) in zip(found, expected) { #expect(abs(f - e) < 0.08) }
        for (f, e) in zip(model.observationNoise.diagonal, [0.4, 0.6]) { #expect(abs(f - e) < 0.15) }
        for (f, e) in zip(model.offset, [2.0, -1.0]) { #expect(abs(f - e) < 0.5) }
    }

    /// The local-level model of the Nile flows (A = C = 1, diffuse level): statsmodels'
    /// UnobservedComponents("local level") reaches log-likelihood −632.54 with observation variance
    /// ≈ 15,078 and level variance ≈ 1,479 (Durbin & Koopman publish 15,099 and 1,469.1).
    @Test func nileLocalLevelReachesStatsmodels() throws {
        let y = try TestData.csv("nile.csv", columns: ["flow"]).values
        let options = StateSpaceFitOptions(initialState: .diffuse, transition: Matrix([[1]]), observation: Matrix([[1]]),
                                           fixed: [.transition, .observation, .offset])
        let (model, report) = try LinearDynamicalSystem.fit(y, latent: 1, options: options)
        print("Nile local level: log-likelihood \(report.logLikelihood), R \(model.observationNoise[0, 0]), Q \(model.stateNoise[0, 0]), iterations \(report.trace.iterations)")
        #expect(report.logLikelihood > -632.54 - 0.01)
        #expect(abs(model.observationNoise[0, 0] - 15_078) / 15_078 < 0.01)
        #expect(abs(model.stateNoise[0, 0] - 1_479) / 1_479 < 0.03)
        #expect(model.parameterCount == 2)
    }

    @Test func forecastsWidenAndSamplesReproduceTheStationaryVariance() throws {
        let m = try Self.smallModel()
        let y = try Self.simulated(m, length: 50, seed: 3)
        let f = try m.forecast(after: y, steps: 30)
        for j in 0..<2 { #expect(f.standardDeviations[29, j] > f.standardDeviations[0, j]) }
        // Far ahead, the forecast is the stationary distribution: mean d (A is stable, so states → 0).
        for j in 0..<2 { #expect(abs(f.means[29, j] - m.offset[j]) < 0.05) }
        // Long samples: each column's variance matches the stationary C Σ Cᵀ + R.
        let long = try Self.simulated(m, length: 200_000, seed: 4)
        let stationary = try m.forecast(after: Matrix(rows: 0, columns: 2), steps: 400).standardDeviations.row(399)
        for j in 0..<2 {
            let column = (0..<long.rows).map { long[$0, j] }
            let mean = column.reduce(0, +) / Double(column.count)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count - 1)
            #expect(abs(variance.squareRoot() - stationary[j]) / stationary[j] < 0.03, "column \(j)")
            #expect(abs(mean - m.offset[j]) < 0.05)
        }
    }
}
