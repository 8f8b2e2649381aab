import Foundation
import Testing
import Latent
import TestSupport

/// Baum-Welch over many sequences read a block of whole sequences at a time: the same likelihood
/// history as in memory, from the same start.
@Suite struct StreamedHMMTests {
    /// Geyser's 299 eruptions as sequences of 1 to 40 rows (lengths drawn at random), written with an
    /// `id` column to a CSV file; the rows, the sequences and the file's path.
    static func sequences(seed: UInt64) throws -> (Matrix<Double>, [SequenceRange], String) {
        let x = try TestData.csv("geyser.csv").values
        var rng = Xoshiro256StarStar(seed: seed)
        var ranges: [SequenceRange] = []
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + 1 + rng.nextInt(below: 40))
            ranges.append(start..<end)
            start = end
        }
        var text = "id,waiting,duration\n"
        for (s, range) in ranges.enumerated() { for t in range { text += "\(s),\(x[t, 0]),\(x[t, 1])\n" } }
        let path = TestData.temporaryDirectory().appendingPathComponent("sequences-\(seed).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (x, ranges, path)
    }

    @Test func streamedBaumWelchFollowsTheInMemoryOne() throws {
        let (x, ranges, path) = try Self.sequences(seed: 3)
        // The sequences found in the file's id column, a few rows at a time, are the ones written.
        #expect(try [SequenceRange].split(by: CSVRowReader(path: path, columns: ["id"]), blockRows: 7) == ranges)
        let csv = try CSVRowReader(path: path, columns: ["waiting", "duration"], pieceRows: 25)
        for type in [CovarianceType.full, .diag] {
            var options = HMMFitOptions<GaussianEmission>(covarianceType: type, seed: 1)
            options.em = EMOptions(maxIterations: 4, tolerance: 0)
            options.restarts = 1
            let start = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options).model
            options.warmStart = start
            options.em = EMOptions(maxIterations: 25, tolerance: 0)
            let inMemory = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options).report.trace.history
            for source in [x as any RowBlocks, csv] {
                for blockRows in [1, 37, 1_000] {
                    let data = StreamedSequenceData(source: source, sequences: ranges, blockRows: blockRows, threads: 2)
                    let streamed = try HiddenMarkovModel<GaussianEmission>.fitStreamed(data, states: 3, options: options).report.trace.history
                    #expect(streamed.count == inMemory.count)
                    for (a, b) in zip(streamed, inMemory) { #expect(abs(a - b) <= 1e-9 * abs(b), "\(type), blocks of \(blockRows): \(a) against \(b)") }
                }
            }
        }
    }

    /// With no start given, the start is the default search on a sample of whole sequences (here all
    /// of them, fewer than 20,000 rows): the streamed fit reaches the in-memory default fit's optimum.
    @Test func theDefaultStreamedFitReachesTheInMemoryOptimum() throws {
        let (x, ranges, _) = try Self.sequences(seed: 4)
        let options = HMMFitOptions<GaussianEmission>(covarianceType: .diag, seed: 2)
        let inMemory = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: ranges, states: 3, options: options).report
        let data = StreamedSequenceData(source: x, sequences: ranges, blockRows: 50)
        let streamed = try HiddenMarkovModel<GaussianEmission>.fitStreamed(data, states: 3, options: options).report
        #expect(abs(streamed.logLikelihood - inMemory.logLikelihood) <= 1e-6 * abs(inMemory.logLikelihood))
        var fixed = options
        fixed.fixed = .transitions
        #expect(throws: ModelError.self) { try HiddenMarkovModel<GaussianEmission>.fitStreamed(data, states: 3, options: fixed) }
    }
}
