import ShoalHTTP
import CShims
import Foundation
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The agent's node-local API (served on `DATA_DIR/agent.sock`, mode 0600), in the kubelet's
/// spirit: pods with status, logs, exec, events.
///
///     GET  /healthz
///     GET  /pods                                  PodList
///     GET  /pods/{namespace}/{name}               Pod
///     GET  /pods/{namespace}/{name}/log           ?container&follow&previous&tailLines&timestamps&sinceSeconds&sinceTime&limitBytes
///     POST /pods/{namespace}/{name}/exec          ?container&command=…&stdin&tty  (Upgrade: shoal-stream)
///     POST /pods/{namespace}/{name}/portforward   ?port=N  (Upgrade: shoal-stream; NodeAPI+PortForward.swift)
///     GET  /pods/{namespace}/{name}/events        EventList
///     PATCH|POST|PUT /pods/{namespace}/{name}/ephemeralcontainers, POST …/attach   (NodeAPI+Ephemeral.swift)
///     GET  /events                                EventList
///     GET  /manifests/errors                      manifests the agent rejected
struct NodeAPI: APIHandler {
    let agent: Agent

    func handle(_ request: APIRequest) async -> APIResponse {
        do {
            return try await route(request)
        } catch let error as NodeAPIError {
            return NodeAPI.status(error.code, reason: error.reason, message: error.message)
        } catch {
            return NodeAPI.status(500, reason: "InternalError", message: "\(error)")
        }
    }

    func route(_ r: APIRequest) async throws -> APIResponse {
        let s = r.segments
        switch (r.method, s.count) {
        case ("GET", 1) where s[0] == "healthz":
            return .bytes(status: 200, contentType: "text/plain", body: Array("ok".utf8))
        case ("GET", 1) where s[0] == "pods":
            var items: [Pod] = []
            for w in await agent.allWorkers() { items.append(await w.currentPod()) }
            items.sort { ($0.metadata.namespace ?? "", $0.metadata.name ?? "") < ($1.metadata.namespace ?? "", $1.metadata.name ?? "") }
            return try NodeAPI.json(List(apiVersion: "v1", kind: "PodList", items: items))
        case ("GET", 1) where s[0] == "events":
            return try NodeAPI.json(List(apiVersion: "v1", kind: "EventList", items: await agent.events()))
        case ("GET", 2) where s[0] == "manifests" && s[1] == "errors":
            return try NodeAPI.json(await agent.manifestErrors())
        case ("GET", 3) where s[0] == "pods":
            return try NodeAPI.json(await worker(s).currentPod())
        case ("GET", 4) where s[0] == "pods" && s[3] == "log":
            return try await logs(worker(s), r)
        case ("GET", 4) where s[0] == "pods" && s[3] == "events":
            let w = try await worker(s)
            return try NodeAPI.json(List(apiVersion: "v1", kind: "EventList", items: await agent.events(uid: w.uid)))
        case ("POST", 4) where s[0] == "pods" && s[3] == "exec":
            return try await exec(worker(s), r)
        case (let method, 4) where s[0] == "pods" && s[3] == "ephemeralcontainers" && ["GET", "PATCH", "POST", "PUT"].contains(method):
            return try await ephemeralContainers(worker(s), r)
        case ("POST", 4) where s[0] == "pods" && s[3] == "attach":
            return try await attach(worker(s), r)
        case ("POST", 4) where s[0] == "pods" && s[3] == "portforward":
            return try await portForward(worker(s), r)
        default:
            throw NodeAPIError.notFound("the server could not find the requested resource")
        }
    }

    func worker(_ s: [String]) async throws -> PodWorker {
        guard let w = await agent.worker(namespace: s[1], name: s[2]) else {
            throw NodeAPIError.notFound("pods \"\(s[2])\" not found")
        }
        return w
    }

    // MARK: logs

    func logs(_ w: PodWorker, _ r: APIRequest) async throws -> APIResponse {
        let container = try await w.resolveContainer(r.query("container")).name
        var options = LogReadOptions(follow: r.flag("follow") && !r.flag("previous"), tailLines: r.query("tailLines").flatMap(Int.init),
                                     timestamps: r.flag("timestamps"), limitBytes: r.query("limitBytes").flatMap(Int.init))
        if let since = r.query("sinceSeconds").flatMap(Int64.init) {
            options.sinceNanos = realtimeNanos() - since * 1_000_000_000
        } else if let t = r.query("sinceTime") {
            options.sinceNanos = CRILogReader.nanos(t)
        }
        let (path, running) = try await w.logPath(container: container, previous: r.flag("previous"))
        // The container's exit ends a follower: the sandbox closes the log before it reports
        // the exit, but that close may come before the follower watches for it.
        let exited = options.follow && running ? await w.exitWaiter(container: container) : nil
        options.follow = exited != nil
        let reader = CRILogReader(path: path)
        let opts = options
        return .stream(status: 200, contentType: "text/plain") { writer in
            let reading = Task { try await reader.read(opts) { bytes in try await writer.write(bytes) } }
            let ended = Task {
                guard let exited else { return }
                _ = await exited.wait(timeout: nil)
                reading.cancel()
            }
            defer { ended.cancel() }
            // A follower whose client went away stops at once rather than at the container's end.
            let hangup = Task {
                await writer.closed()
                reading.cancel()
            }
            defer { hangup.cancel() }
            try await reading.value
        }
    }

    // MARK: exec

    func exec(_ w: PodWorker, _ r: APIRequest) async throws -> APIResponse {
        guard r.wantsUpgrade else { throw NodeAPIError.badRequest("exec needs an upgraded connection (Upgrade: \(StreamProtocol.name))") }
        let command = r.query["command"] ?? []
        let tty = r.flag("tty")
        // The client's terminal size up front: a resize frame could arrive after the command
        // already asked for it.
        let size = r.query("width").flatMap(UInt16.init).flatMap { w in r.query("height").flatMap(UInt16.init).map { (w, $0) } }
        let process = try await w.exec(container: r.query("container"), command: command, stdin: r.flag("stdin"), tty: tty,
                                       terminalSize: size)
        return .upgrade { session in
            await ExecBridge.run(process, session: session)
            await w.finishExec(process.id)
        }
    }

    // MARK: encoding

    static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> APIResponse {
        .bytes(status: status, contentType: "application/json", body: try JSONCoding.encode(value))
    }

    static func status(_ code: Int, reason: String, message: String) -> APIResponse {
        let status = Status(status: "Failure", message: message, reason: reason, code: Int32(code))
        let body = (try? JSONCoding.encode(status)) ?? Array(message.utf8)
        return .bytes(status: code, contentType: "application/json", body: body)
    }
}

/// Moves bytes between an exec process and an upgraded connection, then reports the exit
/// status as a `v1.Status`, the way the kubelet's remotecommand server does.
enum ExecBridge {
    static func run(_ p: ExecProcess, session: StreamSession) async {
        let input = Task {
            for await (channel, payload) in session.frames {
                switch channel {
                case StreamProtocol.stdin:
                    if let fd = p.stdin { try? fd.write(payload) }
                case StreamProtocol.resize:
                    if let t = p.terminal, let size = try? JSONDecoder().decode(TerminalSize.self, from: Data(payload)) {
                        _ = sh_set_winsize(t.raw, size.Height, size.Width)
                    }
                case StreamProtocol.close:
                    // stdin EOF: a pty gets ^D, a pipe is closed.
                    if p.terminal != nil { try? p.stdin?.write([4]) } else { p.stdin?.close() }
                default:
                    break
                }
            }
        }
        async let out: Void = pump(p.stdout, to: StreamProtocol.stdout, session)
        async let err: Void = pumpIfPresent(p.stderr, to: StreamProtocol.stderr, session)
        let code = await p.exit.wait()
        _ = await (out, err)
        input.cancel()
        let status: Status
        if code == 0 {
            status = Status(status: "Success")
        } else {
            status = Status(status: "Failure", message: "command terminated with non-zero exit code: error executing command [\(p.id)], exit code \(code)",
                            reason: "NonZeroExitCode",
                            details: StatusDetails(causes: [StatusCause(reason: "ExitCode", message: String(code))]))
        }
        try? await session.send(StreamProtocol.status, (try? JSONCoding.encode(status)) ?? [])
        await session.close()
    }

    static func pumpIfPresent(_ fd: FileDescriptor?, to channel: UInt8, _ session: StreamSession) async {
        if let fd { await pump(fd, to: channel, session) }
    }

    /// Copies an fd to the session until EOF (a pty's master reads EIO once the last slave closes).
    static func pump(_ fd: FileDescriptor, to channel: UInt8, _ session: StreamSession) async {
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            await waitReadable(fd.raw)
            let n = buf.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { return }
            do {
                try await session.send(channel, Array(buf[0..<n]))
            } catch {
                return
            }
        }
    }

    struct TerminalSize: Decodable {
        var Width: UInt16
        var Height: UInt16
    }
}
