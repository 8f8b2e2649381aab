/// How the components of a Gaussian mixture share and shape their covariances.
public enum CovarianceType: String, CaseIterable, Codable, Sendable {
    /// Each component has its own unrestricted covariance matrix.
    case full
    /// All components share one unrestricted covariance matrix.
    case tied
    /// Each component has its own diagonal covariance.
    case diag
    /// Each component has its own single variance, the same in every direction.
    case spherical
}

/// The covariances of a Gaussian mixture, in the shape their ``CovarianceType`` implies.
public enum MixtureCovariances: Equatable, Sendable {
    /// One `D × D` matrix per component.
    case full([Matrix<Double>])
    /// One `D × D` matrix shared by all components.
    case tied(Matrix<Double>)
    /// A `K × D` matrix of variances, one row per component.
    case diag(Matrix<Double>)
    /// One variance per component.
    case spherical([Double])

    /// The covariance type.
    public var type: CovarianceType {
        switch self {
        case .full: return .full
        case .tied: return .tied
        case .diag: return .diag
        case .spherical: return .spherical
        }
    }

    /// The full `D × D` covariance matrix of component `k`.
    public func matrix(component k: Int, dimension d: Int) -> Matrix<Double> {
        switch self {
        case .full(let m): return m[k]
        case .tied(let m): return m
        case .diag(let v): return .diagonal(v.row(k))
        case .spherical(let v): return .diagonal([Double](repeating: v[k], count: d))
        }
    }

    /// The first component's covariance repeated for `k` components.
    /// The variances of component `k` (the diagonal of its covariance), without building a `D × D` matrix.
    public func variances(component k: Int, dimension d: Int) -> [Double] {
        switch self {
        case .full(let m): return m[k].diagonal
        case .tied(let m): return m.diagonal
        case .diag(let v): return v.row(k)
        case .spherical(let v): return [Double](repeating: v[k], count: d)
        }
    }

    func repeated(_ k: Int) -> MixtureCovariances {
        switch self {
        case .full(let m): return .full([Matrix<Double>](repeating: m[0], count: k))
        case .tied(let m): return .tied(m)
        case .diag(let v): return .diag(Matrix((0..<k).map { _ in v.row(0) }))
        case .spherical(let v): return .spherical([Double](repeating: v[0], count: k))
        }
    }

    /// Covariances of this type built from full `D × D` matrices, one per component: the diagonals
    /// for `diag`, their mean for `spherical`; a `tied` covariance is kept as it is.
    func replacing(withFull matrices: [Matrix<Double>]) -> MixtureCovariances {
        switch self {
        case .full: return .full(matrices)
        case .tied: return self
        case .diag: return .diag(Matrix(matrices.map(\.diagonal)))
        case .spherical: return .spherical(matrices.map { $0.diagonal.reduce(0, +) / Double($0.rows) })
        }
    }
}
