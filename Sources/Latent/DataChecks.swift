import Foundation

/// Checks on data that every Gaussian model (mixtures, Gaussian HMMs, factor models) makes before
/// fitting.
public enum DataChecks {
    /// Refuses a column whose observed values are all equal, or that has none: a Gaussian's
    /// likelihood is unbounded (or undefined) there, whatever the model.
    ///
    /// - Parameters:
    ///   - x: `N × D` rows; missing values are `NaN` and ignored.
    ///   - names: column names for the message (default: "column j", counted from 1).
    ///   - source: the file the data came from, for the message.
    /// - Throws: ``ModelError/invalidSetting(_:)`` naming the first such column.
    /// - Complexity: `O(N·D)`, stopping at the second distinct value of each column.
    public static func requireSpread(_ x: Matrix<Double>, names: [String]? = nil, source: String? = nil) throws {
        for j in 0..<x.columns {
            var first: Double?
            var varies = false
            for i in 0..<x.rows where !x[i, j].isNaN {
                if let f = first { if x[i, j] != f { varies = true; break } } else { first = x[i, j] }
            }
            if !varies {
                let column = names.map { "column '\($0[j])'" } ?? "column \(j + 1)"
                let what = first.map { "has the value \(formatted($0)) in every row" } ?? "has no observed value"
                throw ModelError.invalidSetting("\(source.map { "\($0): " } ?? "")\(column) \(what): a Gaussian model's likelihood is unbounded (or undefined) there; drop the column")
            }
        }
    }

    /// Refuses columns that are linearly dependent (one a copy, a multiple or a combination of
    /// others), for models with full or tied covariances: the data has no spread in that direction,
    /// so every covariance fitted to it is singular and the likelihood unbounded. Diagonal and
    /// spherical covariances are not affected.
    ///
    /// Judged on the correlation matrix of the rows with every value observed: an eigenvalue below
    /// ``dependenceThreshold`` of the largest. The message names a duplicated pair when there is one
    /// (correlation ±1), otherwise the columns that weigh in the dependence.
    /// - Complexity: `O(N·D² + D³)`.
    public static func requireIndependentColumns(_ x: Matrix<Double>, names: [String]? = nil, source: String? = nil) throws {
        let d = x.columns
        guard d >= 2 else { return }
        let complete = (0..<x.rows).filter { i in (0..<d).allSatisfy { !x[i, $0].isNaN } }
        guard complete.count > d else { return }
        let rows = x.selectingRows(complete)
        let n = Double(rows.rows)
        var means = [Double](repeating: 0, count: d)
        for i in 0..<rows.rows { for j in 0..<d { means[j] += rows[i, j] / n } }
        var centred = rows
        for i in 0..<rows.rows { for j in 0..<d { centred[i, j] -= means[j] } }
        var correlation = centred.gram
        let scale = (0..<d).map { 1 / max(correlation[$0, $0], 1e-300).squareRoot() }
        for a in 0..<d { for b in 0..<d { correlation[a, b] *= scale[a] * scale[b] } }
        guard let eigen = try? SymmetricEigen(correlation), let top = eigen.values.last, top > 0,
              eigen.values[0] < dependenceThreshold * top else { return }
        func name(_ j: Int) -> String { names.map { "'\($0[j])'" } ?? "\(j + 1)" }
        let prefix = source.map { "\($0): " } ?? ""
        for a in 0..<d { for b in (a + 1)..<d where abs(correlation[a, b]) > 1 - dependenceThreshold {
            throw ModelError.invalidSetting("\(prefix)columns \(name(a)) and \(name(b)) carry the same information (correlation \(correlation[a, b] > 0 ? 1 : -1)): a full or tied covariance fitted to them is singular and the likelihood unbounded. Drop one of them, or use --covariance diag")
        } }
        let weights = (0..<d).map { abs(eigen.vectors[$0, 0]) }
        let involved = (0..<d).filter { weights[$0] > 0.1 }.map(name)
        throw ModelError.invalidSetting("\(prefix)columns \(involved.joined(separator: ", ")) are linearly dependent (one is a combination of the others): a full or tied covariance fitted to them is singular and the likelihood unbounded. Drop one of them, or use --covariance diag")
    }

    /// Smallest eigenvalue of the correlation matrix, relative to the largest, below which columns
    /// count as linearly dependent.
    public static let dependenceThreshold = 1e-12
}
