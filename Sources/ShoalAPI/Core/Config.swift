/// core/v1 ConfigMap: configuration data for pods, as env or files.
public struct ConfigMap: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    /// Values base64-encoded, as JSON carries bytes.
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init(metadata: ObjectMeta = ObjectMeta(), data: [String: String]? = nil) {
        apiVersion = "v1"
        kind = "ConfigMap"
        self.metadata = metadata
        self.data = data
    }

    /// Every key's bytes.
    public var contents: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, v) in data ?? [:] { out[k] = Array(v.utf8) }
        for (k, v) in binaryData ?? [:] { out[k] = Base64.decode(v) ?? [] }
        return out
    }
}

/// core/v1 Secret: like a ConfigMap, for credentials; values base64-encoded in `data`.
public struct Secret: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    /// Write-only plain values, merged into `data` by the API server.
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?

    public init(metadata: ObjectMeta = ObjectMeta(), data: [String: String]? = nil, type: String? = nil) {
        apiVersion = "v1"
        kind = "Secret"
        self.metadata = metadata
        self.data = data
        self.type = type
    }

    public var contents: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (k, v) in data ?? [:] { out[k] = Base64.decode(v) ?? [] }
        return out
    }
}

/// Standard base64 (RFC 4648), as Kubernetes encodes bytes in JSON.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0xF) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let v0 = values[i], v1 = i + 1 < values.count ? values[i + 1] : 0
            out.append(v0 << 2 | v1 >> 4)
            if i + 2 < values.count { out.append((v1 & 0xF) << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append((values[i + 2] & 0x3) << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}

/// Validation of ConfigMaps and Secrets (ValidateConfigMap, ValidateSecret).
public enum ConfigValidation {
    public static let maxSize = 1 << 20

    static func isConfigKey(_ k: String) -> Bool {
        !k.isEmpty && k.count <= 253 && k != "." && k != ".." && !k.hasPrefix("..")
            && k.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95 }
    }

    static func keyErrors(_ keys: [String], _ path: FieldPath) -> [FieldError] {
        keys.sorted().filter { !isConfigKey($0) }.map { k in
            .invalid(path.key(k), .string(k),
                     "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
        }
    }

    public static func validate(_ c: ConfigMap) -> [FieldError] {
        var errs = MetaValidation.validate(c.metadata, namespaced: true)
        errs += keyErrors(Array((c.data ?? [:]).keys), FieldPath("data"))
        errs += keyErrors(Array((c.binaryData ?? [:]).keys), FieldPath("binaryData"))
        for k in (c.data ?? [:]).keys.sorted() where c.binaryData?[k] != nil {
            errs.append(.invalid(FieldPath("data").key(k), .string(k), "duplicate of key present in binaryData"))
        }
        let size = c.contents.reduce(0) { $0 + $1.value.count }
        if size > maxSize { errs.append(FieldError(.tooLong, FieldPath(""), .omitted, "must have at most \(maxSize) bytes")) }
        return errs
    }

    /// stringData folded into data, as the API server stores a Secret.
    public static func applyDefaults(_ s: inout Secret) {
        if (s.type ?? "").isEmpty { s.type = "Opaque" }
        if let plain = s.stringData {
            var data = s.data ?? [:]
            for (k, v) in plain { data[k] = Base64.encode(Array(v.utf8)) }
            s.data = data
            s.stringData = nil
        }
    }

    public static func validate(_ s: Secret) -> [FieldError] {
        var errs = MetaValidation.validate(s.metadata, namespaced: true)
        errs += keyErrors(Array((s.data ?? [:]).keys), FieldPath("data"))
        for (k, v) in (s.data ?? [:]).sorted(by: { $0.key < $1.key }) where Base64.decode(v) == nil {
            errs.append(.invalid(FieldPath("data").key(k), .omitted, "illegal base64 data"))
        }
        if s.contents.reduce(0, { $0 + $1.value.count }) > maxSize {
            errs.append(FieldError(.tooLong, FieldPath("data"), .omitted, "must have at most \(maxSize) bytes"))
        }
        return errs
    }

    /// An immutable object keeps its data, and stays immutable.
    public static func validateImmutable(newData: JSONValue?, oldData: JSONValue?, newImmutable: Bool?, oldImmutable: Bool?) -> [FieldError] {
        guard oldImmutable == true else { return [] }
        var errs: [FieldError] = []
        if newImmutable != true { errs.append(.forbidden(FieldPath("immutable"), "field is immutable when `immutable` is set")) }
        if newData != oldData { errs.append(.forbidden(FieldPath("data"), "field is immutable when `immutable` is set")) }
        return errs
    }
}
