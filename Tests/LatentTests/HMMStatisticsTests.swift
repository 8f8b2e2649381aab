import Foundation
import Testing
import Latent
import TestSupport

/// Baum-Welch's E-step as typed, mergeable statistics (``HMMStatistics``): any split of the
/// sequences, merged in any order, gives the statistics and the M-step of one pass.
@Suite struct HMMStatisticsTests {
    /// `x` cut into sequences of `length` rows (the last one shorter).
    static func sequences(_ rows: Int, length: Int) -> [SequenceRange] {
        stride(from: 0, to: rows, by: length).map { $0..<min(rows, $0 + length) }
    }

    /// The sequences dealt at random to `parts` parts: each part's rows and its sequences re-based.
    static func split(_ x: Matrix<Double>, _ sequences: [SequenceRange], parts: Int,
                      rng: inout Xoshiro256StarStar) -> [(Matrix<Double>, [SequenceRange])] {
        var owner = sequences.map { _ in rng.nextInt(below: parts) }
        for p in 0..<parts where p < sequences.count { owner[p] = p }   // no part empty
        return (0..<parts).map { p in
            var rows: [Int] = [], ranges: [SequenceRange] = []
            for (s, range) in sequences.enumerated() where owner[s] == p {
                ranges.append(rows.count..<(rows.count + range.count))
                rows += Array(range)
            }
            return (x.selectingRows(rows), ranges)
        }
    }

    func check<E: HMMEmission>(_ x: Matrix<Double>, sequences: [SequenceRange], states: Int, options: HMMFitOptions<E>, seed: UInt64) throws {
        var options = options
        options.seed = seed
        options.em = EMOptions(maxIterations: 3, tolerance: 0)
        options.restarts = 1
        options.shortRuns = 1
        options.splitMergeTrials = 0
        let model = try HiddenMarkovModel<E>.fit(x, sequences: sequences, states: states, options: options).model
        let whole = try model.statistics(of: x, sequences: sequences, relativeRegularization: options.relativeRegularization, threads: 2)
        #expect(abs(whole.logLikelihood - model.logLikelihood(of: x, sequences: sequences)) <= 1e-9 * abs(whole.logLikelihood))
        #expect(whole.rows == x.rows && whole.sequences == sequences.count)
        // One Baum-Welch step in memory, from the same model.
        var step = options
        step.warmStart = model
        step.em = EMOptions(maxIterations: 1, tolerance: 0)
        let inMemory = try HiddenMarkovModel<E>.fit(x, sequences: sequences, states: states, options: step).model
        var rng = Xoshiro256StarStar(seed: seed &+ 100)
        for _ in 0..<3 {
            var parts = try Self.split(x, sequences, parts: 2 + rng.nextInt(below: 3), rng: &rng).map { part, ranges in
                try model.statistics(of: part, sequences: ranges, relativeRegularization: options.relativeRegularization, threads: 1)
            }
            while parts.count > 1 {
                var a = parts.remove(at: rng.nextInt(below: parts.count))
                try a.merge(parts.remove(at: rng.nextInt(below: parts.count)))
                parts.append(a)
            }
            let merged = parts[0]
            #expect(merged.rows == whole.rows && merged.sequences == whole.sequences)
            #expect(abs(merged.logLikelihood - whole.logLikelihood) <= 1e-10 * abs(whole.logLikelihood))
            for (a, b) in zip(merged.startCounts + merged.transitionCounts, whole.startCounts + whole.transitionCounts) {
                #expect(abs(a - b) <= 1e-10 * max(1, abs(b)))
            }
            let next = try model.maximizing(merged, relativeRegularization: options.relativeRegularization)
            let a = next.logLikelihood(of: x, sequences: sequences), b = inMemory.logLikelihood(of: x, sequences: sequences)
            #expect(abs(a - b) <= 1e-9 * abs(b), "\(E.kind): merged step \(a), in-memory step \(b)")
            for (u, v) in zip(next.transitions.elements, inMemory.transitions.elements) { #expect(abs(u - v) <= 1e-9) }
        }
        let decoded = try JSONDecoder().decode(HMMStatistics<E>.self, from: JSONEncoder().encode(whole))
        #expect(decoded == whole)
        // Statistics of another model are refused.
        let other = try HiddenMarkovModel<E>.fit(x, sequences: sequences, states: states, options: step).model
        #expect(throws: ModelError.self) { try other.maximizing(whole) }
        var copy = whole
        #expect(throws: ModelError.self) { try copy.merge(other.statistics(of: x, sequences: sequences)) }
    }

    @Test func gaussianStatisticsOfAnySplitMergeIntoOnePass() throws {
        let x = try TestData.csv("geyser.csv").values
        let sequences = Self.sequences(x.rows, length: 23)
        for (seed, type) in [(1, CovarianceType.full), (2, .tied), (3, .diag), (4, .spherical)] as [(UInt64, CovarianceType)] {
            try check(x, sequences: sequences, states: 3, options: HMMFitOptions<GaussianEmission>(covarianceType: type), seed: seed)
        }
        try check(x, sequences: sequences, states: 2,
                  options: HMMFitOptions<GaussianMixtureEmission>(covarianceType: .full, emissionSettings: .init(componentsPerState: 2)), seed: 5)
        // A part may have a constant column (two eruptions of 4 minutes): its statistics are made,
        // and merged with the rest they still give the whole.
        let model = try HiddenMarkovModel<GaussianEmission>.fit(x, sequences: sequences, states: 2, options: HMMFitOptions(covarianceType: .diag)).model
        var part = try model.statistics(of: Matrix([[70, 4.0], [75, 4.0]]))
        try part.merge(model.statistics(of: x, sequences: sequences))
        #expect(part.rows == x.rows + 2)
    }

    @Test func countStatisticsOfAnySplitMergeIntoOnePass() throws {
        let counts = try TestData.csv("discoveries.csv", columns: ["count"]).values
        try check(counts, sequences: Self.sequences(counts.rows, length: 10), states: 2, options: HMMFitOptions<PoissonEmission>(), seed: 6)
        let symbols = try TestData.csv("reference/geyserdurations.csv").values
        try check(symbols, sequences: Self.sequences(symbols.rows, length: 30), states: 2, options: HMMFitOptions<CategoricalEmission>(), seed: 7)
    }
}
