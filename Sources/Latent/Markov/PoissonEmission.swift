import Foundation

/// Poisson emissions: each column is an independent count, `x_{td} | z_t = k ~ Poisson(λₖd)`.
public struct PoissonEmission: HMMEmission {
    /// Rates `λ` (`K × D`), positive.
    public let rates: Matrix<Double>

    public static let kind = "poisson"
    public var stateCount: Int { rates.rows }
    public var dimension: Int { rates.columns }
    public var parameterCount: Int { rates.rows * rates.columns }

    /// Emissions with the given `K × D` rates.
    public init(rates: Matrix<Double>) throws {
        guard rates.elements.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ModelError.invalidSetting("Poisson rates must be positive and finite")
        }
        self.rates = rates
    }

    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        let k = stateCount, d = dimension
        var out = Matrix<Double>(rows: x.rows, columns: k)
        let logRates = rates.elements.map { log($0) }
        for t in 0..<x.rows {
            var logFactorials = 0.0
            for j in 0..<d { logFactorials += lgamma(x[t, j] + 1) }
            for s in 0..<k {
                var v = -logFactorials
                for j in 0..<d { v += x[t, j] * logRates[s * d + j] - rates[s, j] }
                out[t, s] = v
            }
        }
        return out
    }

    public typealias Statistics = WeightedSums

    /// `Σ_t γ_tk` and `Σ_t γ_tk x_t` per state.
    public func statistics(posteriors: Matrix<Double>, context: HMMObservations) throws -> WeightedSums {
        let k = stateCount, d = dimension, x = context.data
        guard x.columns == d else { throw ModelError.invalidSetting("the data has \(x.columns) columns; the model \(d)") }
        var out = WeightedSums(states: k, width: d)
        for t in 0..<x.rows {
            for s in 0..<k {
                let g = posteriors[t, s]
                out.addWeight(state: s, g)
                for j in 0..<d { out.add(state: s, weight: g, column: j, value: x[t, j]) }
            }
        }
        return out
    }

    public func maximizing(_ statistics: WeightedSums, regularization: Double, relativeRegularization: Double) throws -> PoissonEmission {
        let k = stateCount, d = dimension
        guard statistics.weights.count == k, statistics.width == d else {
            throw ModelError.invalidSetting("the statistics are for \(statistics.weights.count) states × \(statistics.width) columns; the model has \(k) × \(d)")
        }
        // A state that explains only zeros would get rate 0; keep it positive.
        let floor = 1e-10
        var rates = Matrix<Double>(rows: k, columns: d)
        for s in 0..<k { for j in 0..<d { rates[s, j] = max(statistics.sums[s * d + j] / max(statistics.weights[s], .ulpOfOne), floor) } }
        return try PoissonEmission(rates: rates)
    }

    public var parameterValues: [Double] { rates.elements }

    /// The rates (counts have no units to divide out).
    public func extrapolationCoordinates(context: HMMObservations) -> [Double]? { rates.elements }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], context: HMMObservations) -> PoissonEmission? {
        guard coordinates.count == rates.elements.count else { return nil }
        return try? PoissonEmission(rates: Matrix(rows: rates.rows, columns: rates.columns, storage: coordinates))
    }

    /// Rates from the data values at random rows, nudged off zero.
    public static func initial(states k: Int, context: HMMObservations, rng: inout Xoshiro256StarStar) throws -> PoissonEmission {
        let x = context.data, d = x.columns
        let mean = (0..<d).map { j in x.column(j).reduce(0, +) / Double(x.rows) }
        var rates = Matrix<Double>(rows: k, columns: d)
        for s in 0..<k {
            let row = rng.nextInt(below: x.rows)
            for j in 0..<d { rates[s, j] = max(0.5 * x[row, j] + 0.5 * mean[j] * 2 * rng.nextUniform(), 0.1) }
        }
        return try PoissonEmission(rates: rates)
    }

    public static func validate(_ x: Matrix<Double>) throws {
        if let i = x.elements.firstIndex(where: { !($0 >= 0 && $0 == $0.rounded() && $0.isFinite) }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1): Poisson counts must be non-negative integers; found \(x.elements[i])")
        }
    }

    public func sample(state k: Int, using rng: inout Xoshiro256StarStar) -> [Double] {
        (0..<dimension).map { Double(rng.nextPoisson(rates[k, $0])) }
    }
}
