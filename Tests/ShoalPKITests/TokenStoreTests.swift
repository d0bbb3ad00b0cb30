import Foundation
import Testing

@testable import ShoalPKI

/// A clock the test moves by hand, so expiry is checked at exact instants rather than by sleeping.
private final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_750_000_000)

    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

private func matchesTokenShape(_ token: String) -> Bool {
    token.wholeMatch(of: /[a-z0-9]{6}\.[a-z0-9]{16}/) != nil
}

@Suite struct TokenStoreTests {
    @Test func createdTokensAuthenticateWithTheirRole() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TokenStore(path: dir + "/pki/tokens")
            let admin = try store.create(role: .admin, ttl: nil)
            let node = try store.create(role: .node(name: "worker-1"), ttl: nil)
            let bootstrap = try store.create(role: .bootstrap, ttl: .seconds(3600))
            for token in [admin, node, bootstrap] {
                #expect(matchesTokenShape(token), "\(token)")
            }
            #expect(Set([admin, node, bootstrap]).count == 3)

            #expect(store.authenticate(admin)?.role == .admin)
            #expect(store.authenticate(admin)?.expires == nil)
            #expect(store.authenticate(node)?.role == .node(name: "worker-1"))
            let identity = try #require(store.authenticate(bootstrap))
            #expect(identity.role == .bootstrap)
            #expect(identity.tokenID == String(bootstrap.prefix(6)))
            let expires = try #require(identity.expires)
            #expect(abs(expires.timeIntervalSinceNow - 3600) < 60)
        }
    }

    @Test func wrongUnknownAndMalformedTokensAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TokenStore(path: dir + "/tokens")
            let token = try store.create(role: .admin, ttl: nil)
            let id = String(token.prefix(6))
            let secret = token.dropFirst(7)
            // Right ID, wrong secret: the case the constant-time comparison is for.
            let lastChar: Character = secret.last == "a" ? "b" : "a"
            #expect(store.authenticate("\(id).\(secret.dropLast())\(lastChar)") == nil)
            #expect(store.authenticate("zzzzzz.0123456789abcdef") == nil)
            for malformed in ["", token.uppercased(), token + "x", " " + token, "\(id)\(secret)", "\(id):\(secret)"] {
                #expect(store.authenticate(malformed) == nil, "\(malformed)")
            }
            #expect(store.authenticate(token)?.role == .admin)
        }
    }

    @Test func tokensExpire() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let store = try TokenStore(path: dir + "/tokens", adminKubeconfig: nil, now: { clock.now })
            let token = try store.create(role: .bootstrap, ttl: .seconds(60))
            let forever = try store.create(role: .node(name: "n1"), ttl: nil)
            #expect(store.authenticate(token)?.expires == clock.now.addingTimeInterval(60))

            clock.advance(59)
            #expect(store.authenticate(token) != nil)
            clock.advance(1)
            #expect(store.authenticate(token) == nil)
            #expect(store.authenticate(forever) != nil)
            #expect(store.list().map(\.tokenID) == [String(forever.prefix(6))])

            // The next write drops the expired record from the file too.
            _ = try store.create(role: .bootstrap, ttl: .milliseconds(1500))
            #expect(!(try readText(dir + "/tokens")).contains("\"\(token.prefix(6))\""))

            #expect(throws: PKIError.self) { try store.create(role: .bootstrap, ttl: .seconds(0)) }
            #expect(throws: PKIError.self) { try store.create(role: .node(name: ""), ttl: nil) }
        }
    }

    @Test func revokedTokensStopWorking() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TokenStore(path: dir + "/tokens")
            let keep = try store.create(role: .node(name: "a"), ttl: nil)
            let drop = try store.create(role: .node(name: "b"), ttl: nil)
            try store.revoke(tokenID: String(drop.prefix(6)))
            #expect(store.authenticate(drop) == nil)
            #expect(store.authenticate(keep) != nil)

            let unknown = #expect(throws: PKIError.self) { try store.revoke(tokenID: "nosuch") }
            #expect(unknown?.kind == .unknownToken)
            #expect(unknown?.description.contains("nosuch") == true)

            _ = try store.create(role: .node(name: "a"), ttl: nil)
            #expect(try store.revokeAll(role: .node(name: "a")) == 2)
            #expect(store.authenticate(keep) == nil)
            #expect(store.list().isEmpty)
        }
    }

    @Test func tokensPersistAcrossReopenWithoutClearSecrets() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/pki/tokens"
            let tokens: [String]
            do {
                let store = try TokenStore(path: path)
                tokens = [
                    try store.create(role: .admin, ttl: nil),
                    try store.create(role: .node(name: "worker-2"), ttl: .seconds(86400)),
                    try store.create(role: .bootstrap, ttl: nil),
                ]
            }
            let reopened = try TokenStore(path: path)
            #expect(reopened.authenticate(tokens[0])?.role == .admin)
            #expect(reopened.authenticate(tokens[1])?.role == .node(name: "worker-2"))
            #expect(reopened.authenticate(tokens[2])?.role == .bootstrap)

            #expect(try fileMode(path) == 0o600)
            let contents = try readText(path)
            for token in tokens {
                let secret = String(token.dropFirst(7))
                #expect(!contents.contains(secret), "secret of \(token.prefix(6)) is in the file")
                // The ID is public (kubeadm prints it in `token list`); the hash is what is kept.
                #expect(contents.contains(String(token.prefix(6))))
            }
            #expect(contents.split(separator: "\n").count == 3)
        }
    }

    @Test func aSecondStoreOnTheSameFileSeesChanges() async throws {
        try await withTemporaryDirectory { dir in
            // Two instances stand in for the master and a CLI process sharing DATA_DIR.
            let master = try TokenStore(path: dir + "/tokens")
            let cli = try TokenStore(path: dir + "/tokens")
            let token = try cli.create(role: .bootstrap, ttl: nil)
            #expect(master.authenticate(token)?.role == .bootstrap)
            let other = try master.create(role: .node(name: "n"), ttl: nil)
            #expect(cli.authenticate(other) != nil)
            #expect(cli.authenticate(token) != nil, "the master's write kept the CLI's token")
            try cli.revoke(tokenID: String(token.prefix(6)))
            #expect(master.authenticate(token) == nil)
        }
    }

    @Test func concurrentCreatesAreAllKept() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TokenStore(path: dir + "/tokens")
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<32 {
                    group.addTask { try store.create(role: .node(name: "n\(index)"), ttl: nil) }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let reopened = try TokenStore(path: dir + "/tokens")
            #expect(tokens.allSatisfy { reopened.authenticate($0) != nil })
            #expect(reopened.list().count == 32)
        }
    }

    @Test func adminTokenIsKeptAndRecoveredFromTheKubeconfig() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/pki/tokens"
            let kubeconfig = dir + "/admin.kubeconfig"
            let store = try TokenStore(path: path, adminKubeconfig: kubeconfig)
            let admin = try store.adminToken()
            #expect(try store.adminToken() == admin)
            #expect(store.authenticate(admin)?.role == .admin)
            #expect(!(try readText(path)).contains(admin.dropFirst(7)))
            try Kubeconfig.write(
                Kubeconfig.render(server: "https://127.0.0.1:6443", caPEM: "x", token: admin), to: kubeconfig)

            // After a restart the clear text comes back from the kubeconfig.
            let restarted = try TokenStore(path: path, adminKubeconfig: kubeconfig)
            #expect(try restarted.adminToken() == admin)

            // Without a way to read it back, a new admin token replaces the old one.
            let forgetful = try TokenStore(path: path)
            let rotated = try forgetful.adminToken()
            #expect(rotated != admin)
            #expect(forgetful.authenticate(admin) == nil)
            #expect(forgetful.authenticate(rotated)?.role == .admin)
            #expect(forgetful.list().filter { $0.role == .admin }.count == 1)
        }
    }
}
