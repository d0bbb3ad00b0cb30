import Foundation
import NIOCore
import NIOSSL
import X509

/// NIOSSL's custom verification callback, Sendable so that a client may keep it for every connection.
public typealias PinnedVerificationCallback = @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void

public enum TLSConfigs {
    /// HTTP/1.1 only: kubectl and client-go prefer h2 when a server offers it, and Shoal's server speaks HTTP/1.1.
    public static let applicationProtocols = ["http/1.1"]

    /// NIOSSL server configuration from a CertifiedKey (TLS 1.2+; ALPN "http/1.1" only).
    /// The whole chain (leaf, then CA) is sent, which is what lets a joining node find the pinned CA.
    public static func server(_ key: CertifiedKey) throws -> TLSConfiguration {
        let chain = try certificates(pem: key.certificatePEM, step: "load serving certificate chain")
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: Array(key.privateKeyPEM.utf8), format: .pem)
        } catch {
            throw PKIError(.tls, step: "load serving private key", detail: "\(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    /// Client configuration that trusts exactly this CA (PEM; several CERTIFICATE blocks are all
    /// trusted) and verifies the hostname or IP against the server certificate's SANs. Pass the host
    /// as `serverHostname` to NIOSSLClientHandler; for an IP literal pass nil and NIOSSL checks the
    /// peer's address against the IP SANs.
    public static func client(trustingCA caPEM: String) throws -> TLSConfiguration {
        let roots = try certificates(pem: caPEM, step: "load trusted CA")
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(roots)
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    /// Client configuration for a first contact that trusts only a pin: use it together with
    /// `PinnedCAVerifier.callback(pin:)`, which replaces BoringSSL's chain verification. With
    /// `verifyHostname` NIOSSL still checks the leaf's SANs after the handshake, as `client(trustingCA:)` does.
    public static func pinnedClient(verifyHostname: Bool = true) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        // No roots: the custom callback is the only thing that can accept a chain.
        configuration.trustRoots = .certificates([])
        configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    static func certificates(pem: String, step: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        } catch {
            throw PKIError(.tls, step: step, detail: "not PEM certificates: \(error)")
        }
        guard !certificates.isEmpty else {
            throw PKIError(.tls, step: step, detail: "no CERTIFICATE block")
        }
        return certificates
    }
}

/// First contact with a master whose CA is known only by its pin (from a join token).
///
/// A chain is accepted when it contains a certificate whose SPKI pin equals `pin`, that certificate
/// signed the leaf (or is the leaf), it is a CA, and both are within their validity period. The TLS
/// handshake itself proves the server holds the leaf's key, so a copy of the real chain replayed by
/// someone else fails. After success the CA's PEM can be stored and later connections use
/// `TLSConfigs.client(trustingCA:)`.
///
/// ```swift
/// let context = try NIOSSLContext(configuration: TLSConfigs.pinnedClient())
/// let learnt = NIOLockedValueBox<String?>(nil)   // any Sendable holder
/// let handler = try NIOSSLClientHandler(
///     context: context, serverHostname: host,
///     customVerificationCallback: PinnedCAVerifier.callback(
///         pin: join.caPin, onVerified: { pem in learnt.withLockedValue { $0 = pem } }))
/// ```
public enum PinnedCAVerifier {
    /// Checks `chain` (as presented: leaf first) against `pin` and returns the pinned CA certificate.
    /// Throws PKIError(.pinMismatch) saying why the chain was refused.
    public static func verify(
        chain: [NIOSSLCertificate], pin: String, now: Date = Date()
    ) throws -> NIOSSLCertificate {
        let step = "verify server certificate against pin"
        guard let pin = JoinToken.normalizedPin(pin) else {
            throw PKIError(.malformedToken, step: step, detail: "pin is not sha256:<64 hex digits>")
        }
        guard !chain.isEmpty else {
            throw PKIError(.pinMismatch, step: step, detail: "server presented no certificate")
        }
        let parsed: [Certificate] = try chain.map { certificate in
            do {
                return try Certificate(derEncoded: certificate.toDERBytes())
            } catch {
                throw PKIError(
                    .pinMismatch, step: step, detail: "server presented an unparseable certificate: \(error)")
            }
        }
        let leaf = parsed[0]
        guard let caIndex = parsed.firstIndex(where: { CertificateAuthority.pin(of: $0) == pin }) else {
            let presented = parsed.map { CertificateAuthority.pin(of: $0) }.joined(separator: ", ")
            throw PKIError(
                .pinMismatch, step: step,
                detail: "no certificate in the server's chain has pin \(pin) (presented: \(presented)); "
                    + "the join token belongs to another cluster or the connection is intercepted")
        }
        let ca = parsed[caIndex]
        guard case .some(.isCertificateAuthority) = try? ca.extensions.basicConstraints else {
            throw PKIError(.pinMismatch, step: step, detail: "the pinned certificate is not a CA (basicConstraints)")
        }
        if caIndex != 0 {
            guard leaf.issuer == ca.subject, ca.publicKey.isValidSignature(leaf.signature, for: leaf) else {
                throw PKIError(
                    .pinMismatch, step: step,
                    detail: "the server certificate \(leaf.subject) is not signed by the pinned CA \(ca.subject)")
            }
            if let usage = try? leaf.extensions.extendedKeyUsage,
                !usage.contains(.serverAuth), !usage.contains(.any)
            {
                throw PKIError(
                    .pinMismatch, step: step, detail: "the server certificate lacks extendedKeyUsage serverAuth")
            }
        }
        for (role, certificate) in [("server certificate", leaf), ("pinned CA", ca)] {
            guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
                throw PKIError(
                    .pinMismatch, step: step,
                    detail:
                        "the \(role) is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter), not at \(now)"
                )
            }
        }
        return chain[caIndex]
    }

    /// The pinned CA from a presented chain, as PEM, after the same checks as `verify`.
    public static func caCertificatePEM(in chain: [NIOSSLCertificate], pin: String) throws -> String {
        let ca = try verify(chain: chain, pin: pin)
        return try pem(of: ca)
    }

    /// For `NIOSSLClientHandler(context:serverHostname:customVerificationCallback:)` with
    /// `TLSConfigs.pinnedClient()`. `onVerified` receives the CA PEM (on the event loop) before the
    /// handshake continues; `onRejected` receives the reason, which the handshake error itself lacks.
    public static func callback(
        pin: String,
        onVerified: (@Sendable (_ caPEM: String) -> Void)? = nil,
        onRejected: (@Sendable (PKIError) -> Void)? = nil
    ) -> PinnedVerificationCallback {
        return { chain, promise in
            do {
                let ca = try verify(chain: chain, pin: pin)
                onVerified?(try pem(of: ca))
                promise.succeed(.certificateVerified)
            } catch {
                onRejected?(asPKIError(error))
                promise.succeed(.failed)
            }
        }
    }

    /// Like `callback(pin:)`, for `NIOSSLClientHandler(context:serverHostname:customVerificationCallbackWithMetadata:)`:
    /// the validated chain (leaf, then the pinned CA) is then available from
    /// `channel.nioSSL_peerValidatedCertificateChain()`, and its last element is the CA.
    public static func callbackWithMetadata(
        pin: String,
        onRejected: (@Sendable (PKIError) -> Void)? = nil
    ) -> NIOSSLCustomVerificationCallbackWithMetadata {
        return { chain, promise in
            do {
                let ca = try verify(chain: chain, pin: pin)
                let validated = chain[0] == ca ? [ca] : [chain[0], ca]
                promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(validated))))
            } catch {
                onRejected?(asPKIError(error))
                promise.succeed(.failed)
            }
        }
    }

    /// The pin of a certificate as NIOSSL presents it.
    public static func pin(of certificate: NIOSSLCertificate) throws -> String {
        do {
            return CertificateAuthority.pin(of: try Certificate(derEncoded: certificate.toDERBytes()))
        } catch {
            throw PKIError(.malformedMaterial, step: "compute certificate pin", detail: "\(error)")
        }
    }

    static func pem(of certificate: NIOSSLCertificate) throws -> String {
        do {
            return try Certificate(derEncoded: certificate.toDERBytes()).serializeAsPEM().pemString + "\n"
        } catch {
            throw PKIError(.malformedMaterial, step: "encode pinned CA as PEM", detail: "\(error)")
        }
    }

    static func asPKIError(_ error: Error) -> PKIError {
        (error as? PKIError)
            ?? PKIError(.pinMismatch, step: "verify server certificate against pin", detail: "\(error)")
    }
}
