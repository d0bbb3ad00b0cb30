import CShims
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// A process started by `exec`: its stdio on the agent's side and a way to learn its exit.
struct ExecProcess: Sendable {
    let id: String
    let pidfd: FileDescriptor
    /// Write end of the process' stdin (the pty master when tty), nil without stdin.
    let stdin: FileDescriptor?
    let stdout: FileDescriptor
    /// nil with a tty (stderr goes to the terminal).
    let stderr: FileDescriptor?
    let terminal: FileDescriptor?
    let exit: ExecExit
}

/// The exit of an exec process, delivered once by the sandbox's EXITED event.
final class ExecExit: @unchecked Sendable {
    private let lock = Lock()
    private var result: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    func resolve(_ code: Int32) {
        let pending: [CheckedContinuation<Int32, Never>] = lock.withLock {
            guard result == nil else { return [] }
            result = code
            defer { waiters = [] }
            return waiters
        }
        for w in pending { w.resume(returning: code) }
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            let done: Int32? = lock.withLock {
                if let result { return result }
                waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }
}

/// Errors of the node API, shaped as Kubernetes answers them.
struct NodeAPIError: Error, CustomStringConvertible {
    var code: Int
    var reason: String
    var message: String
    var description: String { message }

    static func notFound(_ message: String) -> NodeAPIError { .init(code: 404, reason: "NotFound", message: message) }
    static func badRequest(_ message: String) -> NodeAPIError { .init(code: 400, reason: "BadRequest", message: message) }
    static func internalError(_ message: String) -> NodeAPIError { .init(code: 500, reason: "InternalError", message: message) }
}

extension PodWorker {
    /// The container a request means: the named one, or the first (kubectl's default).
    func resolveContainer(_ name: String?) throws -> Container {
        let podName = pod.metadata.name ?? ""
        guard let name, !name.isEmpty else {
            guard let first = pod.spec.containers.first else { throw NodeAPIError.badRequest("pod \(podName) has no containers") }
            return first
        }
        guard let c = pod.allContainers.first(where: { $0.name == name }) else {
            throw NodeAPIError.badRequest("container \(name) is not valid for pod \(podName)")
        }
        return c
    }

    /// The CRI log file of the current (or previous) instance of a container.
    func logPath(container name: String?, previous: Bool) throws -> (path: String, running: Bool) {
        let c = try resolveContainer(name)
        guard let r = record.containers.first(where: { $0.name == c.name }) else {
            throw NodeAPIError.badRequest("container \(c.name) is not valid for pod \(pod.metadata.name ?? "")")
        }
        let dir = ctx.config.podLogDir(pod) + "/" + c.name
        let podName = pod.metadata.name ?? ""
        if previous {
            // The previous instance wrote to the file of the restart count it had.
            guard r.restartCount > 0, FileSystem.exists("\(dir)/\(r.restartCount - 1).log") else {
                throw NodeAPIError.badRequest("previous terminated container \"\(c.name)\" in pod \"\(podName)\" not found")
            }
            return ("\(dir)/\(r.restartCount - 1).log", false)
        }
        let path = "\(dir)/\(r.restartCount).log"
        guard FileSystem.exists(path) else {
            let reason = r.state.waiting?.reason ?? "ContainerCreating"
            throw NodeAPIError.badRequest("container \"\(c.name)\" in pod \"\(podName)\" is waiting to start: \(reason)")
        }
        return (path, r.isRunning)
    }

    /// Fires when the running instance of `container` has exited (the sandbox has then logged
    /// all of its output); nil when it is not running.
    func exitWaiter(container: String) -> ExitWaiter? {
        guard let r = record.containers.first(where: { $0.name == container }), r.isRunning, let id = r.instanceID else { return nil }
        let waiter = ExitWaiter()
        exitWaiters[id, default: []].append(waiter)
        return waiter
    }

    func isRunning(_ container: String) -> Bool {
        record.containers.first { $0.name == container }?.isRunning ?? false
    }

    /// Starts `command` inside a running container, as `kubectl exec` does.
    func exec(container name: String?, command: [String], stdin wantStdin: Bool, tty: Bool,
              terminalSize: (width: UInt16, height: UInt16)? = nil) async throws -> ExecProcess {
        let c = try resolveContainer(name)
        guard !command.isEmpty else { throw NodeAPIError.badRequest("you must specify at least one command for the container") }
        guard let sandbox, let r = record.containers.first(where: { $0.name == c.name }), r.isRunning,
              let id = r.instanceID, let target = pidfds[id] else {
            throw NodeAPIError.badRequest("container \(c.name) is not running in pod \(pod.metadata.name ?? "")")
        }
        let launch = try launchFor(c)
        execCounter += 1
        let execID = "exec.\(execCounter).\(realtimeNanos())"
        var stdinRead: FileDescriptor?, stdinWrite: FileDescriptor?
        var outRead: FileDescriptor, outWrite: FileDescriptor
        var errRead: FileDescriptor?, errWrite: FileDescriptor?
        var terminal: FileDescriptor?
        if tty {
            var master: Int32 = -1, slave: Int32 = -1
            let ptmx = "/proc/\(r.pid ?? 0)/root/dev/pts/ptmx"
            try shimCall("openpty", path: ptmx) { sh_openpty(ptmx, &master, &slave) }
            let m = FileDescriptor(master), s = FileDescriptor(slave)
            if let terminalSize { _ = sh_set_winsize(master, terminalSize.height, terminalSize.width) }
            terminal = m
            outRead = m
            outWrite = s
            stdinRead = s
            stdinWrite = wantStdin ? m : nil
        } else {
            let out = try makePipe()
            (outRead, outWrite) = (out.read, out.write)
            let err = try makePipe()
            (errRead, errWrite) = (err.read, err.write)
            if wantStdin {
                let i = try makePipe()
                (stdinRead, stdinWrite) = (i.read, i.write)
            }
        }
        let exit = ExecExit()
        execExits[execID] = exit
        let process: SpawnedProcess
        do {
            process = try await sandbox.exec(
                instanceID: execID, container: c.name, target: target, argv: command, env: launch.env, workingDir: launch.workingDir,
                identity: launch.identity, security: launch.security, tty: tty, stdin: stdinRead, stdout: outWrite,
                stderr: tty ? outWrite : errWrite)
        } catch {
            execExits[execID] = nil
            throw NodeAPIError.internalError("failed to exec in container: \(error)")
        }
        // The child has its copies; ours must close so EOF arrives when it exits.
        outWrite.close()
        errWrite?.close()
        stdinRead?.close()
        return ExecProcess(id: execID, pidfd: process.pidfd, stdin: stdinWrite, stdout: outRead, stderr: errRead, terminal: terminal, exit: exit)
    }

    /// The launch a running container was started with; rebuilt after an agent restart.
    func launchFor(_ c: Container) throws -> ContainerLaunch {
        if let l = launches[c.name] { return l }
        guard let volumes, let sandbox else { throw NodeAPIError.badRequest("pod is not running") }
        let image = try ctx.images.resolve(c.image ?? "")
        let context = podContext(sandbox: sandbox, volumes: volumes)
        let l = try ctx.configurator.launch(container: c, fieldPath: fieldPath(c.name), image: image, context: context,
                                            rootfs: ("", "", ""), terminationLog: nil)
        launches[c.name] = l
        return l
    }

    func finishExec(_ id: String) { execExits[id] = nil }
}

extension PodWorker {
    /// Rewrites the pod's configMap and secret volumes whose contents changed (AtomicWriter's
    /// swap); a volume whose object went, or that fails, keeps what it had, as the kubelet does.
    /// Labels and annotations may change on a running pod (the kubelet takes them from each
    /// update): the worker keeps the new ones, and downwardAPI files that show them follow.
    func updateMetadata(labels: [String: String]?, annotations: [String: String]?) {
        guard !terminating, record.pod.metadata.labels != labels || record.pod.metadata.annotations != annotations else { return }
        record.pod.metadata.labels = labels
        record.pod.metadata.annotations = annotations
        persist()
        refreshConfigVolumes()
    }

    func refreshConfigVolumes() {
        guard !terminating else { return }
        // A pod waiting for a missing object (its volume or an env key) tries again now.
        defer { requestSync() }
        guard volumes != nil else { return }
        let config = ctx.configs.objects(namespace: pod.metadata.namespace ?? "default")
        for v in pod.spec.volumes ?? [] where v.configMap != nil || v.secret != nil || v.projected != nil || v.downwardAPI != nil {
            do {
                guard let files = try ConfigVolumes.files(v, config, pod: pod) else { continue }
                if try ConfigVolumes.write(files, into: PodVolumes.directory(podDir, v.name), secret: v.configMap == nil) {
                    logger.debug("config volume updated", metadata: ["volume": "\(v.name)"])
                }
            } catch {
                logger.warning("config volume update failed", metadata: ["volume": "\(v.name)", "error": "\(error)"])
            }
        }
    }
}
