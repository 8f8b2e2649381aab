/// The stored form of a ``BayesianGaussianMixture``: its prior and its posterior's parameters.
struct BayesianGaussianMixtureParameters: Codable, Equatable {
    /// Absent in files written before tied, diagonal and spherical precisions existed: full.
    var covarianceType: CovarianceType?
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
    /// As a Gaussian mixture file's covariances: full, `K` matrices; tied, one matrix; diag, one
    /// `K × D` matrix; spherical, one `K × 1` matrix.
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
        covarianceType = m.covarianceType
        switch m.scaleInverses {
        case .full(let ws): scaleInverses = ws.map(\.rowArrays)
        case .tied(let w): scaleInverses = [w.rowArrays]
        case .diag(let v): scaleInverses = [v.rowArrays]
        case .spherical(let v): scaleInverses = [v.map { [$0] }]
        }
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
                                           scaleInverses: try scales())
    }

    private func scales() throws -> MixtureCovariances {
        let k = meanPrecision.count
        func matrix(_ rows: [[Double]]) throws -> Matrix<Double> {
            guard let width = rows.first?.count, width > 0, rows.allSatisfy({ $0.count == width }) else {
                throw ModelError.invalidSetting("scaleInverses must hold non-empty matrices with rows of equal length")
            }
            return Matrix(rows)
        }
        let type = covarianceType ?? .full
        switch type {
        case .full:
            return .full(try scaleInverses.map(matrix))
        case .tied, .diag, .spherical:
            guard scaleInverses.count == 1 else { throw ModelError.invalidSetting("scaleInverses of \(type.rawValue) precisions must be one matrix") }
            let m = try matrix(scaleInverses[0])
            switch type {
            case .tied: return .tied(m)
            case .diag: return .diag(m)
            default:
                guard m.rows == k, m.columns == 1 else { throw ModelError.invalidSetting("scaleInverses of spherical precisions must be \(k) × 1") }
                return .spherical(m.elements)
            }
        }
    }
}
