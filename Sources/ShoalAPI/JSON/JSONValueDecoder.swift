/// A failure while decoding a typed value out of a `JSONValue`, naming the field the way
/// Kubernetes names it (`spec.containers[0].ports[0].containerPort`) and the offending value.
struct ValueDecodingFailure: Error, CustomStringConvertible {
    var path: FieldPath
    var value: JSONValue?
    var detail: String

    var fieldError: FieldError {
        FieldError(.invalid, path, value.map(BadValue.init(json:)) ?? .omitted, detail)
    }

    var description: String { fieldError.description }
}

/// Marks dictionaries, so their keys print as `[key]` rather than `.key` in field paths.
protocol MapDecodingMarker {}
extension Dictionary: MapDecodingMarker {}

/// Decodes `Decodable` types from a `JSONValue` with Go's encoding/json semantics, which is what
/// the Kubernetes API server applies to manifests:
///
/// - types must match: a number where a string is expected is an error (`value: 123` for an env
///   var is rejected, as `cannot unmarshal number into Go struct field EnvVar.value of type string`);
/// - a missing key or an explicit null gives the zero value (`""`, `0`, `false`, empty list),
///   so required-but-missing fields surface later as validation errors ("Required value"), not as
///   decoding errors, exactly as in Kubernetes;
/// - unknown keys are ignored here; `ManifestDecoder` reports them separately.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let path: FieldPath
    let codingPath: [any CodingKey]
    /// True when decoding a dictionary: its keys are map keys, not field names.
    let isMap: Bool

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: FieldPath = FieldPath(),
                                     codingPath: [any CodingKey] = []) throws -> T {
        let decoder = JSONValueDecoder(value: value, path: path, codingPath: codingPath,
                                       isMap: T.self is any MapDecodingMarker.Type)
        do {
            return try T(from: decoder)
        } catch let failure as ValueDecodingFailure {
            throw failure
        } catch {
            // A type's own init(from:) rejected the value (a bad quantity, say): blame this field.
            throw ValueDecodingFailure(path: path, value: value, detail: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let decodingError = error as? DecodingError {
            switch decodingError {
            case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
                .keyNotFound(_, let context):
                return context.debugDescription
            @unknown default:
                return "\(decodingError)"
            }
        }
        return "\(error)"
    }

    func mismatch(_ expected: String) -> ValueDecodingFailure {
        ValueDecodingFailure(path: path, value: value, detail: "expected \(expected)")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let members):
            return KeyedDecodingContainer(KeyedContainer<Key>(members: members, decoder: self))
        case .null:
            return KeyedDecodingContainer(KeyedContainer<Key>(members: [:], decoder: self))
        default:
            throw mismatch(isMap ? "a map" : "an object")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return UnkeyedContainer(elements: elements, decoder: self)
        case .null:
            return UnkeyedContainer(elements: [], decoder: self)
        default:
            throw mismatch("an array")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }

    // MARK: - Containers

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: JSONValue]
        let decoder: JSONValueDecoder

        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] { members.keys.sorted().compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        func decodeNil(forKey key: Key) throws -> Bool {
            members[key.stringValue]?.isNull ?? true
        }

        private func childPath(_ key: Key) -> FieldPath {
            decoder.isMap ? decoder.path.key(key.stringValue) : decoder.path.child(key.stringValue)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try decode(type, generic: key)
        }

        private func decode<T: Decodable>(_ type: T.Type, generic key: Key) throws -> T {
            try JSONValueDecoder.decode(type, from: members[key.stringValue] ?? .null, path: childPath(key),
                                        codingPath: codingPath + [key])
        }

        // The protocol has no defaults for these; all of them go through the generic path.
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, generic: key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, generic: key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, generic: key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type as Float.Type, generic: key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, generic: key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type as Int8.Type, generic: key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type as Int16.Type, generic: key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type as Int32.Type, generic: key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type as Int64.Type, generic: key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type as UInt.Type, generic: key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type as UInt8.Type, generic: key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type as UInt16.Type, generic: key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type as UInt32.Type, generic: key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type as UInt64.Type, generic: key) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try superDecoder(forKey: key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try superDecoder(forKey: key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            decoder
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONValueDecoder(value: members[key.stringValue] ?? .null, path: childPath(key),
                             codingPath: codingPath + [key], isMap: false)
        }
    }

    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { String(intValue ?? 0) }
        init(_ i: Int) { intValue = i }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let decoder: JSONValueDecoder
        var currentIndex = 0

        init(elements: [JSONValue], decoder: JSONValueDecoder) {
            self.elements = elements
            self.decoder = decoder
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private func current() throws -> JSONValue {
            guard currentIndex < elements.count else {
                throw ValueDecodingFailure(path: decoder.path.index(currentIndex), value: nil,
                                           detail: "unexpected end of list")
            }
            return elements[currentIndex]
        }

        mutating func decodeNil() throws -> Bool {
            if try current().isNull {
                currentIndex += 1
                return true
            }
            return false
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try decodeGeneric(type)
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeGeneric(type) }
        mutating func decode(_ type: String.Type) throws -> String { try decodeGeneric(type) }
        mutating func decode(_ type: Double.Type) throws -> Double { try decodeGeneric(type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try decodeGeneric(type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try decodeGeneric(type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeGeneric(type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeGeneric(type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeGeneric(type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeGeneric(type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeGeneric(type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeGeneric(type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeGeneric(type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeGeneric(type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeGeneric(type) }

        private mutating func decodeGeneric<T: Decodable>(_ type: T.Type) throws -> T {
            let value = try current()
            let result = try JSONValueDecoder.decode(type, from: value, path: decoder.path.index(currentIndex),
                                                     codingPath: codingPath + [IndexKey(currentIndex)])
            currentIndex += 1
            return result
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try superDecoder().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try superDecoder().unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let value = try current()
            let sub = JSONValueDecoder(value: value, path: decoder.path.index(currentIndex),
                                       codingPath: codingPath + [IndexKey(currentIndex)], isMap: false)
            currentIndex += 1
            return sub
        }
    }

    struct SingleValueContainer: SingleValueDecodingContainer {
        let decoder: JSONValueDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        private var value: JSONValue { decoder.value }

        init(decoder: JSONValueDecoder) { self.decoder = decoder }

        func decodeNil() -> Bool { value.isNull }

        func decode(_ type: Bool.Type) throws -> Bool {
            switch value {
            case .bool(let b): return b
            case .null: return false
            default: throw decoder.mismatch("a boolean")
            }
        }

        func decode(_ type: String.Type) throws -> String {
            switch value {
            case .string(let s): return s
            case .null: return ""
            default: throw decoder.mismatch("a string")
            }
        }

        func decode(_ type: Double.Type) throws -> Double {
            switch value {
            case .int(let i): return Double(i)
            case .double(let d): return d
            case .null: return 0
            default: throw decoder.mismatch("a number")
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
            switch value {
            case .int(let i):
                guard let exact = I(exactly: i) else { throw outOfRange(type) }
                return exact
            case .double(let d):
                // YAML's `1.0` reaches the API server as the JSON number 1, so integral floats pass.
                guard d == d.rounded(), let exact = I(exactly: d) else {
                    throw d == d.rounded() ? outOfRange(type) : decoder.mismatch("an integer")
                }
                return exact
            case .null:
                return 0
            default:
                throw decoder.mismatch("an integer")
            }
        }

        private func outOfRange<I: FixedWidthInteger>(_ type: I.Type) -> ValueDecodingFailure {
            ValueDecodingFailure(path: decoder.path, value: value,
                                 detail: "integer out of range for \(String(describing: type).lowercased())")
        }

        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONValueDecoder.decode(type, from: value, path: decoder.path, codingPath: codingPath)
        }
    }
}
