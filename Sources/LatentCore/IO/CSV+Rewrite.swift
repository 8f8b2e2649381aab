import Foundation

extension CSV {
    /// The CSV text `text` with the missing cells of the named columns replaced by values from
    /// `filled` (one row per data row of `text`, one column per name). Every other byte — observed
    /// cells, other columns, quoting, line endings — is kept as it was.
    ///
    /// - Parameters:
    ///   - text: the whole CSV file, header first.
    ///   - columns: the names of the columns whose missing cells are filled.
    ///   - filled: `rows × columns.count` values; only the cells missing in `text` are taken.
    ///   - extraColumn: if given, a `(name, value)` appended to the header and to every row.
    ///   - source: the file name, for error messages.
    public static func fillingMissing(in text: String, columns: [String], with filled: Matrix<Double>,
                                      extraColumn: (name: String, value: String)? = nil, source: String) throws -> String {
        precondition(filled.columns == columns.count, "One filled column per name")
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        let crlf = text.contains("\r\n")
        guard let headerIndex = lines.firstIndex(where: { !isBlank($0) }) else { throw DataError.emptyFile(path: source) }
        let names = splitFields(Substring(lines[headerIndex])).map { $0.trimmingCharacters(in: .whitespaces) }
        let unknown = columns.filter { !names.contains($0) }
        if !unknown.isEmpty { throw DataError.unknownColumns(path: source, unknown: unknown, available: names) }
        let targets = columns.map { names.firstIndex(of: $0)! }
        if let extra = extraColumn { lines[headerIndex] += "," + extra.name }
        var row = 0
        for index in (headerIndex + 1)..<lines.count where !isBlank(lines[index]) {
            guard row < filled.rows else { throw DataError.corrupt(path: source, reason: "more data rows than were read") }
            var fields = splitFieldsKeepingText(lines[index])
            for (c, j) in targets.enumerated() where j < fields.count {
                let bare = fields[j].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if isMissing(bare) { fields[j] = "\(filled[row, c])" }
            }
            lines[index] = fields.joined(separator: ",") + (extraColumn.map { "," + $0.value } ?? "")
            row += 1
        }
        return lines.joined(separator: crlf ? "\r\n" : "\n")
    }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }

    /// Splits on commas outside quotes, keeping each field's text exactly (quotes included).
    static func splitFieldsKeepingText(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle() }
            if ch == "," && !quoted { fields.append(current); current = "" } else { current.append(ch) }
        }
        fields.append(current)
        return fields
    }
}
