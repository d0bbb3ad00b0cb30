/// A failure in ShoalPKI. `step` names what was being done and `path` the file involved, so a message
/// such as "read CA private key /var/lib/shoal/pki/ca.key: ..." tells an operator where to look
/// without a debugger.
public struct PKIError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable, Hashable {
        /// A file or directory could not be read, written, renamed or created.
        case io(errno: Int32)
        /// PEM, DER or key material could not be decoded.
        case malformedMaterial
        /// Material decoded but is inconsistent (a key that does not match its certificate, a CA that is not a CA).
        case inconsistentMaterial
        /// Signing or key generation failed.
        case crypto
        /// A host given for a serving certificate is neither an IP address nor a valid DNS name.
        case invalidHost
        /// A bearer token or join token does not have the expected shape.
        case malformedToken
        /// No token with this ID exists.
        case unknownToken
        /// A presented certificate chain does not satisfy the pin.
        case pinMismatch
        /// TLS configuration could not be assembled.
        case tls
    }

    public var kind: Kind
    /// What was being done, e.g. "write serving certificate".
    public var step: String
    /// The file involved, if any.
    public var path: String?
    /// Human-readable detail, usually the underlying error.
    public var detail: String

    public init(_ kind: Kind, step: String, path: String? = nil, detail: String) {
        self.kind = kind
        self.step = step
        self.path = path
        self.detail = detail
    }

    public var description: String {
        if let path {
            return "\(step) \(path): \(detail)"
        }
        return "\(step): \(detail)"
    }
}
