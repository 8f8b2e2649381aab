import Foundation
import Testing
import Latent
import TestSupport

/// The Kalman smoother's expected statistics as mergeable statistics (``StateSpaceStatistics``):
/// any split of the sequences, merged in any order, gives the statistics and the M-step of one pass.
@Suite struct StateSpaceStatisticsTests {
    /// 12 sequences of 40–80 steps from the small test system, with missing values and a gap.
    static func data() throws -> (Matrix<Double>, [SequenceRange]) {
        let truth = try LinearDynamicalSystemTests.smallModel(noise: .full)
        var rng = Xoshiro256StarStar(seed: 21)
        var rows: [[Double]] = [], sequences: [SequenceRange] = []
        for s in 0..<12 {
            let length = 40 + rng.nextInt(below: 41)
            var y = try LinearDynamicalSystemTests.simulated(truth, length: length, seed: 100 + UInt64(s))
            for i in 0..<y.rows where rng.nextUniform() < 0.1 { y[i, rng.nextInt(below: 2)] = .nan }
            if s == 3 { for i in 10..<15 { y[i, 0] = .nan; y[i, 1] = .nan } }
            sequences.append(rows.count..<(rows.count + length))
            rows += (0..<y.rows).map { y.row($0) }
        }
        return (Matrix(rows), sequences)
    }

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($0), abs($1)) }
    }

    static func values(_ s: StateSpaceStatistics) -> [Double] {
        s.initialMean + s.initialSecondMoment.elements + s.previousSecondMoment.elements + s.crossMoment.elements
            + s.nextSecondMoment.elements + s.stateSum + s.stateSecondMoment.elements + s.observationSum
            + s.observationStateMoment.elements + s.observationSecondMoment.elements + s.observedCounts + s.observedSums
            + s.observedSquares + [s.logLikelihood, Double(s.sequences), Double(s.transitions), Double(s.steps)]
    }

    static func parameters(_ m: LinearDynamicalSystem) -> [Double] {
        m.transition.elements + m.stateNoise.elements + m.observation.elements + m.offset + m.observationNoise.elements
            + m.initialMean + m.initialCovariance.elements
    }

    @Test func anySplitMergesIntoOnePassAndItsMStep() throws {
        let (y, sequences) = try Self.data()
        var options = StateSpaceFitOptions()
        options.em = EMOptions(maxIterations: 3, tolerance: 0)
        let model = try LinearDynamicalSystem.fit(y, sequences: sequences, latent: 2, options: options).model
        let data = StateSpaceTrainingData(y, sequences: sequences)
        let whole = try model.statistics(of: data)
        #expect(whole.sequences == 12 && whole.steps == y.rows && whole.modelFingerprint == model.fingerprint)
        #expect(Self.close(whole.columnVariances, data.columnVariances))
        // One EM step in memory against the M-step of the statistics.
        var stepped = model
        _ = try stepped.expectationMaximizationStep(on: data)
        #expect(Self.close(Self.parameters(try model.maximizing(whole)), Self.parameters(stepped)))

        var rng = Xoshiro256StarStar(seed: 5)
        for parts in [2, 3, 5] {
            let split = HMMStatisticsTests.split(y, sequences, parts: parts, rng: &rng)
            var pieces = try split.map { try model.statistics(of: StateSpaceTrainingData($0.0, sequences: $0.1)) }
            pieces.shuffle(using: &rng)
            let merged = try StateSpaceStatistics.merged(pieces)
            #expect(Self.close(Self.values(merged), Self.values(whole)), "\(parts) parts")
            #expect(Self.close(Self.parameters(try model.maximizing(merged)), Self.parameters(stepped)), "\(parts) parts")
        }
    }

    @Test func filesRoundTripAndOtherModelsAreRefused() throws {
        let (y, sequences) = try Self.data()
        let model = try LinearDynamicalSystem.fit(y, sequences: sequences, latent: 2).model
        let stats = try model.statistics(of: StateSpaceTrainingData(y, sequences: sequences))
        let decoded = try JSONDecoder().decode(StateSpaceStatistics.self, from: JSONEncoder().encode(stats))
        #expect(decoded == stats)

        var other = model
        other.offset[0] += 1e-6
        #expect(other.fingerprint != model.fingerprint)
        #expect(throws: ModelError.self) { _ = try other.maximizing(stats) }
        var mixed = stats
        let foreign = try other.statistics(of: StateSpaceTrainingData(y, sequences: sequences))
        #expect(throws: ModelError.self) { try mixed.merge(foreign) }
        // A damaged file: a matrix whose element count disagrees with its shape.
        let text = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
            .replacingOccurrences(of: "\"rows\":2", with: "\"rows\":3")
        #expect(throws: (any Error).self) { _ = try JSONDecoder().decode(StateSpaceStatistics.self, from: Data(text.utf8)) }
    }
}
