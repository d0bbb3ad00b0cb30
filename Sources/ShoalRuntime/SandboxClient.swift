import CShims
import CShimsWire
import Dispatch
import Logging
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// A process the sandbox knows about, as it reports it.
public struct SandboxProcess: Sendable, Equatable {
    public var id: String
    public var pid: Int32
    public var running: Bool
    /// The wait status (valid once `running` is false).
    public var status: Int32
    public var startNanos: Int64
    public var exitNanos: Int64

    /// Exit code as Kubernetes reports it: the code, or 128 + signal.
    public var exitCode: Int32 {
        if sh_wifexited(status) != 0 { return sh_wexitstatus(status) }
        return 128 + sh_wtermsig(status)
    }

    public var signal: Int32? { sh_wifsignaled(status) != 0 ? sh_wtermsig(status) : nil }
}

/// What a spawn asks the sandbox for.
public struct SpawnRequest: Sendable {
    public enum Output: Sendable {
        /// The sandbox writes a CRI log file (containers).
        case log(path: String, maxSize: UInt64, maxFiles: UInt32)
        /// The agent's own fds (exec sessions); nil means /dev/null.
        case fds(stdout: FileDescriptor?, stderr: FileDescriptor?)
    }

    public var id: String
    public var cloneFlags: Int64
    public var program: Program
    /// Fds the program's ops refer to by index (namespace fds, cgroup.procs files).
    public var programFDs: [FileDescriptor]
    public var pidNamespace: FileDescriptor?
    public var cgroupDirectory: FileDescriptor?
    public var stdin: FileDescriptor?
    public var output: Output
    public var controllingTerminal: Bool

    public init(id: String, cloneFlags: Int64, program: Program, programFDs: [FileDescriptor] = [], pidNamespace: FileDescriptor? = nil,
                cgroupDirectory: FileDescriptor? = nil, stdin: FileDescriptor? = nil, output: Output, controllingTerminal: Bool = false) {
        self.id = id
        self.cloneFlags = cloneFlags
        self.program = program
        self.programFDs = programFDs
        self.pidNamespace = pidNamespace
        self.cgroupDirectory = cgroupDirectory
        self.stdin = stdin
        self.output = output
        self.controllingTerminal = controllingTerminal
    }
}

/// A started process: its pid and a pidfd for signalling it without pid-reuse races.
public struct SpawnedProcess: Sendable {
    public var pid: Int32
    public var pidfd: FileDescriptor
    public var startNanos: Int64
}

public enum SandboxError: Error, CustomStringConvertible, Sendable {
    /// The sandbox refused or failed a request.
    case request(String, errno: Int32)
    /// The child failed a setup step before exec.
    case setup(step: String, errno: Int32)
    case disconnected
    case protocolViolation(String)

    public var description: String {
        switch self {
        case let .request(what, e): return "sandbox: \(what): \(SystemError.name(e)) (\(String(cString: strerror(e))))"
        case let .setup(step, e): return "\(step): \(SystemError.name(e)) (\(String(cString: strerror(e))))"
        case .disconnected: return "sandbox connection lost"
        case let .protocolViolation(what): return "sandbox protocol: \(what)"
        }
    }

    public var errno: Int32? {
        switch self {
        case let .request(_, e), let .setup(_, e): return e
        default: return nil
        }
    }
}

/// The agent's connection to one pod's sandbox process.
///
/// Requests are answered in order, so pending requests form a FIFO; `EXITED` events can
/// arrive at any time and go to `onExit`. All socket work happens on one serial queue.
public final class SandboxClient: @unchecked Sendable {
    enum Reply {
        case spawned(pid: Int32, start: Int64, pidfd: FileDescriptor?)
        case process(SandboxProcess, [FileDescriptor])
        case listEnd
        case ok
        case error(Int32, String)
    }

    private struct Pending {
        var collect: Bool  // LIST gathers PROC replies until LIST_END
        var items: [(SandboxProcess, [FileDescriptor])]
        var resume: (Result<[Reply], SandboxError>) -> Void
    }

    private let socket: FileDescriptor
    private let queue: DispatchQueue
    private var reader: Task<Void, Never>?
    private var pending: [Pending] = []
    private var closed = false
    private let exitHandler: Locked<(@Sendable (SandboxProcess) -> Void)?> = Locked(nil)
    private let disconnectHandler: Locked<(@Sendable () -> Void)?> = Locked(nil)

    public init(connectingTo path: String, label: String) throws(SystemError) {
        socket = try UnixSocket.connect(path: path, type: Int32(SOCK_SEQPACKET.rawValue))
        queue = DispatchQueue(label: "shoal.sandbox.\(label)")
        // Messages are read on the client's queue, as readiness comes; the reader holds the
        // client weakly so that dropping the client ends it (and closes the socket).
        let socket = socket, queue = queue
        reader = Task { [weak self] in
            while !Task.isCancelled {
                await waitReadable(socket.raw)
                guard let client = self else { return }
                let open = await withCheckedContinuation { c in queue.async { c.resume(returning: client.drain()) } }
                if !open { return }
            }
        }
    }

    deinit {
        // Nothing may capture self here; pending requests hold strong references, so there are none.
        reader?.cancel()
    }

    /// Called on the client's queue for every process exit the sandbox reports.
    public func onExit(_ handler: @escaping @Sendable (SandboxProcess) -> Void) { exitHandler.withLock { $0 = handler } }
    public func onDisconnect(_ handler: @escaping @Sendable () -> Void) { disconnectHandler.withLock { $0 = handler } }

    public func close() {
        queue.async { [self] in shutdownLocally() }
    }

    private func shutdownLocally() {
        guard !closed else { return }
        closed = true
        reader?.cancel()
        socket.close()
        let waiting = pending
        pending = []
        for p in waiting { p.resume(.failure(.disconnected)) }
        disconnectHandler.withLock { $0 }?()
    }

    // MARK: requests

    public func spawn(_ request: SpawnRequest) async throws(SandboxError) -> SpawnedProcess {
        let programBytes = request.program.encoded()
        let memfd: FileDescriptor
        let errPipe: (read: FileDescriptor, write: FileDescriptor)
        do {
            memfd = FileDescriptor(try shimCall("memfd_create") { sh_memfd_create("shoal-program") })
            try memfd.write(programBytes)
            errPipe = try makePipe()
        } catch {
            throw .request("prepare spawn: \(error)", errno: error.errno)
        }
        var fds: [FileDescriptor] = request.programFDs
        func index(_ fd: FileDescriptor?) -> Int32 {
            guard let fd else { return Int32(SH_NO_FD) }
            fds.append(fd)
            return Int32(fds.count - 1)
        }
        var req = sh_spawn_req()
        req.h.type = UInt32(SH_MSG_SPAWN.rawValue)
        req.h.size = UInt32(MemoryLayout<sh_spawn_req>.size)
        copyCString(request.id, into: &req.id)
        req.clone_flags = UInt64(request.cloneFlags)
        req.program_fd = index(memfd)
        req.errpipe_fd = index(errPipe.write)
        req.pidns_fd = index(request.pidNamespace)
        req.cgroup_fd = index(request.cgroupDirectory)
        req.stdin_fd = index(request.stdin)
        req.stdout_fd = Int32(SH_NO_FD)
        req.stderr_fd = Int32(SH_NO_FD)
        switch request.output {
        case let .log(path, maxSize, maxFiles):
            req.flags |= UInt32(SH_SPAWN_LOG)
            req.log_max_size = maxSize
            req.log_max_files = maxFiles
            copyCString(path, into: &req.log_path)
        case let .fds(out, err):
            req.stdout_fd = index(out)
            req.stderr_fd = index(err)
        }
        if request.controllingTerminal { req.flags |= UInt32(SH_SPAWN_CTTY) }
        let payload = withUnsafeBytes(of: &req) { Array($0) }

        let replies = try await send(payload, fds: fds, collect: false)
        // Our copy of the write end must close, or EOF never comes.
        errPipe.write.close()
        guard case let .spawned(pid, start, pidfd)? = replies.first, let pidfd else {
            if case let .error(e, msg)? = replies.first { throw .request(msg, errno: e) }
            throw .protocolViolation("unexpected reply to spawn")
        }
        // EOF: exec succeeded. A record: the child failed at that step and has exited.
        await waitReadable(errPipe.read.raw)
        var record = sh_setup_error()
        let n = withUnsafeMutableBytes(of: &record) { read(errPipe.read.raw, $0.baseAddress, $0.count) }
        errPipe.read.close()
        if n == MemoryLayout<sh_setup_error>.size {
            let step = Int(record.step)
            let name = step >= 0 && step < request.program.ops.count
                ? request.program.ops[step].summary : (step == Int(SH_STEP_PRELUDE) ? "prepare process" : "program ended without exec")
            throw .setup(step: name, errno: record.err)
        }
        return SpawnedProcess(pid: pid, pidfd: pidfd, startNanos: start)
    }

    /// A process the sandbox tracks, as `list()` reports it.
    public struct Listed: Sendable {
        public var process: SandboxProcess
        /// Set while it runs.
        public var pidfd: FileDescriptor?
        /// What the agent asked the sandbox to `hold` for it.
        public var held: FileDescriptor?
    }

    /// Every process the sandbox tracks: running ones with a pidfd, exited ones not yet forgotten.
    public func list() async throws(SandboxError) -> [Listed] {
        var h = sh_msg_header(type: UInt32(SH_MSG_LIST.rawValue), size: UInt32(MemoryLayout<sh_msg_header>.size))
        let payload = withUnsafeBytes(of: &h) { Array($0) }
        let replies = try await send(payload, fds: [], collect: true)
        var out: [Listed] = []
        for reply in replies {
            if case let .process(p, fds) = reply { out.append(Listed(process: p, pidfd: fds.first, held: fds.count > 1 ? fds[1] : nil)) }
            if case let .error(e, msg) = reply { throw .request(msg, errno: e) }
        }
        return out
    }

    /// Makes the sandbox keep `fd` open while the process runs (a container's terminal master),
    /// so an agent crash does not cost the container its terminal; `list()` hands it back.
    public func hold(_ id: String, _ fd: FileDescriptor) async throws(SandboxError) {
        var req = sh_id_req()
        req.h.type = UInt32(SH_MSG_HOLD.rawValue)
        req.h.size = UInt32(MemoryLayout<sh_id_req>.size)
        copyCString(id, into: &req.id)
        let payload = withUnsafeBytes(of: &req) { Array($0) }
        let replies = try await send(payload, fds: [fd], collect: false)
        if case let .error(e, msg)? = replies.first { throw .request("hold \(id): \(msg)", errno: e) }
    }

    /// Drops the sandbox's record of an exited process (after the agent persisted it).
    public func forget(_ id: String) async throws(SandboxError) {
        var req = sh_id_req()
        req.h.type = UInt32(SH_MSG_FORGET.rawValue)
        req.h.size = UInt32(MemoryLayout<sh_id_req>.size)
        copyCString(id, into: &req.id)
        let payload = withUnsafeBytes(of: &req) { Array($0) }
        let replies = try await send(payload, fds: [], collect: false)
        if case let .error(e, msg)? = replies.first, e != ENOENT { throw .request("forget \(id): \(msg)", errno: e) }
    }

    /// Kills every process of the pod, waits for them, and ends the sandbox.
    public func shutdown() async throws(SandboxError) {
        var h = sh_msg_header(type: UInt32(SH_MSG_SHUTDOWN.rawValue), size: UInt32(MemoryLayout<sh_msg_header>.size))
        let payload = withUnsafeBytes(of: &h) { Array($0) }
        _ = try await send(payload, fds: [], collect: false)
    }

    private func send(_ payload: [UInt8], fds: [FileDescriptor], collect: Bool) async throws(SandboxError) -> [Reply] {
        let result: Result<[Reply], SandboxError> = await withCheckedContinuation { cont in
            queue.async { [self] in
                guard !closed else { return cont.resume(returning: .failure(.disconnected)) }
                let raw = fds.map(\.raw)
                let r = payload.withUnsafeBytes { buf in sh_send_msg(socket.raw, buf.baseAddress, buf.count, raw, Int32(raw.count)) }
                if r < 0 { return cont.resume(returning: .failure(.request("send", errno: -r))) }
                pending.append(Pending(collect: collect, items: [], resume: { cont.resume(returning: $0) }))
            }
        }
        // Keep the fds alive until the sandbox has them (sendmsg duplicated them by then).
        withExtendedLifetime(fds) {}
        return try result.get()
    }

    // MARK: receiving (on queue)

    /// Handles every message queued on the socket; false once the connection is closed.
    private func drain() -> Bool {
        while !closed && sh_poll_readable_now(socket.raw) == 1 { readable() }
        return !closed
    }

    private func readable() {
        var buf = [UInt8](repeating: 0, count: Int(SH_MSG_MAX))
        var fds = [Int32](repeating: -1, count: Int(SH_MAX_FDS))
        var nfds: Int32 = 0
        let n = buf.withUnsafeMutableBytes { sh_recv_msg(socket.raw, $0.baseAddress, $0.count, &fds, &nfds) }
        if n == -Int(EAGAIN) || n == -Int(EINTR) { return }
        if n <= 0 {
            shutdownLocally()
            return
        }
        let owned = fds[0..<Int(nfds)].map { FileDescriptor($0) }
        guard n >= MemoryLayout<sh_msg_header>.size else { return }
        let type = buf.withUnsafeBytes { $0.load(as: sh_msg_header.self).type }
        switch type {
        case UInt32(SH_MSG_EXITED.rawValue):
            guard n == MemoryLayout<sh_proc>.size else { return }
            let p = SandboxClient.decodeProc(buf)
            exitHandler.withLock { $0 }?(p)
        case UInt32(SH_MSG_SPAWNED.rawValue):
            guard n == MemoryLayout<sh_spawned>.size else { return }
            let m = buf.withUnsafeBytes { $0.load(as: sh_spawned.self) }
            deliver(.spawned(pid: owned.first.flatMap { pidOfPidfd($0.raw) } ?? m.pid, start: m.start_ns, pidfd: owned.first))
        case UInt32(SH_MSG_PROC.rawValue):
            guard n == MemoryLayout<sh_proc>.size else { return }
            var p = SandboxClient.decodeProc(buf)
            if let fd = owned.first, let pid = pidOfPidfd(fd.raw) { p.pid = pid }
            deliver(.process(p, owned))
        case UInt32(SH_MSG_LIST_END.rawValue):
            deliver(.listEnd)
        case UInt32(SH_MSG_OK.rawValue):
            deliver(.ok)
        case UInt32(SH_MSG_ERROR.rawValue):
            guard n == MemoryLayout<sh_error>.size else { return }
            let e = buf.withUnsafeBytes { $0.load(as: sh_error.self) }
            var copy = e
            let message = withUnsafeBytes(of: &copy.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            deliver(.error(e.err, message))
        default:
            break
        }
    }

    private func deliver(_ reply: Reply) {
        guard !pending.isEmpty else { return }
        if pending[0].collect {
            switch reply {
            case let .process(p, fds):
                pending[0].items.append((p, fds))
                return
            case .listEnd:
                let done = pending.removeFirst()
                done.resume(.success(done.items.map { .process($0.0, $0.1) }))
            default:
                let done = pending.removeFirst()
                done.resume(.success([reply]))
            }
            return
        }
        let done = pending.removeFirst()
        done.resume(.success([reply]))
    }

    static func decodeProc(_ buf: [UInt8]) -> SandboxProcess {
        var m = buf.withUnsafeBytes { $0.load(as: sh_proc.self) }
        let id = withUnsafeBytes(of: &m.id) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return SandboxProcess(id: id, pid: m.pid, running: m.running != 0, status: m.status, startNanos: m.start_ns, exitNanos: m.exit_ns)
    }
}

/// Copies a string into a fixed-size C char array, truncating and NUL-terminating.
func copyCString<T>(_ s: String, into field: inout T) {
    withUnsafeMutableBytes(of: &field) { buf in
        let bytes = Array(s.utf8.prefix(buf.count - 1))
        for (i, b) in bytes.enumerated() { buf[i] = b }
        buf[bytes.count] = 0
    }
}
