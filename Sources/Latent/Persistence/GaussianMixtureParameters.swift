/// The stored form of a ``GaussianMixture``.
struct GaussianMixtureParameters: Codable, Equatable {
    var covarianceType: CovarianceType
    var weights: [Double]
    var means: [[Double]]
    /// full: K matrices; tied: one matrix; diag: one row of variances per component;
    /// spherical: one one-element row per component.
    var covariances: [[[Double]]]

    init(_ m: GaussianMixture) {
        covarianceType = m.covarianceType
        weights = m.weights
        means = m.means.rowArrays
        switch m.covariances {
        case .full(let ms): covariances = ms.map(\.rowArrays)
        case .tied(let t): covariances = [t.rowArrays]
        case .diag(let v): covariances = [v.rowArrays]
        case .spherical(let v): covariances = [v.map { [$0] }]
        }
    }

    func makeModel() throws -> GaussianMixture {
        let k = weights.count
        guard k > 0, means.count == k, let d = means.first?.count, d > 0, means.allSatisfy({ $0.count == d }) else {
            throw ModelError.invalidSetting("means must be one row of equal length per weight")
        }
        func square(_ rows: [[Double]]) throws -> Matrix<Double> {
            guard rows.count == d, rows.allSatisfy({ $0.count == d }) else {
                throw ModelError.invalidSetting("a covariance matrix is not \(d) × \(d)")
            }
            guard rows.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { throw ModelError.invalidSetting("a covariance matrix holds a value that is not a finite number") }
            // Symmetric up to rounding (a stored matrix is written from a symmetric one).
            for a in 0..<d {
                for b in 0..<a where abs(rows[a][b] - rows[b][a]) > 1e-9 * (abs(rows[a][a] * rows[b][b]).squareRoot() + abs(rows[a][b])) {
                    throw ModelError.invalidSetting("a covariance matrix is not symmetric: entry (\(a + 1), \(b + 1)) is \(rows[a][b]) but (\(b + 1), \(a + 1)) is \(rows[b][a])")
                }
            }
            return Matrix(rows)
        }
        let cov: MixtureCovariances
        switch covarianceType {
        case .full:
            guard covariances.count == k else { throw ModelError.invalidSetting("expected \(k) covariance matrices") }
            cov = .full(try covariances.map(square))
        case .tied:
            guard covariances.count == 1 else { throw ModelError.invalidSetting("expected one tied covariance matrix") }
            cov = .tied(try square(covariances[0]))
        case .diag:
            guard covariances.count == 1, covariances[0].count == k, covariances[0].allSatisfy({ $0.count == d }) else {
                throw ModelError.invalidSetting("expected \(k) rows of \(d) variances")
            }
            cov = .diag(Matrix(covariances[0]))
        case .spherical:
            guard covariances.count == 1, covariances[0].count == k, covariances[0].allSatisfy({ $0.count == 1 }) else {
                throw ModelError.invalidSetting("expected \(k) spherical variances")
            }
            cov = .spherical(covariances[0].map { $0[0] })
        }
        return try GaussianMixture(weights: weights, means: Matrix(means), covariances: cov)
    }
}
