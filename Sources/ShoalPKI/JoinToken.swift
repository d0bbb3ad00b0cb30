import Foundation

/// The join token users copy to another machine: "shoal1::sha256:<64 hex>::<id>.<secret>".
///
/// Like k3s's "K10<hash>::<user>:<password>" it pins the master's CA (so the first connection cannot
/// be intercepted) and carries a bootstrap secret (kubeadm's "<6>.<16>" token) that the master accepts
/// as a bearer token. The "shoal1" prefix versions the format; "::" cannot occur inside either field.
public struct JoinToken: Sendable, Equatable, Hashable, CustomStringConvertible {
    public static let prefix = "shoal1"

    /// "sha256:<64 lowercase hex>", the CA's `publicKeyPin`.
    public var caPin: String
    /// "<6 [a-z0-9]>.<16 [a-z0-9]>", a `TokenStore` bootstrap token.
    public var secret: String

    public init(caPin: String, secret: String) {
        self.caPin = caPin
        self.secret = secret
    }

    /// Parses the printed form; surrounding whitespace (a pasted newline) is ignored and the hex of
    /// the pin may be upper case. Errors say which part is wrong, never echoing the secret.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.components(separatedBy: "::")
        let expected = "expected \(Self.prefix)::sha256:<64 hex digits>::<6 chars>.<16 chars>"
        guard parts.count == 3 else {
            throw PKIError(
                .malformedToken, step: "parse join token",
                detail: "has \(parts.count) '::'-separated part(s), \(expected)")
        }
        guard parts[0] == Self.prefix else {
            throw PKIError(
                .malformedToken, step: "parse join token",
                detail: "unknown prefix \(String(reflecting: String(parts[0].prefix(16)))), \(expected)")
        }
        guard let pin = Self.normalizedPin(parts[1]) else {
            throw PKIError(
                .malformedToken, step: "parse join token",
                detail: "CA pin is not sha256:<64 hex digits>, \(expected)")
        }
        guard TokenStore.split(parts[2]) != nil else {
            throw PKIError(
                .malformedToken, step: "parse join token",
                detail: "secret is not <6 [a-z0-9]>.<16 [a-z0-9]>, \(expected)")
        }
        self.caPin = pin
        self.secret = parts[2]
    }

    public var description: String {
        "\(Self.prefix)::\(caPin)::\(secret)"
    }

    /// The bootstrap token's public ID (the part before the dot).
    public var tokenID: String {
        String(secret.prefix(while: { $0 != "." }))
    }

    static func normalizedPin(_ text: String) -> String? {
        guard text.hasPrefix("sha256:") else { return nil }
        let digits = text.dropFirst("sha256:".count).lowercased()
        guard digits.utf8.count == 64,
            digits.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        return "sha256:" + digits
    }
}
