import Foundation

/// Categorical emissions: one integer symbol `x_t ∈ {0, …, M−1}` per step, `p(x_t = m | z_t = k) = Bₖₘ`.
public struct CategoricalEmission: HMMEmission {
    /// Emission probabilities `B` (`K × M`), rows summing to 1.
    public let probabilities: Matrix<Double>

    public static let kind = "categorical"
    public var stateCount: Int { probabilities.rows }
    public var dimension: Int { 1 }
    public var symbolCount: Int { probabilities.columns }
    public var parameterCount: Int { stateCount * (symbolCount - 1) }

    /// Emissions with the given `K × M` probabilities.
    public init(probabilities: Matrix<Double>) throws {
        for k in 0..<probabilities.rows {
            let row = probabilities.row(k)
            guard row.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(row.reduce(0, +) - 1) < 1e-6 else {
                throw ModelError.invalidSetting("emission probabilities of state \(k) must be non-negative and sum to 1")
            }
        }
        self.probabilities = probabilities
    }

    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        precondition(x.columns == 1, "Categorical emissions take one column of symbols")
        var out = Matrix<Double>(rows: x.rows, columns: stateCount)
        let logB = probabilities.elements.map { log($0) }
        for t in 0..<x.rows {
            let m = Int(x[t, 0])
            for k in 0..<stateCount { out[t, k] = m < symbolCount ? logB[k * symbolCount + m] : -.infinity }
        }
        return out
    }

    public func validateScored(_ x: Matrix<Double>) throws {
        try Self.validate(x)
        if let bad = x.elements.first(where: { Int($0) >= symbolCount }) {
            throw ModelError.invalidSetting("symbol \(Int(bad)) was not seen in training (the model knows 0…\(symbolCount - 1))")
        }
    }

    public typealias Statistics = WeightedSums

    /// `Σ_t γ_tk` and, per symbol `m`, `Σ_{t: x_t = m} γ_tk`.
    /// - Throws: ``ModelError/invalidSetting(_:)`` for a symbol the model does not know.
    public func statistics(posteriors: Matrix<Double>, context: HMMObservations) throws -> WeightedSums {
        let x = context.data
        var out = WeightedSums(states: stateCount, width: symbolCount)
        for t in 0..<x.rows {
            let m = Int(x[t, 0])
            guard m < symbolCount else {
                throw ModelError.invalidSetting("row \(t + 1) holds symbol \(m); the model knows 0…\(symbolCount - 1)")
            }
            for k in 0..<stateCount {
                out.addWeight(state: k, posteriors[t, k])
                out.add(state: k, weight: posteriors[t, k], column: m, value: 1)
            }
        }
        return out
    }

    public func maximizing(_ statistics: WeightedSums, regularization: Double, relativeRegularization: Double) throws -> CategoricalEmission {
        let m = symbolCount
        guard statistics.weights.count == stateCount, statistics.width == m else {
            throw ModelError.invalidSetting("the statistics are for \(statistics.weights.count) states × \(statistics.width) symbols; the model has \(stateCount) × \(m)")
        }
        var b = Matrix<Double>(rows: stateCount, columns: m)
        for k in 0..<stateCount {
            let total = statistics.weights[k]
            for j in 0..<m { b[k, j] = total > 0 ? statistics.sums[k * m + j] / total : 1 / Double(m) }
        }
        return try CategoricalEmission(probabilities: b)
    }

    public var parameterValues: [Double] { probabilities.elements }

    /// The emission probabilities.
    public func extrapolationCoordinates(context: HMMObservations) -> [Double]? { probabilities.elements }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], context: HMMObservations) -> CategoricalEmission? {
        guard coordinates.count == probabilities.elements.count else { return nil }
        return try? CategoricalEmission(probabilities: Matrix(rows: probabilities.rows, columns: probabilities.columns, storage: coordinates))
    }

    /// Random rows drawn from a Dirichlet(1, …, 1), mixed 9 : 1 with the symbols' frequencies. (Half
    /// and half started too near the symmetric saddle where every state emits alike: a 3-state fit
    /// of the binary geyser durations stayed there, 0.23 nats per observation below hmmlearn.)
    public static func initial(states k: Int, context: HMMObservations, rng: inout Xoshiro256StarStar) throws -> CategoricalEmission {
        let symbols = Int(context.data.elements.max() ?? 0) + 1
        var frequency = [Double](repeating: 0, count: symbols)
        for v in context.data.elements { frequency[Int(v)] += 1 / Double(context.data.rows) }
        var b = Matrix<Double>(rows: k, columns: symbols)
        for s in 0..<k {
            let d = rng.nextDirichlet([Double](repeating: 1, count: symbols))
            for m in 0..<symbols { b[s, m] = 0.9 * d[m] + 0.1 * frequency[m] }
        }
        return try CategoricalEmission(probabilities: b)
    }

    public static func validate(_ x: Matrix<Double>) throws {
        guard x.columns == 1 else { throw ModelError.invalidSetting("categorical emissions take exactly one column of symbols; choose it with --columns") }
        if let i = x.elements.firstIndex(where: { !($0 >= 0 && $0 == $0.rounded() && $0 < 1e6) }) {
            throw ModelError.invalidSetting("row \(i + 1): categorical symbols must be integers 0, 1, 2, …; found \(x.elements[i])")
        }
    }

    public func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        [Double(rng.nextCategorical(probabilities.row(k)))]
    }
}
