import ShoalAPI
import ShoalHTTP

/// Bridges kubectl's streaming protocols (exec, attach, port-forward) to the agent's framed
/// stream. The channel numbers of remotecommand v4/v5 are the framed stream's own, so exec and
/// attach frames pass through unchanged; only the envelope differs (a WebSocket message is
/// `channel | data`, a framed-stream frame is `channel | length | data`).
enum StreamRelay {
    /// remotecommand versions over WebSocket, preferred first (v5 adds the close channel, so
    /// stdin EOF reaches the process).
    static let remoteCommandProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    /// exec and attach over a WebSocket: the upgrade to the agent happens first, so that an
    /// error there (no such container, not running) reaches kubectl as a plain Status.
    static func remoteCommand(_ request: APIRequest, offered: [String], agent: HTTPClient, agentPath: String) async throws(APIError) -> APIResponse {
        guard let chosen = remoteCommandProtocols.first(where: offered.contains) else {
            throw APIError.badRequest("none of the offered subprotocols (\(offered.joined(separator: ", "))) is supported; this server speaks \(remoteCommandProtocols.joined(separator: ", "))")
        }
        let upstream = try await openAgentStream(agent, agentPath)
        if case .refused(let response) = upstream { return response }
        guard case .open(let stream) = upstream else { return APIResponse.bytes(status: 500, contentType: "text/plain", body: []) }
        return .switching(headers: WebSocket.acceptHeaders(request, chosen: chosen)) { raw in
            let ws = WebSocketSession(raw)
            await relay(ws, stream)
        }
    }

    enum Upstream {
        case open(RawConnection)
        case refused(APIResponse)
    }

    /// Opens the framed stream to the agent; the agent's own refusal is passed back as it came.
    static func openAgentStream(_ agent: HTTPClient, _ path: String) async throws(APIError) -> Upstream {
        do {
            return .open(try await agent.upgrade("POST", path, protocol: StreamProtocol.name))
        } catch let refused as UpgradeRefused {
            return .refused(.bytes(status: refused.status, contentType: "application/json", body: refused.body))
        } catch {
            throw APIError.unavailable("cannot reach the agent: \(error)")
        }
    }

    /// Copies WebSocket messages to framed-stream frames and back; whichever side ends first
    /// closes the other.
    static func relay(_ ws: WebSocketSession, _ agent: RawConnection) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // client-go reads the WebSocket before it has made its streams, and drops a
                // message for a stream it has not made yet ("Unknown stream id 1"). The
                // process already runs here, so its first output can arrive that early;
                // kube-apiserver's later dial to the kubelet hides the race. A short pause
                // before the first frame gives kubectl that time.
                try? await Task.sleep(for: .milliseconds(20))
                var decoder = StreamProtocol.Decoder()
                for await chunk in agent.inbound {
                    for (channel, payload) in decoder.feed(chunk) {
                        do { try await ws.send([channel] + payload) } catch { break }
                    }
                }
                await ws.close()
            }
            group.addTask {
                for await message in ws.messages {
                    guard let channel = message.first else { continue }
                    do { try await agent.write(StreamProtocol.frame(channel, Array(message.dropFirst()))) } catch { break }
                }
                await agent.close()
            }
        }
    }
}
