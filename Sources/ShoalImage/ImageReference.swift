/// A Docker-style image reference, normalized the way Docker and containerd normalize it:
/// `busybox` is `docker.io/library/busybox:latest`, `user/app` is `docker.io/user/app:latest`,
/// `localhost/x` and `registry:5000/x:tag` keep their domain, and `name@sha256:…` pins a manifest.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The registry host, with its port if any: `docker.io`, `registry:5000`, `localhost`.
    public let domain: String
    /// The repository path below the domain: `library/busybox`, `user/app`.
    public let path: String
    /// The tag; `latest` when the reference had neither tag nor digest, nil for digest-only references.
    public let tag: String?
    /// The manifest digest of a `name@sha256:…` reference.
    public let digest: Digest?

    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    public init(parsing string: String) throws(ImageError) {
        func fail(_ reason: String) -> ImageError { .invalidReference(string, reason: reason) }
        guard !string.isEmpty else { throw fail("empty reference") }
        if Digest.isHex64(string) {
            throw fail("a 64-digit hex string is an image ID, not a name")
        }

        var rest = Substring(string)
        var digest: Digest? = nil
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard d.hasPrefix("sha256:") else { throw fail("unsupported digest \"\(d)\" (only sha256)") }
            do { digest = try Digest(parsing: d) } catch { throw fail("invalid digest \"\(d)\"") }
            rest = rest[..<at]
        }

        // A tag is a ':' after the last '/', so `registry:5000/x` has no tag but `x:5000` does.
        var tag: String? = nil
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let t = String(rest[rest.index(after: colon)...])
            guard ImageReference.isValidTag(t) else {
                throw fail("invalid tag \"\(t)\": want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
            tag = t
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { throw fail("missing repository name") }

        var domain = ImageReference.defaultDomain
        var path = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            // Docker's rule: the first component is a registry only if it looks like a host.
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                domain = String(first)
                path = String(rest[rest.index(after: slash)...])
            }
        }
        if domain == "index.docker.io" { domain = ImageReference.defaultDomain }
        guard ImageReference.isValidDomain(domain) else { throw fail("invalid registry host \"\(domain)\"") }
        if domain == ImageReference.defaultDomain && !path.contains("/") { path = "library/" + path }

        if path.lowercased() != path { throw fail("repository name must be lowercase") }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard ImageReference.isValidPathComponent(component) else {
                throw fail("invalid repository path component \"\(component)\"")
            }
        }
        guard domain.utf8.count + 1 + path.utf8.count <= 255 else {
            throw fail("repository name longer than 255 characters")
        }

        self.domain = domain
        self.path = path
        self.tag = tag ?? (digest == nil ? ImageReference.defaultTag : nil)
        self.digest = digest
    }

    /// `docker.io/library/busybox`: the name without tag or digest.
    public var repository: String { domain + "/" + path }

    /// The fully qualified form: `docker.io/library/busybox:latest`, `registry:5000/x@sha256:…`.
    public var description: String { decorate(repository) }

    /// The short form Docker shows: `busybox:latest`, `user/app:v1`, `registry:5000/x:tag`.
    public var familiarName: String {
        guard domain == ImageReference.defaultDomain else { return description }
        var p = Substring(path)
        if p.hasPrefix("library/"), !p.dropFirst(8).contains("/") { p = p.dropFirst(8) }
        return decorate(String(p))
    }

    /// The same repository with another tag (and no digest).
    public func withTag(_ tag: String) throws(ImageError) -> ImageReference {
        try ImageReference(parsing: repository + ":" + tag)
    }

    private func decorate(_ name: String) -> String {
        var s = name
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    public init(from decoder: any Decoder) throws {
        self = try ImageReference(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    // MARK: grammar (github.com/distribution/reference)

    static func isValidTag(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard let first = u.first, u.count <= 128, isWord(first) else { return false }
        return u.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ c: Substring) -> Bool {
        let u = Array(c.utf8)
        guard let first = u.first, let last = u.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var i = 0
        while i < u.count {
            if isLowerAlnum(u[i]) { i += 1; continue }
            // A separator run: ".", "_", "__" or any number of "-".
            var j = i
            while j < u.count, !isLowerAlnum(u[j]) { j += 1 }
            let sep = u[i..<j]
            let ok = sep.elementsEqual([UInt8(ascii: ".")]) || sep.elementsEqual([UInt8(ascii: "_")])
                || sep.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                || sep.allSatisfy { $0 == UInt8(ascii: "-") }
            guard ok else { return false }
            i = j
        }
        return true
    }

    /// host[:port], host being dot-separated `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?` labels or `[ipv6]`.
    static func isValidDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
            host = host[..<colon]
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") }
        }
        guard !host.isEmpty else { return false }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            let u = Array(label.utf8)
            guard let f = u.first, let l = u.last, isAlnum(f), isAlnum(l),
                  u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else { return false }
        }
        return true
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
    private static func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 0x41 && c <= 0x5a) }
    private static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == UInt8(ascii: "_") }
    private static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}
