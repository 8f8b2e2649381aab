import ArgumentParser
import Latent

/// Time-ordered rows split into sequences by a column whose value changes between sequences.
struct SequenceData {
    let table: DataTable
    let sequences: [SequenceRange]

    /// Loads `dataOptions`; with `sequenceColumn`, that column splits the rows and is dropped from
    /// the data columns.
    /// Missing values are refused unless `allowMissing` (state-space models integrate them out).
    static func load(_ dataOptions: DataOptions, sequenceColumn: String?, modelColumns: [String]? = nil, quiet: Bool,
                     allowMissing: Bool = false) throws -> SequenceData {
        var columns = dataOptions.columnList ?? modelColumns
        if let sequenceColumn, var c = columns, !c.contains(sequenceColumn) { c.append(sequenceColumn); columns = c }
        var (table, skipped) = try DataLoader.load(path: dataOptions.data, columns: columns)
        if !skipped.isEmpty { Console.dataWarning("\(dataOptions.data): skipped column(s) without numbers: \(skipped.joined(separator: ", "))", quiet: quiet) }
        var sequences: [SequenceRange] = .single(table.count)
        if let sequenceColumn {
            let ids = try table.selecting(columns: [sequenceColumn]).values.elements
            if let i = ids.firstIndex(where: { $0.isNaN }) {
                throw DataError.missingValue(path: table.source, line: table.sourceRows[i], column: sequenceColumn)
            }
            sequences = .split(by: ids)
            table = try table.selecting(columns: table.columnNames.filter { $0 != sequenceColumn })
        }
        if !allowMissing { try table.requireComplete() }
        return SequenceData(table: table, sequences: sequences)
    }
}
