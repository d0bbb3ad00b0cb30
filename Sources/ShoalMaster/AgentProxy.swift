import ShoalAPI
import ShoalHTTP

/// Forwards node-local requests (logs, exec, attach, port-forward) to the agent running the
/// pod, at the node API URL the agent registered in its Node's `shoal.io/node-api` annotation.
struct AgentProxy: NodeProxy {
    static let annotation = "shoal.io/node-api"
    let registry: Registry

    func forward(_ request: APIRequest, node: String, pod: JSONValue, subresource: String) async throws(APIError) -> APIResponse {
        let nodeObject = try registry.get(Resources.nodes, namespace: nil, name: node)
        guard let url = nodeObject["metadata"]?["annotations"]?[Self.annotation]?.stringValue, url.hasPrefix("unix://") else {
            throw APIError.unavailable("node \"\(node)\" does not offer a node API the master can reach")
        }
        let ns = pod["metadata"]?["namespace"]?.stringValue ?? "default"
        let name = pod["metadata"]?["name"]?.stringValue ?? ""
        let client: HTTPClient
        do {
            client = try HTTPClient(endpoint: .unix(path: String(url.dropFirst("unix://".count))))
        } catch {
            throw APIError.internalError("\(error)")
        }
        switch subresource {
        case "log":
            return try await logs(request, client: client, path: "/pods/\(ns)/\(name)/log", node: node)
        case "exec", "attach":
            var query: [String] = []
            for key in ["container", "stdin", "tty"] {
                if let v = request.query(key) { query.append("\(key)=\(Self.escape(v))") }
            }
            if subresource == "exec" {
                for c in request.query["command"] ?? [] { query.append("command=\(Self.escape(c))") }
            }
            let path = "/pods/\(ns)/\(name)/\(subresource)?" + query.joined(separator: "&")
            if let offered = WebSocket.offeredProtocols(request) {
                return try await StreamRelay.remoteCommand(request, offered: offered, agent: client, agentPath: path)
            }
            guard SPDYRelay.wantsSPDY(request) else { throw APIError.badRequest("Upgrade request required") }
            return try await SPDYRelay.remoteCommand(request, agent: client, agentPath: path)
        case "portforward":
            let open: @Sendable (UInt16) async throws(APIError) -> StreamRelay.Upstream = { port throws(APIError) in
                try await StreamRelay.openAgentStream(client, "/pods/\(ns)/\(name)/portforward?port=\(port)")
            }
            if let offered = WebSocket.offeredProtocols(request) {
                guard offered.contains(SPDYRelay.tunnelledPortForward) else {
                    throw APIError.badRequest("port-forward over a WebSocket needs the subprotocol \(SPDYRelay.tunnelledPortForward)")
                }
                return SPDYRelay.tunnelledPortForward(request, open: open)
            }
            guard SPDYRelay.wantsSPDY(request) else { throw APIError.badRequest("Upgrade request required") }
            return try SPDYRelay.portForward(request, open: open)
        default:
            throw APIError(code: 501, reason: "NotImplemented", message: "pods/\(subresource) is not supported by this server yet")
        }
    }

    func logs(_ request: APIRequest, client: HTTPClient, path: String, node: String) async throws(APIError) -> APIResponse {
        var query: [String] = []
        for key in ["container", "follow", "previous", "tailLines", "timestamps", "sinceSeconds", "sinceTime", "limitBytes"] {
            if let v = request.query(key) { query.append("\(key)=\(Self.escape(v))") }
        }
        let path = path + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        if request.flag("follow") {
            do {
                // Bytes as they come: the log's lines, empty ones too, are the container's.
                let (status, chunks) = try await client.streamed(path)
                if status != 200 {
                    var body: [UInt8] = []
                    for try await chunk in chunks { body += chunk }
                    return .bytes(status: status, contentType: "application/json", body: body)
                }
                return .stream(status: 200, contentType: "text/plain") { writer in
                    for try await chunk in chunks { try await writer.write(chunk) }
                }
            } catch {
                throw APIError.unavailable("cannot reach the agent of node \"\(node)\": \(error)")
            }
        }
        do {
            let response = try await client.request("GET", path)
            let type = response.headers.first { $0.0.lowercased() == "content-type" }?.1 ?? "text/plain"
            return .bytes(status: response.status, contentType: type, body: response.body)
        } catch {
            throw APIError.unavailable("cannot reach the agent of node \"\(node)\": \(error)")
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-._~".utf8.contains(b) {
                out.append(Character(UnicodeScalar(b)))
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
