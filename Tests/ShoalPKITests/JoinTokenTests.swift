import Foundation
import Testing

@testable import ShoalPKI

@Suite struct JoinTokenTests {
    let pin = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
    let secret = "abc123.0123456789abcdef"

    @Test func printsTheDocumentedFormatAndRoundTrips() throws {
        let token = JoinToken(caPin: pin, secret: secret)
        #expect(token.description == "shoal1::\(pin)::\(secret)")
        #expect("\(token)" == token.description)
        #expect(try JoinToken(parsing: token.description) == token)
        #expect(token.tokenID == "abc123")
    }

    @Test func toleratesPastingArtifacts() throws {
        // A terminal copy often brings a trailing newline; some tools upper-case hex.
        let pasted = "  shoal1::\(pin.uppercased().replacingOccurrences(of: "SHA256", with: "sha256"))::\(secret)\n"
        #expect(try JoinToken(parsing: pasted) == JoinToken(caPin: pin, secret: secret))
    }

    @Test func roundTripsARealCAAndStoreToken() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let store = try TokenStore(path: dir + "/tokens")
            let join = JoinToken(caPin: ca.publicKeyPin, secret: try store.create(role: .bootstrap, ttl: .seconds(600)))
            let parsed = try JoinToken(parsing: join.description)
            #expect(parsed.caPin == ca.publicKeyPin)
            #expect(store.authenticate(parsed.secret)?.role == .bootstrap)
        }
    }

    @Test(arguments: [
        ("", "has 1 '::'-separated part"),
        ("shoal1::\("sha256:" + String(repeating: "0", count: 64))", "has 2 '::'-separated part"),
        ("K10abc::server:secret::x", "unknown prefix"),
        (
            "shoal2::\("sha256:" + String(repeating: "0", count: 64))::abc123.0123456789abcdef",
            "unknown prefix \"shoal2\""
        ),
        ("shoal1::sha256:abc::abc123.0123456789abcdef", "CA pin is not sha256:<64 hex digits>"),
        ("shoal1::md5:\(String(repeating: "0", count: 64))::abc123.0123456789abcdef", "CA pin is not"),
        ("shoal1::sha256:\(String(repeating: "g", count: 64))::abc123.0123456789abcdef", "CA pin is not"),
        ("shoal1::sha256:\(String(repeating: "0", count: 64))::abc123", "secret is not <6 [a-z0-9]>.<16 [a-z0-9]>"),
        ("shoal1::sha256:\(String(repeating: "0", count: 64))::ABC123.0123456789ABCDEF", "secret is not"),
        (
            "shoal1::sha256:\(String(repeating: "0", count: 64))::abc123.0123456789abcdef::extra",
            "has 4 '::'-separated part"
        ),
    ])
    func rejectsMalformedText(text: String, message: String) throws {
        let error = #expect(throws: PKIError.self) { try JoinToken(parsing: text) }
        #expect(error?.kind == .malformedToken)
        #expect(error?.description.hasPrefix("parse join token: ") == true)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        // The whole expected shape is spelled out so the user can compare by eye.
        #expect(error?.description.contains("expected shoal1::sha256:<64 hex digits>::<6 chars>.<16 chars>") == true)
    }

    @Test func errorsDoNotEchoTheSecret() {
        let leaked = "notoken::sha256:abc::abc123.s3cr3ts3cr3ts3cr3"
        let error = #expect(throws: PKIError.self) { try JoinToken(parsing: leaked) }
        #expect(error?.description.contains("s3cr3t") == false)
    }
}
