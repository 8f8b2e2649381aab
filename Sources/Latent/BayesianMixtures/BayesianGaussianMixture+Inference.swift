import Foundation

/// What a ``BayesianGaussianMixture`` is fitted to: complete rows, the prior, and what stays
/// constant across sweeps.
public struct BayesianMixtureTrainingData: Sendable {
    public let x: Matrix<Double>
    public let prior: BayesianMixturePrior
    public let covarianceType: CovarianceType
    let mixture: MixtureTrainingData

    init(x: Matrix<Double>, prior: BayesianMixturePrior, covarianceType: CovarianceType, threads: Int = 1) {
        self.x = x
        self.prior = prior
        self.covarianceType = covarianceType
        mixture = MixtureTrainingData(x, covarianceType: covarianceType, regularization: 0, relativeRegularization: 1e-6, threads: threads)
    }
}

extension BayesianGaussianMixture {
    /// The precisions' summaries: `E[log|Λ_k|]` per component and the Cholesky factors of the
    /// `W⁻¹` (full: one per component; tied: one; otherwise none).
    struct PrecisionSummary {
        let expectedLogDeterminants: [Double]
        let factors: [Cholesky]
    }

    func precisionSummary() throws -> PrecisionSummary {
        let k = componentCount, d = dimension, nu = degreesOfFreedom
        switch scaleInverses {
        case .full(let ws):
            let factors = try ws.map { try Cholesky($0) }
            return PrecisionSummary(expectedLogDeterminants: (0..<k).map {
                Wishart.expectedLogDeterminant(dimension: d, degreesOfFreedom: nu[$0], logDetScaleInverse: factors[$0].logDeterminant)
            }, factors: factors)
        case .tied(let w):
            let factor = try Cholesky(w)
            let e = Wishart.expectedLogDeterminant(dimension: d, degreesOfFreedom: nu[0], logDetScaleInverse: factor.logDeterminant)
            return PrecisionSummary(expectedLogDeterminants: [Double](repeating: e, count: k), factors: [factor])
        case .diag(let v):
            return PrecisionSummary(expectedLogDeterminants: (0..<k).map { c in
                (0..<d).reduce(0) { $0 + Wishart.expectedLogDeterminant(dimension: 1, degreesOfFreedom: nu[c], logDetScaleInverse: log(v[c, $1])) }
            }, factors: [])
        case .spherical(let v):
            return PrecisionSummary(expectedLogDeterminants: (0..<k).map {
                Double(d) * Wishart.expectedLogDeterminant(dimension: 1, degreesOfFreedom: nu[$0], logDetScaleInverse: log(v[$0]))
            }, factors: [])
        }
    }

    /// `δᵀ E[Λ_k] δ`.
    func expectedQuadratic(_ delta: [Double], component c: Int, _ summary: PrecisionSummary) -> Double {
        let nu = degreesOfFreedom[c]
        switch scaleInverses {
        case .full, .tied:
            let l = summary.factors[summary.factors.count == 1 ? 0 : c].lower
            return nu * Self.squaredDistance(delta, lower: l)
        case .diag(let v):
            return nu * delta.indices.reduce(0) { $0 + delta[$1] * delta[$1] / v[c, $1] }
        case .spherical(let v):
            return nu * delta.reduce(0) { $0 + $1 * $1 } / v[c]
        }
    }

    /// The E-step as a Gaussian mixture kernel: with covariances `E[Λ_k]⁻¹ = W_k⁻¹/ν_k` and the
    /// log-weights replaced by `E[log π_k] + ½E[log|Λ_k|] − D/(2β_k) + ½ log|W_k⁻¹/ν_k|`, the kernel's
    /// log-densities are `log ρ_nk` (Bishop 10.46) and its log-likelihood is `Σ_n log Σ_k ρ_nk`.
    /// - Complexity: the maximum-likelihood mixture's E-step (GEMM/SYRK in blocks of rows).
    func expectationKernel(shift: [Double]) throws -> MixtureKernel {
        let k = componentCount, d = dimension
        let summary = try precisionSummary()
        let mixture = try GaussianMixture(weights: [Double](repeating: 1 / Double(k), count: k), means: means, covariances: covariances)
        let logDets = mixture.logDeterminants
        let logWeights = expectedLogWeights
        let adjusted = (0..<k).map { c in
            logWeights[c] + 0.5 * summary.expectedLogDeterminants[c] - 0.5 * Double(d) / meanPrecision[c] + 0.5 * logDets[c]
        }
        return MixtureKernel(mixture, shift: shift, logWeights: adjusted)
    }

    /// The responsibilities `q(z_n = k)` of the rows of `x` under the current posterior (`N × K`).
    /// - Precondition: `x` has ``dimension`` columns and no missing values.
    public func responsibilities(_ x: Matrix<Double>) throws -> Matrix<Double> {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        let kernel = try expectationKernel(shift: x.observedColumnMeans)
        return Matrix<Double>(rows: x.rows, columns: componentCount) { out in
            guard let base = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xp in
                kernel.evaluate(data: xp.start, rows: 0..<x.rows, logLikelihoods: nil, responsibilities: base, statistics: nil)
            }
        }
    }

    /// The variational M-step (Bishop 10.58–10.63, and their tied, diagonal and spherical forms)
    /// from responsibility moments centred on `shift`.
    mutating func update(from s: MixtureMoments, shift: [Double]) {
        let k = componentCount, d = dimension
        let p = prior
        let n = s.counts
        if p.weightPrior == .dirichlet {
            weightConcentration = n.map { p.weightConcentration + $0 }
            weightConcentration2 = []
        } else {
            weightConcentration = n.map { 1 + $0 }
            var tail = 0.0
            weightConcentration2 = [Double](repeating: 0, count: k)
            for c in stride(from: k - 1, through: 0, by: -1) {
                weightConcentration2[c] = p.weightConcentration + tail
                tail += n[c]
            }
        }
        // δ_k = x̄_k − m₀ and the shrinkage β₀N_k/(β₀ + N_k) of its outer product.
        var deltas = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
        var shrink = [Double](repeating: 0, count: k)
        for c in 0..<k {
            meanPrecision[c] = p.meanPrecision + n[c]
            shrink[c] = p.meanPrecision * n[c] / (p.meanPrecision + n[c])
            for a in 0..<d {
                let priorMean = p.mean[a] - shift[a]
                deltas[c][a] = s.centeredMeans[c * d + a] - priorMean
                means[c, a] = (p.meanPrecision * priorMean + n[c] * s.centeredMeans[c * d + a]) / meanPrecision[c] + shift[a]
            }
        }
        func addShrunkOuterProducts(_ w: inout Matrix<Double>, components: [Int]) {
            for c in components { for a in 0..<d { for b in 0..<d { w[a, b] += shrink[c] * deltas[c][a] * deltas[c][b] } } }
        }
        let base = p.scaleInverse(for: covarianceType, components: k)
        switch (s.scatter, base) {
        case (.full(let t), .full(let w0)):
            scaleInverses = .full((0..<k).map { c in
                var w = w0[c]
                SmallDense.accumulate(&w, t[c])
                addShrunkOuterProducts(&w, components: [c])
                return SmallDense.symmetrized(w)
            })
            degreesOfFreedom = n.map { p.degreesOfFreedom + $0 }
        case (.tied(let t), .tied(var w)):
            SmallDense.accumulate(&w, t)
            addShrunkOuterProducts(&w, components: Array(0..<k))
            scaleInverses = .tied(SmallDense.symmetrized(w))
            degreesOfFreedom = [Double](repeating: p.degreesOfFreedom + n.reduce(0, +), count: k)
        case (.diag(let t), .diag(var w)):
            for c in 0..<k { for a in 0..<d { w[c, a] += t[c, a] + shrink[c] * deltas[c][a] * deltas[c][a] } }
            scaleInverses = .diag(w)
            degreesOfFreedom = n.map { p.degreesOfFreedom + $0 }
        case (.spherical(let t), .spherical(var w)):
            for c in 0..<k { w[c] += t[c] + shrink[c] * deltas[c].reduce(0) { $0 + $1 * $1 } }
            scaleInverses = .spherical(w)
            degreesOfFreedom = n.map { p.degreesOfFreedom + Double(d) * $0 }
        default:
            preconditionFailure("Moments of a different covariance type")
        }
    }

    /// `KL(q(π) ‖ p(π)) + Σ_k KL(q(μ_k, Λ_k) ‖ p(μ_k, Λ_k))` (the shared precision counted once
    /// when tied): what the evidence lower bound subtracts from `Σ_n log Σ_k ρ_nk`.
    func divergence() throws -> Double {
        let k = componentCount, d = dimension, dd = Double(d)
        let p = prior
        let summary = try precisionSummary()
        var total = 0.0
        // The means: E_q(Λ) KL(𝒩(m_k, (β_kΛ)⁻¹) ‖ 𝒩(m₀, (β₀Λ)⁻¹)).
        for c in 0..<k {
            let beta = meanPrecision[c]
            let delta = (0..<d).map { means[c, $0] - p.mean[$0] }
            total += 0.5 * (dd * p.meanPrecision / beta - dd + dd * log(beta / p.meanPrecision)
                            + p.meanPrecision * expectedQuadratic(delta, component: c, summary))
        }
        // The precisions.
        let nu = degreesOfFreedom, nu0 = p.degreesOfFreedom
        switch (scaleInverses, p.scaleInverse(for: covarianceType, components: k)) {
        case (.full, .full), (.tied, .tied):
            let priorFactor = try Cholesky(p.covariance)
            for (c, factor) in summary.factors.enumerated() {
                let w = factor.inverse
                var trace = 0.0
                for a in 0..<d { for b in 0..<d { trace += p.covariance[a, b] * w[b, a] } }
                total += Wishart.divergence(dimension: d, posterior: (nu[c], factor.logDeterminant),
                                            prior: (nu0, priorFactor.logDeterminant), trace: trace)
            }
        case (.diag(let v), .diag(let v0)):
            for c in 0..<k { for a in 0..<d {
                total += Wishart.divergence(dimension: 1, posterior: (nu[c], log(v[c, a])), prior: (nu0, log(v0[c, a])), trace: v0[c, a] / v[c, a])
            } }
        case (.spherical(let v), .spherical(let v0)):
            for c in 0..<k {
                total += Wishart.divergence(dimension: 1, posterior: (nu[c], log(v[c])), prior: (nu0, log(v0[c])), trace: v0[c] / v[c])
            }
        default:
            preconditionFailure("A prior of a different covariance type")
        }
        // The weights: E[log q(π)] − E[log p(π)] (Bishop 10.73, 10.76), or the sticks' Beta terms.
        let logWeights = expectedLogWeights
        if weightConcentration2.isEmpty {
            let a0 = p.weightConcentration
            let logC0 = lgamma(Double(k) * a0) - Double(k) * lgamma(a0)
            let logC = lgamma(weightConcentration.reduce(0, +)) - weightConcentration.reduce(0) { $0 + lgamma($1) }
            for c in 0..<k { total += (weightConcentration[c] - a0) * logWeights[c] }
            total += logC - logC0
        } else {
            let a0 = p.weightConcentration
            for c in 0..<k {
                let g1 = weightConcentration[c], g2 = weightConcentration2[c]
                let both = SpecialFunctions.digamma(g1 + g2)
                let eLogV = SpecialFunctions.digamma(g1) - both, eLog1mV = SpecialFunctions.digamma(g2) - both
                let logBeta = lgamma(g1) + lgamma(g2) - lgamma(g1 + g2)
                total += -logBeta + (g1 - 1) * eLogV + (g2 - 1) * eLog1mV - log(a0) - (a0 - 1) * eLog1mV
            }
        }
        return total
    }

    /// `‖L⁻¹ v‖²` by forward substitution with the lower-triangular `l`.
    static func squaredDistance(_ v: [Double], lower l: Matrix<Double>) -> Double {
        var z = v, q = 0.0
        for a in 0..<v.count {
            var s = v[a]
            for b in 0..<a { s -= l[a, b] * z[b] }
            z[a] = s / l[a, a]
            q += z[a] * z[a]
        }
        return q
    }

    /// The posterior predictive of component `c`: Student-t with `ν_k + 1 − D` degrees of freedom
    /// and scale `(1 + β_k)/((ν_k + 1 − D) β_k) · W_k⁻¹` (full, tied); a product of univariate t's
    /// with `ν_k` degrees of freedom and scales `(1 + β_k)/(ν_k β_k) · w⁻¹_kj` (diag); a `D`-variate t
    /// with `ν_k` degrees of freedom and scale `(1 + β_k)/(ν_k β_k) · w⁻¹_k I` (spherical).
    enum Predictive {
        case multivariate(dof: Double, factor: Cholesky)
        case independent(dof: Double, scales: [Double])
        case isotropic(dof: Double, scale: Double)
    }

    func predictive(component c: Int) -> Predictive {
        let d = dimension, beta = meanPrecision[c]
        // Full and tied: positive definite by construction (prior plus scatter); checked on load.
        func multivariate(_ w: Matrix<Double>) -> Predictive {
            let nu = degreesOfFreedom[c] + 1 - Double(d)
            return .multivariate(dof: nu, factor: try! Cholesky(((1 + beta) / (nu * beta)) * w))
        }
        switch scaleInverses {
        case .full(let ws):
            return multivariate(ws[c])
        case .tied(let w):
            return multivariate(w)
        case .diag(let v):
            let nu = degreesOfFreedom[c]
            return .independent(dof: nu, scales: v.row(c).map { (1 + beta) / (nu * beta) * $0 })
        case .spherical(let v):
            let nu = degreesOfFreedom[c]
            return .isotropic(dof: nu, scale: (1 + beta) / (nu * beta) * v[c])
        }
    }

    /// log of the posterior predictive density of each row, `log Σ_k E[π_k] St_k(x)`.
    /// - Complexity: `O(N·K·D²)` (full, tied), `O(N·K·D)` otherwise.
    public func logLikelihoods(of x: Matrix<Double>) -> [Double] {
        let c = componentLogPredictives(x)
        return (0..<x.rows).map { i in
            let top = (0..<componentCount).map { c[i, $0] }.max() ?? -.infinity
            guard top.isFinite else { return top }
            return top + log((0..<componentCount).reduce(0) { $0 + exp(c[i, $1] - top) })
        }
    }

    /// `log E[π_k] + log St_k(x)` per row and component (`N × K`).
    public func componentLogPredictives(_ x: Matrix<Double>) -> Matrix<Double> {
        let k = componentCount, d = dimension
        let w = weights
        var out = Matrix<Double>(rows: x.rows, columns: k)
        var diff = [Double](repeating: 0, count: d)
        for c in 0..<k {
            let logWeight = log(w[c])
            switch predictive(component: c) {
            case .multivariate(let nu, let factor):
                for i in 0..<x.rows {
                    for a in 0..<d { diff[a] = x[i, a] - means[c, a] }
                    let q = Self.squaredDistance(diff, lower: factor.lower)
                    out[i, c] = logWeight + Wishart.logStudentT(dimension: d, degreesOfFreedom: nu, logDetScale: factor.logDeterminant, squaredDistance: q)
                }
            case .independent(let nu, let scales):
                for i in 0..<x.rows {
                    var s = logWeight
                    for a in 0..<d {
                        let t = x[i, a] - means[c, a]
                        s += Wishart.logStudentT(dimension: 1, degreesOfFreedom: nu, logDetScale: log(scales[a]), squaredDistance: t * t / scales[a])
                    }
                    out[i, c] = s
                }
            case .isotropic(let nu, let scale):
                for i in 0..<x.rows {
                    var q = 0.0
                    for a in 0..<d { let t = x[i, a] - means[c, a]; q += t * t }
                    out[i, c] = logWeight + Wishart.logStudentT(dimension: d, degreesOfFreedom: nu, logDetScale: Double(d) * log(scale), squaredDistance: q / scale)
                }
            }
        }
        return out
    }

    /// Posterior predictive cluster probabilities (`N × K`).
    public func predictiveResponsibilities(_ x: Matrix<Double>) -> Matrix<Double> {
        var c = componentLogPredictives(x)
        for i in 0..<c.rows {
            let top = (0..<componentCount).map { c[i, $0] }.max() ?? 0
            var s = 0.0
            for k in 0..<componentCount { c[i, k] = exp(c[i, k] - top); s += c[i, k] }
            for k in 0..<componentCount { c[i, k] /= s }
        }
        return c
    }

    /// The most probable component of each row under the posterior predictive.
    public func predict(_ x: Matrix<Double>) -> [Int] {
        let r = predictiveResponsibilities(x)
        return (0..<r.rows).map { i in (0..<componentCount).max { r[i, $0] < r[i, $1] } ?? 0 }
    }

    /// Draws `count` points from the posterior predictive, with the component of each.
    public func sample(count: Int, using rng: inout Xoshiro256StarStar) -> (Matrix<Double>, [Int]) {
        let d = dimension
        let w = weights
        let predictives = (0..<componentCount).map { predictive(component: $0) }
        var points = Matrix<Double>(rows: count, columns: d)
        var labels = [Int](repeating: 0, count: count)
        // A t draw: a normal draw divided by √(χ²_ν/ν).
        func stretch(_ nu: Double) -> Double { (nu / (2 * rng.nextGamma(shape: nu / 2))).squareRoot() }
        for i in 0..<count {
            let c = rng.nextCategorical(w)
            labels[i] = c
            switch predictives[c] {
            case .multivariate(let nu, let factor):
                let s = stretch(nu)
                let z = (0..<d).map { _ in rng.nextNormal() }
                for a in 0..<d {
                    var v = 0.0
                    for b in 0...a { v += factor.lower[a, b] * z[b] }
                    points[i, a] = means[c, a] + s * v
                }
            case .independent(let nu, let scales):
                for a in 0..<d { points[i, a] = means[c, a] + stretch(nu) * scales[a].squareRoot() * rng.nextNormal() }
            case .isotropic(let nu, let scale):
                let s = stretch(nu) * scale.squareRoot()
                for a in 0..<d { points[i, a] = means[c, a] + s * rng.nextNormal() }
            }
        }
        return (points, labels)
    }
}

extension BayesianGaussianMixture: DegeneracyChecking {
    public typealias TrainingData = BayesianMixtureTrainingData

    /// One coordinate-ascent sweep: responsibilities from the current posterior, then the posterior
    /// from them. Returns the lower bound of the current posterior with those responsibilities
    /// (the bound never decreases from one sweep to the next).
    public mutating func expectationMaximizationStep(on data: BayesianMixtureTrainingData) throws -> Double {
        precondition(data.covarianceType == covarianceType, "Training data prepared for \(data.covarianceType.rawValue) covariances")
        let kernel = try expectationKernel(shift: data.mixture.shift)
        let stats = GaussianMixture.statistics(kernel, data.mixture)
        let bound = stats[kernel.statisticsCount - 1] - (try divergence())
        update(from: MixtureMoments(stats, components: componentCount, type: covarianceType, data: data.mixture,
                                    referenceMeans: kernel.secondMomentReference), shift: data.mixture.shift)
        return bound
    }

    /// The evidence lower bound `E_q[log p(X, Z, π, μ, Λ)] − E_q[log q(Z, π, μ, Λ)]` of this
    /// posterior on the rows of `x`, with the responsibilities it implies: every constant included,
    /// comparable across numbers of components and covariance types.
    public func lowerBound(on x: Matrix<Double>) throws -> Double {
        try totalLogLikelihood(of: BayesianMixtureTrainingData(x: x, prior: prior, covarianceType: covarianceType))
    }

    /// One coordinate-ascent sweep on the rows of `x` (responsibilities, then the posterior);
    /// returns the bound before the update.
    public mutating func sweep(on x: Matrix<Double>) throws -> Double {
        try expectationMaximizationStep(on: BayesianMixtureTrainingData(x: x, prior: prior, covarianceType: covarianceType))
    }

    /// The evidence lower bound (see ``lowerBound(on:)``).
    public func totalLogLikelihood(of data: BayesianMixtureTrainingData) throws -> Double {
        let kernel = try expectationKernel(shift: data.mixture.shift)
        var ll = 0.0
        data.x.withUnsafeBufferPointer { xp in
            var rows = [Double](repeating: 0, count: data.x.rows)
            rows.withUnsafeMutableBufferPointer { out in
                kernel.evaluate(data: xp.start, rows: 0..<data.x.rows, logLikelihoods: out.start, responsibilities: nil, statistics: nil)
            }
            ll = rows.reduce(0, +)
        }
        return ll - (try divergence())
    }

    /// None: the prior keeps every component's covariance proper, and empty components are the
    /// point of the method.
    public func degeneracies(on data: BayesianMixtureTrainingData) -> [Degeneracy] { [] }
}
