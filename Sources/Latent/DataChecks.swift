import Foundation

/// Checks on data that every Gaussian model (mixtures, Gaussian HMMs, factor models) makes before
/// fitting.
public enum DataChecks {
    /// Refuses a column whose observed values are all equal, or that has none: a Gaussian's
    /// likelihood is unbounded (or undefined) there, whatever the model.
    ///
    /// - Parameters:
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
}
