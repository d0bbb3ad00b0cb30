import CShims
import Dispatch
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// Starts a pod's `shoal-sandbox` process in new namespaces.
public struct SandboxLauncher: Sendable {
    public struct Options: Sendable {
        public var hostname: String?
        /// CLONE_NEW* flags: net/ipc/uts normally; without net for hostNetwork; plus pid for
        /// shareProcessNamespace, where the sandbox is the pod's PID 1.
        public var cloneFlags: Int64
        public var socketPath: String
        public var logPath: String?
        public var cgroup: CgroupPlacement?

        public init(hostname: String?, cloneFlags: Int64, socketPath: String, logPath: String?, cgroup: CgroupPlacement?) {
            self.hostname = hostname
            self.cloneFlags = cloneFlags
            self.socketPath = socketPath
            self.logPath = logPath
            self.cgroup = cgroup
        }
    }

    public struct Started: Sendable {
        public var pid: Int32
        public var pidfd: FileDescriptor
    }

    public let executable: String

    public init(executable: String) { self.executable = executable }

    /// The sandbox binary installed beside the running `shoal` executable.
    public static func besideExecutable() -> SandboxLauncher {
        SandboxLauncher(executable: FileSystem.executableDirectory() + "/shoal-sandbox")
    }

    /// Spawning blocks for the ~1 ms until exec; one serial queue keeps the cooperative pool free
    /// and keeps a sibling child from inheriting another spawn's error pipe.
    static let spawnQueue = DispatchQueue(label: "shoal.spawn")

    public func start(_ options: Options) async throws -> Started {
        let listener = try UnixSocket.listen(path: options.socketPath, type: Int32(SOCK_SEQPACKET.rawValue), mode: 0o600)
        let log = try options.logPath.map { try FileDescriptor.open($0, O_WRONLY | O_CREAT | O_APPEND, mode: 0o640) }
        var args = [executable]
        if let hostname = options.hostname { args += ["--hostname", hostname] }
        if options.cloneFlags & CLONE_NEWNET != 0 { args.append("--loopback") }
        let argv = args
        let flags = options.cloneFlags
        let cgroup = options.cgroup
        let path = executable
        return try await withCheckedThrowingContinuation { cont in
            SandboxLauncher.spawnQueue.async {
                var cArgs = argv.map { strdup($0) }
                cArgs.append(nil)
                let env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
                defer {
                    for p in cArgs { free(p) }
                    for p in env { free(p) }
                }
                let procsFDs = (cgroup?.procsFiles ?? []).map(\.raw)
                var pid: pid_t = 0, pidfd: Int32 = -1, step: Int32 = 0
                let r: Int32 = path.withCString { cPath in
                    cArgs.withUnsafeBufferPointer { argvBuf in
                        env.withUnsafeBufferPointer { envBuf in
                            procsFDs.withUnsafeBufferPointer { procs in
                                var spec = sh_sandbox_spawn(
                                    path: cPath, argv: argvBuf.baseAddress, envp: envBuf.baseAddress,
                                    clone_flags: UInt64(flags), listen_fd: listener.raw, log_fd: log?.raw ?? -1,
                                    cgroup_procs_fds: procs.baseAddress, n_cgroup_procs_fds: Int32(procs.count),
                                    cgroup_dir_fd: cgroup?.directory?.raw ?? -1)
                                return sh_spawn_sandbox(&spec, &pid, &pidfd, &step)
                            }
                        }
                    }
                }
                listener.close()
                log?.close()
                if r < 0 {
                    let what = ["clone3", "reset signals", "enter cgroup", "set up fds", "execve \(path)"][Int(min(max(step, 0), 4))]
                    cont.resume(throwing: SystemError("start sandbox: \(what)", errno: -r))
                } else {
                    cont.resume(returning: Started(pid: pid, pidfd: FileDescriptor(pidfd)))
                }
            }
        }
    }

    /// Waits for a sandbox this agent started to exit and reaps it. Returns its wait result.
    public static func reap(_ started: Started) async -> (exitCode: Int32, signal: Int32) {
        while true {
            var code: Int32 = 0, sig: Int32 = 0
            let r = sh_pidfd_wait(started.pidfd.raw, &code, &sig)
            if r == 1 { return (code, sig) }
            if r < 0 { return (-1, 0) }  // ECHILD: not ours (adopted after an agent restart)
            await waitReadable(started.pidfd.raw)
        }
    }
}
