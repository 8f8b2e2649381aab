import Foundation
import Testing
import Latent
import TestSupport

@Suite struct HiddenMarkovModelTests {
    static func randomDistribution(_ n: Int, _ rng: inout Xoshiro256StarStar) -> [Double] {
        rng.nextDirichlet([Double](repeating: 1, count: n))
    }

    static func randomCategorical(states k: Int, symbols m: Int, seed: UInt64) throws -> HiddenMarkovModel<CategoricalEmission> {
        var rng = Xoshiro256StarStar(seed: seed)
        let a = Matrix((0..<k).map { _ in randomDistribution(k, &rng) })
        let b = Matrix((0..<k).map { _ in randomDistribution(m, &rng) })
        return try HiddenMarkovModel(startProbabilities: randomDistribution(k, &rng), transitions: a,
                                     emission: CategoricalEmission(probabilities: b))
    }

    /// Every state path of a short sequence, with its joint log-probability.
    static func enumerate<E>(_ model: HiddenMarkovModel<E>, _ x: Matrix<Double>) -> [([Int], Double)] {
        let k = model.stateCount, t = x.rows
        let logB = model.emission.logLikelihoods(of: x, threads: 1)
        var out: [([Int], Double)] = []
        for code in 0..<Int(pow(Double(k), Double(t))) {
            var path: [Int] = [], c = code
            for _ in 0..<t { path.append(c % k); c /= k }
            var lp = log(model.startProbabilities[path[0]]) + logB[0, path[0]]
            for s in 1..<t { lp += log(model.transitions[path[s - 1], path[s]]) + logB[s, path[s]] }
            out.append((path, lp))
        }
        return out
    }

    @Test func forwardBackwardAndViterbiEqualBruteForceEnumeration() throws {
        for seed in 0..<12 as Range<UInt64> {
            let k = 2 + Int(seed % 2), t = 3 + Int(seed % 5)
            var rng = Xoshiro256StarStar(seed: 100 + seed)
            let catModel = try Self.randomCategorical(states: k, symbols: 3, seed: seed)
            let xc = Matrix(rows: t, columns: 1, storage: (0..<t).map { _ in Double(rng.nextInt(below: 3)) })
            let gaussModel = try HiddenMarkovModel(
                startProbabilities: catModel.startProbabilities, transitions: catModel.transitions,
                emission: GaussianEmission(means: Matrix(rows: k, columns: 2, storage: (0..<(2 * k)).map { _ in rng.nextNormal() * 2 }),
                                           covariances: .diag(Matrix(rows: k, columns: 2, storage: (0..<(2 * k)).map { _ in 0.5 + rng.nextUniform() }))))
            let xg = Matrix(rows: t, columns: 2, storage: (0..<(2 * t)).map { _ in rng.nextNormal() * 2 })
            try check(catModel, xc)
            try check(gaussModel, xg)
        }

        func check<E>(_ model: HiddenMarkovModel<E>, _ x: Matrix<Double>) throws {
            let paths = Self.enumerate(model, x)
            let total = VectorMath.logSumExp(paths.map(\.1))
            #expect(abs(model.logLikelihood(of: x) - total) < 1e-10 * max(1, abs(total)))
            let gamma = model.posteriors(of: x)
            for s in 0..<x.rows {
                for state in 0..<model.stateCount {
                    let p = paths.filter { $0.0[s] == state }.reduce(0.0) { $0 + exp($1.1 - total) }
                    #expect(abs(gamma[s, state] - p) < 1e-10)
                }
            }
            let best = paths.max { $0.1 < $1.1 }!
            let v = model.viterbi(x)
            // The Viterbi path is a most probable path (ties allowed) and its score is that path's.
            let scoreOfPath = paths.first { $0.0 == v.states }!.1
            #expect(abs(scoreOfPath - best.1) < 1e-10 * max(1, abs(best.1)))
            #expect(abs(v.logProbability - best.1) < 1e-10 * max(1, abs(best.1)))
        }
    }

    @Test func expectedTransitionsEqualBruteForceOnEveryVectorPath() throws {
        // K = 2…4 run on 4-lane vectors, 5…8 on 8-lane vectors, 9 on two 8-lane vectors. One
        // Baum-Welch step with the start and emissions held fixed sets A_ij ∝ Σ_t ξ_t(i, j).
        for k in [2, 3, 4, 5, 8, 9] {
            var rng = Xoshiro256StarStar(seed: 500 + UInt64(k))
            let model = try Self.randomCategorical(states: k, symbols: 3, seed: 40 + UInt64(k))
            // Three sequences of four steps (a fit needs at least K rows).
            let t = 4, sequences = (0..<3).map { ($0 * t)..<(($0 + 1) * t) }
            let x = Matrix(rows: 3 * t, columns: 1, storage: (0..<(3 * t)).map { _ in Double(rng.nextInt(below: 3)) })
            var expected = Matrix<Double>(rows: k, columns: k)
            for range in sequences {
                let paths = Self.enumerate(model, Matrix(rows: t, columns: 1, storage: Array(x.elements[range])))
                let total = VectorMath.logSumExp(paths.map(\.1))
                for (path, lp) in paths {
                    for s in 1..<t { expected[path[s - 1], path[s]] += exp(lp - total) }
                }
            }
            var options = HMMFitOptions<CategoricalEmission>()
            options.warmStart = model
            options.fixed = [.start, .emissions]
            options.em = EMOptions(maxIterations: 1, tolerance: 0)
            let fitted = try HiddenMarkovModel<CategoricalEmission>.fit(x, sequences: sequences, states: k, options: options).model
            for i in 0..<k {
                let row = expected.row(i), visits = row.reduce(0, +)
                for j in 0..<k {
                    let want = visits > 0 ? row[j] / visits : model.transitions[i, j]
                    #expect(abs(fitted.transitions[i, j] - want) < 1e-9, "K = \(k), A[\(i), \(j)]")
                }
            }
        }
    }

    @Test func posteriorsDoNotDependOnTheThreadCount() throws {
        for k in [4, 6] {
            let model = try Self.randomCategorical(states: k, symbols: 5, seed: 70 + UInt64(k))
            var rng = Xoshiro256StarStar(seed: 3)
            let (x, _) = model.sample(length: 5_001, using: &rng)
            #expect(model.posteriors(of: x, threads: 1) == model.posteriors(of: x, threads: 2))
            #expect(model.logLikelihood(of: x, threads: 1) == model.logLikelihood(of: x, threads: 2))
        }
    }

    @Test func manyStatesTakeTheGeneralPathAndAgree() throws {
        // Splitting each of 3 states into 4 identical copies (12 states, beyond the SIMD8 path)
        // describes the same distribution over observations.
        let small = try Self.randomCategorical(states: 3, symbols: 4, seed: 21)
        let copies = 4, k = 3 * copies
        var a = Matrix<Double>(rows: k, columns: k)
        var b = Matrix<Double>(rows: k, columns: 4)
        for i in 0..<k {
            for j in 0..<k { a[i, j] = small.transitions[i / copies, j / copies] / Double(copies) }
            for m in 0..<4 { b[i, m] = small.emission.probabilities[i / copies, m] }
        }
        let big = try HiddenMarkovModel(startProbabilities: (0..<k).map { small.startProbabilities[$0 / copies] / Double(copies) },
                                        transitions: a, emission: CategoricalEmission(probabilities: b))
        var rng = Xoshiro256StarStar(seed: 4)
        let (x, _) = small.sample(length: 500, using: &rng)
        #expect(abs(big.logLikelihood(of: x) - small.logLikelihood(of: x)) < 1e-9 * abs(small.logLikelihood(of: x)))
        let gBig = big.posteriors(of: x), gSmall = small.posteriors(of: x)
        for t in stride(from: 0, to: 500, by: 37) {
            for s in 0..<3 {
                let merged = (0..<copies).reduce(0.0) { $0 + gBig[t, s * copies + $1] }
                #expect(abs(merged - gSmall[t, s]) < 1e-9)
            }
        }
    }

    @Test func textbookExamplesFromHmmlearnTests() throws {
        // Wikipedia's umbrella world: log P(x) and the Viterbi path.
        let umbrella = try HiddenMarkovModel(startProbabilities: [0.5, 0.5], transitions: Matrix([[0.7, 0.3], [0.3, 0.7]]),
                                             emission: CategoricalEmission(probabilities: Matrix([[0.9, 0.1], [0.2, 0.8]])))
        let x = Matrix(rows: 5, columns: 1, storage: [0, 0, 1, 0, 0])
        #expect(abs(umbrella.logLikelihood(of: x) - (-3.3725)) < 1e-4)
        let v = umbrella.viterbi(x)
        #expect(v.states == [0, 0, 1, 0, 0])
        #expect(abs(v.logProbability - (-4.4590)) < 1e-4)
        // The categorical "weather" example: Viterbi path [1, 0, 0] with probability 0.01344.
        let weather = try HiddenMarkovModel(startProbabilities: [0.6, 0.4], transitions: Matrix([[0.7, 0.3], [0.4, 0.6]]),
                                            emission: CategoricalEmission(probabilities: Matrix([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])))
        let w = weather.viterbi(Matrix(rows: 3, columns: 1, storage: [0, 1, 2]))
        #expect(w.states == [1, 0, 0])
        #expect(abs(exp(w.logProbability) - 0.01344) < 1e-8)
    }

    @Test func baumWelchNeverDecreasesAndRecoversTheGeneratingModel() throws {
        let truth = try HiddenMarkovModel(
            startProbabilities: [0.6, 0.3, 0.1], transitions: Matrix([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]]),
            emission: GaussianEmission(means: Matrix([[0.0, 0], [4, 1], [-2, 5]]),
                                       covariances: .full([Matrix([[1.0, 0.3], [0.3, 1]]), Matrix([[0.5, 0], [0, 0.5]]), Matrix([[1.5, -0.4], [-0.4, 0.8]])])))
        var rng = Xoshiro256StarStar(seed: 5)
        // Twenty sequences of 1000 steps.
        var rows: [[Double]] = []
        var sequences: [SequenceRange] = []
        for _ in 0..<20 {
            let (x, _) = truth.sample(length: 1000, using: &rng)
            sequences.append(rows.count..<(rows.count + 1000))
            rows += x.rowArrays
        }
        let x = Matrix(rows)
        var options = HMMFitOptions<GaussianEmission>()
        options.restarts = 3
        options.em = EMOptions(maxIterations: 200, tolerance: 1e-8)
        let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: sequences, states: 3, options: options)
        for (a, b) in zip(report.trace.history, report.trace.history.dropFirst()) { #expect(b >= a - 1e-9 * abs(a)) }
        #expect(report.logLikelihood >= truth.logLikelihood(of: x, sequences: sequences))
        // Match states by their means, then compare parameters.
        let order = (0..<3).map { s in (0..<3).min { dist(model.emission.states.means.row($0), truth.emission.states.means.row(s)) < dist(model.emission.states.means.row($1), truth.emission.states.means.row(s)) }! }
        #expect(Set(order).count == 3)
        for s in 0..<3 {
            #expect(dist(model.emission.states.means.row(order[s]), truth.emission.states.means.row(s)) < 0.1)
            for t in 0..<3 { #expect(abs(model.transitions[order[s], order[t]] - truth.transitions[s, t]) < 0.02) }
            let c = model.emission.states.covariances.matrix(component: order[s], dimension: 2)
            let c0 = truth.emission.states.covariances.matrix(component: s, dimension: 2)
            for i in 0..<4 { #expect(abs(c.elements[i] - c0.elements[i]) < 0.1) }
        }

        func dist(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
    }

    @Test func zerosInTheTransitionMatrixStayZeroAndFixedParametersStayFixed() throws {
        var rng = Xoshiro256StarStar(seed: 8)
        let x = Matrix(rows: 300, columns: 1, storage: (0..<300).map { t in Double(t / 100) * 3 + rng.nextNormal() })
        let leftRight = try HiddenMarkovModel(
            startProbabilities: [1, 0, 0], transitions: Matrix([[0.9, 0.1, 0], [0, 0.9, 0.1], [0, 0, 1]]),
            emission: GaussianEmission(means: Matrix([[0.5], [2.5], [5.5]]), covariances: .full([Matrix([[1.0]]), Matrix([[1.0]]), Matrix([[1.0]])])))
        var options = HMMFitOptions<GaussianEmission>()
        options.warmStart = leftRight
        options.fixed = [.start]
        let (model, _) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 3, options: options)
        #expect(model.startProbabilities == [1, 0, 0])
        #expect(model.transitions[1, 0] == 0 && model.transitions[2, 0] == 0 && model.transitions[2, 1] == 0 && model.transitions[0, 2] == 0)
        #expect(model.viterbi(x).states == (0..<300).map { $0 / 100 })
    }

    @Test func aMillionStepsGiveAFiniteLikelihood() throws {
        let model = try Self.randomCategorical(states: 3, symbols: 4, seed: 3)
        var rng = Xoshiro256StarStar(seed: 9)
        let (x, _) = model.sample(length: 1_000_000, using: &rng)
        let ll = model.logLikelihood(of: x)
        #expect(ll.isFinite && ll < -1e5)
        let gamma = model.posteriors(of: x)
        #expect(gamma.elements.allSatisfy { $0.isFinite })
    }
}

/// A long sequence drawn in blocks that continue the chain equals the sequence drawn at once.
@Test func hmmSamplesContinueAcrossBlocks() throws {
    let emission = try GaussianEmission(means: Matrix([[0.0], [5.0], [9.0]]),
                                        covariances: .diag(Matrix([[1.0], [2.0], [0.5]])))
    let model = try HiddenMarkovModel(startProbabilities: [0.2, 0.3, 0.5],
                                      transitions: Matrix([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]]), emission: emission)
    var whole = Xoshiro256StarStar(seed: 11), parts = whole
    let all = model.sample(length: 100, using: &whole)
    let first = model.sample(length: 37, using: &parts)
    let second = model.sample(length: 63, after: first.states.last, using: &parts)
    #expect(first.states + second.states == all.states)
    #expect(first.observations.elements + second.observations.elements == all.observations.elements)
}

/// A start from given state means (the library side of `--initial-means`) continues to the
/// two-regime Nile model, whose change is around 1898.
@Test func hmmFromGivenMeansFindsTheNileRegimes() throws {
    let x = try TestData.csv("nile.csv", columns: ["flow"]).values
    let start = try HiddenMarkovModel<GaussianEmission>.start(means: Matrix([[1100.0], [850]]), data: x, covarianceType: .diag)
    #expect(start.transitions[0, 0] == 0.7 && start.startProbabilities == [0.5, 0.5])
    var options = HMMFitOptions<GaussianEmission>()
    options.covarianceType = .diag
    options.warmStart = start
    let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 2, options: options)
    #expect(abs(report.logLikelihood - -629.8045) < 0.01)
    let path = model.viterbi(x).states
    let change = try #require(path.indices.dropFirst().first { path[$0] != path[$0 - 1] })
    #expect((1897...1901).contains(1871 + change))
}
