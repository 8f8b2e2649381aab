import Foundation
import Testing
import LatentCore
import TestSupport

@Suite struct DataIOTests {
    @Test func csvReadsRealDataAndMarksMissingValues() throws {
        let (air, skipped) = try CSV.read(path: TestData.path("airquality.csv"))
        #expect(skipped.isEmpty)
        #expect(air.columnNames == ["ozone", "solar_r", "wind", "temp"])
        #expect(air.count == 153)
        #expect(air.values.elements.filter(\.isNaN).count == 44)   // R documents 37 + 7 NAs
        #expect(throws: DataError.missingValue(path: TestData.path("airquality.csv"), line: 6, column: "ozone")) {
            try air.requireComplete()
        }
        let (iris, irisSkipped) = try CSV.read(path: TestData.path("iris.csv"))
        #expect(irisSkipped == ["species"])
        #expect(iris.values.columns == 4 && iris.values[0, 0] == 5.1)
    }

    /// The byte scanner and the quoted-line path read the same cells: CRLF and LF line ends, blank
    /// and space-only lines (skipped, counted), spaces and tabs around cells, quoted fields on some
    /// lines only, non-breaking spaces (Unicode whitespace) around a number, every spelling of missing.
    @Test func csvLineEndsQuotesAndWhitespaceReadAlike() throws {
        let text = "a, b ,c\r\n1,\t2 ,3\r\n\r\n   \n\"4\",\"5\", 6\n\u{00A0}7\u{00A0},NA,nan\n 8 ,\"\",NaN\n"
        let (table, skipped) = try CSV.parse(text, source: "t.csv")
        #expect(skipped.isEmpty && table.columnNames == ["a", "b", "c"])
        #expect(table.sourceRows == [2, 5, 6, 7])
        let v = table.values.elements
        #expect(Array(v[0..<7]) == [1, 2, 3, 4, 5, 6, 7])
        #expect(v[7].isNaN && v[8].isNaN && v[9] == 8 && v[10].isNaN && v[11].isNaN)
        #expect(throws: DataError.nonNumeric(path: "t.csv", line: 3, column: "b", text: "1.2.3")) {
            try CSV.parse("a,b\n1,2\n3, 1.2.3\n", source: "t.csv")
        }
        #expect(throws: DataError.nonFinite(path: "t.csv", line: 2, column: "b", value: .infinity)) {
            try CSV.parse("a,b\n1,1e999\n", source: "t.csv")
        }
        #expect(throws: DataError.raggedRow(path: "t.csv", line: 2, found: 1, expected: 2)) {
            try CSV.parse("a,b\n\"1,2\"\n", source: "t.csv")
        }
    }

    @Test func csvErrorsNameFileRowAndColumn() {
        #expect(throws: DataError.raggedRow(path: "t.csv", line: 3, found: 3, expected: 2)) {
            try CSV.parse("a,b\n1,2\n3,4,5\n", source: "t.csv")
        }
        #expect(throws: DataError.nonNumeric(path: "t.csv", line: 3, column: "b", text: "x7")) {
            try CSV.parse("a,b\n1,2\n3,x7\n", source: "t.csv")
        }
        #expect(throws: DataError.emptyFile(path: "t.csv")) { try CSV.parse("", source: "t.csv") }
        #expect(throws: DataError.noDataRows(path: "t.csv")) { try CSV.parse("a,b\n", source: "t.csv") }
        #expect(throws: DataError.unknownColumns(path: "t.csv", unknown: ["c"], available: ["a", "b"])) {
            try CSV.parse("a,b\n1,2\n", source: "t.csv", columns: ["a", "c"])
        }
        #expect(throws: DataError.nonFinite(path: "t.csv", line: 2, column: "a", value: .infinity)) {
            try CSV.parse("a,b\ninf,2\n", source: "t.csv")
        }
        #expect(throws: DataError.fileNotFound(path: "/nonexistent/x.csv")) { try CSV.read(path: "/nonexistent/x.csv") }
        // Messages carry the location.
        let message = DataError.nonNumeric(path: "t.csv", line: 3, column: "b", text: "x7").description
        #expect(message.contains("t.csv") && message.contains("row 3") && message.contains("'b'"))
    }

    /// A CSV file read in pieces (as `fit gmm --stream` reads it) gives the rows and the columns
    /// that reading it whole gives, whichever ranges are asked for, and its errors name the same
    /// file rows: pieces of 7 rows over a file with a label column, blank lines, CRLF line ends, a
    /// quoted line and no final newline.
    @Test func csvReadInPiecesEqualsTheWholeFile() throws {
        var text = "x, y ,label,z\r\n"
        var rng = Xoshiro256StarStar(seed: 3)
        for i in 0..<100 {
            if i % 13 == 5 { text += "\n  \n" }
            let row = [rng.nextNormal(), rng.nextNormal(), rng.nextNormal()].map { CSV.format($0) }
            text += i == 40 ? "\"\(row[0])\",\(row[1]),\"l,\(i)\",\(row[2])\r\n" : "\(row[0]),\(row[1]),L\(i % 3),\(row[2])\(i == 99 ? "" : "\n")"
        }
        let directory = TestData.temporaryDirectory()
        let path = directory.appendingPathComponent("pieces.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let (whole, skipped) = try CSV.read(path: path)
        let reader = try CSVRowReader(path: path, pieceRows: 7)
        #expect(reader.columnNames == whole.columnNames && reader.skipped == skipped && skipped == ["label"])
        #expect(reader.rowCount == 100 && reader.columnCount == 3)
        #expect(try reader.rows(0..<100) == whole.values)
        for _ in 0..<50 {
            let a = rng.nextInt(below: 100), b = rng.nextInt(below: 100)
            let range = min(a, b)..<(max(a, b) + 1)
            #expect(try reader.rows(range) == whole.values.selectingRows(range))
        }
        let named = try CSVRowReader(path: path, columns: ["z", "x"], pieceRows: 7)
        #expect(try named.rows(10..<60) == whole.values.selectingColumns([2, 0]).selectingRows(10..<60))

        // Errors far from the first piece name their file row, as reading the whole file does.
        // Split at every \n byte ("\r\n" is one Character, so String splitting would not).
        let fileLines = { text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) } }
        var lines = fileLines()
        // Data rows (not blank, not the quoted one) past the first pieces.
        let late = lines.indices.filter { $0 >= 80 && lines[$0].contains("L") && !lines[$0].contains("\"") }
        let (i, j) = (late[6], late[0])
        lines[i] += ",9"
        let ragged = directory.appendingPathComponent("ragged.csv").path
        try lines.joined(separator: "\n").write(toFile: ragged, atomically: true, encoding: .utf8)
        #expect(throws: DataError.raggedRow(path: ragged, line: i + 1, found: 5, expected: 4)) { try CSVRowReader(path: ragged, pieceRows: 7) }
        #expect(throws: DataError.raggedRow(path: ragged, line: i + 1, found: 5, expected: 4)) { try CSV.read(path: ragged) }
        lines = fileLines()
        lines[j] = "1,2,L,oops"
        let textCell = directory.appendingPathComponent("text.csv").path
        try lines.joined(separator: "\n").write(toFile: textCell, atomically: true, encoding: .utf8)
        #expect(throws: DataError.nonNumeric(path: textCell, line: j + 1, column: "z", text: "oops")) { try CSVRowReader(path: textCell, pieceRows: 7) }
        lines[j] = "1,,L,3"
        let missing = directory.appendingPathComponent("missing.csv").path
        try lines.joined(separator: "\n").write(toFile: missing, atomically: true, encoding: .utf8)
        #expect(throws: DataError.missingValue(path: missing, line: j + 1, column: "y")) { try CSVRowReader(path: missing, pieceRows: 7) }
        let empty = directory.appendingPathComponent("empty.csv").path
        try "\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(throws: DataError.emptyFile(path: empty)) { try CSVRowReader(path: empty) }
        try "a,b\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(throws: DataError.noDataRows(path: empty)) { try CSVRowReader(path: empty) }
    }

    @Test func csvHandlesQuotesCRLFAndMissingMarkers() throws {
        let (t, _) = try CSV.parse("\"a\",b,c\r\n1,NA,\r\n\"2.5\",nan,3\r\n4,5,6\r\n", source: "q.csv")
        #expect(t.columnNames == ["a", "b", "c"])
        #expect(t.values[1, 0] == 2.5 && t.values[0, 1].isNaN && t.values[1, 1].isNaN && t.values[0, 2].isNaN && t.values[1, 2] == 3)
        #expect(t.sourceRows == [2, 3, 4])
    }

    @Test func npyRoundTripsAndDecodesOtherDtypes() throws {
        let m = Matrix([[1.5, -2], [3, 4e-300], [5, 6]])
        let back = try NumPy.decode(NumPy.encode(m), source: "m.npy")
        #expect(back == m)
        func file(_ descr: String, _ shape: String, fortran: Bool = false, payload: [UInt8]) -> Data {
            let header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }\n"
            let n = header.utf8.count
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(header.utf8) + payload)
        }
        let f32 = [Float(1.25), 2, 3, 4].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        #expect(try NumPy.decode(file("<f4", "(2, 2)", payload: f32), source: "f") == Matrix([[1.25, 2], [3, 4]]))
        // Fortran order: the same bytes mean the transpose.
        #expect(try NumPy.decode(file("<f4", "(2, 2)", fortran: true, payload: f32), source: "f") == Matrix([[1.25, 3], [2, 4]]))
        let i64 = [Int64(-3), 7, 9].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        #expect(try NumPy.decode(file("<i8", "(3,)", payload: i64), source: "i") == Matrix([[-3.0], [7], [9]]))
        #expect(throws: DataError.self) { try NumPy.decode(Data([1, 2, 3]), source: "bad.npy") }
        #expect(throws: DataError.self) { try NumPy.decode(file("<f8", "(4, 4)", payload: [0, 0]), source: "short.npy") }
        #expect(throws: DataError.self) { try NumPy.decode(file("<c16", "(1,)", payload: []), source: "c.npy") }
    }

    @Test func idxReadsMNIST() throws {
        let images = try IDX.read(path: TestData.path("mnist5k-train-images.idx3-ubyte"))
        #expect(images.rows == 4000 && images.columns == 784)
        #expect(images.elements.allSatisfy { $0 >= 0 && $0 <= 255 })
        let labels = try IDX.read(path: TestData.path("mnist5k-train-labels.idx1-ubyte"))
        #expect(labels.rows == 4000 && labels.columns == 1 && Set(labels.elements) == Set((0...9).map(Double.init)))
        #expect(throws: DataError.self) { try IDX.decode(Data([0, 0, 8, 3, 0, 0]), source: "bad.idx") }
    }

    @Test func atomicWriteReplacesWholeFile() throws {
        let dir = TestData.temporaryDirectory()
        let path = dir.appendingPathComponent("out.txt").path
        try AtomicFile.write("first", to: path)
        try AtomicFile.write("second", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.txt"])
        #expect(throws: DataError.self) { try AtomicFile.write("x", to: "/nonexistent-dir/out.txt") }
    }
}

/// Cells and columns a CSV reader must not invent numbers for.
@Suite struct CSVHostileCellTests {
    /// Plain decimal cells take a fast conversion; every cell must still read exactly as `Double(String)`
    /// (correctly rounded) reads it: random numbers written in many forms (signs, leading and
    /// trailing zeros, 1–25 significant digits, exponents from −40 to 40) and edge cases.
    @Test func csvNumbersReadExactlyAsDoubleReadsThem() throws {
        var rng = Xoshiro256StarStar(seed: 31)
        var fields = ["0", "-0", "+0", "0.0", "-0.000", "1e22", "1e23", "9007199254740993", "9007199254740992.0",
                      "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308", "0.1", "-123456789012345678",
                      "1234567890123456789", "12345678901234567890", "1E5", "1e+5", "1e-5", "00012.50", "7.", "3.e2"]
        for _ in 0..<20_000 {
            let digits = 1 + rng.nextInt(below: 25)
            var mantissa = (0..<digits).map { _ in String(rng.nextInt(below: 10)) }.joined()
            let point = rng.nextInt(below: digits + 1)
            if point < digits && rng.nextInt(below: 3) > 0 {
                mantissa.insert(".", at: mantissa.index(mantissa.startIndex, offsetBy: max(1, point)))
            }
            let sign = ["", "-", "+"][rng.nextInt(below: 3)]
            let exponent = rng.nextInt(below: 3) == 0 ? "" : ["e", "E"][rng.nextInt(below: 2)] + ["", "-", "+"][rng.nextInt(below: 3)]
                + String(rng.nextInt(below: 41))
            fields.append(sign + mantissa + exponent)
        }
        let text = "x\n" + fields.joined(separator: "\n") + "\n"
        let table = try CSV.parse(text, source: "numbers").table
        #expect(table.values.rows == fields.count)
        for (i, field) in fields.enumerated() {
            let expected = try #require(Double(field), "\(field)")
            let read = table.values[i, 0]
            #expect(read.bitPattern == expected.bitPattern, "\(field): read \(read), Double reads \(expected)")
        }
    }

    @Test func hexadecimalIsNotANumber() {
        #expect(throws: DataError.nonNumeric(path: "t.csv", line: 3, column: "a", text: "0x10")) {
            try CSV.parse("a,b\n1,2\n0x10,3\n", source: "t.csv", columns: ["a", "b"])
        }
    }

    @Test func emptyAndUnnamedColumnsAreLeftOutAndReported() throws {
        let (table, skipped) = try CSV.parse("a,b,c,\n1,2,,\n2,3,,\n", source: "t.csv")
        #expect(table.columnNames == ["a", "b"])
        #expect(skipped == ["c (empty)", "(unnamed column 4, empty)"])
        #expect(throws: DataError.self) { try CSV.parse("a,\n1,2\n", source: "t.csv") }
    }
}

/// Headers that claim impossible sizes are refused before anything is allocated.
@Suite struct HostileHeaderTests {
    func npy(shape: String) -> [UInt8] {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let n = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(header.utf8) + [UInt8](repeating: 0, count: 32)
    }

    @Test(arguments: ["(-5, 2)", "(4611686018427387904, 4)", "(3, x)", "(9223372036854775807, 9223372036854775807)"])
    func npyShapes(_ shape: String) throws {
        let path = TestData.temporaryDirectory().appendingPathComponent("bad.npy").path
        try Data(npy(shape: shape)).write(to: URL(fileURLWithPath: path))
        #expect(throws: DataError.self) { try NumPy.read(path: path) }
    }

    /// Found by Fuzz/run.sh: an empty dtype trapped on a force unwrap.
    @Test func npyEmptyDtype() throws {
        var header = "{'descr': '', 'fortran_order': True, 'shape': (2,), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + [UInt8](repeating: 0, count: 16)
        #expect(throws: DataError.self) { try NumPy.decode(Data(bytes), source: "t.npy") }
    }

    /// Found by Fuzz/run.sh (CI, this round): a Fortran-order shape (0, 8·10¹⁷) spun in the transpose.
    @Test func npyEmptyArrayWithAHugeDimension() throws {
        let input = "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVl/////ywgJ3NoYXBlJzogKDAsICAgICAgICAgICAgICAgIDAwMDAwMDAwMDAwMDAwMDAwMDAwMDgwMDAwMDAwMDAwMDAwMDE3MikyLCB9ICAgICAgICAgICAgICAgICAgICAgICCTTlVNUFkBIA=="
        let bytes = try #require(Data(base64Encoded: input))
        #expect(throws: DataError.self) { try NumPy.decode(bytes, source: "t.npy") }
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        let empty = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
        #expect(throws: DataError.self) { try NumPy.decode(Data(empty), source: "empty.npy") }
    }

    /// Found by Fuzz/run.sh (CI, this round): a header length of Int64.max overflowed `8 + length`.
    @Test func safetensorsHeaderLengthNearIntMax() throws {
        let bytes = Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        #expect(throws: DataError.self) { try SafeTensors.decode(bytes, source: "t.safetensors") }
        #expect(throws: DataError.self) { try SafeTensors.decode(bytes + Data("{}".utf8), source: "t.safetensors") }
    }

    @Test func idxDimensions() throws {
        let path = TestData.temporaryDirectory().appendingPathComponent("bad-idx3-ubyte").path
        try Data([0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 1, 2, 3, 4]).write(to: URL(fileURLWithPath: path))
        #expect(throws: DataError.self) { try IDX.read(path: path) }
    }

    @Test func safetensorsShapesAndOverlaps() throws {
        func file(_ header: String, dataBytes: Int) -> Data {
            var json = Array(header.utf8)
            while json.count % 8 != 0 { json.append(0x20) }
            let bytes = (0..<8).map { UInt8((json.count >> (8 * $0)) & 0xff) } + json + [UInt8](repeating: 0, count: dataBytes)
            return Data(bytes)
        }
        let huge = file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, dataBytes: 16)
        #expect(throws: DataError.self) { try SafeTensors.decode(huge, source: "t") }
        let overlapping = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12)
        #expect(throws: DataError.self) { try SafeTensors.decode(overlapping, source: "t") }
        let fine = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, dataBytes: 12)
        #expect(try SafeTensors.decode(fine, source: "t").tensors.count == 2)
    }
}
