import Foundation
import ShoalAPI
import ShoalHTTP

/// kubectl's SPDY/3.1 streams (exec and attach before 1.30, port-forward in every version, the
/// latter tunnelled through a WebSocket from 1.31): one SPDY stream per channel, which the
/// master maps onto the agent's framed stream.
enum SPDYRelay {
    static let upgradeHeader = "SPDY/3.1"
    static let remoteCommandProtocols = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]
    static let portForwardProtocol = "portforward.k8s.io"
    /// The WebSocket subprotocol of tunnelled port-forward (kubectl 1.31+).
    static let tunnelledPortForward = "SPDY/3.1+portforward.k8s.io"

    static func wantsSPDY(_ request: APIRequest) -> Bool {
        request.header("upgrade")?.lowercased() == upgradeHeader.lowercased()
    }

    /// `X-Stream-Protocol-Version` values the client offers, in its order.
    static func offered(_ request: APIRequest) -> [String] {
        request.headers.filter { $0.0.lowercased() == "x-stream-protocol-version" }
            .flatMap { $0.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    static func switchingHeaders(_ chosen: String) -> [(String, String)] {
        [("Connection", "Upgrade"), ("Upgrade", upgradeHeader), ("X-Stream-Protocol-Version", chosen)]
    }

    // MARK: exec and attach

    static func remoteCommand(_ request: APIRequest, agent: HTTPClient, agentPath: String) async throws(APIError) -> APIResponse {
        guard let chosen = offered(request).first(where: remoteCommandProtocols.contains) else {
            throw APIError.badRequest("none of the offered stream protocols (\(offered(request).joined(separator: ", "))) is supported; this server speaks \(remoteCommandProtocols.joined(separator: ", "))")
        }
        let upstream = try await StreamRelay.openAgentStream(agent, agentPath)
        if case .refused(let response) = upstream { return response }
        guard case .open(let stream) = upstream else { return .bytes(status: 500, contentType: "text/plain", body: []) }
        let tty = request.flag("tty")
        // The streams the client opens: error always; stdin, stdout, stderr as asked (stderr
        // is the terminal when there is one), resize with a terminal.
        var expected = 1
        if request.flag("stdin") { expected += 1 }
        if request.flag("stdout") { expected += 1 }
        if request.flag("stderr") && !tty { expected += 1 }
        if tty { expected += 1 }
        let streamCount = expected
        return .switching(headers: switchingHeaders(chosen)) { raw in
            let session = SPDYConnection(write: { try await raw.write($0) })
            let reader = Task {
                for await chunk in raw.inbound { try? await session.receive(chunk) }
                session.transportClosed()
            }
            await relayRemoteCommand(session, expected: streamCount, agent: stream)
            await session.close()
            await raw.close()
            reader.cancel()
        }
    }

    /// Collects the client's streams, then copies: stdin and resize to the agent, the agent's
    /// stdout, stderr and status back; the status (a v1.Status) goes on the error stream.
    static func relayRemoteCommand(_ session: SPDYConnection, expected: Int, agent: RawConnection) async {
        var byType: [String: SPDYStream] = [:]
        var iterator = session.streams.makeAsyncIterator()
        while byType.count < expected, let s = await iterator.next() {
            try? await s.reply()
            byType[s.header("streamtype") ?? ""] = s
        }
        guard byType.count == expected else {
            await agent.close()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for (type, channel) in [("stdin", StreamProtocol.stdin), ("resize", StreamProtocol.resize)] {
                guard let s = byType[type] else { continue }
                group.addTask {
                    for await data in s.data {
                        do { try await agent.write(StreamProtocol.frame(channel, data)) } catch { return }
                    }
                    if channel == StreamProtocol.stdin { try? await agent.write(StreamProtocol.frame(StreamProtocol.close, [channel])) }
                }
            }
            var decoder = StreamProtocol.Decoder()
            for await chunk in agent.inbound {
                for (channel, payload) in decoder.feed(chunk) {
                    let target: SPDYStream? = switch channel {
                    case StreamProtocol.stdout: byType["stdout"]
                    case StreamProtocol.stderr: byType["stderr"]
                    case StreamProtocol.status: byType["error"]
                    default: nil
                    }
                    try? await target?.write(payload)
                }
            }
            for s in byType.values { try? await s.finish() }
            group.cancelAll()
        }
        await agent.close()
    }

    // MARK: port-forward

    /// Port-forward over SPDY directly (the HTTP connection upgraded), kubectl before 1.31 or
    /// when its WebSocket tunnel is refused.
    static func portForward(_ request: APIRequest, open: @escaping @Sendable (UInt16) async throws(APIError) -> StreamRelay.Upstream) throws(APIError) -> APIResponse {
        guard offered(request).contains(portForwardProtocol) else {
            throw APIError.badRequest("port-forward needs the stream protocol \(portForwardProtocol)")
        }
        return .switching(headers: switchingHeaders(portForwardProtocol)) { raw in
            let session = SPDYConnection(write: { try await raw.write($0) })
            let reader = Task {
                for await chunk in raw.inbound { try? await session.receive(chunk) }
                session.transportClosed()
            }
            await relayPortForward(session, open: open)
            await session.close()
            await raw.close()
            reader.cancel()
        }
    }

    /// Port-forward tunnelled in WebSocket binary messages (kubectl 1.31+).
    static func tunnelledPortForward(_ request: APIRequest, open: @escaping @Sendable (UInt16) async throws(APIError) -> StreamRelay.Upstream) -> APIResponse {
        .switching(headers: WebSocket.acceptHeaders(request, chosen: tunnelledPortForward)) { raw in
            let ws = WebSocketSession(raw)
            let session = SPDYConnection(write: { try await ws.send($0) })
            let reader = Task {
                for await message in ws.messages { try? await session.receive(message) }
                session.transportClosed()
            }
            await relayPortForward(session, open: open)
            await session.close()
            await ws.close()
            reader.cancel()
        }
    }

    /// Each forwarded connection is a pair of streams (error, data) sharing a request id; each
    /// pair gets its own connection to the port through the agent, as the kubelet opens one.
    static func relayPortForward(_ session: SPDYConnection, open: @escaping @Sendable (UInt16) async throws(APIError) -> StreamRelay.Upstream) async {
        await withTaskGroup(of: Void.self) { group in
            var pending: [String: (error: SPDYStream?, data: SPDYStream?)] = [:]
            for await s in session.streams {
                try? await s.reply()
                let id = s.header("requestid") ?? ""
                var pair = pending[id] ?? (nil, nil)
                if s.header("streamtype") == "error" { pair.error = s } else if s.header("streamtype") == "data" { pair.data = s } else {
                    await s.reset()
                    continue
                }
                guard let errorStream = pair.error, let dataStream = pair.data else {
                    pending[id] = pair
                    continue
                }
                pending[id] = nil
                group.addTask { await forward(errorStream: errorStream, dataStream: dataStream, open: open) }
            }
            group.cancelAll()
        }
    }

    static func forward(errorStream: SPDYStream, dataStream: SPDYStream, open: @Sendable (UInt16) async throws(APIError) -> StreamRelay.Upstream) async {
        func fail(_ message: String) async {
            try? await errorStream.write(Array(message.utf8))
            try? await errorStream.finish()
            try? await dataStream.finish()
        }
        guard let port = dataStream.header("port").flatMap(UInt16.init), port > 0 else {
            return await fail("invalid port header \"\(dataStream.header("port") ?? "")\": a port between 1 and 65535 is needed")
        }
        let agent: RawConnection
        do {
            switch try await open(port) {
            case .open(let c): agent = c
            case .refused(let response):
                guard case .bytes(_, _, let body) = response else { return await fail("the agent refused the port-forward") }
                let status = try? JSONValue.parse(body)
                return await fail(status?["message"]?.stringValue ?? String(decoding: body, as: UTF8.self))
            }
        } catch {
            return await fail(error.description)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await data in dataStream.data {
                    do { try await agent.write(StreamProtocol.frame(StreamProtocol.stdin, data)) } catch { return }
                }
                try? await agent.write(StreamProtocol.frame(StreamProtocol.close, [StreamProtocol.stdin]))
            }
            var decoder = StreamProtocol.Decoder()
            for await chunk in agent.inbound {
                for (channel, payload) in decoder.feed(chunk) {
                    if channel == StreamProtocol.stdout { try? await dataStream.write(payload) }
                    if channel == StreamProtocol.status { try? await errorStream.write(payload) }
                }
            }
            try? await dataStream.finish()
            try? await errorStream.finish()
            group.cancelAll()
        }
        await agent.close()
    }
}
