import Foundation

/// The rows of a CSV file, read a piece at a time: data larger than memory.
///
/// Opening the file reads it once, in pieces of `pieceRows` data rows, with the same parser and
/// the same messages as ``CSV/read(path:columns:)`` (file, spreadsheet row and column of a ragged
/// row, a text cell in a numeric column, an infinite value), refuses missing values unless
/// `allowsMissing` (they are then NaN) and remembers where each piece starts. ``rows(_:)`` then parses only the
/// pieces a range touches, keeping the last one, so reading the rows in order parses each piece
/// once per pass.
///
/// Columns: those named by `columns`, in that order; otherwise every column that holds numbers in
/// the first piece (label and empty columns there are left out and listed in ``skipped``). A left-out
/// column is not read again, so a column empty for the whole first piece is left out even if later
/// rows fill it; name it in `columns` to keep it.
///
/// - Complexity: opening: one pass over the file; memory `O(pieceRows · columns)` plus 24 bytes
///   per piece, whatever the file's size.
public final class CSVRowReader: RowBlocks {
    public let path: String
    /// The names of the columns read, in order.
    public let columnNames: [String]
    /// Columns of the file left out (labels, empty), as ``CSV/read(path:columns:)`` reports them.
    public let skipped: [String]
    public let rowCount: Int
    public var columnCount: Int { columnNames.count }
    public var sourceName: String { path }

    private let handle: FileHandle
    private let header: [String]
    /// Where each piece starts: its first data row, byte offset and line number; a last entry
    /// holds the totals (rows, file size, lines + 1).
    private let pieces: [(row: Int, offset: Int, line: Int)]
    private var cached: (index: Int, values: Matrix<Double>)?
    /// Whether empty cells are read as NaN instead of refused.
    public let allowsMissing: Bool

    /// Opens `path` and reads it once (see the type's description).
    /// - Throws: ``DataError`` naming the file, row and column of the first problem.
    public init(path: String, columns: [String]? = nil, pieceRows: Int = 65_536, allowsMissing: Bool = false) throws {
        precondition(pieceRows > 0, "A piece holds at least one row")
        self.path = path
        self.allowsMissing = allowsMissing
        let handle = try FileHandle.forReadingRows(path)
        self.handle = handle

        var scanner = LineScanner(handle: handle)
        // The header: the first line that is not blank.
        var headerLine: (bytes: [UInt8], number: Int)?
        while headerLine == nil, let line = try scanner.nextLine() {
            if !LineScanner.isBlank(line.bytes) { headerLine = (line.bytes, line.number) }
        }
        guard let headerLine else { throw DataError.emptyFile(path: path) }
        let headerBytes = headerLine.bytes.last == 13 ? headerLine.bytes.dropLast() : headerLine.bytes[...]
        header = try CSV.headerNames(String(decoding: headerBytes, as: UTF8.self), source: path)

        var pieces: [(row: Int, offset: Int, line: Int)] = []
        var chosen = columns
        var skipped: [String] = []
        var rows = 0
        while true {
            guard let piece = try scanner.nextPiece(rows: pieceRows) else { break }
            let table = try Self.parse(piece.bytes, source: path, header: header, columns: chosen, firstLine: piece.firstLine)
            if chosen == nil {
                chosen = table.table.columnNames
                skipped = table.skipped
            }
            if !allowsMissing { try table.table.requireComplete() }
            pieces.append((rows, piece.offset, piece.firstLine))
            rows += table.table.count
        }
        guard rows > 0, let chosen else { throw DataError.noDataRows(path: path) }
        pieces.append((rows, scanner.offset, scanner.lineNumber + 1))
        self.pieces = pieces
        rowCount = rows
        columnNames = chosen
        self.skipped = skipped
    }

    deinit { try? handle.close() }

    /// Rows `range` (data rows counted from 0), parsed from the pieces they lie in.
    /// - Throws: ``DataError`` if the file changed since it was opened.
    public func rows(_ range: Range<Int>) throws -> Matrix<Double> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "Rows \(range) outside 0..<\(rowCount)")
        var out = Matrix<Double>(rows: range.count, columns: columnCount)
        var next = range.lowerBound
        while next < range.upperBound {
            let index = pieceIndex(containing: next)
            let values = try piece(index)
            let first = pieces[index].row
            let end = min(range.upperBound, first + values.rows)
            let d = columnCount
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    (dst.start + (next - range.lowerBound) * d).update(from: src.start + (next - first) * d, count: (end - next) * d)
                }
            }
            next = end
        }
        return out
    }

    /// The index of the piece holding data row `row` (binary search over the piece starts).
    private func pieceIndex(containing row: Int) -> Int {
        var lo = 0, hi = pieces.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if pieces[mid].row <= row { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The values of piece `index`, parsed (or the one kept from the last call).
    private func piece(_ index: Int) throws -> Matrix<Double> {
        if let cached, cached.index == index { return cached.values }
        let start = pieces[index], end = pieces[index + 1]
        try handle.seek(toOffset: UInt64(start.offset))
        let data = try handle.read(upToCount: end.offset - start.offset) ?? Data()
        let changed = DataError.corrupt(path: path, reason: "the file changed while it was being read (rows from line \(start.line) differ); read it again")
        guard data.count == end.offset - start.offset else { throw changed }
        let table = try Self.parse([UInt8](data), source: path, header: header, columns: columnNames, firstLine: start.line)
        guard table.table.count == end.row - start.row else { throw changed }
        if !allowsMissing { try table.table.requireComplete() }
        cached = (index, table.table.values)
        return table.table.values
    }

    private static func parse(_ bytes: [UInt8], source: String, header: [String], columns: [String]?, firstLine: Int) throws
        -> (table: DataTable, skipped: [String])
    {
        try bytes.withUnsafeBufferPointer { try CSV.parse(bytes: $0, source: source, columns: columns, knownHeader: header, firstLine: firstLine) }
    }
}

/// Reads a file's lines in order through a buffer: whole lines, their numbers and byte offsets.
private struct LineScanner {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// Byte offset in the file of the next unread line.
    private(set) var offset = 0
    /// Number of the last line returned (lines counted from 1).
    private(set) var lineNumber = 0
    static let readSize = 1 << 22

    init(handle: FileHandle) { self.handle = handle }

    static func isBlank(_ line: some Collection<UInt8>) -> Bool {
        line.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 }
    }

    /// The next line without its `\n`, or nil at the end of the file.
    mutating func nextLine() throws -> (bytes: [UInt8], number: Int)? {
        guard let range = try nextLineRange() else { return nil }
        return (Array(buffer[range]), lineNumber)
    }

    /// The next lines holding `rows` non-blank lines (fewer at the end of the file), as the bytes of
    /// the file from the first of them, with its line number and byte offset; nil at the end.
    mutating func nextPiece(rows: Int) throws -> (bytes: [UInt8], firstLine: Int, offset: Int)? {
        let firstOffset = offset, firstLine = lineNumber + 1
        var bytes: [UInt8] = []
        var count = 0
        while count < rows, let range = try nextLineRange() {
            bytes.append(contentsOf: buffer[range])
            bytes.append(10)
            if !Self.isBlank(buffer[range]) { count += 1 }
        }
        return count == 0 ? nil : (bytes, firstLine, firstOffset)
    }

    /// The buffer range of the next line, reading more of the file as needed.
    private mutating func nextLineRange() throws -> Range<Int>? {
        while true {
            if let newline = buffer[position...].firstIndex(of: 10) {
                let range = position..<newline
                offset += newline + 1 - position
                position = newline + 1
                lineNumber += 1
                return range
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                let range = position..<buffer.count
                offset += buffer.count - position
                position = buffer.count
                lineNumber += 1
                return range
            }
            buffer.removeFirst(position)
            position = 0
            let more = try handle.read(upToCount: Self.readSize) ?? Data()
            if more.isEmpty { atEnd = true } else { buffer.append(contentsOf: more) }
        }
    }
}
