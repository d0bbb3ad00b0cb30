import ShoalAPI

/// A parsed `labelSelector` query parameter (what ShoalAPI.LabelSelector is in objects): the apimachinery grammar (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
struct LabelQuery: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }
    var requirements: [Requirement] = []

    static let everything = LabelQuery()

    init() {}

    init(parsing text: String) throws(APIError) {
        var i = text.startIndex
        func skipSpaces() { while i < text.endIndex, text[i] == " " { i = text.index(after: i) } }
        func word() -> String {
            skipSpaces()
            let start = i
            while i < text.endIndex, !" ,=!()".contains(text[i]) { i = text.index(after: i) }
            return String(text[start..<i])
        }
        func fail(_ why: String) -> APIError {
            APIError.badRequest("unable to parse requirement: \(why)")
        }
        func values() throws(APIError) -> Set<String> {
            skipSpaces()
            guard i < text.endIndex, text[i] == "(" else { throw fail("found '\(i < text.endIndex ? String(text[i]) : "")', expected: '('") }
            i = text.index(after: i)
            var out = Set<String>()
            while true {
                let v = word()
                if !v.isEmpty { out.insert(v) }
                skipSpaces()
                guard i < text.endIndex else { throw fail("found '', expected: ',', ')'") }
                if text[i] == ")" { i = text.index(after: i); return out }
                guard text[i] == "," else { throw fail("found '\(text[i])', expected: ',', ')'") }
                i = text.index(after: i)
            }
        }
        skipSpaces()
        while i < text.endIndex {
            skipSpaces()
            var negated = false
            if i < text.endIndex, text[i] == "!" { negated = true; i = text.index(after: i) }
            let key = word()
            guard !key.isEmpty else { throw fail("found '', expected: identifier") }
            try Self.validateKey(key)
            skipSpaces()
            if negated {
                requirements.append(.doesNotExist(key))
            } else if i == text.endIndex || text[i] == "," {
                requirements.append(.exists(key))
            } else if text[i] == "=" || text[i] == "!" {
                let not = text[i] == "!"
                i = text.index(after: i)
                if i < text.endIndex, text[i] == "=" { i = text.index(after: i) } else if not { throw fail("found '!', expected: '!='") }
                let value = word()
                requirements.append(not ? .notEquals(key, value) : .equals(key, value))
            } else {
                let op = word()
                switch op {
                case "in": requirements.append(.isIn(key, try values()))
                case "notin": requirements.append(.notIn(key, try values()))
                default: throw fail("found '\(op)', expected: in, notin, =, ==, !=, gt, lt")
                }
            }
            skipSpaces()
            if i < text.endIndex {
                guard text[i] == "," else { throw fail("found '\(text[i])', expected: ','") }
                i = text.index(after: i)
            }
        }
    }

    static func validateKey(_ key: String) throws(APIError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name = String(parts.last ?? "")
        if parts.count > 2 || name.isEmpty || name.count > 63 || !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            throw APIError.badRequest("unable to parse requirement: invalid label key \"\(key)\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")
        }
    }

    var isEverything: Bool { requirements.isEmpty }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { r in
            switch r {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .isIn(let k, let vs): return labels[k].map(vs.contains) ?? false
            case .notIn(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
            case .exists(let k): return labels[k] != nil
            case .doesNotExist(let k): return labels[k] == nil
            }
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        if isEverything { return true }
        var labels: [String: String] = [:]
        for (k, v) in object["metadata"]?["labels"]?.objectValue ?? [:] { labels[k] = v.stringValue ?? "" }
        return matches(labels)
    }
}

/// A parsed `fieldSelector` query: `=`, `==` and `!=` terms over the fields a resource supports.
struct FieldSelector: Sendable, Equatable {
    struct Term: Sendable, Equatable {
        var field: String
        var value: String
        var negated: Bool
    }
    var terms: [Term] = []

    init() {}

    init(parsing text: String, for resource: ResourceInfo) throws(APIError) {
        for part in text.split(separator: ",") where !String(part).trimming(" ").isEmpty {
            let s = String(part)
            var term: Term
            if let r = s.range(of: "!=") {
                term = Term(field: String(s[..<r.lowerBound]), value: String(s[r.upperBound...]), negated: true)
            } else if let r = s.range(of: "==") {
                term = Term(field: String(s[..<r.lowerBound]), value: String(s[r.upperBound...]), negated: false)
            } else if let r = s.range(of: "=") {
                term = Term(field: String(s[..<r.lowerBound]), value: String(s[r.upperBound...]), negated: false)
            } else {
                throw APIError.badRequest("invalid selector: '\(s)'; can't understand '\(s)'")
            }
            term.field = term.field.trimming(" ")
            let allowed = ["metadata.name", "metadata.namespace"] + resource.fieldSelectors
            guard allowed.contains(term.field) else {
                throw APIError.badRequest("field label not supported: \(term.field)")
            }
            terms.append(term)
        }
    }

    var isEverything: Bool { terms.isEmpty }

    func matches(_ object: JSONValue) -> Bool {
        terms.allSatisfy { t in
            let actual = Self.fieldValue(object, t.field)
            return (actual == t.value) != t.negated
        }
    }

    /// A field's value as the API server's field-label conversion gives it: absent is "", booleans are "true"/"false".
    static func fieldValue(_ object: JSONValue, _ field: String) -> String {
        if field == "source", let component = object["source"]?["component"]?.stringValue { return component }
        switch object.value(at: field.split(separator: ".").map(String.init)) {
        case .string(let s)?: return s
        case .bool(let b)?: return b ? "true" : "false"
        case .int(let i)?: return String(i)
        default: return ""
        }
    }
}

extension String {
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
