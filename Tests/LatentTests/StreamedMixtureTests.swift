import Foundation
import Testing
import Latent
import TestSupport

/// Streamed EM (blocks of rows, statistics merged, M-step) follows the in-memory EM from the same start.
struct StreamedMixtureTests {
    @Test(arguments: CovarianceType.allCases)
    func streamedAndInMemoryEMHaveTheSameHistory(type: CovarianceType) throws {
        let x = try TestData.csv("geyser.csv").values
        var options = MixtureFitOptions(covarianceType: type, restarts: 1, em: EMOptions(maxIterations: 3, tolerance: 0), seed: 5, threads: 1)
        let start = try GaussianMixture.fit(x, components: 3, options: options).model
        options.warmStart = start
        options.em = EMOptions(maxIterations: 25, tolerance: 0)
        let inMemory = try GaussianMixture.fit(x, components: 3, options: options)
        // Blocks of 37 rows, from memory and from a .npy file read block by block.
        let file = TestData.temporaryDirectory().appendingPathComponent("geyser.npy").path
        try NumPy.write(x, to: file)
        // And from the CSV file itself, parsed in pieces of 29 rows that the blocks cut across.
        let csv = try CSVRowReader(path: TestData.path("geyser.csv"), pieceRows: 29)
        #expect(try csv.rows(0..<csv.rowCount) == x)
        for source in [x as any RowBlocks, try NumPyRowReader(path: file), csv] {
            let streamed = try GaussianMixture.fitStreamed(StreamedMixtureData(source: source, blockRows: 37, threads: 1),
                                                           components: 3, options: options)
            #expect(streamed.report.trace.history.count == inMemory.report.trace.history.count)
            for (a, b) in zip(streamed.report.trace.history, inMemory.report.trace.history) {
                #expect(abs(a - b) <= 1e-9 * abs(b))
            }
        }
    }

    @Test func aMissingValueIsNamedByItsRowInTheFile() throws {
        var x = try TestData.csv("faithful.csv").values
        x[200, 1] = .nan
        let start = try GaussianMixture.fit(x.selectingRows(0..<100), components: 2, options: MixtureFitOptions(restarts: 1, threads: 1)).model
        let options = MixtureFitOptions(restarts: 1, threads: 1, warmStart: start)
        #expect(performing: {
            try GaussianMixture.fitStreamed(StreamedMixtureData(source: x, blockRows: 50, threads: 1), components: 2, options: options)
        }, throws: { "\($0)".contains("row 201, column 2") })
    }
}
