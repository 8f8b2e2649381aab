/// The stored form of a ``LinearDynamicalSystem``: matrices as arrays of rows.
struct LinearDynamicalSystemParameters: Codable, Equatable {
    var transition: [[Double]]
    var stateNoise: [[Double]]
    var observation: [[Double]]
    var offset: [Double]
    var observationNoise: [[Double]]
    var observationNoiseType: LinearDynamicalSystem.ObservationNoise
    var initialMean: [Double]
    var initialCovariance: [[Double]]
    var initialState: LinearDynamicalSystem.InitialState
    var fixed: [LinearDynamicalSystem.Parameter]

    init(_ m: LinearDynamicalSystem) {
        transition = m.transition.rowArrays
        stateNoise = m.stateNoise.rowArrays
        observation = m.observation.rowArrays
        offset = m.offset
        observationNoise = m.observationNoise.rowArrays
        observationNoiseType = m.observationNoiseType
        initialMean = m.initialMean
        initialCovariance = m.initialCovariance.rowArrays
        initialState = m.initialState
        fixed = m.fixed.sorted()
    }

    /// The model, with every check of ``LinearDynamicalSystem/init(transition:stateNoise:observation:offset:observationNoise:observationNoiseType:initialMean:initialCovariance:initialState:fixed:)``.
    func makeModel() throws -> LinearDynamicalSystem {
        func matrix(_ rows: [[Double]], _ name: String) throws -> Matrix<Double> {
            guard let width = rows.first?.count, width > 0, rows.allSatisfy({ $0.count == width }) else {
                throw ModelError.invalidSetting("\(name) must be a non-empty matrix with rows of equal length")
            }
            return Matrix(rows)
        }
        return try LinearDynamicalSystem(transition: matrix(transition, "transition"), stateNoise: matrix(stateNoise, "stateNoise"),
                                         observation: matrix(observation, "observation"), offset: offset,
                                         observationNoise: matrix(observationNoise, "observationNoise"),
                                         observationNoiseType: observationNoiseType, initialMean: initialMean,
                                         initialCovariance: matrix(initialCovariance, "initialCovariance"),
                                         initialState: initialState, fixed: Set(fixed))
    }
}
