import Foundation

/// A JSON value for command output, with object keys kept in insertion order.
enum JSONValue {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object(JSONObject)
    case null

    func render() -> String {
        switch self {
        case .number(let v):
            guard v.isFinite else { return "null" }
            if v == v.rounded(), abs(v) < 1e15 { return String(format: "%.1f", v) }
            return "\(v)"
        case .integer(let v): return String(v)
        case .string(let s): return Self.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .array(let a): return "[" + a.map { $0.render() }.joined(separator: ", ") + "]"
        case .object(let o): return o.render()
        case .null: return "null"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// A JSON object whose keys print in the order they were set.
struct JSONObject {
    private(set) var pairs: [(String, JSONValue)] = []

    subscript(key: String) -> JSONValue? {
        get { pairs.first { $0.0 == key }?.1 }
        set {
            if let i = pairs.firstIndex(where: { $0.0 == key }) {
                if let v = newValue { pairs[i].1 = v } else { pairs.remove(at: i) }
            } else if let v = newValue {
                pairs.append((key, v))
            }
        }
    }

    func render() -> String {
        "{" + pairs.map { "\(JSONValue.quote($0.0)): \($0.1.render())" }.joined(separator: ", ") + "}"
    }
}

extension JSONValue {
    static func numbers(_ v: [Double]) -> JSONValue { .array(v.map { .number($0) }) }
    static func strings(_ v: [String]) -> JSONValue { .array(v.map { .string($0) }) }
}
