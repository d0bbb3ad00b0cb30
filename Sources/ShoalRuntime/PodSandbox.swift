import CShims
import Logging
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// What a pod sandbox is made of, in runtime terms (no Kubernetes types here).
public struct PodSandboxConfig: Sendable, Equatable {
    public var uid: String
    public var hostname: String
    public var hostNetwork: Bool
    /// The sandbox becomes PID 1 of a pod-wide PID namespace that every container joins.
    public var shareProcessNamespace: Bool
    /// `DATA/pods/<uid>`: the socket, the pod's files and volumes live here.
    public var directory: String
    /// Limits of the pod cgroup (the kubelet sets the sum of the containers' limits).
    public var resources: CgroupResources
    /// Size of the pod's shared /dev/shm tmpfs.
    public var shmSize: Int64

    public init(uid: String, hostname: String, hostNetwork: Bool, shareProcessNamespace: Bool, directory: String,
                resources: CgroupResources = CgroupResources(), shmSize: Int64 = 64 << 20) {
        self.uid = uid
        self.hostname = hostname
        self.hostNetwork = hostNetwork
        self.shareProcessNamespace = shareProcessNamespace
        self.directory = directory
        self.resources = resources
        self.shmSize = shmSize
    }

    public var socketPath: String { directory + "/sandbox.sock" }
    public var shmPath: String { directory + "/shm" }
    public var cgroupPath: String { "pod-\(uid)" }
    public func cgroupPath(container: String) -> String { "\(cgroupPath)/ctr-\(container)" }

    /// Host namespaces are kept for hostNetwork pods, as the kubelet does (the UTS namespace too).
    public var cloneFlags: Int64 {
        var flags = LinuxFlags.newIPC
        if !hostNetwork { flags |= LinuxFlags.newNet | LinuxFlags.newUTS }
        if shareProcessNamespace { flags |= LinuxFlags.newPID }
        return flags
    }
}

public enum PodSandboxError: Error, CustomStringConvertible, Sendable {
    case create(String)
    case notRunning(String)

    public var description: String {
        switch self {
        case let .create(m): return "create pod sandbox: \(m)"
        case let .notRunning(m): return "pod sandbox is not running: \(m)"
        }
    }
}

/// A running pod sandbox: the `shoal-sandbox` process, its connection, and the host resources
/// (pod cgroup, /dev/shm) that live exactly as long as it.
public final class PodSandbox: @unchecked Sendable {
    public let config: PodSandboxConfig
    public let client: SandboxClient
    public let pid: Int32
    /// Set when this agent started the sandbox (and so must reap it); nil after adoption.
    let started: SandboxLauncher.Started?
    let cgroups: CgroupDriver
    let logger: Logger

    init(config: PodSandboxConfig, client: SandboxClient, pid: Int32, started: SandboxLauncher.Started?, cgroups: CgroupDriver, logger: Logger) {
        self.config = config
        self.client = client
        self.pid = pid
        self.started = started
        self.cgroups = cgroups
        self.logger = logger
    }

    /// Creates the pod's sandbox. On failure nothing stays on the host.
    public static func create(_ config: PodSandboxConfig, cgroups: CgroupDriver, launcher: SandboxLauncher, logger: Logger) async throws -> PodSandbox {
        var undo: [() -> Void] = []
        func rollback() { for step in undo.reversed() { step() } }
        do {
            try FileSystem.createDirectory(config.directory, mode: 0o700)
            try FileSystem.createDirectory(config.shmPath, mode: 0o1777)
            try HostMounts.mountTmpfs(at: config.shmPath, options: "mode=1777,size=\(config.shmSize)")
            undo.append { try? HostMounts.unmount(config.shmPath) }

            let sandboxCgroup = config.cgroupPath + "/sandbox"
            try cgroups.create(sandboxCgroup)
            undo.append { try? cgroups.remove(sandboxCgroup) }
            try cgroups.apply(config.cgroupPath, config.resources)
            let placement = try cgroups.placement(sandboxCgroup)

            let started = try await launcher.start(.init(
                hostname: config.hostNetwork ? nil : config.hostname, cloneFlags: config.cloneFlags,
                socketPath: config.socketPath, logPath: config.directory + "/sandbox.log", cgroup: placement))
            undo.append {
                _ = sh_pidfd_send_signal(started.pidfd.raw, SIGKILL)
                var code: Int32 = 0, sig: Int32 = 0
                // It was just killed; the wait is short.
                while sh_pidfd_wait(started.pidfd.raw, &code, &sig) == 0 { usleep(1000) }
            }
            let client = try SandboxClient(connectingTo: config.socketPath, label: config.uid)
            return PodSandbox(config: config, client: client, pid: started.pid, started: started, cgroups: cgroups, logger: logger)
        } catch {
            rollback()
            throw error
        }
    }

    /// Reconnects to the sandbox of a pod this agent (or a previous run of it) created.
    public static func adopt(_ config: PodSandboxConfig, cgroups: CgroupDriver, logger: Logger) throws -> PodSandbox {
        let client: SandboxClient
        do {
            client = try SandboxClient(connectingTo: config.socketPath, label: config.uid)
        } catch {
            throw PodSandboxError.notRunning("\(config.socketPath): \(error)")
        }
        let pid = cgroups.processes(config.cgroupPath + "/sandbox").first ?? 0
        return PodSandbox(config: config, client: client, pid: pid, started: nil, cgroups: cgroups, logger: logger)
    }

    /// Starts one container process. Its cgroup is (re)created for this instance, so the OOM
    /// counter starts at zero.
    public func startContainer(name: String, instanceID: String, launch: ContainerLaunch, resources: CgroupResources,
                               log: SpawnRequest.Output, joinPIDNamespaceOf target: FileDescriptor? = nil) async throws -> SpawnedProcess {
        try await startContainer(name: name, instanceID: instanceID, launch: launch, resources: resources,
                                 stdio: .log(log, stdin: nil), joinPIDNamespaceOf: target).0
    }

    /// Starts a process inside a running container (its mount and PID namespaces and cgroup).
    public func exec(instanceID: String, container: String, target: FileDescriptor, argv: [String], env: [String], workingDir: String,
                     identity: ContainerLaunch.Identity, security: ContainerLaunch.Security, tty: Bool,
                     stdin: FileDescriptor?, stdout: FileDescriptor?, stderr: FileDescriptor?) async throws -> SpawnedProcess {
        let placement = try cgroups.placement(config.cgroupPath(container: container))
        var fds = placement.procsFiles
        fds.append(target)
        let program = ContainerProgramBuilder.buildExec(
            argv: argv, env: env, workingDir: workingDir, identity: identity, security: security, tty: tty,
            cgroupProcsFiles: placement.procsFiles.count, mountNamespaceFD: fds.count - 1)
        let request = SpawnRequest(
            id: instanceID, cloneFlags: 0, program: program, programFDs: fds, pidNamespace: target,
            cgroupDirectory: placement.directory, stdin: stdin, output: .fds(stdout: stdout, stderr: stderr), controllingTerminal: tty)
        return try await client.spawn(request)
    }

    /// How many times the OOM killer struck this container's current instance.
    public func oomKills(container: String) -> Int { cgroups.oomKills(config.cgroupPath(container: container)) }

    /// Removes an exited container's cgroup (its processes are gone once its PID 1 died).
    public func removeContainerCgroup(_ name: String) {
        do {
            try cgroups.remove(config.cgroupPath(container: name))
        } catch {
            logger.warning("remove container cgroup", metadata: ["container": "\(name)", "error": "\(error)"])
        }
    }

    /// Kills what is left, ends the sandbox and removes every host resource of the pod except
    /// its directory (the caller decides about volumes and logs).
    public func destroy() async {
        do {
            try await client.shutdown()
        } catch {
            // Already gone (crashed or killed): nothing to ask it.
            logger.debug("sandbox shutdown", metadata: ["pod": "\(config.uid)", "error": "\(error)"])
        }
        client.close()
        if let started {
            _ = await SandboxLauncher.reap(started)
        } else if pid > 0, let fd = try? shimCall("pidfd_open", { sh_pidfd_open(pid) }) {
            // Adopted: not our child. Wait for it to be gone so the cgroup can be removed.
            let pidfd = FileDescriptor(fd)
            _ = sh_pidfd_send_signal(pidfd.raw, SIGKILL)
            await waitReadable(pidfd.raw)
        }
        removeCgroupTree(config.cgroupPath)
        do {
            try HostMounts.unmount(config.shmPath)
        } catch {
            logger.warning("unmount pod shm", metadata: ["path": "\(config.shmPath)", "error": "\(error)"])
        }
    }

    func removeCgroupTree(_ path: String) {
        // Children first: container cgroups, the sandbox's, then the pod's.
        var children: Set<String> = []
        for dir in cgroups.directories(path) {
            for name in (try? FileSystem.listDirectory(dir)) ?? [] where FileSystem.isDirectory(dir + "/" + name) {
                children.insert(name)
            }
        }
        for child in children.sorted() {
            do {
                try cgroups.remove(path + "/" + child)
            } catch {
                logger.warning("remove cgroup", metadata: ["path": "\(path)/\(child)", "error": "\(error)"])
            }
        }
        try? cgroups.remove(path)
    }

    public func signal(_ process: FileDescriptor, _ sig: Int32) -> Bool {
        sh_pidfd_send_signal(process.raw, sig) == 0
    }
}
