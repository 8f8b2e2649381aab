/// A problem with input data, naming the file, row and column where it was found.
///
/// Rows are counted as a spreadsheet shows them: line 1 of a CSV file is its header, so the first
/// data row is row 2.
public enum DataError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    case noDataRows(path: String)
    case duplicateColumn(path: String, name: String)
    case raggedRow(path: String, line: Int, found: Int, expected: Int)
    case nonNumeric(path: String, line: Int, column: String, text: String)
    case unknownColumns(path: String, unknown: [String], available: [String])
    case noNumericColumns(path: String)
    case missingValue(path: String, line: Int, column: String)
    case nonFinite(path: String, line: Int, column: String, value: Double)
    case allMissingRows(path: String, lines: [Int])
    case unsupportedFormat(path: String, reason: String)
    case corrupt(path: String, reason: String)
    /// An output that cannot or must not be written (the reason says what to do).
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .unwritable(let path, let reason):
            return "\(path): cannot be written: \(reason)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason))"
        case .emptyFile(let path):
            return "\(path): the file is empty; expected a header row followed by data rows"
        case .noDataRows(let path):
            return "\(path): the file has a header but no data rows"
        case .duplicateColumn(let path, let name):
            return "\(path): the header names column '\(name)' twice; rename one of them"
        case .raggedRow(let path, let line, let found, let expected):
            return "\(path), row \(line): \(found) fields, but the header has \(expected); every row needs one field per column"
        case .nonNumeric(let path, let line, let column, let text):
            return "\(path), row \(line), column '\(column)': '\(text)' is not a number (leave the field empty or write NA for a missing value, or leave the column out with --columns)"
        case .unknownColumns(let path, let unknown, let available):
            return "\(path): no column named \(unknown.map { "'\($0)'" }.joined(separator: ", ")); the columns are: \(available.joined(separator: ", "))"
        case .noNumericColumns(let path):
            return "\(path): no column holds numbers"
        case .missingValue(let path, let line, let column):
            return "\(path), row \(line), column '\(column)': the value is missing, and this model cannot take missing values; fill or drop the row, or use a model that handles missing data"
        case .nonFinite(let path, let line, let column, let value):
            return "\(path), row \(line), column '\(column)': \(value) is not a finite number; remove it or mark it missing"
        case .allMissingRows(let path, let lines):
            let shown = lines.prefix(10).map(String.init).joined(separator: ", ") + (lines.count > 10 ? ", …" : "")
            return "\(path): row(s) \(shown) have every value missing; drop them, they carry no information"
        case .unsupportedFormat(let path, let reason):
            return "\(path): \(reason)"
        case .corrupt(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
