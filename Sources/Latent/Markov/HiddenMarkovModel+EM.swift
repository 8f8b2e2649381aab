import Foundation

/// Which parameters Baum-Welch leaves as they are.
public struct HMMFixedParameters: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Keep the start probabilities.
    public static let start = HMMFixedParameters(rawValue: 1)
    /// Keep the transition matrix.
    public static let transitions = HMMFixedParameters(rawValue: 2)
    /// Keep the emission parameters.
    public static let emissions = HMMFixedParameters(rawValue: 4)
}

/// Sequences prepared for Baum-Welch, with what the emission's M-step needs.
public struct HMMTrainingData<Emission: HMMEmission>: Sendable {
    /// All sequences, concatenated (rows in time order).
    public let data: Matrix<Double>
    /// Where each sequence lies in ``data``.
    public let sequences: [SequenceRange]
    let context: Emission.FitContext
    let fixed: HMMFixedParameters
    let threads: Int
    /// The Gaussian emissions' variance floor (see ``HMMFitOptions``).
    let regularization: Double, relativeRegularization: Double
    /// Whether the sequences, in order, cover every row exactly once.
    let coversAllRows: Bool
    /// What split-and-merge moves use again and again, computed once: ``data`` standardised, and
    /// its rows' neighbour radii for the seeded moves (nil unless asked for).
    let moveGeometry: (standardized: Matrix<Double>, radii: SplitAndMerge.NeighbourRadii?)?

    /// `preparingMovesForStates`: the states of the models whose split-and-merge moves will be
    /// searched (nil: none); the neighbour radii are computed only for three or more (seeded moves).
    init(data: Matrix<Double>, sequences: [SequenceRange], context: Emission.FitContext, fixed: HMMFixedParameters, threads: Int,
         regularization: Double, relativeRegularization: Double, preparingMovesForStates states: Int? = nil) {
        self.data = data
        self.regularization = regularization
        self.relativeRegularization = relativeRegularization
        self.sequences = sequences
        self.context = context
        self.fixed = fixed
        self.threads = threads
        var next = 0
        coversAllRows = sequences.allSatisfy { range in
            defer { next = range.upperBound }
            return range.lowerBound == next
        } && next == data.rows
        if let states {
            let standardized = Self.standardized(data)
            moveGeometry = (standardized, states >= 3 ? SplitAndMerge.neighbourRadii(standardized) : nil)
        } else {
            moveGeometry = nil
        }
    }
}

extension HiddenMarkovModel: ExpectationMaximizable {
    /// One Baum-Welch iteration: the E-step's statistics (``HMMStatistics``), then the M-step from them.
    public mutating func expectationMaximizationStep(on data: HMMTrainingData<Emission>) throws -> Double {
        let statistics = try expectation(on: data)
        self = try maximizing(statistics, fixed: data.fixed, regularization: data.regularization,
                              relativeRegularization: data.relativeRegularization)
        return statistics.logLikelihood
    }

    public func totalLogLikelihood(of data: HMMTrainingData<Emission>) throws -> Double {
        logLikelihood(of: data.data, sequences: data.sequences, threads: data.threads)
    }

    /// Start probabilities, transitions (row-major) and the emission's coordinates
    /// (``EMAcceleration/squarem``); zeros of a fixed topology stay zero, since EM keeps them.
    public func extrapolationCoordinates(on data: HMMTrainingData<Emission>) -> [Double]? {
        emission.extrapolationCoordinates(context: data.context).map { startProbabilities + transitions.elements + $0 }
    }

    public func replacingExtrapolationCoordinates(_ coordinates: [Double], on data: HMMTrainingData<Emission>) -> HiddenMarkovModel? {
        let k = stateCount
        guard coordinates.count > k + k * k,
              let emission = emission.replacingExtrapolationCoordinates(Array(coordinates[(k + k * k)...]), context: data.context)
        else { return nil }
        return try? HiddenMarkovModel(startProbabilities: Array(coordinates[0..<k]),
                                      transitions: Matrix(rows: k, columns: k, storage: Array(coordinates[k..<(k + k * k)])),
                                      emission: emission)
    }
}
