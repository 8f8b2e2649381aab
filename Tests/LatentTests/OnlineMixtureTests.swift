import Foundation
import Testing
import Latent
import TestSupport

/// Stepwise EM: its first step on the whole data is the batch EM step, and passes of mini-batches
/// approach the batch optimum.
struct OnlineMixtureTests {
    @Test(arguments: CovarianceType.allCases)
    func aFirstStepOnTheWholeDataIsTheBatchStep(type: CovarianceType) throws {
        let x = try TestData.csv("geyser.csv").values
        let start = try GaussianMixture.fit(x, components: 3, options: MixtureFitOptions(covarianceType: type, restarts: 1,
                                                                                       em: EMOptions(maxIterations: 3, tolerance: 0), seed: 5, threads: 1)).model
        var online = try OnlineGaussianMixture(start: start, regularization: 1e-6, relativeRegularization: 0)
        try online.partialFit(x)
        let batch = try start.maximizing(start.statistics(of: x), regularization: 1e-6, relativeRegularization: 0)
        let a = online.model.weights + online.model.means.elements + (0..<3).flatMap { online.model.covariances.matrix(component: $0, dimension: 2).elements }
        let b = batch.weights + batch.means.elements + (0..<3).flatMap { batch.covariances.matrix(component: $0, dimension: 2).elements }
        for (u, v) in zip(a, b) { #expect(abs(u - v) <= 1e-9 * max(1, abs(v))) }
    }

    @Test func miniBatchPassesApproachTheBatchOptimum() throws {
        // 20,000 rows of a known 3-component mixture.
        var rng = Xoshiro256StarStar(seed: 21)
        let centres: [[Double]] = [[0, 0], [5, 1], [1, 6]]
        var x = Matrix<Double>(rows: 20_000, columns: 2)
        for i in 0..<x.rows {
            let c = rng.nextInt(below: 3)
            for j in 0..<2 { x[i, j] = centres[c][j] + rng.nextNormal() * (j == 0 ? 1 : 0.6) }
        }
        let batch = try GaussianMixture.fit(x, components: 3, options: MixtureFitOptions(seed: 1, threads: 1))
        let start = try GaussianMixture.fit(x.selectingRows(0..<500), components: 3, options: MixtureFitOptions(restarts: 1, seed: 2, threads: 1)).model
        var online = try OnlineGaussianMixture(start: start)
        var order = Array(0..<x.rows)
        for _ in 0..<2 {
            order.shuffle(using: &rng)
            for b in stride(from: 0, to: x.rows, by: 200) { try online.partialFit(x.selectingRows(order[b..<min(x.rows, b + 200)])) }
        }
        let gap = batch.report.meanLogLikelihood - online.model.meanLogLikelihood(of: x)
        print("online EM, 2 passes of 200-row batches (200 M-steps): \(gap) nats per row below batch EM (\(batch.report.totalIterations) full-data iterations)")
        #expect(gap < 1e-3 && gap > -1e-9)
    }

    /// The fit feeds the start's 20,000-row sample first, so that even 32-row batches after it (steps
    /// counted in rows) stay near the optimum in one pass over 60,000 rows.
    @Test func smallBatchesAfterTheSampleStayNearTheBatchFit() throws {
        var rng = Xoshiro256StarStar(seed: 8)
        let centres: [[Double]] = [[0, 0, 0], [2, 1, 0], [1, 2.5, 1]]
        var x = Matrix<Double>(rows: 60_000, columns: 3)
        for i in 0..<x.rows {
            let c = rng.nextInt(below: 3)
            for j in 0..<3 { x[i, j] = centres[c][j] + rng.nextNormal() * (j == 1 ? 1.2 : 0.8) }
        }
        let options = MixtureFitOptions(seed: 1, threads: 1)
        let batch = try GaussianMixture.fit(x, components: 3, options: options)
        let (model, report) = try GaussianMixture.fitOnline(StreamedMixtureData(source: x, threads: 1), components: 3, options: options,
                                                          batchSize: 32, passes: 1)
        let gap = batch.report.meanLogLikelihood - model.meanLogLikelihood(of: x)
        print("online EM, one pass of 32-row batches after the 20,000-row sample: \(gap) nats per row below batch EM; per pass \(report.trace.history.map { $0 / 60_000 })")
        #expect(gap < 1e-3)
    }
}
