/// The stored form of a ``BayesianGaussianMixture``: its prior and its posterior's parameters.
struct BayesianGaussianMixtureParameters: Codable, Equatable {
    var weightPrior: BayesianMixturePrior.WeightPrior
    var priorWeightConcentration: Double
    var priorMeanPrecision: Double
    var priorMean: [Double]
    var priorDegreesOfFreedom: Double
    var priorCovariance: [[Double]]
    var weightConcentration: [Double]
    var weightConcentration2: [Double]
    var meanPrecision: [Double]
    var means: [[Double]]
    var degreesOfFreedom: [Double]
    var scaleInverses: [[[Double]]]

    init(_ m: BayesianGaussianMixture) {
        weightPrior = m.prior.weightPrior
        priorWeightConcentration = m.prior.weightConcentration
        priorMeanPrecision = m.prior.meanPrecision
        priorMean = m.prior.mean
        priorDegreesOfFreedom = m.prior.degreesOfFreedom
        priorCovariance = m.prior.covariance.rowArrays
        weightConcentration = m.weightConcentration
        weightConcentration2 = m.weightConcentration2
        meanPrecision = m.meanPrecision
        means = m.means.rowArrays
        degreesOfFreedom = m.degreesOfFreedom
        scaleInverses = m.scaleInverses.map(\.rowArrays)
    }

    /// The model, with every check of the public initialiser (positive-definite matrices, shapes).
    func makeModel() throws -> BayesianGaussianMixture {
        func matrix(_ rows: [[Double]], _ name: String) throws -> Matrix<Double> {
            guard let width = rows.first?.count, width > 0, rows.allSatisfy({ $0.count == width }) else {
                throw ModelError.invalidSetting("\(name) must be a non-empty matrix with rows of equal length")
            }
            return Matrix(rows)
        }
        let prior = BayesianMixturePrior(weightPrior: weightPrior, weightConcentration: priorWeightConcentration,
                                         meanPrecision: priorMeanPrecision, mean: priorMean,
                                         degreesOfFreedom: priorDegreesOfFreedom, covariance: try matrix(priorCovariance, "priorCovariance"))
        return try BayesianGaussianMixture(prior: prior, weightConcentration: weightConcentration, weightConcentration2: weightConcentration2,
                                           meanPrecision: meanPrecision, means: try matrix(means, "means"), degreesOfFreedom: degreesOfFreedom,
                                           scaleInverses: try scaleInverses.map { try matrix($0, "scaleInverses") })
    }
}
