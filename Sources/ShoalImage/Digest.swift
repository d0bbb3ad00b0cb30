import Crypto

/// A content digest, `sha256:<64 lowercase hex>`. Only sha256 exists in practice for images and
/// is all the store addresses blobs by; other algorithms are rejected when parsed.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex digits.
    public let hex: String

    public init(parsing string: String) throws(ImageError) {
        guard string.hasPrefix("sha256:") else { throw .invalidDigest(string) }
        let hex = String(string.dropFirst(7))
        guard Digest.isHex64(hex) else { throw .invalidDigest(string) }
        self.hex = hex
    }

    init(hex: String) throws(ImageError) {
        guard Digest.isHex64(hex) else { throw .invalidDigest(hex) }
        self.hex = hex
    }

    init(validHex: String) { self.hex = validHex }

    public static func of(_ bytes: some Sequence<UInt8>) -> Digest {
        var h = SHA256Stream()
        let array = Array(bytes)
        array.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    public var description: String { "sha256:" + hex }
    /// The 12-digit short form `docker images` shows.
    public var shortID: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(parsing: s)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    static func isHex64(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// Incremental sha256 with a byte count, for hashing blobs as they stream past.
struct SHA256Stream {
    private var hasher = SHA256()
    private(set) var count: Int64 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += Int64(bytes.count)
    }

    func finalize() -> Digest {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in hasher.finalize() {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0xf)])
        }
        return Digest(validHex: String(decoding: out, as: UTF8.self))
    }
}
