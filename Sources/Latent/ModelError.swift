/// A data-dependent failure while fitting or using a model, with a hint on what to do.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// A covariance matrix stopped being positive definite. `component` is 0-based (nil for a shared one).
    case singularCovariance(component: Int?, detail: String)
    /// Fewer usable rows than the model needs.
    case tooFewPoints(points: Int, needed: Int, what: String)
    /// The data has no rows or no columns.
    case emptyData
    /// The data's width differs from the model's.
    case dimensionMismatch(expected: Int, found: Int)
    /// A setting is out of range.
    case invalidSetting(String)
    /// Every restart failed; the last error is given.
    case fitFailed(String)
    /// Every start ended with a component or state collapsed onto repeated values, so no fit with a
    /// meaningful likelihood was found. Says which, and what to do.
    case degenerateFit(String)

    public var description: String {
        switch self {
        case .singularCovariance(let component, let detail):
            let which = component.map { "the covariance of component \($0)" } ?? "the shared covariance"
            return "\(which) is not positive definite (\(detail)); raise the regularisation (--regularization) or scale the data so that columns have similar spread"
        case .tooFewPoints(let points, let needed, let what):
            return "\(points) data rows, but \(what) needs at least \(needed); use fewer components or more data"
        case .emptyData:
            return "the data has no rows"
        case .dimensionMismatch(let expected, let found):
            return "the model was fitted on \(expected) columns but the data has \(found); pass the same columns (--columns)"
        case .invalidSetting(let message):
            return message
        case .fitFailed(let message):
            return "every start failed: \(message)"
        case .degenerateFit(let message):
            return message
        }
    }
}
