import Latent

/// The rows of `--data` for `--stream`: a `.npy` file read by positioned reads, or a CSV file parsed
/// in pieces (`--columns` honoured; label columns left out with a warning), with the column names.
/// Empty CSV cells are refused unless `allowingMissing` (a streamed mixture fit integrates them out).
func streamedRows(_ dataOptions: DataOptions, quiet: Bool, allowingMissing: Bool = false) throws -> (rows: any RowBlocks, columns: [String]) {
    let path = dataOptions.data, lowercased = path.lowercased()
    if lowercased.hasSuffix(".npy") {
        guard dataOptions.columns == nil else { throw CommandLineError(description: "--stream reads every column of a .npy file: leave out --columns") }
        let file = try NumPyRowReader(path: path)
        return (file, (0..<file.columnCount).map { "x\($0 + 1)" })
    }
    guard lowercased.hasSuffix(".csv") || lowercased.hasSuffix(".txt") else {
        throw CommandLineError(description: "\(path): --stream reads .npy and .csv files; an IDX file holds images, which a streamed fit does not take")
    }
    let file: CSVRowReader
    do {
        file = try CSVRowReader(path: path, columns: dataOptions.columnList, allowsMissing: allowingMissing)
    } catch DataError.missingValue(let path, let line, let column) {
        throw CommandLineError(description: "\(path), row \(line), column '\(column)': the value is missing; online EM needs complete rows (--stream without --online integrates missing values out)")
    }
    if !file.skipped.isEmpty {
        Console.dataWarning("\(path): skipped column(s) without numbers: \(file.skipped.joined(separator: ", "))", quiet: quiet)
    }
    return (file, file.columnNames)
}
