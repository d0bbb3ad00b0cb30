/// intstr.IntOrString: a JSON integer or a JSON string (a named port such as `http`, or `25%`).
public enum IntOrString: Sendable, Hashable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, ExpressibleByStringLiteral
{
    case int(Int32)
    case string(String)

    public init(integerLiteral value: Int32) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }

    public var intValue: Int32? {
        if case .int(let i) = self { return i }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }

    public init(from decoder: any Decoder) throws {
        if let valueDecoder = decoder as? JSONValueDecoder {
            // IntOrString.UnmarshalJSON: a JSON string, else whatever decodes as an int32.
            switch valueDecoder.value {
            case .string(let s):
                self = .string(s)
            case .null:
                self = .int(0)
            case .int(let i):
                guard let exact = Int32(exactly: i) else { throw valueDecoder.mismatch("int32", kind: "number \(i)") }
                self = .int(exact)
            case .double(let d):
                guard d == d.rounded(), let exact = Int32(exactly: d) else {
                    throw valueDecoder.mismatch("int32", kind: "number \(JSONWriter.formatDouble(d))")
                }
                self = .int(exact)
            default:
                throw valueDecoder.mismatch("int32")
            }
            return
        }
        let container = try decoder.singleValueContainer()
        if let i = try? container.decode(Int32.self) {
            self = .int(i)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else {
            throw DecodingError.typeMismatch(IntOrString.self, .init(codingPath: decoder.codingPath,
                                                                     debugDescription: "expected an integer or a string"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        }
    }
}

extension IntOrString: DecodingPlaceholder {
    static var decodingPlaceholder: IntOrString { .int(0) }
}
