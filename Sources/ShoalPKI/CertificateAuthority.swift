import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A serving certificate chain and its private key, both PEM.
public struct CertifiedKey: Sendable, Equatable {
    /// The leaf first, then the CA: servers send the whole chain so a client that only knows the
    /// CA's pin (a joining node) can find the CA in the handshake.
    public var certificatePEM: String
    /// PKCS#8 ("BEGIN PRIVATE KEY"), ECDSA P-256.
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// The cluster's root of trust: a self-signed ECDSA P-256 CA kept as DIR/ca.crt and DIR/ca.key.
public struct CertificateAuthority: Sendable {
    /// Leaf certificates are reissued when less than this remains, so a long-running master restarted
    /// monthly never serves an expired certificate.
    public static let renewalWindow: TimeInterval = 30 * 24 * 3600
    public static let caLifetime: TimeInterval = 10 * 365 * 24 * 3600
    public static let servingLifetime: TimeInterval = 365 * 24 * 3600
    /// Backdating tolerates clocks of other machines that run a little behind the master's.
    static let backdate: TimeInterval = 3600
    static let issuanceLock = NSLock()

    public let certificate: Certificate
    /// X509's wrapper, because swift-crypto's P256 key is not Sendable on Linux.
    let privateKey: Certificate.PrivateKey

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = Certificate.PrivateKey(privateKey)
    }

    /// Loads DIR/ca.crt and DIR/ca.key (mode 0600), or creates them
    /// (CN "shoal-ca@<unix time>", 10 years, basicConstraints CA, keyUsage certSign/crlSign).
    public static func loadOrCreate(directory: String) throws -> CertificateAuthority {
        try Files.makeDirectory(directory, step: "create PKI directory")
        let certPath = directory + "/ca.crt"
        let keyPath = directory + "/ca.key"
        let haveCert = Files.exists(certPath)
        let haveKey = Files.exists(keyPath)
        switch (haveCert, haveKey) {
        case (true, true):
            return try load(certificatePath: certPath, keyPath: keyPath)
        case (false, false):
            let key = P256.Signing.PrivateKey()
            let ca = try create(key: key, now: Date())
            // Key first: a crash between the two writes leaves a lone key, which the next start reports
            // instead of silently minting a second CA that already-joined nodes would not trust.
            try Files.writeAtomically(key.pemRepresentation, to: keyPath, step: "write CA private key")
            try Files.writeAtomically(ca.certificatePEM, to: certPath, step: "write CA certificate")
            return ca
        case (true, false):
            throw PKIError(
                .inconsistentMaterial, step: "load CA", path: keyPath,
                detail:
                    "\(certPath) exists but its private key is missing; restore it or remove both files to create a new CA"
            )
        case (false, true):
            throw PKIError(
                .inconsistentMaterial, step: "load CA", path: certPath,
                detail:
                    "\(keyPath) exists but the CA certificate is missing; restore it or remove both files to create a new CA"
            )
        }
    }

    static func load(certificatePath: String, keyPath: String) throws -> CertificateAuthority {
        try Files.restrict(keyPath, step: "restrict CA private key")
        try Files.restrict(certificatePath, step: "restrict CA certificate")
        let certificate = try parseCertificates(
            pem: try Files.readString(certificatePath, step: "read CA certificate"),
            step: "parse CA certificate", path: certificatePath
        )[0]
        let key = try parsePrivateKey(
            pem: try Files.readString(keyPath, step: "read CA private key"),
            step: "parse CA private key", path: keyPath)
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw PKIError(
                .inconsistentMaterial, step: "load CA", path: keyPath,
                detail: "private key does not match the public key of \(certificatePath)")
        }
        guard case .some(.isCertificateAuthority) = try? certificate.extensions.basicConstraints else {
            throw PKIError(
                .inconsistentMaterial, step: "load CA", path: certificatePath,
                detail: "certificate lacks basicConstraints CA:TRUE")
        }
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    static func create(key: P256.Signing.PrivateKey, now: Date) throws -> CertificateAuthority {
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            let name = try DistinguishedName {
                CommonName("shoal-ca@\(Int(now.timeIntervalSince1970))")
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-backdate),
                notValidAfter: now.addingTimeInterval(caLifetime),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(key))
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.crypto, step: "create CA certificate", detail: "\(error)")
        }
    }

    public var certificatePEM: String {
        // Serialising a certificate we parsed or built cannot fail; a failure would be a library bug.
        try! certificate.serializeAsPEM().pemString + "\n"
    }

    /// kubeadm's pin: "sha256:" + lowercase hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo
    /// (as `--discovery-token-ca-cert-hash`).
    public var publicKeyPin: String {
        Self.pin(of: certificate)
    }

    /// "shoal-ca@<unix time of creation>".
    public var commonName: String {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let text = String(attribute.value) { return text }
            }
        }
        return ""
    }

    public var notValidAfter: Date { certificate.notValidAfter }

    /// The pin of any certificate, in the `publicKeyPin` format.
    public static func pin(of certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        // The SPKI of a parsed certificate always re-serialises.
        try! serializer.serialize(certificate.publicKey)
        return "sha256:" + hex(SHA256.hash(data: serializer.serializedBytes))
    }

    /// The pin of the first certificate in a PEM text.
    public static func pin(ofCertificatePEM pem: String) throws -> String {
        pin(of: try parseCertificates(pem: pem, step: "parse certificate for pin", path: nil)[0])
    }

    /// Issues (or reuses if DIR/NAME.crt exists, is signed by this CA, unexpired for > 30 days, and has
    /// exactly these SANs) a serving certificate for `hosts` with extendedKeyUsage serverAuth;
    /// files DIR/NAME.crt (leaf then CA) and DIR/NAME.key (0600).
    public func servingCertificate(name: String, hosts: [String], directory: String) throws -> CertifiedKey {
        try servingCertificate(name: name, hosts: hosts, directory: directory, now: Date())
    }

    func servingCertificate(name: String, hosts: [String], directory: String, now: Date) throws -> CertifiedKey {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw PKIError(
                .io(errno: EINVAL), step: "issue serving certificate",
                detail: "invalid file name \(String(reflecting: name))")
        }
        let sans = try SANEntry.parse(hosts)
        try Files.makeDirectory(directory, step: "create PKI directory")
        let certPath = "\(directory)/\(name).crt"
        let keyPath = "\(directory)/\(name).key"

        // Two callers issuing the same name at once could otherwise leave one's key beside the other's certificate.
        Self.issuanceLock.lock()
        defer { Self.issuanceLock.unlock() }
        if let existing = reusable(certPath: certPath, keyPath: keyPath, sans: sans, now: now) {
            return existing
        }

        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let leaf: Certificate
        do {
            let subject = try DistinguishedName {
                CommonName(name)
            }
            let caKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectKeyIdentifier(hash: publicKey)
                if let caKeyID {
                    AuthorityKeyIdentifier(keyIdentifier: caKeyID)
                }
                SubjectAlternativeNames(sans.map(\.generalName))
            }
            leaf = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-Self.backdate),
                // Never outlive the CA: a chain with an expired root fails verification anyway.
                notValidAfter: min(now.addingTimeInterval(Self.servingLifetime), certificate.notValidAfter),
                issuer: certificate.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: privateKey)
        } catch {
            throw PKIError(.crypto, step: "issue serving certificate", path: certPath, detail: "\(error)")
        }
        let chainPEM: String
        do {
            chainPEM = try leaf.serializeAsPEM().pemString + "\n" + certificatePEM
        } catch {
            throw PKIError(.crypto, step: "serialise serving certificate", path: certPath, detail: "\(error)")
        }
        let keyPEM = key.pemRepresentation
        try Files.writeAtomically(keyPEM, to: keyPath, step: "write serving private key")
        try Files.writeAtomically(chainPEM, to: certPath, step: "write serving certificate")
        return CertifiedKey(certificatePEM: chainPEM, privateKeyPEM: keyPEM)
    }

    /// Any problem with the existing files (missing, unreadable, foreign CA, other hosts, near expiry,
    /// key mismatch) means "issue a new one": the files are ours to regenerate.
    private func reusable(certPath: String, keyPath: String, sans: Set<SANEntry>, now: Date) -> CertifiedKey? {
        guard Files.exists(certPath), Files.exists(keyPath),
            let certText = try? Files.readString(certPath, step: "read serving certificate"),
            let keyText = try? Files.readString(keyPath, step: "read serving private key"),
            let leaf = try? Self.parseCertificates(pem: certText, step: "", path: nil).first,
            let key = try? Self.parsePrivateKey(pem: keyText, step: "", path: nil)
        else { return nil }
        guard isIssuer(of: leaf),
            leaf.notValidBefore <= now,
            leaf.notValidAfter.timeIntervalSince(now) > Self.renewalWindow,
            leaf.publicKey == Certificate.PublicKey(key.publicKey),
            let presentSANs = try? leaf.extensions.subjectAlternativeNames,
            Set(presentSANs.compactMap(SANEntry.init)) == sans,
            presentSANs.count == sans.count,
            let eku = try? leaf.extensions.extendedKeyUsage, eku.contains(.serverAuth)
        else { return nil }
        try? Files.restrict(keyPath, step: "restrict serving private key")
        try? Files.restrict(certPath, step: "restrict serving certificate")
        // Rebuild the chain from the current CA so a hand-edited file cannot smuggle extra certificates.
        guard let leafPEM = try? leaf.serializeAsPEM().pemString else { return nil }
        return CertifiedKey(certificatePEM: leafPEM + "\n" + certificatePEM, privateKeyPEM: key.pemRepresentation)
    }

    /// Whether this CA's key signed `certificate`.
    public func isIssuer(of certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject
            && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    // MARK: - Parsing

    static func parseCertificates(pem: String, step: String, path: String?) throws -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw PKIError(.malformedMaterial, step: step, path: path, detail: "not PEM: \(error)")
        }
        let certificates = try documents.filter { $0.discriminator == "CERTIFICATE" }.map { document in
            do {
                return try Certificate(pemDocument: document)
            } catch {
                throw PKIError(.malformedMaterial, step: step, path: path, detail: "bad certificate: \(error)")
            }
        }
        guard !certificates.isEmpty else {
            throw PKIError(.malformedMaterial, step: step, path: path, detail: "no CERTIFICATE block")
        }
        return certificates
    }

    static func parsePrivateKey(pem: String, step: String, path: String?) throws -> P256.Signing.PrivateKey {
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw PKIError(
                .malformedMaterial, step: step, path: path, detail: "not an ECDSA P-256 private key: \(error)")
        }
    }
}

func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// A subject alternative name in comparable form: DNS names case-folded, IPs as raw bytes, so
/// "LOCALHOST", "localhost" and "::1" vs "0:0:0:0:0:0:0:1" compare as the same SAN.
enum SANEntry: Hashable, Sendable {
    case dns(String)
    case ip([UInt8])

    init?(_ name: GeneralName) {
        switch name {
        case .dnsName(let dns): self = .dns(dns.lowercased())
        case .ipAddress(let octets): self = .ip(Array(octets.bytes))
        default: return nil
        }
    }

    var generalName: GeneralName {
        switch self {
        case .dns(let name): return .dnsName(name)
        case .ip(let bytes): return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
        }
    }

    static func parse(_ hosts: [String]) throws -> Set<SANEntry> {
        guard !hosts.isEmpty else {
            throw PKIError(.invalidHost, step: "issue serving certificate", detail: "no hosts given")
        }
        return Set(try hosts.map(parse))
    }

    /// IP literals are recognised by parsing, not by pattern, so "10.0.0.1" becomes an IP SAN and
    /// "10.0.0.1.nip.io" a DNS SAN; brackets around IPv6 ("[::1]", as in URLs) are accepted.
    static func parse(_ host: String) throws -> SANEntry {
        let trimmed = host.trimmingCharacters(in: .whitespaces)
        var literal = trimmed
        if literal.hasPrefix("[") && literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            return .ip(withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            return .ip(withUnsafeBytes(of: &v6) { Array($0) })
        }
        var name = trimmed.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard isValidDNSName(name) else {
            throw PKIError(
                .invalidHost, step: "issue serving certificate",
                detail: "\(String(reflecting: host)) is neither an IP address nor a DNS name")
        }
        return .dns(name)
    }

    static func isValidDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            // A wildcard is only meaningful as the whole leftmost label ("*.example.com").
            if index == 0 && label == "*" && labels.count > 2 { continue }
            guard (1...63).contains(label.utf8.count),
                label.first != "-", label.last != "-",
                label.utf8.allSatisfy({
                    ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f
                })
            else { return false }
        }
        return true
    }
}
