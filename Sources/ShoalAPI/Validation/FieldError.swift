/// A field-level validation error, printed exactly as Kubernetes prints
/// `k8s.io/apimachinery/pkg/util/validation/field.Error`:
///
///     spec.containers[1].name: Duplicate value: "app"
///     metadata.name: Required value: name or generateName is required
///     spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"
public struct FieldError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable reason; the raw value is Kubernetes' `CauseType` string.
    public enum ErrorType: String, Sendable, Hashable, CaseIterable {
        case notFound = "FieldValueNotFound"
        case required = "FieldValueRequired"
        case duplicate = "FieldValueDuplicate"
        case invalid = "FieldValueInvalid"
        case notSupported = "FieldValueNotSupported"
        case forbidden = "FieldValueForbidden"
        case tooLong = "FieldValueTooLong"
        case tooMany = "FieldValueTooMany"
        case `internal` = "InternalError"
        case typeInvalid = "FieldValueTypeInvalid"

        /// The human-readable form used in messages ("Invalid value").
        public var message: String {
            switch self {
            case .notFound: return "Not found"
            case .required: return "Required value"
            case .duplicate: return "Duplicate value"
            case .invalid: return "Invalid value"
            case .notSupported: return "Unsupported value"
            case .forbidden: return "Forbidden"
            case .tooLong: return "Too long"
            case .tooMany: return "Too many"
            case .internal: return "Internal error"
            case .typeInvalid: return "Invalid value"
            }
        }
    }

    public var type: ErrorType
    /// The field path, e.g. `spec.containers[0].image`.
    public var field: String
    public var badValue: BadValue
    public var detail: String

    public init(_ type: ErrorType, _ field: FieldPath, _ badValue: BadValue, _ detail: String = "") {
        self.type = type
        self.field = field.description
        self.badValue = badValue
        self.detail = detail
    }

    /// `field: body`, as `field.Error.Error()`.
    public var description: String { "\(field): \(body)" }

    /// The message without the field name (`field.Error.ErrorBody()`), used for status causes.
    public var body: String {
        var s: String
        switch type {
        case .required, .forbidden, .tooLong, .internal:
            s = type.message
        default:
            if case .omitted = badValue {
                s = type.message
            } else {
                s = "\(type.message): \(badValue.formatted)"
            }
        }
        if !detail.isEmpty {
            s += ": \(detail)"
        }
        return s
    }

    // MARK: - Constructors named after Kubernetes' field.Required, field.Invalid, …

    public static func required(_ field: FieldPath, _ detail: String = "") -> FieldError {
        FieldError(.required, field, .string(""), detail)
    }

    public static func invalid(_ field: FieldPath, _ value: BadValue, _ detail: String) -> FieldError {
        FieldError(.invalid, field, value, detail)
    }

    public static func notFound(_ field: FieldPath, _ value: BadValue) -> FieldError {
        FieldError(.notFound, field, value, "")
    }

    public static func duplicate(_ field: FieldPath, _ value: BadValue) -> FieldError {
        FieldError(.duplicate, field, value, "")
    }

    /// `supported` is printed in the given order, each value quoted.
    public static func notSupported(_ field: FieldPath, _ value: BadValue, _ supported: [String]) -> FieldError {
        let detail = supported.isEmpty ? "" : "supported values: " + supported.map(goQuote).joined(separator: ", ")
        return FieldError(.notSupported, field, value, detail)
    }

    public static func forbidden(_ field: FieldPath, _ detail: String) -> FieldError {
        FieldError(.forbidden, field, .string(""), detail)
    }

    /// `field.TooLong`: the value itself is never printed.
    public static func tooLong(_ field: FieldPath, maxLength: Int) -> FieldError {
        let detail = maxLength >= 0 ? "may not be more than \(maxLength) \(maxLength == 1 ? "byte" : "bytes")" : "value is too long"
        return FieldError(.tooLong, field, .omitted, detail)
    }

    public static func tooMany(_ field: FieldPath, actual: Int, max: Int) -> FieldError {
        FieldError(.tooMany, field, actual >= 0 ? .int(Int64(actual)) : .omitted,
                   max >= 0 ? "must have at most \(max) \(max == 1 ? "item" : "items")" : "has too many items")
    }

    public static func internalError(_ field: FieldPath, _ detail: String) -> FieldError {
        FieldError(.internal, field, .null, detail)
    }
}

/// The offending value of a `FieldError`, printed the way Go's `%v`/`%q` print it.
public enum BadValue: Sendable, Hashable, CustomStringConvertible {
    /// No value is shown (Kubernetes' `omitValue`).
    case omitted
    case null
    /// Printed quoted: `"Foo_bar"`.
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Printed verbatim, for values Go prints with their own String() method (quantities, lists).
    case raw(String)

    public static func integer<I: BinaryInteger>(_ i: I) -> BadValue { .int(Int64(i)) }

    /// A value Kubernetes prints through `json.Marshal` (named string types such as
    /// `RestartPolicy`, quantities, pointers to them): a JSON string.
    public static func json(_ s: String) -> BadValue { .raw(goJSONQuote(s)) }

    /// Any JSON value, printed as Go's `json.Marshal` prints it.
    public static func json(_ value: JSONValue) -> BadValue {
        if case .string(let s) = value { return .json(s) }
        return .raw(goJSONText(value))
    }

    init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array, .object: self = .raw(json.description)
        }
    }

    var formatted: String {
        switch self {
        case .omitted: return ""
        case .null: return "null"
        case .string(let s): return goQuote(s)
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e21 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .raw(let s): return s
        }
    }

    public var description: String { formatted }
}

/// Quotes like Go's strconv.Quote (`%q`): printable characters stay, control characters are
/// escaped. Messages that Kubernetes prints with %q use it, wherever they are made.
public func goQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = JSONWriter.hex4(scalar.value)
                out += "\\x" + hex.dropFirst(2)
            } else if (0x80..<0xA0).contains(scalar.value) || scalar.value == 0xFEFF {
                out += "\\u" + JSONWriter.hex4(scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Quotes like Go's `json.Marshal` of a string: HTML-sensitive characters are escaped too.
func goJSONQuote(_ s: String) -> String {
    var out = ""
    JSONWriter.writeString(s, into: &out, escapingHTML: true)
    return out
}

/// Compact JSON with sorted keys and Go's string escaping.
func goJSONText(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d): return JSONWriter.formatDouble(d)
    case .string(let s): return goJSONQuote(s)
    case .array(let a): return "[" + a.map(goJSONText).joined(separator: ",") + "]"
    case .object(let o):
        return "{" + o.keys.sorted().map { goJSONQuote($0) + ":" + goJSONText(o[$0] ?? .null) }.joined(separator: ",") + "}"
    }
}
