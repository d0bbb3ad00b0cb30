/// Why a manifest could not be turned into API objects: one line per problem, each naming the
/// field path when there is one (`spec.containers[1].resources.limits[memory]: Invalid value:
/// "12Q": quantities must match the regular expression …`, `unknown field "spec.foo"`,
/// `error converting YAML to JSON: yaml: line 3: …`).
public struct ManifestDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var messages: [String]

    public init(messages: [String]) {
        self.messages = messages
    }

    public var description: String { messages.joined(separator: "\n") }
}

/// One document of a manifest file, parsed but not yet typed.
public struct ManifestDocument: Sendable {
    public var value: JSONValue
    /// The line the document starts on.
    public var line: Int?
    /// Pre-order position of every node (map keys as fields), to report problems in the order
    /// they appear in the file.
    var positions: [FieldPath: Int]
    /// Keys given twice in one JSON object (YAML duplicates are refused while parsing).
    var duplicates: [FieldPath]

    public init(value: JSONValue, line: Int? = nil) {
        self.value = value
        self.line = line
        positions = [:]
        duplicates = []
    }

    init(value: JSONValue, line: Int?, positions: [FieldPath: Int], duplicates: [FieldPath]) {
        self.value = value
        self.line = line
        self.positions = positions
        self.duplicates = duplicates
    }
}

/// Reads manifests (YAML or JSON, several documents per file) into API types the way the API
/// server reads them with strict field validation (kubectl's default, `--validate=strict`):
///
/// - YAML is converted as sigs.k8s.io/yaml converts it (`YAMLReader`); a text whose first
///   non-blank character is `{` is read as a stream of JSON values, as kubectl sniffs it;
/// - types are checked as encoding/json checks them, and *every* mismatch is reported, not only
///   the first: `spec.terminationGracePeriodSeconds: Invalid value: "abc": cannot unmarshal
///   string into Go value of type int64`;
/// - unknown and duplicate fields are errors: `unknown field "spec.containers[0].imagee"`,
///   `duplicate field "spec.containers[0].image"` (the API server's strict-decoding wording).
public enum ManifestDecoder {
    /// The non-empty documents of a manifest text. Empty documents (`---` alone, comments,
    /// `null`) are skipped. A syntax error rejects the whole text.
    public static func documents(_ text: String) throws(ManifestDecodingError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        if looksLikeJSON(text) {
            do {
                for d in try JSONParser.parseStream(text) where !d.value.isNull {
                    documents.append(ManifestDocument(value: d.value, line: d.line, positions: d.positions,
                                                      duplicates: d.duplicates.map { $0.path.child($0.key) }))
                }
                return documents
            } catch let failure as JSONParser.Failure {
                // A YAML flow mapping (`{apiVersion: v1, …}`) also starts with a brace.
                if let yaml = try? YAMLReader.documents(text) {
                    return yaml.filter { !$0.value.isNull }.map {
                        ManifestDocument(value: $0.value, line: $0.line, positions: $0.positions, duplicates: [])
                    }
                }
                throw ManifestDecodingError(messages: ["error parsing JSON: \(failure)"])
            } catch {
                throw ManifestDecodingError(messages: ["error parsing JSON: \(error)"])
            }
        }
        for d in try YAMLReader.documents(text) where !d.value.isNull {
            documents.append(ManifestDocument(value: d.value, line: d.line, positions: d.positions, duplicates: []))
        }
        return documents
    }

    static func looksLikeJSON(_ text: String) -> Bool {
        for scalar in text.unicodeScalars {
            switch scalar {
            case " ", "\t", "\n", "\r", "\u{FEFF}": continue
            default: return scalar == "{"
            }
        }
        return false
    }

    /// Decodes one document as `T`, reporting every type error and, unless
    /// `rejectUnknownFields` is false, every unknown or duplicate field, in document order.
    public static func decode<T: Decodable>(_ type: T.Type, from document: ManifestDocument,
                                            rejectUnknownFields: Bool = true) throws(ManifestDecodingError) -> T {
        let recorder = DecodingRecorder()
        var decoded: T?
        do {
            decoded = try JSONValueDecoder.decode(T.self, from: document.value, recorder: recorder)
        } catch let failure as ValueDecodingFailure {
            recorder.record(failure)
        } catch {
            recorder.record(ValueDecodingFailure(path: FieldPath(), value: nil, detail: "\(error)"))
        }

        var problems: [(position: Int, order: Int, message: String)] = []
        func add(_ path: FieldPath, _ message: String) {
            problems.append((document.positions[path.untyped] ?? Int.max, problems.count, message))
        }
        var blamed = Set<FieldPath>()
        for failure in recorder.failures where blamed.insert(failure.path).inserted {
            add(failure.path, failure.description)
        }
        if rejectUnknownFields {
            for path in recorder.unknownFields { add(path, "unknown field \(goQuote(path.description))") }
            for path in document.duplicates { add(path, "duplicate field \(goQuote(path.description))") }
        }
        if let decoded, problems.isEmpty { return decoded }
        problems.sort { ($0.position, $0.order) < ($1.position, $1.order) }
        throw ManifestDecodingError(messages: problems.map(\.message))
    }

    /// Decodes a `v1 Pod`. `kind` and `apiVersion` may be left out; when given they must be
    /// `Pod` and `v1`.
    public static func decodePod(from document: ManifestDocument, rejectUnknownFields: Bool = true)
        throws(ManifestDecodingError) -> Pod
    {
        var errors: [FieldError] = []
        if case .string(let kind) = document.value["kind"], !kind.isEmpty, kind != "Pod" {
            errors.append(.notSupported(FieldPath("kind"), .string(kind), ["Pod"]))
        }
        if case .string(let version) = document.value["apiVersion"], !version.isEmpty, version != "v1" {
            errors.append(.notSupported(FieldPath("apiVersion"), .string(version), ["v1"]))
        }
        if !errors.isEmpty { throw ManifestDecodingError(messages: errors.map(\.description)) }
        return try decode(Pod.self, from: document, rejectUnknownFields: rejectUnknownFields)
    }
}
