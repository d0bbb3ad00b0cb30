/// A string-valued API enum that still decodes values it does not know.
///
/// Kubernetes decodes `restartPolicy: Sometimes` without complaint and rejects it in validation
/// with "Unsupported value"; modelling these fields as Swift enums would fail at decoding
/// instead, with a worse message. Conforming types are structs wrapping the raw string, with
/// the known values as static constants.
public protocol StringEnum: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral where RawValue == String
{
    init(rawValue: String)
}

extension StringEnum {
    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
