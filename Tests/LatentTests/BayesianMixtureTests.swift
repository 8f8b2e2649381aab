import Foundation
import Testing
import Latent
import TestSupport

/// Variational Bayes for Gaussian mixtures: a monotone bound that equals its definition, emptied
/// components, and scikit-learn's answers.
struct BayesianMixtureTests {
    /// A known 4-component mixture in 2-D: 600 points.
    static func fourClusters(seed: UInt64) -> (Matrix<Double>, [Int]) {
        var rng = Xoshiro256StarStar(seed: seed)
        let centres: [[Double]] = [[0, 0], [6, 0], [0, 6], [6, 6]]
        var x = Matrix<Double>(rows: 600, columns: 2)
        var labels: [Int] = []
        for i in 0..<600 {
            let c = i % 4
            labels.append(c)
            x[i, 0] = centres[c][0] + rng.nextNormal()
            x[i, 1] = centres[c][1] + 0.7 * rng.nextNormal() + 0.3 * x[i, 0] - 0.3 * centres[c][0]
        }
        return (x, labels)
    }

    static func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
        func choose2(_ n: Int) -> Double { Double(n * (n - 1)) / 2 }
        var table: [Int: [Int: Int]] = [:]
        for (u, v) in zip(a, b) { table[u, default: [:]][v, default: 0] += 1 }
        let index = table.values.flatMap(\.values).reduce(0) { $0 + choose2($1) }
        let rows = table.values.map { $0.values.reduce(0, +) }.reduce(0) { $0 + choose2($1) }
        var columnCounts: [Int: Int] = [:]
        for v in b { columnCounts[v, default: 0] += 1 }
        let columns = columnCounts.values.reduce(0) { $0 + choose2($1) }
        let expected = rows * columns / choose2(a.count)
        return (index - expected) / (0.5 * (rows + columns) - expected)
    }

    @Test(arguments: [BayesianMixturePrior.WeightPrior.dirichletProcess, .dirichlet])
    func theBoundNeverDecreasesAndSuperfluousComponentsEmpty(_ weightPrior: BayesianMixturePrior.WeightPrior) throws {
        let (x, labels) = Self.fourClusters(seed: 11)
        var prior = BayesianMixturePrior.defaults(for: x, components: 10)
        prior.weightPrior = weightPrior
        for type in CovarianceType.allCases {
            let (model, report) = try BayesianGaussianMixture.fit(x, components: 10, prior: prior, options: BayesianMixtureFitOptions(covarianceType: type))
            let history = report.trace.history
            #expect(zip(history, history.dropFirst()).allSatisfy { $1 >= $0 - 1e-9 * abs($0) }, "\(type): the bound decreased")
            #expect(!report.trace.stoppedOnDecrease)
            print("VB \(weightPrior) \(type): bound \(report.trace.logLikelihood), \(model.effectiveComponents) effective components, weights \(model.weights.map { (1000 * $0).rounded() / 1000 })")
            // The clusters are tilted ellipses: every type finds four of them (a spherical or diagonal
            // fit cannot tilt them, but the clusters are far enough apart).
            #expect(model.effectiveComponents == 4, "\(type)")
            let ari = Self.adjustedRandIndex(model.predict(x), labels)
            #expect(ari >= 0.9, "\(type): adjusted Rand index \(ari)")
        }
    }

    @Test(arguments: CovarianceType.allCases)
    func theBoundEqualsAMonteCarloEstimateOfItsDefinition(_ type: CovarianceType) throws {
        // 12 points, 2 components: E_q[log p(x, z, π, μ, Λ) − log q(z, π, μ, Λ)] by sampling q.
        let (all, _) = Self.fourClusters(seed: 3)
        let x = all.selectingRows([0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21])
        for weightPrior in [BayesianMixturePrior.WeightPrior.dirichlet, .dirichletProcess] {
            var prior = BayesianMixturePrior.defaults(for: x, components: 2)
            prior.weightPrior = weightPrior
            var options = BayesianMixtureFitOptions(covarianceType: type)
            options.em = EMOptions(maxIterations: 3, tolerance: 0)   // any posterior will do: not the optimum
            let (model, report) = try BayesianGaussianMixture.fit(x, components: 2, prior: prior, options: options)
            let bound = report.trace.logLikelihood
            #expect(abs(try model.lowerBound(on: x) - bound) < 1e-9 * abs(bound))
            let r = try model.responsibilities(x)
            var rng = Xoshiro256StarStar(seed: 5)
            var total = 0.0, totalSquares = 0.0
            let draws = 100_000
            for _ in 0..<draws {
                let v = Self.sampleJoint(model, x: x, responsibilities: r, using: &rng)
                total += v; totalSquares += v * v
            }
            let mean = total / Double(draws)
            let se = ((totalSquares / Double(draws) - mean * mean) / Double(draws)).squareRoot()
            print("VB bound \(type) \(weightPrior): \(bound), Monte Carlo \(mean) ± \(se)")
            #expect(abs(mean - bound) < 4 * se + 1e-6, "\(type) \(weightPrior): bound \(bound), Monte Carlo \(mean) ± \(se)")
        }
    }

    /// Draws the precisions from `q` and returns them as `D × D` matrices with
    /// `log p(Λ) − log q(Λ)` (a shared precision drawn and counted once when tied; diagonal and
    /// spherical precisions are products of Gammas, one-dimensional Wisharts).
    static func samplePrecisions(_ m: BayesianGaussianMixture, using rng: inout Xoshiro256StarStar) -> ([Matrix<Double>], Double) {
        let k = m.componentCount, d = m.dimension, p = m.prior
        let nu = m.degreesOfFreedom, nu0 = p.degreesOfFreedom
        func gamma(_ dof: Double, _ scaleInverse: Double) -> Double {
            sampleWishart(scale: Matrix([[1 / scaleInverse]]), dof: dof, using: &rng)[0, 0]
        }
        func logGamma(_ lambda: Double, _ scaleInverse: Double, _ dof: Double) -> Double {
            logWishart(Matrix([[lambda]]), scaleInverse: Matrix([[scaleInverse]]), dof: dof)
        }
        switch (m.scaleInverses, p.scaleInverse(for: m.covarianceType, components: k)) {
        case (.full(let ws), .full):
            var value = 0.0
            let lambdas = (0..<k).map { c -> Matrix<Double> in
                let lambda = sampleWishart(scale: try! Cholesky(ws[c]).inverse, dof: nu[c], using: &rng)
                value += logWishart(lambda, scaleInverse: p.covariance, dof: nu0) - logWishart(lambda, scaleInverse: ws[c], dof: nu[c])
                return lambda
            }
            return (lambdas, value)
        case (.tied(let w), .tied):
            let lambda = sampleWishart(scale: try! Cholesky(w).inverse, dof: nu[0], using: &rng)
            let value = logWishart(lambda, scaleInverse: p.covariance, dof: nu0) - logWishart(lambda, scaleInverse: w, dof: nu[0])
            return ([Matrix<Double>](repeating: lambda, count: k), value)
        case (.diag(let v), .diag(let v0)):
            var value = 0.0
            let lambdas = (0..<k).map { c -> Matrix<Double> in
                Matrix.diagonal((0..<d).map { j in
                    let l = gamma(nu[c], v[c, j])
                    value += logGamma(l, v0[c, j], nu0) - logGamma(l, v[c, j], nu[c])
                    return l
                })
            }
            return (lambdas, value)
        case (.spherical(let v), .spherical(let v0)):
            var value = 0.0
            let lambdas = (0..<k).map { c -> Matrix<Double> in
                let l = gamma(nu[c], v[c])
                value += logGamma(l, v0[c], nu0) - logGamma(l, v[c], nu[c])
                return Matrix.diagonal([Double](repeating: l, count: d))
            }
            return (lambdas, value)
        default:
            fatalError("posterior and prior of different types")
        }
    }

    /// One draw of `log p(x, z, θ) − log q(z, θ)` with `θ ~ q`, `z ~ q(z)`.
    static func sampleJoint(_ m: BayesianGaussianMixture, x: Matrix<Double>, responsibilities r: Matrix<Double>,
                            using rng: inout Xoshiro256StarStar) -> Double {
        let k = m.componentCount, d = m.dimension, p = m.prior
        var value = 0.0
        // Weights.
        var logPi = [Double](repeating: 0, count: k)
        if m.weightConcentration2.isEmpty {
            let pi = rng.nextDirichlet(m.weightConcentration)
            logPi = pi.map { log($0) }
            value += logDirichlet(pi, [Double](repeating: p.weightConcentration, count: k)) - logDirichlet(pi, m.weightConcentration)
        } else {
            var rest = 0.0
            for c in 0..<k {
                let a = rng.nextGamma(shape: m.weightConcentration[c]), b = rng.nextGamma(shape: m.weightConcentration2[c])
                let v = a / (a + b)
                logPi[c] = log(v) + rest
                rest += log1p(-v)
                value += logBeta(v, 1, p.weightConcentration) - logBeta(v, m.weightConcentration[c], m.weightConcentration2[c])
            }
        }
        // Precisions, then means.
        let (lambdas, precisionTerms) = samplePrecisions(m, using: &rng)
        value += precisionTerms
        var mus: [[Double]] = []
        for c in 0..<k {
            let lambda = lambdas[c]
            let covariance = try! Cholesky((m.meanPrecision[c]) * lambda).inverse
            let l = try! Cholesky(covariance).lower
            let z = (0..<d).map { _ in rng.nextNormal() }
            let mu = (0..<d).map { a in m.means[c, a] + (0...a).reduce(0) { $0 + l[a, $1] * z[$1] } }
            mus.append(mu)
            value += logNormal(mu, mean: p.mean, precision: p.meanPrecision * lambda)
            value -= logNormal(mu, mean: m.means.row(c), precision: m.meanPrecision[c] * lambda)
        }
        // Assignments and data.
        for i in 0..<x.rows {
            let c = rng.nextCategorical(r.row(i))
            value += logPi[c] + logNormal(x.row(i), mean: mus[c], precision: lambdas[c]) - log(r[i, c])
        }
        return value
    }

    static func logNormal(_ x: [Double], mean: [Double], precision: Matrix<Double>) -> Double {
        let d = x.count
        let logDet = try! Cholesky(precision).logDeterminant
        var q = 0.0
        for a in 0..<d { for b in 0..<d { q += (x[a] - mean[a]) * precision[a, b] * (x[b] - mean[b]) } }
        return -0.5 * Double(d) * log(2 * Double.pi) + 0.5 * logDet - 0.5 * q
    }

    static func logWishart(_ lambda: Matrix<Double>, scaleInverse: Matrix<Double>, dof nu: Double) -> Double {
        let d = lambda.rows, dd = Double(d)
        let logDetW = -(try! Cholesky(scaleInverse).logDeterminant)
        var trace = 0.0
        for a in 0..<d { for b in 0..<d { trace += scaleInverse[a, b] * lambda[b, a] } }
        let logB = -0.5 * nu * logDetW - 0.5 * nu * dd * log(2) - SpecialFunctions.logMultivariateGamma(nu / 2, dimension: d)
        return logB + 0.5 * (nu - dd - 1) * (try! Cholesky(lambda).logDeterminant) - 0.5 * trace
    }

    /// Bartlett: `Λ = L A Aᵀ Lᵀ` with `W = L Lᵀ`, `A` lower triangular, `A_ii² ~ χ²(ν − i + 1)`, `A_ij ~ 𝒩(0, 1)`.
    static func sampleWishart(scale w: Matrix<Double>, dof nu: Double, using rng: inout Xoshiro256StarStar) -> Matrix<Double> {
        let d = w.rows
        let l = try! Cholesky(w).lower
        var a = Matrix<Double>(rows: d, columns: d)
        for i in 0..<d {
            a[i, i] = (2 * rng.nextGamma(shape: (nu - Double(i)) / 2)).squareRoot()
            for j in 0..<i { a[i, j] = rng.nextNormal() }
        }
        let la = l.multiplied(by: a)
        return la.multiplied(by: la, transposeOther: true)
    }

    static func logDirichlet(_ p: [Double], _ alpha: [Double]) -> Double {
        lgamma(alpha.reduce(0, +)) - alpha.reduce(0) { $0 + lgamma($1) } + zip(p, alpha).reduce(0) { $0 + ($1.1 - 1) * log($1.0) }
    }

    static func logBeta(_ v: Double, _ a: Double, _ b: Double) -> Double {
        lgamma(a + b) - lgamma(a) - lgamma(b) + (a - 1) * log(v) + (b - 1) * log1p(-v)
    }

    /// scikit-learn's best of 30 starts (Data/reference/bayesian-mixtures.json, written by
    /// bench/reference/bayesian_mixtures.py). Latent's default fit reaches at least the exact bound
    /// of scikit-learn's answer, and continuing Latent's updates from scikit-learn's posterior stays
    /// there (weights and means within 1e-4): the two implement the same fixed point. Measured: the
    /// default fit's bound is at least scikit-learn's in 5 of the 6 entries (iris: 7–9 nats higher,
    /// scikit-learn's own choice among its starts goes by a bound with terms left out); faithful
    /// K = 3 with a Dirichlet process sits 0.59 nats lower, in the other of two nearby fixed points
    /// (three restarts did not change that).
    @Test func scikitLearnsAnswersAreFixedPointsAndDefaultFitsReachTheirBound() throws {
        let url = TestData.dataDirectory.appendingPathComponent("reference/bayesian-mixtures.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let entries = try #require(document["entries"] as? [[String: Any]])
        #expect(entries.count == 6)
        var reached = 0
        for entry in entries {
            let file = entry["data"] as! String, k = entry["components"] as! Int
            let x = try TestData.csv(file).values
            var prior = BayesianMixturePrior.defaults(for: x, components: k)
            prior.weightPrior = BayesianMixturePrior.WeightPrior(rawValue: entry["weightPrior"] as! String)!
            let p = entry["posterior"] as! [String: Any]
            var anchor = try BayesianGaussianMixture(
                prior: prior, weightConcentration: p["weightConcentration"] as! [Double], weightConcentration2: p["weightConcentration2"] as! [Double],
                meanPrecision: p["meanPrecision"] as! [Double], means: Matrix(p["means"] as! [[Double]]),
                degreesOfFreedom: p["degreesOfFreedom"] as! [Double], scaleInverses: .full((p["scaleInverses"] as! [[[Double]]]).map { Matrix($0) }))
            let anchorBound = try anchor.lowerBound(on: x)
            let (model, report) = try BayesianGaussianMixture.fit(x, components: k, prior: prior)
            print("VB \(file) K=\(k) \(prior.weightPrior): Latent bound \(report.trace.logLikelihood), at scikit-learn's answer \(anchorBound); weights \(model.weights.sorted()) vs \((entry["weights"] as! [Double]).sorted())")
            if report.trace.logLikelihood >= anchorBound - 1e-6 * abs(anchorBound) { reached += 1 }
            for _ in 0..<200 { _ = try anchor.sweep(on: x) }
            let order = (0..<k).sorted { anchor.means[$0, 0] < anchor.means[$1, 0] }
            let weights = entry["weights"] as! [Double], means = entry["means"] as! [[Double]]
            for (a, c) in order.enumerated() {
                #expect(abs(anchor.weights[c] - weights[a]) < 1e-4, "\(file) K=\(k) \(prior.weightPrior): weight \(anchor.weights[c]) vs \(weights[a])")
                for j in 0..<x.columns {
                    #expect(abs(anchor.means[c, j] - means[a][j]) < 1e-4 * max(1, abs(means[a][j])), "\(file) K=\(k) \(prior.weightPrior): mean")
                }
            }
        }
        #expect(reached >= 5, "the default fit reached scikit-learn's bound in \(reached) of 6")
    }
}
