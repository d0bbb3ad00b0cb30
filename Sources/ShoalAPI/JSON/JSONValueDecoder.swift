/// A failure while decoding a typed value out of a `JSONValue`, naming the field the way
/// Kubernetes names it (`spec.containers[0].ports[0].containerPort`) and the offending value.
struct ValueDecodingFailure: Error, CustomStringConvertible {
    var path: FieldPath
    var value: JSONValue?
    var detail: String

    /// Scalars are shown; a whole object or list is not (it would drown the message).
    var fieldError: FieldError {
        var bad = BadValue.omitted
        switch value {
        case .some(.array), .some(.object), .none: break
        case .some(let v): bad = BadValue(json: v)
        }
        return FieldError(.invalid, path, bad, detail)
    }

    /// `path: Invalid value: …`, or without the path for the document itself.
    var description: String {
        let error = fieldError
        return path.isEmpty ? error.body : error.description
    }
}

/// Marks dictionaries, so their keys print as `[key]` rather than `.key` in field paths.
protocol MapDecodingMarker {}
extension Dictionary: MapDecodingMarker {}

/// Types with a value to stand in when their JSON was rejected, so that decoding can go on and
/// report every bad field of a manifest rather than only the first.
protocol DecodingPlaceholder {
    static var decodingPlaceholder: Self { get }
}

/// What a strict decode learns besides the value: every type error, and which members of
/// each object were read, so that the rest can be reported as unknown fields.
final class DecodingRecorder {
    struct ObjectRecord {
        var path: FieldPath
        var keys: [String]
        var used: Set<String> = []
    }

    private(set) var failures: [ValueDecodingFailure] = []
    /// Keyed by the untyped path, because an object can be decoded twice (EphemeralContainer
    /// decodes the Container fields and then its own from the same object).
    private(set) var objects: [FieldPath: ObjectRecord] = [:]

    func record(_ failure: ValueDecodingFailure) {
        failures.append(failure)
    }

    func register(_ path: FieldPath, keys: [String]) {
        let id = path.untyped
        if objects[id] == nil { objects[id] = ObjectRecord(path: path, keys: keys) }
    }

    func use(_ path: FieldPath, _ key: String) {
        objects[path.untyped]?.used.insert(key)
    }

    /// Members no decoded type asked for: `spec.containers[0].imagee`.
    var unknownFields: [FieldPath] {
        objects.values.flatMap { record in record.keys.filter { !record.used.contains($0) }.map { record.path.child($0) } }
    }
}

/// Decodes `Decodable` types from a `JSONValue` with Go's encoding/json semantics, which is what
/// the Kubernetes API server applies to manifests:
///
/// - types must match: a number where a string is expected is an error (`value: 123` for an env
///   var is rejected), worded as Go words it (`cannot unmarshal number into Go value of type string`);
/// - a missing key or an explicit null gives the zero value (`""`, `0`, `false`, empty list),
///   so required-but-missing fields surface later as validation errors ("Required value"), not as
///   decoding errors, exactly as in Kubernetes;
/// - unknown keys are ignored here; with a `DecodingRecorder` they are tracked, and type errors
///   are recorded instead of thrown (the field gets its zero value), so one pass finds them all.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let path: FieldPath
    let codingPath: [any CodingKey]
    /// True when decoding a dictionary: its keys are map keys, not field names.
    let isMap: Bool
    /// The Swift type being decoded here, for Go-style messages; nil below `superDecoder`.
    let type: Any.Type?
    let recorder: DecodingRecorder?

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, path: FieldPath, codingPath: [any CodingKey], isMap: Bool, type: Any.Type? = nil,
         recorder: DecodingRecorder? = nil) {
        self.value = value
        self.path = path
        self.codingPath = codingPath
        self.isMap = isMap
        self.type = type
        self.recorder = recorder
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: FieldPath = FieldPath(),
                                     codingPath: [any CodingKey] = [], recorder: DecodingRecorder? = nil) throws -> T {
        let decoder = JSONValueDecoder(value: value, path: path, codingPath: codingPath,
                                       isMap: T.self is any MapDecodingMarker.Type, type: T.self, recorder: recorder)
        do {
            return try T(from: decoder)
        } catch {
            // A type's own init(from:) rejected the value (a bad quantity, say): blame this field.
            let failure = error as? ValueDecodingFailure
                ?? ValueDecodingFailure(path: path, value: value, detail: Self.describe(error))
            if let recorder, let placeholder = T.self as? any DecodingPlaceholder.Type,
                let stand = placeholder.decodingPlaceholder as? T
            {
                recorder.record(failure)
                return stand
            }
            throw failure
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

    /// How encoding/json names a JSON value in "cannot unmarshal X into …".
    static func goKind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The Go type Kubernetes decodes into, from the Swift type standing for it: `int64`,
    /// `[]v1.Container`, `map[string]resource.Quantity`, `v1.PodSpec`.
    static func goTypeName(_ type: Any.Type) -> String {
        goTypeName(String(describing: type))
    }

    static func goTypeName(_ swift: String) -> String {
        func inner(_ prefix: String) -> String? {
            guard swift.hasPrefix(prefix), swift.hasSuffix(">") else { return nil }
            return String(swift.dropFirst(prefix.count).dropLast())
        }
        if let wrapped = inner("Optional<") { return goTypeName(wrapped) }
        if let element = inner("Array<") { return "[]" + goTypeName(element) }
        if let value = inner("Dictionary<String, ") { return "map[string]" + goTypeName(value) }
        switch swift {
        case "String": return "string"
        case "Bool": return "bool"
        case "Double": return "float64"
        case "Float": return "float32"
        case "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64": return swift.lowercased()
        case "Quantity": return "resource.Quantity"
        case "IntOrString": return "intstr.IntOrString"
        case "JSONValue": return "interface {}"
        case "PortProtocol": return "v1.Protocol"
        default: return "v1." + swift
        }
    }

    /// encoding/json's UnmarshalTypeError, as the detail of an Invalid value error.
    func mismatch(_ goType: String? = nil, kind: String? = nil) -> ValueDecodingFailure {
        let typeName = goType ?? type.map { Self.goTypeName($0) } ?? "interface {}"
        return ValueDecodingFailure(path: path, value: value,
                                    detail: "cannot unmarshal \(kind ?? Self.goKind(value)) into Go value of type \(typeName)")
    }

    /// Records the failure and returns `placeholder` when collecting, else throws.
    func reject<V>(_ failure: ValueDecodingFailure, _ placeholder: @autoclosure () -> V) throws -> V {
        guard let recorder else { throw failure }
        recorder.record(failure)
        return placeholder()
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let members):
            if !isMap { recorder?.register(path, keys: Array(members.keys)) }
            return KeyedDecodingContainer(KeyedContainer<Key>(members: members, decoder: self))
        case .null:
            return KeyedDecodingContainer(KeyedContainer<Key>(members: [:], decoder: self))
        default:
            return try reject(mismatch(), KeyedDecodingContainer(KeyedContainer<Key>(members: [:], decoder: self)))
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return UnkeyedContainer(elements: elements, decoder: self)
        case .null:
            return UnkeyedContainer(elements: [], decoder: self)
        default:
            return try reject(mismatch(), UnkeyedContainer(elements: [], decoder: self))
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

        private func use(_ key: Key) {
            if !decoder.isMap { decoder.recorder?.use(decoder.path, key.stringValue) }
        }

        func contains(_ key: Key) -> Bool {
            use(key)
            return members[key.stringValue] != nil
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            use(key)
            return members[key.stringValue]?.isNull ?? true
        }

        private func childPath(_ key: Key) -> FieldPath {
            decoder.isMap ? decoder.path.key(key.stringValue) : decoder.path.child(key.stringValue)
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try decode(type, generic: key)
        }

        private func decode<T: Decodable>(_ type: T.Type, generic key: Key) throws -> T {
            use(key)
            return try JSONValueDecoder.decode(type, from: members[key.stringValue] ?? .null, path: childPath(key),
                                               codingPath: codingPath + [key], recorder: decoder.recorder)
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
            use(key)
            return JSONValueDecoder(value: members[key.stringValue] ?? .null, path: childPath(key),
                                    codingPath: codingPath + [key], isMap: false, recorder: decoder.recorder)
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
                                                     codingPath: codingPath + [IndexKey(currentIndex)],
                                                     recorder: decoder.recorder)
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
                                       codingPath: codingPath + [IndexKey(currentIndex)], isMap: false,
                                       recorder: decoder.recorder)
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

        /// The Go type named in a mismatch: the decoded type's own (`v1.RestartPolicy` for a
        /// string enum), else the primitive's.
        private func goType(_ primitive: String) -> String {
            guard let type = decoder.type else { return primitive }
            let name = JSONValueDecoder.goTypeName(type)
            return name == "interface {}" ? primitive : name
        }

        func decode(_ type: Bool.Type) throws -> Bool {
            switch value {
            case .bool(let b): return b
            case .null: return false
            default: return try decoder.reject(decoder.mismatch(goType("bool")), false)
            }
        }

        func decode(_ type: String.Type) throws -> String {
            switch value {
            case .string(let s): return s
            case .null: return ""
            default: return try decoder.reject(decoder.mismatch(goType("string")), "")
            }
        }

        func decode(_ type: Double.Type) throws -> Double {
            switch value {
            case .int(let i): return Double(i)
            case .double(let d): return d
            case .null: return 0
            default: return try decoder.reject(decoder.mismatch(goType("float64")), 0)
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
            let name = goType(String(describing: type).lowercased())
            switch value {
            case .int(let i):
                guard let exact = I(exactly: i) else {
                    return try decoder.reject(decoder.mismatch(name, kind: "number \(i)"), 0)
                }
                return exact
            case .double(let d):
                // YAML's `1.0` reaches the API server as the JSON number 1, so integral floats pass.
                guard d == d.rounded(), let exact = I(exactly: d) else {
                    return try decoder.reject(decoder.mismatch(name, kind: "number \(JSONWriter.formatDouble(d))"), 0)
                }
                return exact
            case .null:
                return 0
            default:
                return try decoder.reject(decoder.mismatch(name), 0)
            }
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
            try JSONValueDecoder.decode(type, from: value, path: decoder.path, codingPath: codingPath,
                                        recorder: decoder.recorder)
        }
    }
}
