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

    /// Missing values are integrated out block by block: the same history as the in-memory fit of
    /// the air-quality data (42 of 153 rows miss a value), from memory and from the CSV file.
    @Test(arguments: CovarianceType.allCases)
    func missingValuesGiveTheInMemoryHistory(type: CovarianceType) throws {
        let x = try TestData.csv("airquality.csv").values
        #expect(x.elements.contains { $0.isNaN })
        var options = MixtureFitOptions(covarianceType: type, restarts: 1, em: EMOptions(maxIterations: 3, tolerance: 0), seed: 2, threads: 1)
        let start = try GaussianMixture.fit(x, components: 3, options: options).model
        options.warmStart = start
        options.em = EMOptions(maxIterations: 20, tolerance: 0)
        let inMemory = try GaussianMixture.fit(x, components: 3, options: options)
        let csv = try CSVRowReader(path: TestData.path("airquality.csv"), pieceRows: 29, allowsMissing: true)
        #expect(throws: DataError.self) { try CSVRowReader(path: TestData.path("airquality.csv")) }
        for source in [x as any RowBlocks, csv] {
            let streamed = try GaussianMixture.fitStreamed(StreamedMixtureData(source: source, blockRows: 40, threads: 1),
                                                           components: 3, options: options)
            #expect(streamed.report.trace.history.count == inMemory.report.trace.history.count)
            for (a, b) in zip(streamed.report.trace.history, inMemory.report.trace.history) {
                #expect(abs(a - b) <= 1e-9 * abs(b))
            }
        }
        // And the default start search on the subsample, which holds the missing values too.
        let fitted = try GaussianMixture.fitStreamed(StreamedMixtureData(source: x, blockRows: 40, threads: 1), components: 2,
                                                     options: MixtureFitOptions(covarianceType: type, threads: 1))
        #expect(fitted.report.logLikelihood.isFinite)
    }

    @Test func anInfiniteValueOrAnEmptyRowIsNamedByItsRowInTheFile() throws {
        var x = try TestData.csv("faithful.csv").values
        let start = try GaussianMixture.fit(x.selectingRows(0..<100), components: 2, options: MixtureFitOptions(restarts: 1, threads: 1)).model
        let options = MixtureFitOptions(restarts: 1, threads: 1, warmStart: start)
        x[200, 1] = .infinity
        #expect(performing: {
            try GaussianMixture.fitStreamed(StreamedMixtureData(source: x, blockRows: 50, threads: 1), components: 2, options: options)
        }, throws: { "\($0)".contains("row 201, column 2") })
        x[200, 1] = .nan
        x[200, 0] = .nan
        #expect(performing: {
            try GaussianMixture.fitStreamed(StreamedMixtureData(source: x, blockRows: 50, threads: 1), components: 2, options: options)
        }, throws: { "\($0)".contains("row 201 has every value missing") })
    }
}
