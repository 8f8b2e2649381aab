import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range (plus optional string metadata), then the raw data.
/// PyTorch, NumPy and JAX read it without running code.
public enum SafeTensors {
    /// A tensor of 32-bit floats in row-major order.
    public struct Tensor: Equatable, Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "Shape and value count disagree")
            self.shape = shape
            self.values = values
        }
    }

    /// The bytes of a file holding `tensors` (written in name order) and `metadata`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let size = t.values.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad so the data is 8-byte aligned
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            // Little-endian bytes, appended a tensor at a time (a copy of the values on a big-endian host).
            let values = tensors[name]!.values
            let stored = UInt32(1).littleEndian == 1 ? values : values.map { Float(bitPattern: $0.bitPattern.littleEndian) }
            stored.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Whether `data` looks like a safetensors file (a plausible header length and a JSON object).
    public static func looksLike(_ data: Data) -> Bool {
        guard data.count >= 10 else { return false }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return length > 1 && length < UInt64(data.count) && data[data.startIndex + 8] == UInt8(ascii: "{")
    }

    /// Decodes F32 (and F64, converted) tensors and the metadata; `source` names the file in errors.
    public static func decode(_ data: Data, source: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func corrupt(_ why: String) -> DataError { .corrupt(path: source, reason: "not a valid safetensors file: \(why)") }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw corrupt("shorter than its 8-byte header length") }
        let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        // `length <= count − 8`, not `8 + length <= count`, which can overflow.
        guard length > 0, length <= bytes.count - 8 else { throw corrupt("header length \(length) exceeds the file") }
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataStart = 8 + length, dataCount = bytes.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(start: Int, end: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw corrupt("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            let width = dtype == "F32" ? 4 : dtype == "F64" ? 8 : 0
            guard width > 0 else { throw DataError.unsupportedFormat(path: source, reason: "tensor '\(name)' has dtype \(dtype); F32 and F64 are supported") }
            guard let count = CheckedSize.elements(shape, width: width, available: dataCount),
                  offsets[0] >= 0, offsets[1] == offsets[0] + count * width, offsets[1] <= dataCount else {
                throw corrupt("tensor '\(name)' has byte range \(offsets) and shape \(shape) (\(width)-byte values), which do not fit the \(dataCount) bytes of data")
            }
            ranges.append((offsets[0], offsets[1], name))
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let base = raw.start + dataStart + offsets[0]
                for i in 0..<count {
                    if width == 4 {
                        values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    } else {
                        values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                    }
                }
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        // The tensors' byte ranges must tile the data buffer: no overlap, no gap.
        var next = 0
        for range in ranges.sorted(by: { ($0.start, $0.end) < ($1.start, $1.end) }) {
            guard range.start == next else {
                throw corrupt(range.start < next ? "tensor '\(range.name)' overlaps the bytes of another tensor" : "the data has unused bytes before tensor '\(range.name)'")
            }
            next = range.end
        }
        guard next == dataCount else { throw corrupt("the data has \(dataCount - next) bytes after the last tensor") }
        return (tensors, metadata)
    }
}
