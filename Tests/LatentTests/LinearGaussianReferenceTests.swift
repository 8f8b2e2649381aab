import Foundation
import Testing
import Latent
import TestSupport

/// Factor analysis and probabilistic PCA reach scikit-learn's figures (DESIGN.md §3) within 1e-4
/// nats per sample, on complete data.
@Suite struct LinearGaussianReferenceTests {
    static func completeRows(_ x: Matrix<Double>) -> Matrix<Double> {
        x.selectingRows((0..<x.rows).filter { i in (0..<x.columns).allSatisfy { !x[i, $0].isNaN } })
    }
    static let bfi = completeRows(try! TestData.csv("bfi.csv").values)
    static let iris = try! TestData.csv("iris.csv", columns: ["sepal_length", "sepal_width", "petal_length", "petal_width"]).values
    static let digits: Matrix<Double> = {
        let t = try! TestData.csv("digits-train.csv")
        return t.values.selectingColumns(Array(0..<64))
    }()

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, k: Int, fa: Double, ppca: Double
        var testDescription: String { "\(name) k=\(k)" }
    }

    static let cases = [
        Case(name: "bfi", k: 1, fa: -42.3211, ppca: -42.6107), Case(name: "bfi", k: 3, fa: -41.0571, ppca: -41.4074),
        Case(name: "bfi", k: 5, fa: -40.4382, ppca: -40.7079), Case(name: "iris", k: 1, fa: -2.8160, ppca: -3.1378),
        Case(name: "iris", k: 2, fa: -2.5994, ppca: -2.6998), Case(name: "digits", k: 10, fa: -85.0023, ppca: -159.8800),
    ]

    static func data(_ name: String) -> Matrix<Double> {
        switch name { case "bfi": return bfi; case "iris": return iris; default: return digits }
    }

    @Test func bfiCompleteRowsAreTheDocumentedSubset() {
        #expect(Self.bfi.rows == 2436 && Self.bfi.columns == 25)
        #expect(Self.digits.rows == 1500)
    }

    @Test(arguments: cases)
    func factorAnalysisReachesScikitLearn(_ c: Case) throws {
        let x = Self.data(c.name)
        let (model, report) = try FactorAnalysis.fit(x, factors: c.k)
        print(c.testDescription, "FA", report.meanLogLikelihood, report.trace.iterations)
        #expect(report.meanLogLikelihood >= c.fa - 1e-4, "\(c.testDescription): \(report.meanLogLikelihood)")
        #expect(abs(model.meanLogLikelihood(of: x) - report.meanLogLikelihood) < 1e-9 * abs(report.meanLogLikelihood))
        if c.name == "digits" { #expect(report.warnings.contains { $0.contains("constant") }) }
    }

    @Test(arguments: cases)
    func probabilisticPCAReachesScikitLearnAndEMAgreesWithTheClosedForm(_ c: Case) throws {
        let x = Self.data(c.name)
        let closed = try ProbabilisticPCA.closedForm(x, components: c.k)
        let mean = closed.meanLogLikelihood(of: x)
        print(c.testDescription, "PPCA", mean)
        #expect(mean >= c.ppca - 1e-4, "\(c.testDescription): \(mean)")
        // EM from an arbitrary start converges to the closed form.
        let start = try LinearGaussianModel(mean: closed.mean,
                                            loadings: Matrix(rows: x.columns, columns: c.k, storage: (0..<(x.columns * c.k)).map { sin(Double($0)) }),
                                            noiseVariances: [Double](repeating: 1, count: x.columns), noise: .isotropic)
        var options = LinearGaussianFitOptions(warmStart: start)
        options.em = EMOptions(maxIterations: 20_000, tolerance: 1e-11)
        let (em, _) = try ProbabilisticPCA.fit(x, components: c.k, options: options)
        #expect(abs(em.meanLogLikelihood(of: x) - mean) < 1e-5, "EM \(em.meanLogLikelihood(of: x)) vs closed form \(mean)")
        // The warm start is the refinement of that model.
        var short = options
        short.em = EMOptions(maxIterations: 5, tolerance: 0)
        #expect(try ProbabilisticPCA.fit(x, components: c.k, options: short).report.trace.history
                == start.refined(on: x, options: short).report.trace.history)
    }
}
