import CShims
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A helper program the agent runs on the node (`ip`, `nft`, a CNI plugin), with its stdin
/// given and its stdout and stderr collected.
///
/// Spawned with clone3 and a pidfd, so its exit is awaited on the agent's reactor and it cannot
/// be confused with another child. stdin, stdout and stderr are memfds rather than pipes: a
/// large input (an nft ruleset for a thousand services) or output never blocks either side.
public struct HostCommand: Sendable {
    public var path: String
    public var arguments: [String]
    public var environment: [String]
    /// The network namespace to run in (a path such as /run/netns/NAME); nil: the agent's own.
    public var networkNamespace: String?
    /// Killed (SIGKILL) after this long.
    public var timeout: Double

    public init(_ path: String, _ arguments: [String] = [], environment: [String] = [], networkNamespace: String? = nil,
                timeout: Double = 30) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
        self.networkNamespace = networkNamespace
        self.timeout = timeout
    }

    public struct Output: Sendable {
        public var exitCode: Int32
        /// The signal that ended it, or 0.
        public var signal: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var succeeded: Bool { exitCode == 0 && signal == 0 }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingWhitespace() }
    }

    /// Helpers are spawned one at a time, off Swift's pool: spawning blocks for the moment
    /// until exec.
    static let spawnQueue = DispatchQueue(label: "shoal.host-command")

    public func run(stdin: [UInt8] = []) async throws(SystemError) -> Output {
        let input = try HostCommand.memfd("stdin", stdin)
        defer { input.close() }
        let out = try HostCommand.memfd("stdout", [])
        defer { out.close() }
        let err = try HostCommand.memfd("stderr", [])
        defer { err.close() }
        let netns = try networkNamespace.map { path throws(SystemError) in try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) }
        defer { netns?.close() }
        let pidfd = try await spawn(stdio: [input.raw, out.raw, err.raw], netns: netns?.raw ?? -1)
        defer { pidfd.close() }
        let (code, signal) = await wait(pidfd)
        return Output(exitCode: code, signal: signal, stdout: try HostCommand.contents(out), stderr: try HostCommand.contents(err))
    }

    /// Runs it and throws unless it exited 0, with its stderr in the error.
    @discardableResult
    public func check(stdin: [UInt8] = []) async throws(SystemError) -> Output {
        let o = try await run(stdin: stdin)
        guard o.succeeded else {
            let how = o.signal != 0 ? "killed by signal \(o.signal)" : "exit status \(o.exitCode)"
            throw SystemError("\(([path] + arguments).joined(separator: " ")): \(how): \(o.stderrText)", errno: 0)
        }
        return o
    }

    /// Starts it as a daemon in a session of its own, stdout and stderr appended to `logPath`,
    /// and returns its pid without waiting: it outlives this process (a lab's master and nodes).
    /// With `hostname`, it gets a UTS namespace of its own named so.
    public func startDetached(logPath: String, hostname: String? = nil) async throws(SystemError) -> Int32 {
        let input = try FileDescriptor.open("/dev/null", O_RDONLY)
        defer { input.close() }
        let log = try FileDescriptor.open(logPath, O_WRONLY | O_CREAT | O_APPEND, mode: 0o600)
        defer { log.close() }
        let netns = try networkNamespace.map { path throws(SystemError) in try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC) }
        defer { netns?.close() }
        let pidfd = try await spawn(stdio: [input.raw, log.raw, log.raw], netns: netns?.raw ?? -1, hostname: hostname, newSession: true)
        defer { pidfd.close() }
        guard let pid = pidOfPidfd(pidfd.raw) else { throw SystemError("pidfd pid", errno: ESRCH, path: path) }
        return pid
    }

    private func spawn(stdio: [Int32], netns: Int32, hostname: String? = nil, newSession: Bool = false) async throws(SystemError) -> FileDescriptor {
        let argv = [path] + arguments
        let env = environment.isEmpty ? ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] : environment
        let path = self.path
        let result: Result<FileDescriptor, SystemError> = await withCheckedContinuation { cont in
            HostCommand.spawnQueue.async {
                var cArgs = argv.map { strdup($0) } + [nil]
                var cEnv = env.map { strdup($0) } + [nil]
                defer {
                    for p in cArgs { free(p) }
                    for p in cEnv { free(p) }
                }
                var pid: pid_t = 0, pidfd: Int32 = -1, step: Int32 = 0
                let r: Int32 = cArgs.withUnsafeMutableBufferPointer { a in
                    cEnv.withUnsafeMutableBufferPointer { e in
                        path.withCString { p in
                            let name = hostname.map { strdup($0) } ?? nil
                            defer { free(name) }
                            var spec = sh_command_spawn(path: p, argv: a.baseAddress, envp: e.baseAddress,
                                                        stdio: (stdio[0], stdio[1], stdio[2]), netns_fd: netns,
                                                        hostname: UnsafePointer(name), new_session: newSession ? 1 : 0)
                            return sh_spawn_command(&spec, &pid, &pidfd, &step)
                        }
                    }
                }
                if r < 0 {
                    let what = ["clone3", "reset signals", "enter the network namespace", "set up fds", "execve", "set the host name", "setsid"][Int(min(max(step, 0), 6))]
                    cont.resume(returning: .failure(SystemError("run \(path): \(what)", errno: -r, path: path)))
                } else {
                    cont.resume(returning: .success(FileDescriptor(pidfd)))
                }
            }
        }
        return try result.get()
    }

    /// Waits for the exit; past the timeout, kills and waits for that.
    private func wait(_ pidfd: FileDescriptor) async -> (Int32, Int32) {
        let deadline = HostCommand.now() + timeout
        while true {
            var code: Int32 = 0, sig: Int32 = 0
            let r = sh_pidfd_wait(pidfd.raw, &code, &sig)
            if r == 1 { return (code, sig) }
            if r < 0 { return (-1, 0) }
            let remaining = deadline - HostCommand.now()
            if remaining <= 0 {
                _ = sh_pidfd_send_signal(pidfd.raw, SIGKILL)
                await waitReadable(pidfd.raw)
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await waitReadable(pidfd.raw) }
                group.addTask { try? await Task.sleep(nanoseconds: UInt64(remaining * 1e9)) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    static func now() -> Double { Double(monotonicNanos()) / 1e9 }

    static func memfd(_ name: String, _ bytes: [UInt8]) throws(SystemError) -> FileDescriptor {
        let fd = try shimCall("memfd_create") { sh_memfd_create("shoal-" + name) }
        let f = FileDescriptor(fd)
        if !bytes.isEmpty {
            try f.write(bytes)
            _ = lseek(fd, 0, SEEK_SET)
        }
        return f
    }

    static func contents(_ f: FileDescriptor) throws(SystemError) -> [UInt8] {
        _ = lseek(f.raw, 0, SEEK_SET)
        return try f.readAll()
    }
}
