import Foundation
import Testing
import Latent
import TestSupport

/// Hidden Markov models whose states emit from Gaussian mixtures (hmmlearn's GMMHMM).
@Suite struct GaussianMixtureEmissionTests {
    /// A random emission of `k` states × `m` components in `d` dimensions, with the per-state
    /// mixtures it should equal.
    static func randomEmission(states k: Int, components m: Int, dimension d: Int, type: CovarianceType,
                               seed: UInt64) throws -> (GaussianMixtureEmission, [GaussianMixture]) {
        var rng = Xoshiro256StarStar(seed: seed)
        let weights = Matrix((0..<k).map { _ in rng.nextDirichlet([Double](repeating: 2, count: m)) })
        let means = Matrix<Double>(rows: k * m, columns: d, storage: (0..<(k * m * d)).map { _ in 3 * rng.nextNormal() })
        func covariance() -> Matrix<Double> {
            let a = Matrix<Double>(rows: d, columns: d, storage: (0..<(d * d)).map { _ in rng.nextNormal() })
            var s = a.gram
            for j in 0..<d { s[j, j] += 0.5 }
            return s
        }
        let covariances: MixtureCovariances
        switch type {
        case .full: covariances = .full((0..<(k * m)).map { _ in covariance() })
        case .diag: covariances = .diag(Matrix(rows: k * m, columns: d, storage: (0..<(k * m * d)).map { _ in 0.3 + rng.nextUniform() }))
        default: covariances = .spherical((0..<(k * m)).map { _ in 0.3 + rng.nextUniform() })
        }
        let emission = try GaussianMixtureEmission(weights: weights, means: means, covariances: covariances)
        let perState = try (0..<k).map { s -> GaussianMixture in
            let rows = Array(s * m ..< (s + 1) * m)
            let own: MixtureCovariances
            switch covariances {
            case .full(let all): own = .full(rows.map { all[$0] })
            case .diag(let v): own = .diag(v.selectingRows(rows))
            case .spherical(let v): own = .spherical(rows.map { v[$0] })
            case .tied: fatalError("not drawn")
            }
            return try GaussianMixture(weights: weights.row(s), means: means.selectingRows(rows), covariances: own)
        }
        return (emission, perState)
    }

    @Test func eachStateScoresAsItsOwnMixture() throws {
        for (seed, type) in [(1, CovarianceType.full), (2, .diag), (3, .spherical)] as [(UInt64, CovarianceType)] {
            let (emission, perState) = try Self.randomEmission(states: 3, components: 2, dimension: 3, type: type, seed: seed)
            var rng = Xoshiro256StarStar(seed: 40 + seed)
            let x = Matrix<Double>(rows: 50, columns: 3, storage: (0..<150).map { _ in 4 * rng.nextNormal() })
            let logB = emission.logLikelihoods(of: x, threads: 2)
            for (s, mixture) in perState.enumerated() {
                let expected = mixture.logLikelihoods(of: x, threads: 1)
                for t in 0..<x.rows { #expect(abs(logB[t, s] - expected[t]) < 1e-10 * max(1, abs(expected[t]))) }
            }
            #expect(emission.parameterCount == 3 * 1 + perState.reduce(0) { $0 + $1.parameterCount - 1 })
        }
    }

    /// With one component per state the model is the Gaussian HMM: Baum-Welch from the same start
    /// follows the same likelihood history.
    @Test func oneComponentPerStateIsTheGaussianHMM() throws {
        let x = try TestData.csv("faithful.csv").values
        for type in [CovarianceType.full, .diag, .spherical] {
            let gaussianStart = try HiddenMarkovModel<GaussianEmission>.start(means: Matrix([[2.0, 55], [4.5, 80]]), data: x, covarianceType: type)
            let states = gaussianStart.emission.states
            let mixtureStart = try HiddenMarkovModel(startProbabilities: gaussianStart.startProbabilities, transitions: gaussianStart.transitions,
                                                     emission: GaussianMixtureEmission(weights: Matrix(rows: 2, columns: 1, repeating: 1),
                                                                                       means: states.means, covariances: states.covariances))
            var gaussianOptions = HMMFitOptions<GaussianEmission>(covarianceType: type, warmStart: gaussianStart)
            gaussianOptions.em = EMOptions(maxIterations: 40, tolerance: 0)
            var mixtureOptions = HMMFitOptions<GaussianMixtureEmission>(covarianceType: type, emissionSettings: .init(componentsPerState: 1),
                                                                        warmStart: mixtureStart)
            mixtureOptions.em = gaussianOptions.em
            let a = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 2, options: gaussianOptions).report.trace.history
            let b = try HiddenMarkovModel<GaussianMixtureEmission>.fit(x, states: 2, options: mixtureOptions).report.trace.history
            #expect(a.count == b.count && a.count > 10)
            for (u, v) in zip(a, b) { #expect(abs(u - v) < 1e-9 * abs(u), "\(type): \(u) against \(v)") }
        }
    }

    /// Baum-Welch never lowers the likelihood, and the default fit leaves no degenerate component.
    @Test func baumWelchNeverDecreasesTheLikelihood() throws {
        let x = try TestData.csv("geyser.csv").values
        for type in [CovarianceType.full, .diag, .spherical] {
            let (model, report) = try HiddenMarkovModel<GaussianMixtureEmission>.fit(x, states: 2, options: HMMFitOptions(covarianceType: type, seed: 3))
            #expect(report.degeneracies.isEmpty)
            let h = report.trace.history
            for i in 1..<h.count { #expect(h[i] >= h[i - 1] - 1e-9 * abs(h[i - 1]), "\(type): iteration \(i) fell from \(h[i - 1]) to \(h[i])") }
            #expect(abs(model.logLikelihood(of: x) - report.logLikelihood) < 1e-8 * abs(report.logLikelihood))
        }
    }

    /// Data drawn from a known model: the fit's likelihood is at least the truth's (it is the
    /// maximum) and not much more (twice the gain is χ² with 13 degrees of freedom), and the
    /// chain and the mixtures come back.
    @Test func samplesReproduceTheParameters() throws {
        let truth = try HiddenMarkovModel(
            startProbabilities: [0.5, 0.5], transitions: Matrix([[0.95, 0.05], [0.1, 0.9]]),
            emission: GaussianMixtureEmission(weights: Matrix([[0.3, 0.7], [0.5, 0.5]]), means: Matrix([[-4.0], [-1], [2], [5]]),
                                              covariances: .diag(Matrix([[0.25], [0.5], [0.4], [0.6]]))))
        var rng = Xoshiro256StarStar(seed: 11)
        let x = truth.sample(length: 20_000, using: &rng).observations
        var options = HMMFitOptions<GaussianMixtureEmission>(covarianceType: .diag, seed: 5)
        options.restarts = 4
        let (fitted, report) = try HiddenMarkovModel<GaussianMixtureEmission>.fit(x, states: 2, options: options)
        let trueLogLikelihood = truth.logLikelihood(of: x)
        #expect(report.logLikelihood >= trueLogLikelihood - 1e-6 * abs(trueLogLikelihood))
        #expect(report.logLikelihood - trueLogLikelihood < 20, "gain \(report.logLikelihood - trueLogLikelihood)")
        // Match states by their mixture's mean, components within a state by their means.
        let e = fitted.emission
        let stateMean = (0..<2).map { s in (0..<2).reduce(0.0) { $0 + e.stateWeights[s, $1] * e.components.means[2 * s + $1, 0] } }
        let order = stateMean[0] < stateMean[1] ? [0, 1] : [1, 0]
        for (trueState, s) in order.enumerated() {
            #expect(abs(fitted.transitions[s, s] - truth.transitions[trueState, trueState]) < 0.02)
            let components = (0..<2).sorted { e.components.means[2 * s + $0, 0] < e.components.means[2 * s + $1, 0] }
            for (j, c) in components.enumerated() {
                #expect(abs(e.components.means[2 * s + c, 0] - truth.emission.components.means[2 * trueState + j, 0]) < 0.1)
                #expect(abs(e.stateWeights[s, c] - truth.emission.stateWeights[trueState, j]) < 0.05)
            }
        }
    }

    @Test func modelFilesKeepTheMixtures() throws {
        let (emission, _) = try Self.randomEmission(states: 2, components: 3, dimension: 2, type: .full, seed: 9)
        let model = try HiddenMarkovModel(startProbabilities: [0.4, 0.6], transitions: Matrix([[0.9, 0.1], [0.2, 0.8]]), emission: emission)
        let path = TestData.temporaryDirectory().appendingPathComponent("gmmhmm.json").path
        try ModelFile(model: .hiddenMarkov(.gaussianMixture(model)), columns: ["a", "b"]).write(to: path)
        guard case .hiddenMarkov(.gaussianMixture(let back)) = try ModelFile.read(path: path).model else {
            Issue.record("the file did not come back as a Gaussian-mixture HMM")
            return
        }
        #expect(back.emission.componentsPerState == 3)
        var rng = Xoshiro256StarStar(seed: 1)
        let x = model.sample(length: 30, using: &rng).observations
        #expect(abs(back.logLikelihood(of: x) - model.logLikelihood(of: x)) < 1e-9 * abs(model.logLikelihood(of: x)))
    }

    @Test func tiedCovariancesAreRefused() throws {
        let x = try TestData.csv("faithful.csv").values
        #expect(throws: ModelError.self) {
            try HiddenMarkovModel<GaussianMixtureEmission>.fit(x, states: 2, options: HMMFitOptions(covarianceType: .tied))
        }
    }
}
