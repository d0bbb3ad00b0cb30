import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bearer tokens the API server accepts, persisted in a 0600 file of JSON lines, one record per token.
/// Only the SHA-256 of each token is stored: a leaked file (a backup, a support bundle) does not let
/// anyone authenticate. The clear text exists only where a person must read it back — the admin
/// kubeconfig and the join token printout.
///
/// Several processes may share the file (the master, and a `shoal token create` run beside it):
/// every change happens under an flock on PATH.lock and rewrites the file atomically, and every
/// lookup rereads the file when it changed on disk.
public final class TokenStore: @unchecked Sendable {
    public enum Role: Sendable, Equatable, Hashable {
        case admin
        case node(name: String)
        case bootstrap
    }

    public struct Identity: Sendable, Equatable {
        public var role: Role
        public var tokenID: String
        public var expires: Date?

        public init(role: Role, tokenID: String, expires: Date?) {
            self.role = role
            self.tokenID = tokenID
            self.expires = expires
        }
    }

    struct Record: Codable, Equatable {
        var id: String
        var sha256: String
        var role: String
        var node: String?
        var created: Double
        var expires: Double?

        var identity: Identity? {
            let parsedRole: Role
            switch role {
            case "admin": parsedRole = .admin
            case "bootstrap": parsedRole = .bootstrap
            case "node":
                guard let node, !node.isEmpty else { return nil }
                parsedRole = .node(name: node)
            default: return nil
            }
            return Identity(role: parsedRole, tokenID: id, expires: expires.map { Date(timeIntervalSince1970: $0) })
        }

        func isExpired(at now: Date) -> Bool {
            guard let expires else { return false }
            return now.timeIntervalSince1970 >= expires
        }
    }

    public let path: String
    /// Where the admin token's clear text lives (the admin kubeconfig), so `adminToken()` can hand the
    /// same token back after a restart instead of minting a new one.
    public let adminKubeconfig: String?

    private let lock = NSLock()
    private var records: [Record] = []
    private var loadedFingerprint: [Int]?
    /// The admin token's clear text, once created or recovered in this process.
    private var adminClearText: String?
    /// Overridable clock for expiry tests.
    let now: @Sendable () -> Date

    public convenience init(path: String, adminKubeconfig: String? = nil) throws {
        try self.init(path: path, adminKubeconfig: adminKubeconfig, now: { Date() })
    }

    init(path: String, adminKubeconfig: String?, now: @escaping @Sendable () -> Date) throws {
        self.path = path
        self.adminKubeconfig = adminKubeconfig
        self.now = now
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try Files.makeDirectory(directory, step: "create token store directory")
        }
        try withFileLock {
            if !Files.exists(path) {
                try Files.writeAtomically("", to: path, step: "create token store")
            }
            try Files.restrict(path, step: "restrict token store")
            try reloadIfChanged()
        }
    }

    // MARK: - Public operations

    /// Creates a token "<6 [a-z0-9]>.<16 [a-z0-9]>" (kubeadm's bootstrap token shape) for `role`,
    /// valid for `ttl` (nil: until revoked). Returns the token text; only its hash is kept.
    public func create(role: Role, ttl: Duration?) throws -> String {
        if case .node(let name) = role, name.isEmpty {
            throw PKIError(.malformedToken, step: "create token", path: path, detail: "node role needs a node name")
        }
        if let ttl, ttl <= .zero {
            throw PKIError(
                .malformedToken, step: "create token", path: path, detail: "ttl must be positive, got \(ttl)")
        }
        return try mutate { records in
            let current = now()
            let (id, token) = Self.generate(avoiding: Set(records.map(\.id)))
            records.append(Self.record(id: id, token: token, role: role, created: current, ttl: ttl))
            return token
        }
    }

    /// The identity for a presented bearer token; nil when unknown, expired or malformed.
    /// The stored hash is compared in constant time so response timing reveals nothing about it.
    public func authenticate(_ token: String) -> Identity? {
        guard let (id, _) = Self.split(token) else { return nil }
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        let candidates: [Record] = lock.withLock {
            try? reloadIfChanged()
            return records.filter { $0.id == id }
        }
        let current = now()
        for record in candidates {
            guard let stored = Self.decodeHex(record.sha256), Self.constantTimeEqual(stored, presented) else {
                continue
            }
            guard !record.isExpired(at: current) else { return nil }
            return record.identity
        }
        return nil
    }

    public func revoke(tokenID: String) throws {
        try mutate { records in
            let before = records.count
            records.removeAll { $0.id == tokenID }
            guard records.count != before else {
                throw PKIError(
                    .unknownToken, step: "revoke token", path: path,
                    detail: "no token with ID \(String(reflecting: tokenID))")
            }
        }
        lock.withLock {
            if let clear = adminClearText, Self.split(clear)?.id == tokenID { adminClearText = nil }
        }
    }

    /// Revokes every token of `role` (e.g. a deleted node's); returns how many were removed.
    @discardableResult
    public func revokeAll(role: Role) throws -> Int {
        try mutate { records in
            let before = records.count
            records.removeAll { $0.identity?.role == role }
            return before - records.count
        }
    }

    /// All unexpired tokens, without secrets (for `shoal token list`).
    public func list() -> [Identity] {
        lock.withLock {
            try? reloadIfChanged()
            let current = now()
            return records.filter { !$0.isExpired(at: current) }.compactMap(\.identity)
        }
    }

    /// The admin token, created once and kept (the kubeconfig carries it).
    ///
    /// Its clear text is not in the store, so after a restart it is read back from `adminKubeconfig`.
    /// When that is not configured or no longer holds a valid admin token, a new admin token replaces
    /// the old ones (which nobody could be handed any more) and the caller must write the kubeconfig again.
    public func adminToken() throws -> String {
        if let clear = lock.withLock({ adminClearText }), authenticate(clear)?.role == .admin {
            return clear
        }
        if let adminKubeconfig, Files.exists(adminKubeconfig),
            let text = try? Files.readString(adminKubeconfig, step: "read admin kubeconfig"),
            let token = Kubeconfig.token(in: text),
            authenticate(token)?.role == .admin
        {
            lock.withLock { adminClearText = token }
            return token
        }
        let token: String = try mutate { records in
            let current = now()
            records.removeAll { $0.role == "admin" }
            let (id, token) = Self.generate(avoiding: Set(records.map(\.id)))
            records.append(Self.record(id: id, token: token, role: .admin, created: current, ttl: nil))
            return token
        }
        lock.withLock { adminClearText = token }
        return token
    }

    // MARK: - Token text

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// Splits "<id>.<secret>" when it has exactly kubeadm's bootstrap token shape.
    static func split(_ token: String) -> (id: String, secret: String)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 6, parts[1].utf8.count == 16,
            parts[0].utf8.allSatisfy(isTokenCharacter), parts[1].utf8.allSatisfy(isTokenCharacter)
        else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
    }

    static func random(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        // `randomElement(using:)` is uniform, so no character is likelier than another.
        return String((0..<count).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func generate(avoiding ids: Set<String>) -> (id: String, token: String) {
        while true {
            let id = random(6)
            if !ids.contains(id) { return (id, "\(id).\(random(16))") }
        }
    }

    static func record(id: String, token: String, role: Role, created: Date, ttl: Duration?) -> Record {
        let (roleName, node): (String, String?) =
            switch role {
            case .admin: ("admin", nil)
            case .bootstrap: ("bootstrap", nil)
            case .node(let name): ("node", name)
            }
        let expires = ttl.map { created.timeIntervalSince1970 + seconds($0) }
        return Record(
            id: id, sha256: hex(SHA256.hash(data: Array(token.utf8))), role: roleName, node: node,
            created: created.timeIntervalSince1970, expires: expires)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        var index = 0
        while index < bytes.count {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }

    // MARK: - Persistence

    /// Runs `change` on the freshest records under both locks and writes the result back.
    private func mutate<T>(_ change: (inout [Record]) throws -> T) throws -> T {
        try lock.withLock {
            try withFileLock {
                try reloadIfChanged()
                var updated = records
                let result = try change(&updated)
                let current = now()
                updated.removeAll { $0.isExpired(at: current) }
                if updated != records {
                    try save(updated)
                }
                return result
            }
        }
    }

    private func save(_ updated: [Record]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for record in updated {
            do {
                text += String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
            } catch {
                throw PKIError(.malformedMaterial, step: "encode token record", path: path, detail: "\(error)")
            }
        }
        try Files.writeAtomically(text, to: path, step: "write token store")
        records = updated
        loadedFingerprint = Files.fingerprint(path)
    }

    private func reloadIfChanged() throws {
        let fingerprint = Files.fingerprint(path)
        guard fingerprint != loadedFingerprint || fingerprint == nil else { return }
        guard fingerprint != nil else {
            records = []
            loadedFingerprint = nil
            return
        }
        let text = try Files.readString(path, step: "read token store")
        let decoder = JSONDecoder()
        var parsed: [Record] = []
        for (number, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace) {
            do {
                parsed.append(try decoder.decode(Record.self, from: Data(line.utf8)))
            } catch {
                throw PKIError(
                    .malformedMaterial, step: "parse token store line \(number + 1)", path: path, detail: "\(error)")
            }
        }
        records = parsed
        loadedFingerprint = fingerprint
    }

    /// flock on a sibling file: the store itself is replaced by rename, so a lock on it would guard a
    /// file that is no longer the store.
    private func withFileLock<T>(_ body: () throws -> T) throws -> T {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw PKIError(
                .io(errno: code), step: "open token store lock", path: lockPath, detail: Files.errorDetail(code))
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw PKIError(.io(errno: code), step: "lock token store", path: lockPath, detail: Files.errorDetail(code))
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
