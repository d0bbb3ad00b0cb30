import Yams

/// YAML documents as `JSONValue`s, converted the way Kubernetes converts them
/// (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 scalars), so that a manifest means to Shoal
/// exactly what it means to the API server:
///
/// - plain scalars resolve as go-yaml resolves them: `yes`/`on`/`y` are booleans, `0644` is
///   octal (420), `0x1F` hex, `1_000` is 1000, `1e3` a float, `~`/`null`/empty are null,
///   timestamps stay strings; quoted and block scalars are always strings;
/// - `<<` merge keys are applied, aliases expanded;
/// - non-string keys become strings (`1: a` has the key "1"), and non-finite floats are refused
///   (`json: unsupported value: +Inf`), as JSON cannot hold them.
///
/// Yams only parses (libyaml); everything above is done here.
enum YAMLReader {
    struct Document {
        var value: JSONValue
        /// Pre-order position of every node, by path (object keys as fields).
        var positions: [FieldPath: Int]
        var line: Int?
    }

    /// Every document of the stream, null (empty) documents included.
    static func documents(_ text: String) throws(ManifestDecodingError) -> [Document] {
        var documents: [Document] = []
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                var converter = Converter()
                let value = try converter.convert(node, path: FieldPath())
                documents.append(Document(value: value, positions: converter.positions, line: node.mark?.line))
            }
        } catch let error as ManifestDecodingError {
            throw error
        } catch {
            throw ManifestDecodingError(messages: [describe(error)])
        }
        return documents
    }

    /// A YAML error the way kubectl reports it: `error converting YAML to JSON: yaml: line 3:
    /// mapping values are not allowed in this context` (go-yaml reports libyaml's problem text).
    static func describe(_ error: any Error) -> String {
        let prefix = "error converting YAML to JSON: yaml: "
        guard let yamlError = error as? YamlError else { return prefix + "\(error)" }
        switch yamlError {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return prefix + "line \(mark.line): \(problem)"
        case let .reader(problem, _, _, _):
            return prefix + problem
        case let .duplicatedKeysInMapping(duplicates, context):
            return duplicates.map { prefix + "mapping key \(goQuote($0)) already defined at line \(context.mark.line)" }
                .joined(separator: "\n")
        default:
            return prefix + "\(yamlError)"
        }
    }

    struct Converter {
        private(set) var positions: [FieldPath: Int] = [:]
        private var count = 0
        /// Aliases can make a small document expand exponentially ("billion laughs").
        static let maxNodes = 100_000

        mutating func convert(_ node: Yams.Node, path: FieldPath) throws(ManifestDecodingError) -> JSONValue {
            positions[path] = count
            count += 1
            guard count <= Self.maxNodes else {
                throw ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: document contains excessive aliasing"])
            }
            switch node {
            case .scalar(let scalar):
                return try YAMLReader.value(of: scalar)
            case .sequence(let sequence):
                var elements: [JSONValue] = []
                for (i, element) in sequence.enumerated() {
                    elements.append(try convert(element, path: path.index(i)))
                }
                return .array(elements)
            case .mapping(let mapping):
                var members: [String: JSONValue] = [:]
                for (key, value) in mapping {
                    if YAMLReader.isMergeKey(key) {
                        try merge(value, into: &members, path: path)
                        continue
                    }
                    let name = try YAMLReader.keyString(key)
                    members[name] = try convert(value, path: path.child(name))
                }
                return .object(members)
            case .alias:
                return .null
            }
        }

        /// go-yaml's merge: a mapping, or a list of mappings where earlier ones win.
        private mutating func merge(_ node: Yams.Node, into members: inout [String: JSONValue], path: FieldPath)
            throws(ManifestDecodingError)
        {
            switch node {
            case .mapping:
                if case .object(let merged) = try convert(node, path: path) {
                    for (k, v) in merged { members[k] = v }
                }
            case .sequence(let sequence):
                for element in sequence.reversed() {
                    guard case .mapping = element else {
                        throw ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"])
                    }
                    try merge(element, into: &members, path: path)
                }
            default:
                throw ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"])
            }
        }
    }

    static func isMergeKey(_ node: Yams.Node) -> Bool {
        guard case .scalar(let s) = node, s.string == "<<", s.style == .plain || s.style == .any else { return false }
        return s.tag.rawValue != Tag.Name.str.rawValue
    }

    /// sigs.k8s.io/yaml's key conversion: ints and bools print as Go prints them.
    static func keyString(_ node: Yams.Node) throws(ManifestDecodingError) -> String {
        guard case .scalar(let scalar) = node else {
            throw ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: unsupported map key: a \(node.mapping != nil ? "mapping" : "sequence") at line \(node.mark?.line ?? 0)"])
        }
        switch try value(of: scalar) {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONWriter.formatDouble(d)
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object:
            throw ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: unsupported map key of type null at line \(scalar.mark?.line ?? 0)"])
        }
    }

    static func value(of scalar: Yams.Node.Scalar) throws(ManifestDecodingError) -> JSONValue {
        let tag = scalar.tag.rawValue
        // Quoted and block scalars, and an explicit !!str (or !!binary) are strings as written.
        guard scalar.style == .plain || scalar.style == .any, tag != Tag.Name.str.rawValue, tag != "!",
            tag != "tag:yaml.org,2002:binary"
        else { return .string(scalar.string) }
        let value = resolvePlain(scalar.string)
        if case .double(let d) = value, !d.isFinite {
            let text = d.isNaN ? "NaN" : (d > 0 ? "+Inf" : "-Inf")
            throw ManifestDecodingError(messages: ["error converting YAML to JSON: json: unsupported value: \(text)"
                                                   + (scalar.mark.map { " (line \($0.line))" } ?? "")])
        }
        return value
    }

    /// go-yaml v2's resolve() for an untagged plain scalar.
    static func resolvePlain(_ s: String) -> JSONValue {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE": return .bool(true)
        case "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE": return .bool(false)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        default: break
        }
        guard let first = s.utf8.first else { return .string(s) }
        if first == UInt8(ascii: ".") {
            if let d = goParseFloat(s) { return .double(d) }
            return .string(s)
        }
        guard (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") else {
            return .string(s)
        }
        let plain = String(s.filter { $0 != "_" })
        switch goParseInt(plain) {
        case .some(.signed(let i)): return .int(i)
        case .some(.unsigned(let u)): return .double(Double(u))
        case .none: break
        }
        if isYAMLStyleFloat(plain), let d = Double(plain) { return .double(d) }
        return .string(s)
    }

    enum GoInteger {
        case signed(Int64)
        case unsigned(UInt64)
    }

    /// strconv.ParseInt(s, 0, 64), falling back to ParseUint: sign, then 0x/0o/0b or a
    /// leading 0 (octal) prefix.
    static func goParseInt(_ text: String) -> GoInteger? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        let lower = digits.lowercased()
        if lower.hasPrefix("0x") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if lower.hasPrefix("0o") {
            radix = 8
            digits = digits.dropFirst(2)
        } else if lower.hasPrefix("0b") {
            radix = 2
            digits = digits.dropFirst(2)
        } else if digits.hasPrefix("0") && digits.count > 1 {
            radix = 8
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit }), let magnitude = UInt64(digits, radix: radix) else {
            return nil
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return .signed(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        if magnitude <= UInt64(Int64.max) { return .signed(Int64(magnitude)) }
        return .unsigned(magnitude)
    }

    /// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
    static func isYAMLStyleFloat(_ s: String) -> Bool {
        var b = Array(s.utf8)[...]
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func digitRun() -> Int {
            var n = 0
            while let c = b.first, isDigit(c) {
                b = b.dropFirst()
                n += 1
            }
            return n
        }
        if let c = b.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { b = b.dropFirst() }
        if b.first == UInt8(ascii: ".") {
            b = b.dropFirst()
            guard digitRun() > 0 else { return false }
        } else {
            guard digitRun() > 0 else { return false }
            if b.first == UInt8(ascii: ".") {
                b = b.dropFirst()
                _ = digitRun()
            }
        }
        if let c = b.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            b = b.dropFirst()
            if let c = b.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { b = b.dropFirst() }
            guard digitRun() > 0 else { return false }
        }
        return b.isEmpty
    }

    /// strconv.ParseFloat for the `.5` case (decimal forms only).
    static func goParseFloat(_ s: String) -> Double? {
        isYAMLStyleFloat(s) ? Double(s) : nil
    }
}
