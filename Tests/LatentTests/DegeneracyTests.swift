import Foundation
import Testing
import Latent
import TestSupport

/// A start whose likelihood is unbounded because a component or state sits on repeated values
/// never beats a proper one; when no proper one exists, the fit says what to do.
@Suite struct DegeneracyTests {
    static let faithful = try! TestData.csv("faithful.csv").values
    static let nile = try! TestData.csv("nile.csv")

    /// Two well-separated clusters of 100 points each and 30 exact copies of one point between them.
    static func clustersWithDuplicates() -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: 11)
        var rows: [[Double]] = []
        for _ in 0..<100 { rows.append([rng.nextNormal(), rng.nextNormal()]) }
        for _ in 0..<100 { rows.append([8 + rng.nextNormal(), 3 + rng.nextNormal()]) }
        for _ in 0..<30 { rows.append([4, 1.5]) }
        return Matrix(rows)
    }

    @Test(arguments: CovarianceType.allCases)
    func duplicatesNeverWinWhenAProperFitExists(_ type: CovarianceType) throws {
        let x = Self.clustersWithDuplicates()
        for seed: UInt64 in 0..<5 {
            var options = MixtureFitOptions()
            options.covarianceType = type
            options.seed = seed
            // K = 3 lets a component isolate the 30 copies; that fit has an unbounded likelihood.
            let (model, report) = try GaussianMixture.fit(x, components: 3, options: options)
            #expect(report.degeneracies.isEmpty)
            #expect(model.degeneracies(on: x).isEmpty)
            #expect(report.meanLogLikelihood.isFinite)
            // No component sits on the copies: each has spread above the collapse threshold.
            let variances = [x.column(0), x.column(1)].map { v in
                let m = v.reduce(0, +) / Double(v.count)
                return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
            }
            for c in 0..<3 {
                let cov = model.covariances.matrix(component: c, dimension: 2)
                for j in 0..<2 { #expect(cov[j, j] > 2e-6 * variances[j], "\(type) seed \(seed): component \(c), column \(j)") }
            }
        }
    }

    @Test func onlyRepeatedValuesGiveAnActionableError() throws {
        // Three distinct points, 30 copies each: with four components, some component holds a
        // single distinct point (or none), so every fit is collapsed or empty.
        let x = Matrix((0..<90).map { i -> [Double] in [[0.0, 0], [5, 1], [2, 7]][i % 3] })
        var options = MixtureFitOptions()
        options.covarianceType = .diag
        #expect {
            _ = try GaussianMixture.fit(x, components: 4, options: options)
        } throws: { error in
            guard case ModelError.degenerateFit(let message) = error else { return false }
            return message.contains("repeated values") && message.contains("fewer components")
        }
    }

    @Test func oldFaithfulDiagonalFiveComponentsIsNotTheSpuriousOptimum() throws {
        // DESIGN.md: diagonal K = 5 on Old Faithful can collapse onto repeated integer waiting
        // times, reaching a spurious −3.83 nats per row.
        var options = MixtureFitOptions()
        options.covarianceType = .diag
        for seed: UInt64 in 0..<3 {
            options.seed = seed
            let (_, report) = try GaussianMixture.fit(Self.faithful, components: 5, options: options)
            #expect(report.degeneracies.isEmpty)
            #expect(report.meanLogLikelihood < -3.95)
        }
    }

    @Test func theNileChangesStateBetween1897And1901ForEverySeed() throws {
        // The README's example: two-state Gaussian HMM on the Nile flow, default options. Before the
        // eligibility rule, 7 of 10 seeds returned a state collapsed onto a value that occurs twice.
        let flow = try Self.nile.selecting(columns: ["flow"]).values
        let years = try Self.nile.selecting(columns: ["time"]).values.elements
        for seed: UInt64 in 0..<20 {
            var options = HMMFitOptions<GaussianEmission>()
            options.seed = seed
            let (model, report) = try HiddenMarkovModel<GaussianEmission>.fit(flow, states: 2, options: options)
            #expect(report.degeneracies.isEmpty, "seed \(seed)")
            #expect(report.logLikelihood > -629.81 && report.logLikelihood < -629.79, "seed \(seed): \(report.logLikelihood)")
            let path = model.viterbi(flow).states
            let changes = (1..<path.count).filter { path[$0] != path[$0 - 1] }
            #expect(changes.count == 1, "seed \(seed)")
            if let first = changes.first { #expect((1897...1901).contains(Int(years[first])), "seed \(seed): change at \(years[first])") }
        }
    }

    @Test func degeneraciesAreFoundForEveryCovarianceType() throws {
        // A component with the variance floor in one column, built by hand.
        let x = Self.clustersWithDuplicates()
        let means = Matrix([[0.0, 0], [8, 3], [4, 1.5]])
        let floor = 1e-6
        let covariances: [CovarianceType: MixtureCovariances] = [
            .full: .full([.identity(2), .identity(2), Matrix([[floor, 0], [0, 1]])]),
            .diag: .diag(Matrix([[1, 1], [1, 1], [floor, 1]])),
            .spherical: .spherical([1, 1, floor]),
        ]
        for (type, cov) in covariances {
            let model = try GaussianMixture(weights: [0.4, 0.4, 0.2], means: means, covariances: cov)
            #expect(model.degeneracies(on: x).map(\.component) == [2], "\(type)")
        }
        // A component holding less than one row.
        let empty = try GaussianMixture(weights: [0.5, 0.4999, 0.0001], means: means, covariances: .diag(Matrix([[1, 1], [1, 1], [1, 1]])))
        #expect(empty.degeneracies(on: x).map(\.kind) == [.empty(occupancy: 0.0001 * 230)])
    }
}
