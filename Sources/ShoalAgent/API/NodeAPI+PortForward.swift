import ShoalHTTP
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// `POST /pods/{namespace}/{name}/portforward?port=N` (Upgrade: shoal-stream): one TCP connection
/// to the port inside the pod's network namespace, as the kubelet's port-forward opens one per
/// forwarded connection. Frames on stdin go to the socket, what the socket sends comes back on
/// stdout; a close frame half-closes the socket; a failed connect is reported on the status
/// channel, in the kubelet's words, before the session ends.
extension NodeAPI {
    func portForward(_ w: PodWorker, _ r: APIRequest) async throws -> APIResponse {
        guard r.wantsUpgrade else { throw NodeAPIError.badRequest("port-forward needs an upgraded connection (Upgrade: \(StreamProtocol.name))") }
        guard let port = r.query("port").flatMap(UInt16.init), port > 0 else {
            throw NodeAPIError.badRequest("port-forward needs a port between 1 and 65535 (query parameter port)")
        }
        let target = await w.probeNetTarget()
        let pod = "\(r.segments[1])/\(r.segments[2])"
        let uid = await w.pod.metadata.uid ?? ""
        return .upgrade { session in
            await PortForwardBridge.run(port: port, target: target, session: session,
                                        describe: "error forwarding port \(port) to pod \(pod), uid \(uid)")
        }
    }
}

enum PortForwardBridge {
    static func run(port: UInt16, target: ProbeNetTarget, session: StreamSession, describe: String) async {
        let fd: FileDescriptor
        do {
            fd = try await TCPClient.connect(host: target.host, port: port, in: target.namespace, timeout: 10)
        } catch {
            let reason = HTTPProbe.dialError(error, HTTPProbe.hostPort(target.host, Int(port)))
            try? await session.send(StreamProtocol.status, Array("\(describe): failed to connect to localhost:\(port) inside the pod's network namespace: \(reason)".utf8))
            await session.close()
            return
        }
        let input = Task {
            for await (channel, payload) in session.frames {
                switch channel {
                case StreamProtocol.stdin:
                    do { try await SocketIO.send(fd, payload, deadline: .max) } catch { return }
                case StreamProtocol.close:
                    _ = shutdown(fd.raw, Int32(SHUT_WR))
                default:
                    break
                }
            }
            // The client went away: end the connection, which ends the output loop below.
            _ = shutdown(fd.raw, Int32(SHUT_RDWR))
        }
        while true {
            guard let bytes = try? await SocketIO.receive(fd, max: 32768, deadline: .max), !bytes.isEmpty else { break }
            do { try await session.send(StreamProtocol.stdout, bytes) } catch { break }
        }
        input.cancel()
        await session.close()
        fd.close()
    }
}
