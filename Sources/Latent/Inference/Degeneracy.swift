import Foundation

/// A component of a mixture or a state of a hidden Markov model that makes a fit spurious.
///
/// Two kinds exist. A component *collapses* when it sits on repeated values: its covariance, less the
/// variance floor that regularisation adds, is singular, so its density (and the likelihood) grows
/// without bound as the floor shrinks and the figure says nothing about the data. A component is
/// *empty* when it explains less than one observation. The multi-start driver never returns a fit
/// with either while a start without them exists.
public struct Degeneracy: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Why the component is degenerate.
    public enum Kind: Sendable, Equatable, Codable {
        /// Its covariance less the floor has an eigenvalue at or below ``Degeneracy/collapseThreshold``
        /// times the column variances, or its standard deviation in a column is below
        /// ``Degeneracy/resolutionShare`` of that column's resolution. `column` names the column
        /// where that shows (for an eigenvalue, the one with the largest weight in the
        /// eigenvector), or nil when no single column stands out.
        case collapsed(column: Int?)
        /// It holds this many observations' worth of responsibility (less than one).
        case empty(occupancy: Double)
    }

    /// The 0-based component or state.
    public let component: Int
    public let kind: Kind

    public init(component: Int, kind: Kind) {
        self.component = component
        self.kind = kind
    }

    /// Relative size (to each column's variance) below which a covariance direction counts as
    /// collapsed: a component whose own spread, in units of the data's, is below one part in a
    /// million has reached it only by sitting on repeated values.
    public static let collapseThreshold = 1e-6

    /// Share of a column's resolution (the smallest gap between its distinct values) below which
    /// a component's standard deviation in that column, less the floor, counts as collapsed: a
    /// proper component spans several of the recorded values, so its spread is at least a good
    /// fraction of a gap; one with a tenth of a gap sits on a single value. (The best of 60
    /// hmmlearn fits of a 4-state model of the geyser waiting times, integers, has a state with
    /// sd 0.04 holding 7 of the 12 waits of 65 minutes.)
    public static let resolutionShare = 0.1

    public var description: String {
        switch kind {
        case .collapsed(let column?):
            return "component \(component) collapsed onto repeated values in column \(column + 1)"
        case .collapsed(nil):
            return "component \(component) collapsed onto a set of points with no spread in some direction"
        case .empty(let occupancy):
            return "component \(component) explains \(String(format: "%.3g", occupancy)) observations (less than one)"
        }
    }

    /// Degeneracies of Gaussian components, from their covariances.
    ///
    /// - Parameters:
    ///   - covariances: the covariances as fitted (floor included).
    ///   - occupancies: each component's expected number of observations.
    ///   - floors: the variance added to each column's diagonal by regularisation.
    ///   - columnVariances: each column's sample variance (a constant column is ignored).
    ///   - resolutions: each column's smallest gap between distinct values (0: not used).
    /// - Complexity: one `D × D` Cholesky factorisation per full component (one for tied), and an
    ///   eigendecomposition only for a collapsed one; `O(K·D)` otherwise.
    static func gaussian(covariances: MixtureCovariances, occupancies: [Double], floors: [Double],
                         columnVariances: [Double], resolutions: [Double]) -> [Degeneracy] {
        let k = occupancies.count, d = floors.count
        var out: [Degeneracy] = []
        let scale = columnVariances.map { $0 > 0 ? 1 / $0.squareRoot() : 0 }
        for c in 0..<k {
            if occupancies[c] < 1 {
                out.append(Degeneracy(component: c, kind: .empty(occupancy: occupancies[c])))
                continue
            }
            let variances = covariances.variances(component: c, dimension: d)
            if let j = (0..<d).first(where: {
                resolutions[$0] > 0 && variances[$0] - floors[$0] < (resolutionShare * resolutions[$0]) * (resolutionShare * resolutions[$0])
            }) {
                if covariances.type != .tied || c == 0 { out.append(Degeneracy(component: c, kind: .collapsed(column: j))) }
                continue
            }
            switch covariances {
            case .diag, .spherical:
                if covariances.type == .spherical {
                    // One variance for every column: collapsed when it is nil next to the widest column's.
                    let floor = floors.reduce(0, +) / Double(d)
                    let widest = columnVariances.max() ?? 0
                    if widest > 0 && variances[0] - floor <= collapseThreshold * widest {
                        out.append(Degeneracy(component: c, kind: .collapsed(column: nil)))
                    }
                } else if let j = (0..<d).first(where: { columnVariances[$0] > 0 && variances[$0] - floors[$0] <= collapseThreshold * columnVariances[$0] }) {
                    out.append(Degeneracy(component: c, kind: .collapsed(column: j)))
                }
            case .full, .tied:
                if covariances.type == .tied && c > 0 { continue }
                var s = covariances.matrix(component: c, dimension: d)
                for a in 0..<d {
                    s[a, a] -= floors[a]
                    for b in 0..<d { s[a, b] *= scale[a] * scale[b] }
                }
                // Proper when s − threshold·I is positive definite: one Cholesky factorisation
                // settles it, and only a collapsed component needs the eigendecomposition that
                // says along which axis it collapsed.
                var shifted = s
                for a in 0..<d { shifted[a, a] -= collapseThreshold }
                if (try? Cholesky(shifted)) != nil { continue }
                guard let eigen = try? SymmetricEigen(s), let smallest = eigen.values.indices.min(by: { eigen.values[$0] < eigen.values[$1] }) else { continue }
                if eigen.values[smallest] <= collapseThreshold {
                    var column: Int?
                    let loads = (0..<d).map { abs(eigen.vectors[$0, smallest]) }
                    if let j = loads.indices.max(by: { loads[$0] < loads[$1] }), loads[j] > 0.9 { column = j }
                    out.append(Degeneracy(component: covariances.type == .tied ? 0 : c, kind: .collapsed(column: column)))
                }
            }
        }
        return out
    }
}

/// A model whose fits the multi-start driver can judge: it names its degenerate components.
public protocol DegeneracyChecking: ExpectationMaximizable {
    /// Components or states of this model that are degenerate on `data` (empty when none).
    func degeneracies(on data: TrainingData) -> [Degeneracy]

    /// A new start with the degenerate components moved away from where they collapsed (for
    /// instance by splitting the largest proper component in two), or nil when the model has no
    /// such move. EM continues from it.
    func repaired(_ degeneracies: [Degeneracy], on data: TrainingData, using rng: inout Xoshiro256StarStar) -> Self?
}

extension DegeneracyChecking {
    public func repaired(_ degeneracies: [Degeneracy], on data: TrainingData, using rng: inout Xoshiro256StarStar) -> Self? { nil }
}
