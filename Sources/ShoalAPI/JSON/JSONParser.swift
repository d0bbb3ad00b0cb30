/// A small RFC 8259 parser producing `JSONValue`.
///
/// Written here rather than using JSONSerialization so that integers stay exact, duplicate keys
/// can be reported (Kubernetes' strict mode rejects them) and errors carry a line and column.
struct JSONParser {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var line: Int
        var column: Int
        var description: String { "line \(line), column \(column): \(message)" }
    }

    /// A key that appeared twice in one object, with the path of the object holding it.
    struct DuplicateKey: Equatable {
        var path: FieldPath
        var key: String
    }

    /// One top-level value of a JSON stream, with what the strict decoder needs besides it.
    struct Document {
        var value: JSONValue
        var duplicates: [DuplicateKey]
        /// The order in which every value appeared (pre-order), by path.
        var positions: [FieldPath: Int]
        var line: Int
    }

    private let bytes: [UInt8]
    private var index = 0
    private(set) var duplicates: [DuplicateKey] = []
    private(set) var positions: [FieldPath: Int] = [:]
    private var nodeCount = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// Parses one JSON value that must be the whole input (surrounding whitespace aside).
    static func parse(_ text: String) throws -> (value: JSONValue, duplicates: [DuplicateKey]) {
        var parser = JSONParser(text)
        parser.skipWhitespace()
        let value = try parser.parseValue(path: FieldPath(), depth: 0)
        parser.skipWhitespace()
        if parser.index < parser.bytes.count {
            throw parser.failure("unexpected data after the top-level value")
        }
        return (value, parser.duplicates)
    }

    /// Parses a stream of JSON values separated by whitespace (`{…} {…}`), as kubectl reads
    /// a JSON manifest file.
    static func parseStream(_ text: String) throws -> [Document] {
        var parser = JSONParser(text)
        var documents: [Document] = []
        parser.skipWhitespace()
        while parser.index < parser.bytes.count {
            parser.duplicates = []
            parser.positions = [:]
            let line = parser.currentLine()
            let value = try parser.parseValue(path: FieldPath(), depth: 0)
            documents.append(Document(value: value, duplicates: parser.duplicates, positions: parser.positions, line: line))
            parser.skipWhitespace()
        }
        return documents
    }

    private func currentLine() -> Int {
        1 + bytes[..<min(index, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    // Deep nesting would exhaust the stack; real manifests are a few dozen levels at most.
    private static let maxDepth = 512

    private mutating func parseValue(path: FieldPath, depth: Int) throws -> JSONValue {
        positions[path] = nodeCount
        nodeCount += 1
        guard depth < Self.maxDepth else { throw failure("nesting too deep") }
        guard index < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(path: path, depth: depth)
        case UInt8(ascii: "["): return try parseArray(path: path, depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("invalid character '\(Character(Unicode.Scalar(bytes[index])))' looking for beginning of value")
        }
    }

    private mutating func parseObject(path: FieldPath, depth: Int) throws -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw failure("expected a string for an object key") }
            let key = try parseString()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw failure("expected ':' after object key") }
            index += 1
            skipWhitespace()
            let childPath = path.child(key)
            let value = try parseValue(path: childPath, depth: depth + 1)
            if members[key] != nil {
                duplicates.append(DuplicateKey(path: path, key: key))
            }
            // Like Go's encoding/json, the last occurrence wins.
            members[key] = value
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input in object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw failure("expected ',' or '}' in object")
        }
    }

    private mutating func parseArray(path: FieldPath, depth: Int) throws -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            let childPath = path.index(elements.count)
            elements.append(try parseValue(path: childPath, depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input in array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw failure("expected ',' or ']' in array")
        }
    }

    private mutating func parseString() throws -> String {
        index += 1  // opening quote
        var runStart = index
        var out: [UInt8] = []
        let src = bytes
        func flushRun(_ end: Int) {
            if end > runStart { out.append(contentsOf: src[runStart..<end]) }
        }
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                flushRun(index)
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw failure("invalid control character in string") }
            if b != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            flushRun(index)
            index += 1
            guard index < bytes.count else { break }
            let esc = bytes[index]
            index += 1
            switch esc {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count,
                    bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                {
                    let save = index
                    index += 2
                    let low = try parseHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = save
                    }
                }
                // Lone surrogates become U+FFFD, as Go does.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw failure("invalid escape '\\\(Character(Unicode.Scalar(esc)))' in string")
            }
            runStart = index
        }
        throw failure("unexpected end of input in string")
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number: expected digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number: expected digit in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let literal = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let i = Int64(literal) { return .int(i) }
        guard let d = Double(literal) else { throw failure("invalid number \(literal)") }
        return .double(d)
    }

    private mutating func expectLiteral(_ literal: String) throws {
        let lit = Array(literal.utf8)
        guard index + lit.count <= bytes.count, Array(bytes[index..<(index + lit.count)]) == lit else {
            throw failure("invalid literal, expected '\(literal)'")
        }
        index += lit.count
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek(_ b: UInt8) -> Bool {
        index < bytes.count && bytes[index] == b
    }

    private func isDigit(_ b: UInt8) -> Bool {
        b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    private func failure(_ message: String) -> Failure {
        var line = 1
        var column = 1
        for b in bytes[..<min(index, bytes.count)] {
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return Failure(message: message, line: line, column: column)
    }
}
