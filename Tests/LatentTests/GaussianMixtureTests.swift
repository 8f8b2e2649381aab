import Foundation
import Testing
import Latent
import TestSupport

@Suite struct GaussianMixtureTests {
    static let faithful = try! TestData.csv("faithful.csv").values
    static let iris = try! TestData.csv("iris.csv", columns: ["sepal_length", "sepal_width", "petal_length", "petal_width"]).values

    /// A known 3-component mixture in 2-D.
    static func knownMixture() throws -> GaussianMixture {
        try GaussianMixture(
            weights: [0.5, 0.3, 0.2],
            means: Matrix([[0.0, 0], [6, 1], [1, 7]]),
            covariances: .full([Matrix([[1.0, 0.5], [0.5, 2]]), Matrix([[0.5, -0.2], [-0.2, 0.4]]), Matrix([[2.0, 0], [0, 0.3]])]))
    }

    @Test(arguments: CovarianceType.allCases)
    func emNeverDecreasesTheLikelihood(_ type: CovarianceType) throws {
        for (x, k) in [(Self.faithful, 3), (Self.iris, 4)] {
            for seed in 0..<4 as Range<UInt64> {
                var options = MixtureFitOptions()
                options.covarianceType = type
                options.shortRuns = 1
                options.initialization = .random
                options.seed = seed
                options.em = EMOptions(maxIterations: 300, tolerance: 1e-10)
                let (_, report) = try GaussianMixture.fit(x, components: k, options: options)
                let h = report.trace.history
                #expect(h.count >= 2)
                for (a, b) in zip(h, h.dropFirst()) {
                    #expect(b >= a - 1e-9 * abs(a), "\(type) seed \(seed): \(a) → \(b)")
                }
            }
        }
    }

    /// The wine data's three-cluster optimum (scikit-learn's best of 60, −11.2522 nats per row):
    /// from seed 0 the starts and the ranked split-and-merge moves end at −11.409; a seeded move
    /// (a component restarted around a badly explained row) reaches it.
    @Test func seededMovesReachTheWineDatasOptimum() throws {
        let x = try TestData.csv("reference/wine.csv", columns: ["alcohol", "malic_acid", "flavanoids", "color_intensity", "proline"]).values
        let best = -11.252205760624852
        var options = MixtureFitOptions(covarianceType: .full, seed: 0, threads: 1)
        options.seededMoves = 0
        let ranked = try GaussianMixture.fit(x, components: 3, options: options).report
        options.seededMoves = MixtureFitOptions().seededMoves
        let (model, seeded) = try GaussianMixture.fit(x, components: 3, options: options)
        #expect(ranked.meanLogLikelihood < best - 0.1, "ranked moves alone: \(ranked.meanLogLikelihood)")
        #expect(seeded.meanLogLikelihood > best - 1e-3, "with seeded moves: \(seeded.meanLogLikelihood)")
        #expect(seeded.degeneracies.isEmpty && model.weights.allSatisfy { $0 * Double(x.rows) > 5 })
    }

    @Test func theStartInDataUnitsReachesTheBreastCancerTiedOptimum() throws {
        // Ten cell measurements whose spreads differ up to 10⁵× (area against smoothness), three tied
        // components: scikit-learn's k-means starts, in data units, all reach 6.07505 nats per row;
        // the scale-free starts alone stopped at 6.0592 or 6.0551 for seeds 0, 3, 4 and 5.
        let columns = ["mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness", "mean_compactness",
                       "mean_concavity", "mean_concave_points", "mean_symmetry", "mean_fractal_dimension"]
        let x = try TestData.csv("reference/breastcancer.csv", columns: columns).values
        for seed: UInt64 in [0, 3] {
            var options = MixtureFitOptions(covarianceType: .tied, seed: seed, threads: 1)
            #expect(options.makesDataUnitsStart)
            let with = try GaussianMixture.fit(x, components: 3, options: options).report
            options.dataUnitsStart = false
            let without = try GaussianMixture.fit(x, components: 3, options: options).report
            #expect(with.meanLogLikelihood > 6.07505 - 1e-3, "seed \(seed): \(with.meanLogLikelihood)")
            #expect(without.meanLogLikelihood < 6.07505 - 1e-3, "seed \(seed): \(without.meanLogLikelihood)")
            // Only start 0 differs: the others draw from the same generators.
            #expect(Array(with.startLogLikelihoods.dropFirst()) == Array(without.startLogLikelihoods.dropFirst()))
        }
        var single = MixtureFitOptions(covarianceType: .tied, restarts: 1, seed: 0, threads: 1)
        #expect(!single.makesDataUnitsStart)
        let one = try GaussianMixture.fit(x, components: 3, options: single).report
        single.dataUnitsStart = false
        #expect(try GaussianMixture.fit(x, components: 3, options: single).report.logLikelihood == one.logLikelihood)
    }

    /// The start in data units runs at the final tolerance, not the search's 1e-4 per row: on
    /// Carseats (two full components) it crosses a plateau at −19.5434 to scikit-learn's best of 60
    /// k-means starts, −19.516823 (all 60 reach it); stopped at 1e-4 it ranked last and seeds 0 and
    /// 1 ended at −19.5263.
    @Test func theStartInDataUnitsCrossesCarseatsPlateau() throws {
        let x = try TestData.csv("reference/carseats.csv", columns: ["Sales", "CompPrice", "Income", "Price", "Age"]).values
        for seed: UInt64 in [0, 1] {
            let report = try GaussianMixture.fit(x, components: 2, options: MixtureFitOptions(seed: seed, threads: 1)).report
            #expect(report.meanLogLikelihood > -19.516823 - 1e-3, "seed \(seed): \(report.meanLogLikelihood)")
        }
    }

    /// The default number of short runs per start is 2K − 1, at most 5; a number given is kept.
    @Test func shortRunsPerStartGrowWithTheComponents() throws {
        let defaults = MixtureFitOptions()
        #expect([1, 2, 3, 4, 8].map { defaults.shortRunCount(components: $0) } == [1, 3, 5, 5, 5])
        #expect(MixtureFitOptions(shortRuns: 4).shortRunCount(components: 2) == 4)
        func fit(_ shortRuns: Int?) throws -> FitReport {
            try GaussianMixture.fit(Self.faithful, components: 2, options: MixtureFitOptions(shortRuns: shortRuns, seed: 3, threads: 1)).report
        }
        let automatic = try fit(nil), three = try fit(3), five = try fit(5)
        #expect(automatic.totalIterations == three.totalIterations && automatic.logLikelihood == three.logLikelihood)
        // Not a law, but with this seed two more short runs per start cost more iterations: the
        // count given is the one used.
        #expect(five.totalIterations > three.totalIterations)
    }

    @Test func bicPicksTheTrueNumberOfComponents() throws {
        var rng = Xoshiro256StarStar(seed: 11)
        let truth = try Self.knownMixture()
        let x = truth.sample(count: 1500, using: &rng).points
        var options = MixtureFitOptions()
        options.restarts = 2
        options.seed = 3
        var seen = 0
        let selection = try GaussianMixture.selectByBIC(x, components: Array(1...6), covarianceTypes: [.full, .diag],
                                                        options: options) { _ in seen += 1 }
        #expect(seen == 12 && selection.candidates.count == 12)
        let best = selection.best
        #expect(best.model.componentCount == 3 && best.model.covarianceType == truth.covarianceType,
                "BIC by candidate: \(selection.candidates.map { "\($0.components) \($0.covarianceType): \($0.bic ?? .nan)" })")
        // The chosen BIC is the lowest, and equals the formula on its own fit.
        #expect(selection.candidates.compactMap(\.bic).allSatisfy { $0 >= best.bic })
        #expect(abs(best.bic - GaussianMixture.bic(logLikelihood: best.report.logLikelihood, parameters: best.model.parameterCount, count: x.rows)) < 1e-9)
    }

    @Test func samplesReproduceTheParametersTheyCameFrom() throws {
        let truth = try Self.knownMixture()
        var rng = Xoshiro256StarStar(seed: 21)
        let n = 200_000
        let (points, components) = truth.sample(count: n, using: &rng)
        for k in 0..<3 {
            let rows = (0..<n).filter { components[$0] == k }
            let share = Double(rows.count) / Double(n)
            // Binomial standard error of a proportion.
            #expect(abs(share - truth.weights[k]) < 5 * (truth.weights[k] * (1 - truth.weights[k]) / Double(n)).squareRoot())
            let sub = points.selectingRows(rows)
            let m = (0..<2).map { j in sub.column(j).reduce(0, +) / Double(rows.count) }
            let cov = truth.covariances.matrix(component: k, dimension: 2)
            for j in 0..<2 {
                #expect(abs(m[j] - truth.means[k, j]) < 5 * (cov[j, j] / Double(rows.count)).squareRoot())
            }
            for a in 0..<2 { for b in 0..<2 {
                let c = rows.reduce(0.0) { $0 + (points[$1, a] - m[a]) * (points[$1, b] - m[b]) } / Double(rows.count - 1)
                #expect(abs(c - cov[a, b]) < 0.03 * (cov[a, a] * cov[b, b]).squareRoot(), "component \(k) cov[\(a),\(b)]")
            } }
        }
    }

    @Test(arguments: CovarianceType.allCases)
    func responsibilitiesSumToOneAndFarPointsStayFinite(_ type: CovarianceType) throws {
        var options = MixtureFitOptions()
        options.covarianceType = type
        let (model, _) = try GaussianMixture.fit(Self.faithful, components: 3, options: options)
        let r = model.responsibilities(for: Self.faithful)
        for i in 0..<r.rows { #expect(abs(r.row(i).reduce(0, +) - 1) < 1e-12) }
        // 1e3 standard deviations of the data away in each column.
        let far = Matrix([[3.5 + 1e3 * 1.14, 70.9 + 1e3 * 13.6], [3.5 - 1e3 * 1.14, 70.9]])
        let ll = model.logLikelihoods(of: far)
        #expect(ll.allSatisfy { $0.isFinite && $0 < -1e3 })
        let rf = model.responsibilities(for: far)
        for i in 0..<2 { #expect(abs(rf.row(i).reduce(0, +) - 1) < 1e-12) }
    }

    @Test func logLikelihoodMatchesDirectDensity() throws {
        let m = try Self.knownMixture()
        let x = Matrix([[0.3, -1.2], [5.0, 2.0], [100, -50]])
        let ll = m.logLikelihoods(of: x)
        for i in 0..<x.rows {
            var terms: [Double] = []
            for k in 0..<3 {
                let cov = m.covariances.matrix(component: k, dimension: 2)
                let det = cov[0, 0] * cov[1, 1] - cov[0, 1] * cov[1, 0]
                let dx = x[i, 0] - m.means[k, 0], dy = x[i, 1] - m.means[k, 1]
                let q = (cov[1, 1] * dx * dx - 2 * cov[0, 1] * dx * dy + cov[0, 0] * dy * dy) / det
                terms.append(log(m.weights[k]) - log(2 * Double.pi) - 0.5 * log(det) - 0.5 * q)
            }
            #expect(abs(ll[i] - VectorMath.logSumExp(terms)) < 1e-9 * max(1, abs(ll[i])))
        }
    }

    @Test func parameterCountsMatchScikitLearn() throws {
        // D = 5, K = 2, as in scikit-learn's test.
        let means = Matrix(rows: 2, columns: 5, repeating: 0)
        let expected: [(MixtureCovariances, Int)] = [
            (.spherical([1, 2]), 13), (.diag(Matrix(rows: 2, columns: 5, repeating: 1)), 21),
            (.tied(.identity(5)), 26), (.full([.identity(5), .identity(5)]), 41),
        ]
        for (covariances, count) in expected {
            let m = try GaussianMixture(weights: [0.5, 0.5], means: means, covariances: covariances)
            #expect(m.parameterCount == count, "\(covariances.type)")
        }
    }

    @Test func sameSeedGivesIdenticalModelsWhateverTheThreadCount() throws {
        var rng = Xoshiro256StarStar(seed: 2)
        let x = try Self.knownMixture().sample(count: 5000, using: &rng).points
        var options = MixtureFitOptions()
        options.seed = 99
        options.restarts = 2
        options.threads = 1
        let a = try GaussianMixture.fit(x, components: 3, options: options).model
        options.threads = 2
        let b = try GaussianMixture.fit(x, components: 3, options: options).model
        #expect(a == b)
        let bytesA = try ModelFile(model: .gaussianMixture(a), columns: ["u", "v"]).encoded()
        let bytesB = try ModelFile(model: .gaussianMixture(b), columns: ["u", "v"]).encoded()
        #expect(bytesA == bytesB)
        options.seed = 100
        let c = try GaussianMixture.fit(x, components: 3, options: options).model
        #expect(abs(c.totalLogLikelihood(of: x) - a.totalLogLikelihood(of: x)) < 1e-3 * Double(x.rows))
    }

    @Test func badInputsThrowClearErrors() throws {
        #expect(throws: ModelError.tooFewPoints(points: 3, needed: 4, what: "a mixture of 4 components")) {
            try GaussianMixture.fit(Matrix([[1.0], [2], [3]]), components: 4)
        }
        #expect(throws: ModelError.emptyData) { try GaussianMixture.fit(Matrix(rows: 0, columns: 2), components: 1) }
        #expect(throws: ModelError.self) { try GaussianMixture.fit(Matrix([[1.0, .infinity], [2, 3]]), components: 1) }
        #expect(throws: ModelError.singularCovariance(component: 1, detail: "variance -1.0")) {
            try GaussianMixture(weights: [0.5, 0.5], means: Matrix([[0.0], [1]]), covariances: .spherical([1, -1]))
        }
        // A constant column: the likelihood is unbounded there, so the column is named.
        do {
            _ = try GaussianMixture.fit(Matrix([[1.0, 2], [3, 2], [4, 2]]), components: 1)
            Issue.record("expected an error")
        } catch let error as ModelError {
            #expect(error.description.contains("column 2 has the value 2 in every row") && error.description.contains("drop the column"))
        }
    }

    @Test func warmStartAndInitialMeansContinueFromTheGivenPoint() throws {
        var options = MixtureFitOptions()
        options.em = EMOptions(maxIterations: 3, tolerance: 0)
        options.shortRuns = 1
        let (first, r1) = try GaussianMixture.fit(Self.faithful, components: 2, options: options)
        options.warmStart = first
        let (_, r2) = try GaussianMixture.fit(Self.faithful, components: 2, options: options)
        #expect(abs(r2.trace.history[0] - r1.logLikelihood) < 1e-9 * abs(r1.logLikelihood))
        #expect(r2.logLikelihood >= r1.logLikelihood)
        var fromMeans = MixtureFitOptions()
        fromMeans.initialMeans = Matrix([[2.0, 55], [4.3, 80]])
        fromMeans.em = EMOptions(maxIterations: 500, tolerance: 1e-9)
        let (m, r3) = try GaussianMixture.fit(Self.faithful, components: 2, options: fromMeans)
        #expect(abs(r3.meanLogLikelihood - (-4.1554)) < 1e-4)
        #expect(m.means[0, 1] < m.means[1, 1])
    }

    @Test func modelFilesRoundTripAndRejectCorruption() throws {
        let dir = TestData.temporaryDirectory()
        for type in CovarianceType.allCases {
            var options = MixtureFitOptions()
            options.covarianceType = type
            let (m, r) = try GaussianMixture.fit(Self.faithful, components: 2, options: options)
            let file = ModelFile(model: .gaussianMixture(m), columns: ["eruptions", "waiting"],
                                 training: TrainingSummary(logLikelihood: r.logLikelihood, count: 272, iterations: 3, converged: true, seed: 0))
            let path = dir.appendingPathComponent("\(type).json").path
            try file.write(to: path)
            let back = try ModelFile.read(path: path)
            #expect(back.columns == file.columns && back.training == file.training)
            guard case .gaussianMixture(let b) = back.model else { Issue.record("wrong kind"); continue }
            #expect(abs(b.totalLogLikelihood(of: Self.faithful) - r.logLikelihood) < 1e-9 * abs(r.logLikelihood))
        }
        let good = try String(contentsOfFile: dir.appendingPathComponent("full.json").path, encoding: .utf8)
        let cases: [(String, String)] = [
            ("truncated", String(good.prefix(good.count / 2))),
            ("future", good.replacingOccurrences(of: "\"version\" : \(ModelFile.version)", with: "\"version\" : 99")),
            ("foreign", good.replacingOccurrences(of: "latent-model", with: "other")),
            ("negative", good.replacingOccurrences(of: "\"weights\" : [\n", with: "\"weights\" : [\n -5, ")),
            ("empty", ""),
        ]
        for (name, text) in cases {
            do {
                _ = try ModelFile.decode(Data(text.utf8), source: "\(name).json")
                Issue.record("\(name) was accepted")
            } catch let error as DataError {
                #expect(error.description.contains("\(name).json"))
                if name == "future" { #expect(error.description.contains("newer")) }
            }
        }
    }
}
