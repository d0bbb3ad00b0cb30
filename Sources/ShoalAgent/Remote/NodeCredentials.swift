import Foundation
import NIOSSL
import ShoalAPI
import ShoalHTTP
import ShoalOS
import ShoalPKI

/// What a node that joined with a token keeps: the master's CA (learnt through the token's pin)
/// and its own credentials. Later starts use these and need no token, so a bootstrap token can
/// expire without stranding the nodes that used it (kubeadm keeps a kubelet.conf the same way).
public struct NodeCredentials: Codable, Sendable, Equatable {
    public var server: String
    public var nodeName: String
    public var caPEM: String
    public var token: String

    public static func path(dataDir: String) -> String { dataDir + "/agent/credentials.json" }

    /// Stored credentials for this server and node name, if any.
    public static func load(dataDir: String, server: String, nodeName: String) -> NodeCredentials? {
        guard let text = try? FileSystem.readString(path(dataDir: dataDir)),
              let c = try? JSONDecoder().decode(NodeCredentials.self, from: Data(text.utf8)),
              c.server == server, c.nodeName == nodeName else { return nil }
        return c
    }

    func save(dataDir: String) throws {
        try FileSystem.createDirectory(dataDir + "/agent", mode: 0o700)
        try FileSystem.writeAtomically(Self.path(dataDir: dataDir), Array(try JSONEncoder().encode(self)), mode: 0o600)
    }

    /// The pin of the stored CA: a join token naming another CA means the master was replaced.
    public var caPin: String? {
        guard let cert = try? NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)).first else { return nil }
        return try? PinnedCAVerifier.pin(of: cert)
    }

    /// The client for everything after the join: the CA from the pin, the node's own token.
    public func client() throws -> HTTPClient {
        let endpoint = try HTTPEndpoint.parse(server) { try TLSConfigs.client(trustingCA: caPEM) }
        return try HTTPClient(endpoint: endpoint, token: token)
    }
}

/// Why a join failed, in words a user acts on.
public struct JoinError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

public enum NodeJoinClient {
    /// Joins `server` as `nodeName` with a join token: the TLS handshake must present a CA whose
    /// pin is the token's (else nothing is sent, not even the token), then the bootstrap secret
    /// is traded for the node's credentials, which are stored in the data dir.
    public static func join(server: String, token: JoinToken, nodeName: String, dataDir: String) async throws -> NodeCredentials {
        let learnt = Locked<String?>(nil)
        let rejection = Locked<PKIError?>(nil)
        let endpoint = try HTTPEndpoint.parse(server) { TLSConfigs.pinnedClient() }
        let verification = PinnedCAVerifier.callback(
            pin: token.caPin, onVerified: { pem in learnt.withLock { $0 = pem } }, onRejected: { e in rejection.withLock { $0 = e } })
        let client = try HTTPClient(endpoint: endpoint, token: token.secret, verification: verification)
        let body: JSONValue = ["nodeName": .string(nodeName)]
        let response: HTTPClientResponse
        do {
            response = try await client.request("POST", "/" + ["shoal", "v1", "join"].joined(separator: "/"), body: body.serialized)
        } catch {
            if let why = rejection.current {
                throw JoinError(description: "the master at \(server) is not the one the join token names: \(why) (a token for another master, or someone in between)")
            }
            throw JoinError(description: "cannot reach the master at \(server): \(error)")
        }
        guard response.status == 200 else {
            let status = try? JSONValue.parse(response.body)
            let message = status?["message"]?.stringValue ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            if response.status == 401 {
                throw JoinError(description: "the master at \(server) refused the join token: it is unknown or expired (make a new one on the master with `shoal token create`)")
            }
            throw JoinError(description: "the master at \(server) refused to join node \(nodeName): \(message)")
        }
        guard let reply = try? JSONValue.parse(response.body), let nodeToken = reply["token"]?.stringValue, let ca = learnt.current else {
            throw JoinError(description: "the master at \(server) answered the join without credentials")
        }
        let credentials = NodeCredentials(server: server, nodeName: nodeName, caPEM: ca, token: nodeToken)
        try credentials.save(dataDir: dataDir)
        return credentials
    }
}
