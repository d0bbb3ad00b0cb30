import Foundation
import ShoalAPI
import ShoalHTTP
import ShoalPKI

/// Joining a node with a bootstrap token (from `shoal token create`), as kubeadm's TLS
/// bootstrap does: the bootstrap identity may do exactly one thing, trade itself for the
/// credentials of one node. The agent has already checked the master's CA against the
/// token's pin; here the master checks the name.
///
/// `POST /shoal/v1/join` with `{"nodeName": NAME}` answers `{"kind": "NodeCredentials",
/// "nodeName": NAME, "token": TOKEN}`; the token then authenticates as `system:node:NAME`.
enum NodeJoin {
    static let path = ["shoal", "v1", "join"]

    /// The name's checks, as the API server's for a Node's name (a DNS-1123 subdomain).
    static func validate(_ name: String) throws(APIError) {
        let allowed = name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
        let alnum: (UInt8?) -> Bool = { c in c.map { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) } ?? false }
        guard !name.isEmpty, name.utf8.count <= 253, allowed, alnum(name.utf8.first), alnum(name.utf8.last) else {
            throw APIError.invalid(Resources.nodes, name, [FieldError(
                .invalid, FieldPath("metadata", "name"), .string(name),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")])
        }
    }
}

extension Master {
    /// Credentials for node `name`, refused while a live node holds the name (its Lease is
    /// younger than the grace period): two agents must never report as one node. A node that
    /// stopped renewing may be taken over, as a reinstalled machine re-joins under its old name.
    func join(nodeName name: String) throws(APIError) -> JSONValue {
        try NodeJoin.validate(name)
        if let lease = try? registry.get(Resources.leases, namespace: "kube-node-lease", name: name),
           let renewed = (lease["spec"]?["renewTime"]?.stringValue).flatMap(Self.parseMicroTime) {
            let age = Date().timeIntervalSince(renewed)
            if age <= Double(config.nodeMonitorGracePeriod.components.seconds) {
                throw APIError.conflict(Resources.nodes, name,
                    "a live node already has this name (its lease was renewed \(Int(age)) s ago); choose another --node-name or stop that node first")
            }
        }
        let token: String
        do {
            // The name's earlier credentials go: whoever held them is no longer that node.
            try tokens.revokeAll(role: .node(name: name))
            token = try tokens.create(role: .node(name: name), ttl: nil)
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "cannot create node credentials: \(error)")
        }
        logger.info("node joined with a bootstrap token", metadata: ["node": "\(name)"])
        return ["apiVersion": "shoal.io/v1", "kind": "NodeCredentials", "nodeName": .string(name), "token": .string(token)]
    }
}

extension APIServer {
    func joinRequest(_ request: APIRequest, who: Identity) throws(APIError) -> APIResponse {
        guard request.method == "POST" else { throw APIError(code: 405, reason: "MethodNotAllowed", message: "the join endpoint takes POST") }
        guard who.role == .bootstrap || who.role == .admin else {
            throw APIError(code: 403, reason: "Forbidden", message: "User \"\(who.userName)\" cannot join a node: only a bootstrap token (shoal token create) can")
        }
        guard let join else { throw APIError.unknownPath }
        let body = try decodeBody(request)
        guard let name = body["nodeName"]?.stringValue else { throw APIError.badRequest("the join request needs a nodeName") }
        return Self.json(try join(name))
    }
}
