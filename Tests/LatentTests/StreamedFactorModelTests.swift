import Foundation
import Testing
import Latent
import TestSupport

/// Factor analysis and probabilistic PCA of rows read a block at a time: one pass of mergeable
/// moments (``LinearGaussianStatistics``) gives the fit that complete data in memory gives.
struct StreamedFactorModelTests {
    /// On the 13 wine measurements (columns in units from 0.1 to 1,000), from memory in blocks of 17
    /// rows and from the CSV file parsed in pieces of 40 rows.
    @Test func streamedFitsEqualTheInMemoryOnes() throws {
        let x = try TestData.csv("reference/wine13.csv").values
        let csv = try CSVRowReader(path: TestData.path("reference/wine13.csv"), pieceRows: 40)
        // Tight stopping rules: a noise variance lies along a flat direction of the likelihood, where
        // two runs that differ only in rounding (one pass of moments against blocks merged) stop apart
        // (3e-5 relative at the default tolerance 1e-7 with OpenBLAS's Zen kernels). A tighter rule does
        // not close the gap: at 1e-11 they stopped 1.4e-5 apart with OpenBLAS's Cooper Lake kernels (an
        // AVX-512 Zen 4) while their log-likelihoods agree to 1e-9, so the variances' bound is 1e-4.
        let tight = LinearGaussianFitOptions(em: EMOptions(maxIterations: 100_000, tolerance: 1e-11))
        let fa = try FactorAnalysis.fit(x, factors: 3, options: tight)
        let ppca = try ProbabilisticPCA.fit(x, components: 3)
        for source in [x as any RowBlocks, csv] {
            let streamedFA = try FactorAnalysis.fitStreamed(source, factors: 3, blockRows: 17, options: tight)
            // EM stops at the same tolerance from the same start: the optimum agrees far below it.
            #expect(abs(streamedFA.report.logLikelihood - fa.report.logLikelihood) <= 1e-9 * abs(fa.report.logLikelihood))
            #expect(abs(streamedFA.model.meanLogLikelihood(of: x) - fa.model.meanLogLikelihood(of: x)) < 1e-9)
            for j in 0..<x.columns {
                #expect(abs(streamedFA.model.noiseVariances[j] - fa.model.noiseVariances[j]) <= 1e-4 * fa.model.noiseVariances[j])
            }
            let streamedPPCA = try ProbabilisticPCA.fitStreamed(source, components: 3, blockRows: 17)
            #expect(abs(streamedPPCA.report.logLikelihood - ppca.report.logLikelihood) <= 1e-12 * abs(ppca.report.logLikelihood))
            #expect(abs(streamedPPCA.model.noiseVariances[0] - ppca.model.noiseVariances[0]) <= 1e-10 * ppca.model.noiseVariances[0])
        }
    }

    /// Statistics of random splits of the rows, merged in random order and grouping, equal those of
    /// the whole, and the fits from them equal the in-memory fits; other widths and versions are refused.
    @Test func statisticsMergedOverRandomSplitsEqualOnePass() throws {
        let x = try TestData.csv("reference/wine13.csv").values
        let whole = try LinearGaussianStatistics(x)
        let fa = try FactorAnalysis.fit(x, factors: 2)
        var rng = Xoshiro256StarStar(seed: 8)
        for _ in 0..<5 {
            // Cut points at random, each part's statistics, then merged pairwise in a random order.
            let cuts = ([0, x.rows] + (0..<(1 + rng.nextInt(below: 5))).map { _ in rng.nextInt(below: x.rows) }).sorted()
            var parts = try zip(cuts, cuts.dropFirst()).map { try LinearGaussianStatistics(x.selectingRows(Array($0..<$1))) }
            while parts.count > 1 {
                let a = parts.remove(at: rng.nextInt(below: parts.count)), b = parts.remove(at: rng.nextInt(below: parts.count))
                var merged = a
                try merged.merge(b)
                parts.append(merged)
            }
            let total = parts[0]
            #expect(total.count == whole.count)
            for j in 0..<x.columns { #expect(abs(total.mean[j] - whole.mean[j]) <= 1e-12 * max(1, abs(whole.mean[j]))) }
            let largest = whole.scatter.map(abs).max()!
            for i in whole.scatter.indices { #expect(abs(total.scatter[i] - whole.scatter[i]) <= 1e-11 * largest) }
            let fromStatistics = try FactorAnalysis.fit(statistics: total, factors: 2)
            #expect(abs(fromStatistics.report.logLikelihood - fa.report.logLikelihood) <= 1e-9 * abs(fa.report.logLikelihood))
        }
        // Encoded and decoded, the statistics are the same.
        let decoded = try JSONDecoder().decode(LinearGaussianStatistics.self, from: JSONEncoder().encode(whole))
        #expect(decoded == whole)
        var other = LinearGaussianStatistics(dimension: 3)
        #expect(throws: ModelError.self) { try other.merge(whole) }
        #expect(throws: ModelError.self) { try other.accumulate(x) }
    }

    /// With missing values the pass keeps moments per missingness pattern: on the bfi items (364 of
    /// 2,800 rows miss a value) the streamed fits equal the in-memory ones, which integrate the
    /// missing values out, from memory in blocks of 333 rows and from the CSV file in pieces of 500.
    @Test func streamedFitsWithMissingValuesEqualTheInMemoryOnes() throws {
        let x = try TestData.csv("bfi.csv").values
        #expect(x.missingCount > 0)
        let csv = try CSVRowReader(path: TestData.path("bfi.csv"), pieceRows: 500, allowsMissing: true)
        let fa = try FactorAnalysis.fit(x, factors: 3)
        let ppca = try ProbabilisticPCA.fit(x, components: 2)
        for source in [x as any RowBlocks, csv] {
            let streamedFA = try FactorAnalysis.fitStreamed(source, factors: 3, blockRows: 333)
            #expect(streamedFA.report.trace.history.count == fa.report.trace.history.count)
            for (a, b) in zip(streamedFA.report.trace.history, fa.report.trace.history) { #expect(abs(a - b) <= 1e-9 * abs(b)) }
            let streamedPPCA = try ProbabilisticPCA.fitStreamed(source, components: 2, blockRows: 333)
            #expect(streamedPPCA.report.trace.history.count == ppca.report.trace.history.count)
            for (a, b) in zip(streamedPPCA.report.trace.history, ppca.report.trace.history) { #expect(abs(a - b) <= 1e-9 * abs(b)) }
        }
    }

    /// Pattern statistics of random splits of the bfi rows (missing values and all), merged in a
    /// random order, hold the same patterns as one pass, and the fits from them equal the in-memory
    /// fits; complete parts merge in as the all-observed pattern; damaged or foreign statistics are refused.
    @Test func patternStatisticsMergedOverRandomSplitsEqualOnePass() throws {
        let x = try TestData.csv("bfi.csv").values
        let whole = try LinearGaussianPatternStatistics(x)
        #expect(whole.count == x.rows && whole.patterns.count > 1 && whole.completeStatistics == nil)
        let fa = try FactorAnalysis.fit(x, factors: 3)
        let ppca = try ProbabilisticPCA.fit(x, components: 2)
        var rng = Xoshiro256StarStar(seed: 12)
        for _ in 0..<3 {
            let cuts = ([0, x.rows] + (0..<(1 + rng.nextInt(below: 5))).map { _ in rng.nextInt(below: x.rows) }).sorted()
            var parts = try zip(cuts, cuts.dropFirst()).map { try LinearGaussianPatternStatistics(x.selectingRows(Array($0..<$1))) }
            parts.shuffle(using: &rng)
            let total = try LinearGaussianPatternStatistics.merged(parts)
            #expect(total.count == whole.count)
            #expect(total.patterns.map(\.observed) == whole.patterns.map(\.observed))
            for (a, b) in zip(total.patterns, whole.patterns) {
                #expect(a.moments.count == b.moments.count)
                for (u, v) in zip(a.moments.mean, b.moments.mean) { #expect(abs(u - v) <= 1e-12 * max(1, abs(v))) }
            }
            let fromStatistics = try FactorAnalysis.fit(statistics: total, factors: 3)
            #expect(fromStatistics.report.trace.history.count == fa.report.trace.history.count)
            for (a, b) in zip(fromStatistics.report.trace.history, fa.report.trace.history) { #expect(abs(a - b) <= 1e-9 * abs(b)) }
            let pca = try ProbabilisticPCA.fit(statistics: total, components: 2)
            #expect(abs(pca.report.logLikelihood - ppca.report.logLikelihood) <= 1e-9 * abs(ppca.report.logLikelihood))
        }
        // Complete rows' moments join as the pattern that observes every column.
        let complete = x.selectingRows((0..<x.rows).filter { i in (0..<x.columns).allSatisfy { !x[i, $0].isNaN } })
        let incomplete = x.selectingRows((0..<x.rows).filter { i in (0..<x.columns).contains { x[i, $0].isNaN } })
        var joined = try LinearGaussianPatternStatistics(complete: LinearGaussianStatistics(complete))
        try joined.merge(LinearGaussianPatternStatistics(incomplete))
        #expect(joined.patterns.map(\.observed) == whole.patterns.map(\.observed))
        let onlyComplete = try LinearGaussianPatternStatistics(complete)
        #expect(onlyComplete.completeStatistics == (try LinearGaussianStatistics(complete)))
        // Encoded and decoded, the same; another width is refused.
        let decoded = try JSONDecoder().decode(LinearGaussianPatternStatistics.self, from: JSONEncoder().encode(whole))
        #expect(decoded == whole)
        var narrow = LinearGaussianPatternStatistics(dimension: 3)
        #expect(throws: ModelError.self) { try narrow.merge(whole) }
    }

    @Test func anInfiniteValueOrAnEmptyRowIsNamed() throws {
        var x = try TestData.csv("reference/wine13.csv").values
        x[120, 4] = .infinity
        #expect(performing: { try FactorAnalysis.fitStreamed(x, factors: 2, blockRows: 50) },
                throws: { "\($0)".contains("row 121, column 5") })
        for j in 0..<x.columns { x[120, j] = .nan }
        #expect(performing: { try FactorAnalysis.fitStreamed(x, factors: 2, blockRows: 50) },
                throws: { "\($0)".contains("row 121 has every value missing") })
        #expect(performing: { try ProbabilisticPCA.fitStreamed(x.selectingRows(0..<1), components: 1) },
                throws: { "\($0)".contains("2") })
    }
}
