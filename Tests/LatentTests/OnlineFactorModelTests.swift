import Foundation
import Testing
import Latent
import TestSupport

/// Online EM for factor analysis and probabilistic PCA (``OnlineLinearGaussianModel``): running
/// moments that reach a batch fit's, and a fit that comes close to the batch optimum.
struct OnlineFactorModelTests {
    /// The complete rows of the bfi personality items (25 columns).
    static func bfiComplete() throws -> Matrix<Double> {
        let x = try TestData.csv("bfi.csv").values
        return x.selectingRows((0..<x.rows).filter { i in (0..<x.columns).allSatisfy { !x[i, $0].isNaN } })
    }

    @Test func oneSteppedPassHoldsTheMomentsOfEveryRowSeen() throws {
        let x = try Self.bfiComplete()
        let n = x.rows / 50 * 50
        let rows = x.selectingRows(Array(0..<n))
        let start = try FactorAnalysis.fit(rows.selectingRows(Array(0..<200)), factors: 5).model
        // Steps count rows: a first batch of 200 rows, then 50-row batches and a last one of 7, still
        // average every row alike with κ = 1.
        var online = try OnlineLinearGaussianModel(start: start)
        let edges = [0] + Array(stride(from: 200, to: n - 7, by: 50)) + [n - 7, n]
        for (a, b) in zip(edges, edges.dropFirst()) { try online.partialFit(rows.selectingRows(Array(a..<b))) }
        let whole = try LinearGaussianStatistics(rows)
        let running = try #require(online.statistics)
        #expect(running.count == n && online.steps == edges.count - 1)
        #expect(zip(running.mean, whole.mean).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        #expect(zip(running.scatter, whole.scatter).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
        // Probabilistic PCA after one pass is the closed form of all the rows.
        var ppca = try OnlineLinearGaussianModel(start: try ProbabilisticPCA.fit(rows, components: 5).model)
        for b in stride(from: 0, to: n, by: 50) { try ppca.partialFit(rows.selectingRows(Array(b..<(b + 50)))) }
        let batch = try ProbabilisticPCA.fit(rows, components: 5).model
        #expect(abs(ppca.model.meanLogLikelihood(of: rows) - batch.meanLogLikelihood(of: rows)) <= 1e-9)
    }

    @Test func onlineFactorAnalysisComesCloseToTheBatchOptimum() throws {
        let x = try Self.bfiComplete()
        let batch = try FactorAnalysis.fit(x, factors: 5)
        let batchMean = batch.report.meanLogLikelihood
        // From a start fitted to 150 rows.
        let start = try FactorAnalysis.fit(x.selectingRows(Array(0..<150)), factors: 5).model
        for (batchSize, passes, steps, gap) in [(64, 1, 1, 0.1), (64, 1, 10, 0.03), (256, 1, 10, 3e-3), (256, 3, 10, 2e-3)] {
            let (model, report) = try FactorAnalysis.fitOnline(x, factors: 5, batchSize: batchSize, passes: passes, iterationsPerBatch: steps, seed: 3,
                                                               options: LinearGaussianFitOptions(warmStart: start))
            let history = report.trace.history.map { $0 / Double(x.rows) }
            print("online FA bfi (\(x.rows) rows), batch \(batchSize), \(passes) pass(es), \(steps) steps: per-pass mean log-likelihood \(history), batch \(batchMean), gap \(batchMean - history.last!)")
            #expect(abs(model.meanLogLikelihood(of: x) - history.last!) < 1e-9)
            #expect(history.last! > history[0], "the passes did not improve on the start")
            #expect(batchMean - history.last! < gap, "batch \(batchSize), \(passes) passes, \(steps) steps")
        }
        // Bad input: a missing value names its row; κ outside (0.5, 1] is refused.
        var online = try OnlineLinearGaussianModel(start: batch.model)
        var bad = x.selectingRows(Array(0..<10))
        bad[3, 2] = .nan
        #expect(throws: ModelError.self) { try online.partialFit(bad) }
        #expect(throws: ModelError.self) { _ = try OnlineLinearGaussianModel(start: batch.model, stepDecay: 0.4) }
        // A start of another kind or shape is refused, not silently followed.
        let ppca = try ProbabilisticPCA.fit(x, components: 5).model
        #expect(throws: ModelError.self) { _ = try FactorAnalysis.fitOnline(x, factors: 5, options: LinearGaussianFitOptions(warmStart: ppca)) }
        #expect(throws: ModelError.self) { _ = try FactorAnalysis.fitOnline(x, factors: 4, options: LinearGaussianFitOptions(warmStart: batch.model)) }
    }
}
