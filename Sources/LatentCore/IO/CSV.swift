import Foundation

/// Reading and writing comma-separated values with a header row.
///
/// An empty field, `NA`, `NaN` (any case) mark a missing value. Fields may be quoted with `"`.
public enum CSV {
    /// Reads `path`. With `columns`, keeps those columns in that order (an unknown name is an error
    /// listing the names that exist); without, keeps every column that holds at least one number and
    /// reports the others in `skipped`.
    ///
    /// - Throws: ``DataError`` naming the file, row and column of a ragged row, a non-numeric cell,
    ///   an infinite value or an empty file.
    public static func read(path: String, columns: [String]? = nil) throws -> (table: DataTable, skipped: [String]) {
        let data = try FileBytes.read(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, source: path, columns: columns)
    }

    /// Whether `field` is written as a decimal number (digits, sign, point, exponent): `Double`
    /// alone would also read hexadecimal (`0x10`) and names such as `infinity`.
    static func isDecimal(_ field: String) -> Bool {
        field.utf8.allSatisfy { (48...57).contains($0) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 101 || $0 == 69 }
    }

    /// Parses CSV text; `source` names it in errors. See ``read(path:columns:)``.
    public static func parse(_ text: String, source: String, columns: [String]? = nil) throws -> (table: DataTable, skipped: [String]) {
        var lines: [(number: Int, text: Substring)] = []
        var number = 0
        // "\r\n" is one Character in Swift, so split on both forms of line end.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            lines.append((number, line))
        }
        guard let header = lines.first else { throw DataError.emptyFile(path: source) }
        let names = splitFields(header.text).map { $0.trimmingCharacters(in: .whitespaces) }
        if names.count == 1, let delimiter = [";", "\t", "|"].first(where: { header.text.contains($0) }) {
            let shown = delimiter == "\t" ? "tabs" : "'\(delimiter)'"
            throw DataError.unsupportedFormat(path: source, reason: "the header row has no commas but is split by \(shown); Latent reads comma-separated values with a point as the decimal mark. Convert the file (for a ';'-separated file with decimal commas, replace ',' by '.' and then ';' by ',')")
        }
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted { throw DataError.duplicateColumn(path: source, name: n) }
        let body = lines.dropFirst()
        guard !body.isEmpty else { throw DataError.noDataRows(path: source) }

        let wanted: [Int]
        if let columns {
            let unknown = columns.filter { !names.contains($0) }
            if !unknown.isEmpty { throw DataError.unknownColumns(path: source, unknown: unknown, available: names) }
            wanted = columns.map { names.firstIndex(of: $0)! }
        } else {
            wanted = Array(names.indices)
        }

        // Parse every wanted cell: a number, missing (NaN), or text (kept aside for the message).
        var cells = [Double](repeating: .nan, count: body.count * wanted.count)
        var firstText: [Int: (line: Int, text: String)] = [:]   // column → first non-numeric cell
        var numericSeen = Set<Int>()
        for (r, line) in body.enumerated() {
            let fields = splitFields(line.text)
            if fields.count != names.count {
                throw DataError.raggedRow(path: source, line: line.number, found: fields.count, expected: names.count)
            }
            for (c, j) in wanted.enumerated() {
                let field = fields[j].trimmingCharacters(in: .whitespaces)
                if isMissing(field) { continue }
                if let v = Double(field), !v.isFinite {
                    throw DataError.nonFinite(path: source, line: line.number, column: names[j], value: v)
                }
                if isDecimal(field), let v = Double(field) {
                    cells[r * wanted.count + c] = v
                    numericSeen.insert(c)
                } else if firstText[c] == nil {
                    firstText[c] = (line.number, field)
                }
            }
        }

        var keep: [Int] = []
        var skipped: [String] = []
        for c in wanted.indices {
            let name = names[wanted[c]]
            if firstText[c] == nil && !numericSeen.contains(c) {
                // No value at all: an unnamed column (a trailing comma) or an empty one is left out
                // unless asked for by name; a model cannot learn anything from it.
                if columns == nil || name.isEmpty {
                    skipped.append(name.isEmpty ? "(unnamed column \(wanted[c] + 1), empty)" : "\(name) (empty)")
                    continue
                }
            }
            if name.isEmpty {
                throw DataError.corrupt(path: source, reason: "column \(wanted[c] + 1) has values but no name in the header row; name it")
            }
            if let bad = firstText[c] {
                // A column of labels is dropped when the caller did not ask for it by name;
                // a column that mixes numbers and text is an error either way.
                if columns == nil && !numericSeen.contains(c) {
                    skipped.append(names[wanted[c]])
                    continue
                }
                throw DataError.nonNumeric(path: source, line: bad.line, column: names[wanted[c]], text: bad.text)
            }
            keep.append(c)
        }
        if keep.isEmpty { throw DataError.noNumericColumns(path: source) }
        var values = Matrix<Double>(rows: body.count, columns: keep.count)
        for r in 0..<body.count {
            for (k, c) in keep.enumerated() { values.storage[r * keep.count + k] = cells[r * wanted.count + c] }
        }
        let table = DataTable(source: source, columnNames: keep.map { names[wanted[$0]] }, values: values,
                              sourceRows: body.map { $0.number })
        return (table, skipped)
    }

    static func isMissing(_ field: String) -> Bool {
        field.isEmpty || field == "NA" || field.lowercased() == "nan"
    }

    static func splitFields(_ line: Substring) -> [String] {
        guard line.contains("\"") else { return line.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        var fields: [String] = []
        var current = ""
        var quoted = false
        var chars = line.makeIterator()
        while let ch = chars.next() {
            if ch == "\"" {
                quoted.toggle()
            } else if ch == "," && !quoted {
                fields.append(current); current = ""
            } else {
                current.append(ch)
            }
        }
        fields.append(current)
        return fields
    }

    /// Formats a number for CSV output: shortest round-trip form, empty for NaN.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// CSV text with `header` and rows of numbers.
    public static func render(header: [String], rows: Matrix<Double>) -> String {
        header.joined(separator: ",") + "\n" + render(rows: rows, 0..<rows.rows)
    }

    /// CSV lines (no header) for the rows `range` of `rows`; NaN is an empty cell.
    public static func render(rows: Matrix<Double>, _ range: Range<Int>) -> String {
        var out = ""
        out.reserveCapacity(range.count * rows.columns * 10)
        for i in range {
            for j in 0..<rows.columns {
                if j > 0 { out += "," }
                out += format(rows[i, j])
            }
            out += "\n"
        }
        return out
    }
}
