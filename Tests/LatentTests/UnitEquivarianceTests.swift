import Foundation
import Testing
import Latent
import TestSupport

/// Fitting `c·x` gives the same clusters, states and factors as fitting `x`, and log-likelihoods
/// lower by exactly `D·log c` per row, for `c` from 1e-12 to 1e12: every floor and start follows the
/// data's scale.
@Suite struct UnitEquivarianceTests {
    static let factors: [Double] = [1e-12, 1e-6, 1e6, 1e12]

    static func scaled(_ x: Matrix<Double>, _ c: Double) -> Matrix<Double> {
        Matrix(rows: x.rows, columns: x.columns, storage: x.elements.map { $0 * c })
    }

    @Test(arguments: factors) func mixtures(_ c: Double) throws {
        let x = try TestData.csv("faithful.csv").values
        for type in CovarianceType.allCases {
            var options = MixtureFitOptions()
            options.covarianceType = type
            options.threads = 1
            let (m, report) = try GaussianMixture.fit(x, components: 3, options: options)
            let (mc, reportC) = try GaussianMixture.fit(Self.scaled(x, c), components: 3, options: options)
            let shift = Double(x.columns) * log(c)
            #expect(abs(reportC.meanLogLikelihood - (report.meanLogLikelihood - shift)) < 1e-6 * max(1, abs(shift)), "\(type) × \(c)")
            #expect(m.predict(x) == mc.predict(Self.scaled(x, c)), "\(type) × \(c): the clusters differ")
        }
    }

    @Test(arguments: factors) func linearDynamicalSystems(_ c: Double) throws {
        // Four air-quality series with missing cells, two states; and the Nile local level (diffuse).
        let air = try TestData.csv("airquality.csv").values
        var options = StateSpaceFitOptions()
        options.em = EMOptions(maxIterations: 200, tolerance: 0)
        let (m, report) = try LinearDynamicalSystem.fit(air, latent: 2, options: options)
        let (mc, reportC) = try LinearDynamicalSystem.fit(Self.scaled(air, c), latent: 2, options: options)
        let observed = Double(air.elements.filter { !$0.isNaN }.count)
        let shift = observed * log(c)
        #expect(abs(reportC.logLikelihood - (report.logLikelihood - shift)) < 1e-6 * max(1, abs(shift), abs(report.logLikelihood)), "air × \(c)")
        let states = try m.smooth(air).means, statesC = try mc.smooth(Self.scaled(air, c)).means
        for i in states.elements.indices { #expect(abs(statesC.elements[i] - states.elements[i]) < 1e-5 * max(1, abs(states.elements[i])), "air × \(c): state \(i)") }
        let nile = try TestData.csv("nile.csv", columns: ["flow"]).values
        let level = StateSpaceFitOptions(initialState: .diffuse, transition: Matrix([[1]]), observation: Matrix([[1]]),
                                         fixed: [.transition, .observation, .offset])
        let (n, nileReport) = try LinearDynamicalSystem.fit(nile, latent: 1, options: level)
        let (nc, nileReportC) = try LinearDynamicalSystem.fit(Self.scaled(nile, c), latent: 1, options: level)
        // The diffuse likelihood leaves out the first observation.
        #expect(abs(nileReportC.logLikelihood - (nileReport.logLikelihood - 99 * log(c))) < 1e-6 * max(1, abs(99 * log(c))), "Nile × \(c)")
        #expect(abs(nc.stateNoise[0, 0] / (c * c) - n.stateNoise[0, 0]) < 1e-4 * n.stateNoise[0, 0], "Nile × \(c)")   // EM stops within its tolerance
    }

    @Test(arguments: factors) func hiddenMarkovModels(_ c: Double) throws {
        let x = try TestData.csv("nile.csv", columns: ["flow"]).values
        var options = HMMFitOptions<GaussianEmission>()
        options.covarianceType = .diag
        options.threads = 1
        let (m, report) = try HiddenMarkovModel<GaussianEmission>.fit(x, states: 2, options: options)
        let (mc, reportC) = try HiddenMarkovModel<GaussianEmission>.fit(Self.scaled(x, c), states: 2, options: options)
        let shift = Double(x.rows) * log(c)
        #expect(abs(reportC.logLikelihood - (report.logLikelihood - shift)) < 1e-6 * max(1, abs(shift)), "× \(c)")
        #expect(m.viterbi(x).states == mc.viterbi(Self.scaled(x, c)).states, "× \(c): the state paths differ")
    }

    @Test(arguments: factors) func factorModels(_ c: Double) throws {
        let x = try TestData.csv("iris.csv", columns: ["sepal_length", "sepal_width", "petal_length", "petal_width"]).values
        for fit in [{ try FactorAnalysis.fit($0, factors: 2) }, { try ProbabilisticPCA.fit($0, components: 2) }] as [(Matrix<Double>) throws -> (model: LinearGaussianModel, report: FitReport)] {
            let (m, report) = try fit(x)
            let (mc, reportC) = try fit(Self.scaled(x, c))
            let shift = Double(x.columns) * log(c)
            #expect(abs(reportC.meanLogLikelihood - (report.meanLogLikelihood - shift)) < 1e-6 * max(1, abs(shift)), "\(m.noise) × \(c)")
            // Loadings up to sign: W W^T scales by c².
            let wwt = m.loadings.multiplied(by: m.loadings, transposeOther: true)
            let wwtC = mc.loadings.multiplied(by: mc.loadings, transposeOther: true)
            for i in wwt.elements.indices {
                #expect(abs(wwtC.elements[i] / (c * c) - wwt.elements[i]) <= 1e-6 * max(1e-3, abs(wwt.elements[i])), "\(m.noise) × \(c): loadings")
            }
        }
    }
}
