import Crypto
import Foundation
import ShoalOS

/// Encryption at rest for Secrets, as kube-apiserver's aesgcm provider does it: the stored
/// value is `k8s:enc:aesgcm:v1:shoal:` + a random 12-byte nonce + AES-256-GCM ciphertext and
/// tag, under a key kept in the master's directory (0600). A plain read of the database file
/// shows no secret's data; every other kind is stored as it was.
struct SecretSealer: Sendable {
    static let prefix = Array("k8s:enc:aesgcm:v1:shoal:".utf8)
    static let sealedKeyPrefix = "/registry/secrets/"
    /// The AES-256 key's bytes (SymmetricKey itself is not Sendable).
    let keyBytes: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// The key from `path`, made on first start.
    static func loadOrCreate(_ path: String) throws -> SecretSealer {
        if let bytes = try? FileSystem.read(path), bytes.count == 32 { return SecretSealer(keyBytes: bytes) }
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        try FileSystem.writeAtomically(path, bytes, mode: 0o600)
        return SecretSealer(keyBytes: bytes)
    }

    func seal(_ storeKey: String, _ plain: [UInt8]) throws -> [UInt8] {
        guard storeKey.hasPrefix(Self.sealedKeyPrefix) else { return plain }
        let box = try AES.GCM.seal(plain, using: key)
        return Self.prefix + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    /// The plain bytes of a stored value (sealed or not).
    func open(_ stored: [UInt8]) throws -> [UInt8] {
        guard stored.starts(with: Self.prefix) else { return stored }
        let body = stored.dropFirst(Self.prefix.count)
        guard body.count >= 28 else { throw SealError() }
        let nonce = try AES.GCM.Nonce(data: body.prefix(12))
        let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: body.dropFirst(12).dropLast(16), tag: body.suffix(16))
        return Array(try AES.GCM.open(box, using: key))
    }

    struct SealError: Error {}
}
