import Crypto
import Foundation
import Testing

@testable import ShoalPKI

@Suite struct CertificateAuthorityTests {
    @Test func loadOrCreateKeepsTheSameCAAndLocksDownTheFiles() async throws {
        try await withTemporaryDirectory { dir in
            let pki = dir + "/data/pki"
            let first = try CertificateAuthority.loadOrCreate(directory: pki)
            let second = try CertificateAuthority.loadOrCreate(directory: pki)

            #expect(first.certificatePEM == second.certificatePEM)
            #expect(first.publicKeyPin == second.publicKeyPin)
            #expect(first.commonName.hasPrefix("shoal-ca@"))
            let createdAt = Int(first.commonName.dropFirst("shoal-ca@".count)) ?? 0
            #expect(abs(createdAt - Int(Date().timeIntervalSince1970)) < 300)
            // Ten years, give or take the backdating.
            #expect(first.notValidAfter.timeIntervalSinceNow > 9.9 * 365 * 24 * 3600)

            #expect(try fileMode(pki + "/ca.key") == 0o600)
            #expect(try fileMode(pki + "/ca.crt") == 0o600)
            #expect(try fileMode(pki) == 0o700)
            #expect(try readText(pki + "/ca.key").contains("BEGIN PRIVATE KEY"))

            // The reloaded CA must still be able to sign: a CA whose key did not round-trip would only
            // show up when the first serving certificate is issued after a restart.
            let serving = try second.servingCertificate(name: "server", hosts: ["localhost"], directory: pki)
            let text = try run("/usr/bin/openssl", ["verify", "-CAfile", pki + "/ca.crt", pki + "/server.crt"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(pemBlocks(serving.certificatePEM).count == 2)
        }
    }

    @Test func caCertificateHasCAExtensions() async throws {
        try await withTemporaryDirectory { dir in
            _ = try CertificateAuthority.loadOrCreate(directory: dir)
            let text = try run("/usr/bin/openssl", ["x509", "-noout", "-text", "-in", dir + "/ca.crt"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("CA:TRUE"))
            #expect(text.stdout.contains("Certificate Sign, CRL Sign"))
            #expect(text.stdout.contains("prime256v1"))
            #expect(text.stdout.contains("Subject: CN=shoal-ca@") || text.stdout.contains("Subject: CN = shoal-ca@"))
        }
    }

    @Test func servingCertificateVerifiesWithOpenSSLAndCarriesSANs() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let hosts = ["localhost", "shoal.example.com", "127.0.0.1", "::1", "10.43.0.1", "[fd00::10]"]
            let serving = try ca.servingCertificate(name: "serving-kube-apiserver", hosts: hosts, directory: dir)
            let crt = dir + "/serving-kube-apiserver.crt"
            let key = dir + "/serving-kube-apiserver.key"

            let verify = try run(
                "/usr/bin/openssl",
                ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", dir + "/ca.crt", crt])
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")

            let text = try run("/usr/bin/openssl", ["x509", "-noout", "-text", "-in", crt])
            #expect(text.status == 0)
            for san in [
                "DNS:localhost", "DNS:shoal.example.com", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                "IP Address:10.43.0.1", "IP Address:FD00:0:0:0:0:0:0:10",
            ] {
                #expect(text.stdout.contains(san), "missing \(san) in\n\(text.stdout)")
            }
            #expect(text.stdout.contains("TLS Web Server Authentication"))
            #expect(text.stdout.contains("CA:FALSE"))

            // The key on disk is the key of the certificate on disk.
            let certKey = try run("/usr/bin/openssl", ["x509", "-noout", "-pubkey", "-in", crt])
            let keyPub = try run("/usr/bin/openssl", ["pkey", "-pubout", "-in", key])
            #expect(certKey.status == 0 && keyPub.status == 0)
            #expect(certKey.stdout == keyPub.stdout)

            #expect(try fileMode(crt) == 0o600)
            #expect(try fileMode(key) == 0o600)
            #expect(try readText(crt) == serving.certificatePEM)
            #expect(try readText(key) == serving.privateKeyPEM)
            #expect(pemBlocks(serving.certificatePEM).last == ca.certificatePEM)
        }
    }

    @Test func publicKeyPinMatchesKubeadmRecipe() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            // kubeadm's documented way to compute --discovery-token-ca-cert-hash.
            let recipe = try run(
                "/bin/bash",
                [
                    "-c",
                    "set -o pipefail; openssl x509 -pubkey -noout -in '\(dir)/ca.crt' | openssl pkey -pubin -outform der | sha256sum",
                ])
            #expect(recipe.status == 0, "\(recipe.stderr)")
            let digest = recipe.stdout.split(separator: " ").first.map(String.init) ?? ""
            #expect(digest.count == 64)
            #expect(ca.publicKeyPin == "sha256:" + digest)
            #expect(try CertificateAuthority.pin(ofCertificatePEM: ca.certificatePEM) == ca.publicKeyPin)
        }
    }

    @Test func servingCertificateIsReusedForTheSameHosts() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let first = try ca.servingCertificate(name: "server", hosts: ["localhost", "127.0.0.1"], directory: dir)
            // Order, case, duplicates and a spelled-out IPv4 do not make a different SAN set.
            let again = try ca.servingCertificate(
                name: "server", hosts: ["127.0.0.1", "LOCALHOST", "localhost"], directory: dir)
            #expect(again == first)

            // A restarted master (a freshly loaded CA) reuses it too.
            let reloaded = try CertificateAuthority.loadOrCreate(directory: dir)
            #expect(
                try reloaded.servingCertificate(name: "server", hosts: ["localhost", "127.0.0.1"], directory: dir)
                    == first)
        }
    }

    @Test func servingCertificateIsReissuedWhenHostsChange() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let first = try ca.servingCertificate(name: "server", hosts: ["localhost", "127.0.0.1"], directory: dir)

            let added = try ca.servingCertificate(
                name: "server", hosts: ["localhost", "127.0.0.1", "::1"], directory: dir)
            #expect(added.certificatePEM != first.certificatePEM)
            #expect(added.privateKeyPEM != first.privateKeyPEM)
            #expect(try readText(dir + "/server.crt") == added.certificatePEM)
            let text = try run(
                "/usr/bin/openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", dir + "/server.crt"])
            #expect(text.stdout.contains("IP Address:0:0:0:0:0:0:0:1"))

            // Removing a host also reissues: a SAN we no longer own must not stay valid.
            let removed = try ca.servingCertificate(name: "server", hosts: ["localhost"], directory: dir)
            #expect(removed.certificatePEM != added.certificatePEM)
            let after = try run(
                "/usr/bin/openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", dir + "/server.crt"])
            #expect(!after.stdout.contains("IP Address"))
        }
    }

    @Test func servingCertificateIsReissuedNearExpiryOrForAnotherCA() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir + "/a")
            let now = Date()
            let first = try ca.servingCertificate(name: "server", hosts: ["localhost"], directory: dir, now: now)
            let later = try ca.servingCertificate(
                name: "server", hosts: ["localhost"], directory: dir, now: now.addingTimeInterval(300 * 24 * 3600))
            #expect(later == first)
            let nearExpiry = try ca.servingCertificate(
                name: "server", hosts: ["localhost"], directory: dir, now: now.addingTimeInterval(340 * 24 * 3600))
            #expect(nearExpiry.certificatePEM != first.certificatePEM)

            let otherCA = try CertificateAuthority.loadOrCreate(directory: dir + "/b")
            let foreign = try otherCA.servingCertificate(name: "server", hosts: ["localhost"], directory: dir)
            #expect(foreign.certificatePEM != nearExpiry.certificatePEM)
            let verify = try run("/usr/bin/openssl", ["verify", "-CAfile", dir + "/b/ca.crt", dir + "/server.crt"])
            #expect(verify.status == 0, "\(verify.stderr)")
        }
    }

    @Test func invalidHostsAreRejectedWithTheHostInTheMessage() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            for bad in ["bad host", "under_score!", "-leading.example", "", "fe80::1%eth0"] {
                let error = #expect(throws: PKIError.self) {
                    try ca.servingCertificate(name: "server", hosts: ["localhost", bad], directory: dir)
                }
                #expect(error?.kind == .invalidHost)
                #expect(error?.description.contains(String(reflecting: bad)) == true, "\(String(describing: error))")
            }
            let none = #expect(throws: PKIError.self) {
                try ca.servingCertificate(name: "server", hosts: [], directory: dir)
            }
            #expect(none?.description.contains("no hosts") == true)
            #expect(!FileManager.default.fileExists(atPath: dir + "/server.crt"))
        }
    }

    @Test func brokenCAFilesAreReportedNotReplaced() async throws {
        try await withTemporaryDirectory { dir in
            _ = try CertificateAuthority.loadOrCreate(directory: dir)
            let originalKey = try readText(dir + "/ca.key")

            try FileManager.default.removeItem(atPath: dir + "/ca.crt")
            let missing = #expect(throws: PKIError.self) { try CertificateAuthority.loadOrCreate(directory: dir) }
            #expect(missing?.kind == .inconsistentMaterial)
            #expect(missing?.description.contains(dir + "/ca.crt") == true)
            // Nothing was regenerated behind the operator's back.
            #expect(try readText(dir + "/ca.key") == originalKey)
            #expect(!FileManager.default.fileExists(atPath: dir + "/ca.crt"))

            try "not a certificate".write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
            let garbage = #expect(throws: PKIError.self) { try CertificateAuthority.loadOrCreate(directory: dir) }
            #expect(garbage?.kind == .malformedMaterial)
            #expect(
                garbage?.description.contains("parse CA certificate \(dir)/ca.crt") == true,
                "\(String(describing: garbage))")

            // A certificate with someone else's key.
            let other = dir + "/other"
            _ = try CertificateAuthority.loadOrCreate(directory: other)
            try FileManager.default.removeItem(atPath: dir + "/ca.crt")
            try FileManager.default.copyItem(atPath: other + "/ca.crt", toPath: dir + "/ca.crt")
            let mismatch = #expect(throws: PKIError.self) { try CertificateAuthority.loadOrCreate(directory: dir) }
            #expect(mismatch?.kind == .inconsistentMaterial)
            #expect(mismatch?.description.contains("does not match") == true)
        }
    }

    @Test func looseKeyPermissionsAreTightenedOnLoad() async throws {
        try await withTemporaryDirectory { dir in
            _ = try CertificateAuthority.loadOrCreate(directory: dir)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/ca.key")
            _ = try CertificateAuthority.loadOrCreate(directory: dir)
            #expect(try fileMode(dir + "/ca.key") == 0o600)
        }
    }
}
