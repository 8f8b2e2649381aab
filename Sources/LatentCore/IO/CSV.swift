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

    /// Exact powers of ten `10⁰ … 10²²` (each a `Double` without rounding).
    private static let exactPowersOfTen: [Double] = (0...22).map { (0..<$0).reduce(1.0) { acc, _ in acc * 10 } }

    /// The value of `count` bytes at `p` when they are a plain decimal number that one correctly
    /// rounded operation converts exactly (Clinger 1990): `[+|-]digits[.digits][(e|E)[+|-]digits]`
    /// with at most 19 significant digits, a mantissa of at most 2⁵³ and a decimal exponent within
    /// ±22, so the result equals `strtod`'s. Nil for any other text (the caller's general path reads it).
    static func plainDecimal(_ p: UnsafePointer<UInt8>, count: Int) -> Double? {
        var i = 0
        var negative = false
        if i < count && (p[i] == 43 || p[i] == 45) { negative = p[i] == 45; i += 1 }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0, integerDigits = 0
        while i < count, p[i] &- 48 < 10 {
            if mantissa > 0 || p[i] != 48 { mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48); digits += 1 }
            integerDigits += 1
            i += 1
        }
        guard integerDigits > 0 else { return nil }
        if i < count && p[i] == 46 {
            i += 1
            let first = i
            while i < count, p[i] &- 48 < 10 {
                if mantissa > 0 || p[i] != 48 { mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48); digits += 1 }
                exponent -= 1
                i += 1
            }
            guard i > first else { return nil }
        }
        guard digits <= 19 else { return nil }
        if i < count && (p[i] == 101 || p[i] == 69) {
            i += 1
            var negativeExponent = false
            if i < count && (p[i] == 43 || p[i] == 45) { negativeExponent = p[i] == 45; i += 1 }
            let first = i
            var e = 0
            while i < count, p[i] &- 48 < 10, e < 10_000 { e = e * 10 + Int(p[i] &- 48); i += 1 }
            guard i > first else { return nil }
            exponent += negativeExponent ? -e : e
        }
        guard i == count, mantissa <= 1 << 53, abs(exponent) <= 22 else { return nil }
        let m = Double(mantissa)
        let value = exponent >= 0 ? m * exactPowersOfTen[exponent] : m / exactPowersOfTen[-exponent]
        return negative ? -value : value
    }

    /// Parses CSV text; `source` names it in errors. See ``read(path:columns:)``.
    ///
    /// The body is scanned as UTF-8 bytes: lines split at `\n` (a `\r` before it dropped), fields
    /// at commas, ASCII spaces and tabs trimmed. A line with a quote, or a field with a non-ASCII
    /// byte, takes the `Character` path, so that quoting and Unicode whitespace read as before.
    /// - Complexity: `O(bytes)`, with no allocation per numeric cell.
    public static func parse(_ text: String, source: String, columns: [String]? = nil) throws -> (table: DataTable, skipped: [String]) {
        var text = text
        return try text.withUTF8 { try parse(bytes: $0, source: source, columns: columns) }
    }

    /// A cell as read: a number, missing, or text.
    private enum Cell {
        case number(Double)
        case missing
        case text(String)
    }

    /// Reads one trimmed field. - Throws: ``DataError/nonFinite(path:line:column:value:)``.
    private static func cell(_ field: String, source: String, line: Int, column: String) throws -> Cell {
        if isMissing(field) { return .missing }
        guard let v = Double(field) else { return .text(field) }
        if !v.isFinite { throw DataError.nonFinite(path: source, line: line, column: column, value: v) }
        return isDecimal(field) ? .number(v) : .text(field)
    }

    /// Parses `bytes`. With `knownHeader` (a later piece of a file read in pieces, see
    /// ``CSVRowReader``), every line is a data row and line numbers start at `firstLine`.
    static func parse(bytes: UnsafeBufferPointer<UInt8>, source: String, columns: [String]?,
                      knownHeader: [String]? = nil, firstLine: Int = 1) throws -> (table: DataTable, skipped: [String]) {
        let space: UInt8 = 32, tab: UInt8 = 9, newline: UInt8 = 10, carriageReturn: UInt8 = 13, comma: UInt8 = 44, quote: UInt8 = 34
        var lines: [(number: Int, start: Int, end: Int)] = []
        var number = firstLine - 1, lineStart = 0
        while true {
            var end = lineStart
            while end < bytes.count && bytes[end] != newline { end += 1 }
            number += 1
            let stop = end > lineStart && bytes[end - 1] == carriageReturn ? end - 1 : end
            if (lineStart..<stop).contains(where: { bytes[$0] != space && bytes[$0] != tab }) {
                lines.append((number, lineStart, stop))
            }
            if end >= bytes.count { break }
            lineStart = end + 1
        }
        func text(_ a: Int, _ b: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<b]), as: UTF8.self) }

        let names: [String]
        let body: ArraySlice<(number: Int, start: Int, end: Int)>
        if let knownHeader {
            names = knownHeader
            body = lines[...]
        } else {
            guard let header = lines.first else { throw DataError.emptyFile(path: source) }
            names = try headerNames(text(header.start, header.end), source: source)
            body = lines.dropFirst()
        }
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
        var numericSeen = [Bool](repeating: false, count: wanted.count)
        var starts = [Int](repeating: 0, count: names.count + 1)   // field j is starts[j] ..< starts[j + 1] − 1
        func record(_ value: Cell, row r: Int, column c: Int, line: Int) {
            switch value {
            case .number(let v): cells[r * wanted.count + c] = v; numericSeen[c] = true
            case .missing: break
            case .text(let t): if firstText[c] == nil { firstText[c] = (line, t) }
            }
        }
        for (r, line) in body.enumerated() {
            if (line.start..<line.end).contains(where: { bytes[$0] == quote }) {
                let fields = splitFields(Substring(text(line.start, line.end)))
                if fields.count != names.count {
                    throw DataError.raggedRow(path: source, line: line.number, found: fields.count, expected: names.count)
                }
                for (c, j) in wanted.enumerated() {
                    record(try cell(fields[j].trimmingCharacters(in: .whitespaces), source: source, line: line.number, column: names[j]),
                           row: r, column: c, line: line.number)
                }
                continue
            }
            var count = 0
            starts[0] = line.start
            for i in line.start..<line.end where bytes[i] == comma {
                count += 1
                if count < names.count { starts[count] = i + 1 }
            }
            count += 1
            if count != names.count {
                throw DataError.raggedRow(path: source, line: line.number, found: count, expected: names.count)
            }
            starts[names.count] = line.end + 1
            for (c, j) in wanted.enumerated() {
                var a = starts[j], b = starts[j + 1] - 1
                while a < b && (bytes[a] == space || bytes[a] == tab) { a += 1 }
                while b > a && (bytes[b - 1] == space || bytes[b - 1] == tab) { b -= 1 }
                if b > a, let v = plainDecimal(bytes.baseAddress! + a, count: b - a) {
                    cells[r * wanted.count + c] = v
                    numericSeen[c] = true
                    continue
                }
                let value: Cell
                if (a..<b).contains(where: { bytes[$0] >= 0x80 }) {
                    value = try cell(text(a, b).trimmingCharacters(in: .whitespaces), source: source, line: line.number, column: names[j])
                } else {
                    value = try cell(text(a, b), source: source, line: line.number, column: names[j])
                }
                record(value, row: r, column: c, line: line.number)
            }
        }

        var keep: [Int] = []
        var skipped: [String] = []
        for c in wanted.indices {
            let name = names[wanted[c]]
            if firstText[c] == nil && !numericSeen[c] {
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
                if columns == nil && !numericSeen[c] {
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
                              sourceRows: body.map(\.number))
        return (table, skipped)
    }

    /// The column names of a header line, refusing other delimiters and repeated names.
    static func headerNames(_ headerText: String, source: String) throws -> [String] {
        let names = splitFields(Substring(headerText)).map { $0.trimmingCharacters(in: .whitespaces) }
        if names.count == 1, let delimiter = [";", "\t", "|"].first(where: { headerText.contains($0) }) {
            let shown = delimiter == "\t" ? "tabs" : "'\(delimiter)'"
            throw DataError.unsupportedFormat(path: source, reason: "the header row has no commas but is split by \(shown); Latent reads comma-separated values with a point as the decimal mark. Convert the file (for a ';'-separated file with decimal commas, replace ',' by '.' and then ';' by ',')")
        }
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted { throw DataError.duplicateColumn(path: source, name: n) }
        return names
    }

    static func isMissing(_ field: String) -> Bool {
        field.isEmpty || field == "NA" || (field.utf8.count == 3 && field.lowercased() == "nan")
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
