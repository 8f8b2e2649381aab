import Foundation

/// The epoch loop shared by the networks' training: a seeded shuffle per epoch, mini-batches of
/// row indices, a report per epoch.
enum MiniBatches {
    /// Runs `options.epochs` epochs over `count` rows. `step` trains on one batch (its row indices)
    /// with the generator and returns the batch's summed objective.
    static func run(count n: Int, options: VAETrainingOptions, rng: inout Xoshiro256StarStar,
                    step: ([Int], inout Xoshiro256StarStar) -> Double) -> [VAEEpochReport] {
        var reports: [VAEEpochReport] = []
        for epoch in 1...max(1, options.epochs) {
            let start = DispatchTime.now().uptimeNanoseconds
            let order = rng.permutation(n)
            var total = 0.0
            var batchStart = 0
            while batchStart < n {
                let rows = Array(order[batchStart..<min(n, batchStart + options.batchSize)])
                batchStart += options.batchSize
                total += step(rows, &rng)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let report = VAEEpochReport(epoch: epoch, meanObjective: total / Double(max(1, n)), seconds: seconds,
                                        examplesPerSecond: Double(n) / max(seconds, 1e-9))
            reports.append(report)
            options.progress?(report)
        }
        return reports
    }
}
