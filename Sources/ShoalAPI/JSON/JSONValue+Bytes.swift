import Foundation

/// Conversions the API server needs between wire bytes, untyped trees and typed objects.
extension JSONValue {
    /// Parses one JSON document (the whole input).
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONParser.parse(String(decoding: bytes, as: UTF8.self)).value
    }

    /// Compact JSON with sorted keys.
    public var serialized: [UInt8] { Array(JSONWriter.write(self, pretty: false).utf8) }

    /// Indented JSON, as `kubectl get -o json` prints.
    public var pretty: String { JSONWriter.write(self, pretty: true) }

    /// The tree of an encodable value (its exact JSON field names).
    public static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try parse(Array(try encoder.encode(value)))
    }

    /// Decodes this tree as `T`; strict rejects unknown fields with their paths.
    public func decode<T: Decodable>(_ type: T.Type, strict: Bool = false) throws(ManifestDecodingError) -> T {
        try ManifestDecoder.decode(type, from: ManifestDocument(value: self), rejectUnknownFields: strict)
    }

    /// The value at a dotted path of member names (`metadata.name`), nil if any step is missing.
    public func value(at path: [String]) -> JSONValue? {
        var current = self
        for key in path {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }
}
