import Foundation
import ShoalAPI
import ShoalAgent
import ShoalHTTP
import ShoalPKI
@testable import ShoalMaster
import Testing

/// Joining with a token as a remote agent does, against a master in this process over TLS on
/// loopback: the CA learnt through the pin, the bootstrap secret traded for node credentials,
/// and every refusal with its message.
@Suite struct JoinTests {
    @Test func aJoinTokenBecomesNodeCredentialsThatActAsTheNode() async throws {
        try await withMaster("join") { m in
            let token = try Master.joinToken(dataDir: m.dataDir, ttl: .seconds(600))
            let scratch = try scratchDirectory("join-agent")
            defer { try? FileManager.default.removeItem(atPath: scratch) }

            // The bootstrap identity may join, and nothing else.
            let bootstrap = try m.client(token: token.secret)
            #expect(try await bootstrap.request("GET", "/api/v1/pods").status == 403)

            let creds = try await NodeJoinClient.join(server: m.master.serverURL, token: token, nodeName: "remote-1", dataDir: scratch)
            #expect(creds.caPEM == m.master.caPEM && creds.caPin == token.caPin)
            #expect(NodeCredentials.load(dataDir: scratch, server: m.master.serverURL, nodeName: "remote-1") == creds)
            #expect(NodeCredentials.load(dataDir: scratch, server: m.master.serverURL, nodeName: "other") == nil)
            // The node's credentials: its own Node may be created, another's not.
            let node = try creds.client()
            let own: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "remote-1"]]
            #expect(try await node.request("POST", "/api/v1/nodes", body: own.serialized).status == 201)
            let other: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "remote-2"]]
            #expect(try await node.request("POST", "/api/v1/nodes", body: other.serialized).status == 403)
            // Joining again under the name revokes the earlier credentials (no lease yet: not live).
            let again = try await NodeJoinClient.join(server: m.master.serverURL, token: token, nodeName: "remote-1", dataDir: scratch)
            #expect(try await node.request("GET", "/api/v1/nodes/remote-1").status == 401)
            #expect(try await again.client().request("GET", "/api/v1/nodes/remote-1").status == 200)
        }
    }

    @Test func refusalsSayWhy() async throws {
        try await withMaster("join-refusals") { m in
            let scratch = try scratchDirectory("join-refused")
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let good = try Master.joinToken(dataDir: m.dataDir, ttl: .seconds(600))
            func refusal(_ token: JoinToken, _ name: String = "remote-1") async -> String {
                do {
                    _ = try await NodeJoinClient.join(server: m.master.serverURL, token: token, nodeName: name, dataDir: scratch)
                    return "joined"
                } catch { return "\(error)" }
            }
            #expect(await refusal(JoinToken(caPin: good.caPin, secret: "abcdef.0123456789abcdef")).contains("refused the join token"))
            let otherCA = try CertificateAuthority.loadOrCreate(directory: scratch + "/other-ca")
            #expect(await refusal(JoinToken(caPin: otherCA.publicKeyPin, secret: good.secret)).contains("not the one the join token names"))
            #expect(await refusal(good, "Not_A_Name").contains("metadata.name"))

            let expiring = try Master.joinToken(dataDir: m.dataDir, ttl: .milliseconds(200))
            try await Task.sleep(nanoseconds: 400_000_000)
            #expect(await refusal(expiring).contains("unknown or expired"))

            // A name whose lease is fresh belongs to a live node.
            let lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                    "metadata": ["name": "busy", "namespace": "kube-node-lease"],
                                    "spec": ["holderIdentity": "busy", "renewTime": .string(MicroTime.now().rfc3339)]]
            _ = try await m.ok("apply", "-f", "-", stdin: String(decoding: lease.serialized, as: UTF8.self))
            #expect(await refusal(good, "busy").contains("a live node already has this name"))
            #expect(!FileManager.default.fileExists(atPath: NodeCredentials.path(dataDir: scratch)))
        }
    }
}
