#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The string checks of `k8s.io/apimachinery/pkg/util/validation` (IsDNS1123Label,
/// IsQualifiedName, IsValidPortName, …), returning Kubernetes' messages word for word.
/// Lengths are in bytes, as Go's `len`. No regular expressions: each format is a short
/// character-class rule, written out.
enum ValidationRules {
    // MARK: - Message builders (MaxLenError, RegexError, …)

    static func maxLenError(_ length: Int) -> String { "must be no more than \(length) characters" }

    static func regexError(_ msg: String, _ format: String, _ examples: String...) -> String {
        if examples.isEmpty { return msg + " (regex used for validation is '" + format + "')" }
        var out = msg + " (e.g. "
        for (i, example) in examples.enumerated() {
            if i > 0 { out += " or " }
            out += "'" + example + "', "
        }
        return out + "regex used for validation is '" + format + "')"
    }

    static func emptyError() -> String { "must be non-empty" }

    static func inclusiveRangeError(_ lo: Int64, _ hi: Int64) -> String { "must be between \(lo) and \(hi), inclusive" }

    static let isNegativeErrorMsg = "must be greater than or equal to 0"
    static let fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

    // MARK: - Character classes

    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= 0x41 && b <= 0x5A)
    }

    // MARK: - DNS names

    static let dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123LabelErrMsg =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    static let dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
    static let dns1123SubdomainErrorMsg =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    static let dns1123LabelFmtWithUnderscore = "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
    static let dns1123SubdomainFmtWithUnderscore = dns1123LabelFmtWithUnderscore + "(\\." + dns1123LabelFmtWithUnderscore + ")*"
    static let dns1123SubdomainErrorMsgFG =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character"

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, optionally after one leading `_`.
    private static func matchesLabel<S: Collection>(_ bytes: S, underscore: Bool) -> Bool where S.Element == UInt8 {
        var b = Array(bytes)
        if underscore, b.first == UInt8(ascii: "_") { b.removeFirst() }
        guard let first = b.first, let last = b.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") || (underscore && $0 == UInt8(ascii: "_")) }
    }

    private static func matchesSubdomain(_ value: String, underscore: Bool) -> Bool {
        value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            .allSatisfy { matchesLabel($0, underscore: underscore) }
    }

    static func isDNS1123Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append(maxLenError(63)) }
        if !matchesLabel(value.utf8, underscore: false) {
            if matchesSubdomain(value, underscore: false) {
                errs.append("must not contain dots")
            } else {
                errs.append(regexError(dns1123LabelErrMsg, dns1123LabelFmt, "my-name", "123-abc"))
            }
        }
        return errs
    }

    static func isDNS1123Subdomain(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 253 { errs.append(maxLenError(253)) }
        if !matchesSubdomain(value, underscore: false) {
            errs.append(regexError(dns1123SubdomainErrorMsg, dns1123SubdomainFmt, "example.com"))
        }
        return errs
    }

    static func isDNS1123SubdomainWithUnderscore(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 253 { errs.append(maxLenError(253)) }
        if !matchesSubdomain(value, underscore: true) {
            errs.append(regexError(dns1123SubdomainErrorMsgFG, dns1123SubdomainFmtWithUnderscore, "example.com"))
        }
        return errs
    }

    /// apimachinery's maskTrailingDash, used for names that get a generated suffix.
    private static func maskTrailingDash(_ name: String) -> String {
        guard name.hasSuffix("-") else { return name }
        let bytes = Array(name.utf8)
        return String(decoding: bytes.dropLast(min(2, bytes.count)), as: UTF8.self) + "a"
    }

    /// NameIsDNSSubdomain (pod, node, service account, priority class, secret, configmap names).
    static func nameIsDNSSubdomain(_ name: String, prefix: Bool = false) -> [String] {
        isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name)
    }

    /// NameIsDNSLabel (namespace names).
    static func nameIsDNSLabel(_ name: String, prefix: Bool = false) -> [String] {
        isDNS1123Label(prefix ? maskTrailingDash(name) : name)
    }

    // MARK: - Qualified names and labels

    static let qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let qualifiedNameErrMsg =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueFmt = "(" + qualifiedNameFmt + ")?"
    static let labelValueErrMsg =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

    private static func matchesQualifiedNamePart<S: Collection>(_ bytes: S) -> Bool where S.Element == UInt8 {
        guard let first = bytes.first, let last = Array(bytes).last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isQualifiedName(_ value: String) -> [String] {
        var errs: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let name: String
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errs.append("prefix part " + emptyError())
            } else {
                errs += isDNS1123Subdomain(prefix).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errs.append("name part " + emptyError())
        } else if name.utf8.count > 63 {
            errs.append("name part " + maxLenError(63))
        }
        if !matchesQualifiedNamePart(name.utf8) {
            errs.append("name part " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"))
        }
        return errs
    }

    static func isValidLabelValue(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append(maxLenError(63)) }
        if !value.isEmpty && !matchesQualifiedNamePart(value.utf8) {
            errs.append(regexError(labelValueErrMsg, labelValueFmt, "MyValue", "my_value", "12345"))
        }
        return errs
    }

    // MARK: - Ports, IDs, headers, env names, keys

    static func isValidPortNum(_ port: Int64) -> [String] {
        (1...65535).contains(port) ? [] : [inclusiveRangeError(1, 65535)]
    }

    static func isValidPortName(_ port: String) -> [String] {
        var errs: [String] = []
        let b = Array(port.utf8)
        if b.count > 15 { errs.append(maxLenError(15)) }
        if b.isEmpty || !b.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) {
            errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        }
        if !b.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) {
            errs.append("must contain at least one letter (a-z)")
        }
        if port.contains("--") { errs.append("must not contain consecutive hyphens") }
        if let first = b.first, let last = b.last, first == UInt8(ascii: "-") || last == UInt8(ascii: "-") {
            errs.append("must not begin or end with a hyphen")
        }
        return errs
    }

    static let maxUserID: Int64 = 0xFFFF_FFFF

    static func isValidUserID(_ uid: Int64) -> [String] {
        (0...maxUserID).contains(uid) ? [] : [inclusiveRangeError(0, maxUserID)]
    }

    static func isValidGroupID(_ gid: Int64) -> [String] {
        (0...maxUserID).contains(gid) ? [] : [inclusiveRangeError(0, maxUserID)]
    }

    static func isHTTPHeaderName(_ value: String) -> [String] {
        let b = Array(value.utf8)
        if !b.isEmpty && b.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) { return [] }
        return [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+", "X-Header-Name")]
    }

    /// IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation, GA in Kubernetes 1.34):
    /// any printable ASCII character but '='.
    static func isRelaxedEnvVarName(_ value: String) -> [String] {
        var errs: [String] = []
        if value.isEmpty { errs.append("environment variable name " + emptyError()) }
        if value.unicodeScalars.contains(where: { $0.value > 0x7E || $0.value < 0x20 || $0 == "=" }) {
            errs.append("a valid environment variable name must consist only of printable ASCII characters other than '='")
        }
        return errs
    }

    private static func hasChDirPrefix(_ value: String) -> [String] {
        if value == "." { return ["must not be '.'"] }
        if value == ".." { return ["must not be '..'"] }
        if value.hasPrefix("..") { return ["must not start with '..'"] }
        return []
    }

    static func isConfigMapKey(_ value: String) -> [String] {
        var errs: [String] = []
        let b = Array(value.utf8)
        if b.count > 253 { errs.append(maxLenError(253)) }
        if b.isEmpty || !b.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }) {
            errs.append(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                   "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"))
        }
        return errs + hasChDirPrefix(value)
    }

    // MARK: - IP addresses

    /// Go's ParseIPSloppy: dotted IPv4 (leading zeros allowed) or IPv6.
    static func parsesAsIP(_ value: String) -> Bool {
        if isSloppyIPv4(value) { return true }
        guard value.contains(":") else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        return value.withCString { inet_pton(AF_INET6, $0, &buffer) } == 1
    }

    private static func isSloppyIPv4(_ value: String) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.utf8.count <= 3 && part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && Int(part)! <= 255
        }
    }

    /// IsValidIP.
    static func isValidIP(_ path: FieldPath, _ value: String) -> [FieldError] {
        parsesAsIP(value) ? [] : [.invalid(path, .string(value), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    }

    // MARK: - Field helpers shared by several validators

    /// ValidateNonnegativeField.
    static func nonnegative(_ value: Int64, _ path: FieldPath) -> [FieldError] {
        value < 0 ? [.invalid(path, .int(value), isNegativeErrorMsg)] : []
    }

    static func dns1123Label(_ value: String, _ path: FieldPath) -> [FieldError] {
        isDNS1123Label(value).map { .invalid(path, .string(value), $0) }
    }

    static func dns1123Subdomain(_ value: String, _ path: FieldPath) -> [FieldError] {
        isDNS1123Subdomain(value).map { .invalid(path, .string(value), $0) }
    }

    static func qualifiedName(_ value: String, _ path: FieldPath) -> [FieldError] {
        isQualifiedName(value).map { .invalid(path, .string(value), $0) }
    }

    /// metav1 validation.ValidateLabels: every error names the map, not the key.
    static func labels(_ labels: [String: String]?, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        for key in (labels ?? [:]).keys.sorted() {
            errs += qualifiedName(key, path)
            errs += isValidLabelValue(labels?[key] ?? "").map { .invalid(path, .string(labels?[key] ?? ""), $0) }
        }
        return errs
    }

    /// validatePathNoBacksteps.
    static func pathNoBacksteps(_ target: String, _ path: FieldPath) -> [FieldError] {
        target.split(separator: "/", omittingEmptySubsequences: false).contains("..")
            ? [.invalid(path, .string(target), "must not contain '..'")] : []
    }

    /// validateLocalDescendingPath: relative, no `..` element.
    static func localDescendingPath(_ target: String, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if target.hasPrefix("/") { errs.append(.invalid(path, .string(target), "must be a relative path")) }
        return errs + pathNoBacksteps(target, path)
    }

    /// ValidateLocalNonReservedPath: also may not start with `..`.
    static func localNonReservedPath(_ target: String, _ path: FieldPath) -> [FieldError] {
        var errs = localDescendingPath(target, path)
        if target.hasPrefix("..") && !target.hasPrefix("../") {
            errs.append(.invalid(path, .string(target), "must not start with '..'"))
        }
        return errs
    }
}
