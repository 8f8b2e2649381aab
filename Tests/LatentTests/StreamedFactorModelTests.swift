import Foundation
import Testing
import Latent
import TestSupport

/// Factor analysis and probabilistic PCA of rows read a block at a time: two passes (means, then the
/// scatter about them) give the fit that complete data in memory gives.
struct StreamedFactorModelTests {
    /// On the 13 wine measurements (columns in units from 0.1 to 1,000), from memory in blocks of 17
    /// rows and from the CSV file parsed in pieces of 40 rows.
    @Test func streamedFitsEqualTheInMemoryOnes() throws {
        let x = try TestData.csv("reference/wine13.csv").values
        let csv = try CSVRowReader(path: TestData.path("reference/wine13.csv"), pieceRows: 40)
        let fa = try FactorAnalysis.fit(x, factors: 3)
        let ppca = try ProbabilisticPCA.fit(x, components: 3)
        for source in [x as any RowBlocks, csv] {
            let streamedFA = try FactorAnalysis.fitStreamed(source, factors: 3, blockRows: 17)
            // EM stops at the same tolerance from the same start: the optimum agrees far below it.
            #expect(abs(streamedFA.report.logLikelihood - fa.report.logLikelihood) <= 1e-9 * abs(fa.report.logLikelihood))
            #expect(abs(streamedFA.model.meanLogLikelihood(of: x) - fa.model.meanLogLikelihood(of: x)) < 1e-9)
            for j in 0..<x.columns {
                #expect(abs(streamedFA.model.noiseVariances[j] - fa.model.noiseVariances[j]) <= 1e-5 * fa.model.noiseVariances[j])
            }
            let streamedPPCA = try ProbabilisticPCA.fitStreamed(source, components: 3, blockRows: 17)
            #expect(abs(streamedPPCA.report.logLikelihood - ppca.report.logLikelihood) <= 1e-12 * abs(ppca.report.logLikelihood))
            #expect(abs(streamedPPCA.model.noiseVariances[0] - ppca.model.noiseVariances[0]) <= 1e-10 * ppca.model.noiseVariances[0])
        }
    }

    @Test func anIncompleteRowIsNamed() throws {
        var x = try TestData.csv("reference/wine13.csv").values
        x[120, 4] = .nan
        #expect(performing: { try FactorAnalysis.fitStreamed(x, factors: 2, blockRows: 50) },
                throws: { "\($0)".contains("row 121, column 5") })
        #expect(performing: { try ProbabilisticPCA.fitStreamed(x.selectingRows(0..<1), components: 1) },
                throws: { "\($0)".contains("2") })
    }
}
