import CShims
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Ephemeral containers (`kubectl debug`): added to a running pod, never restarted, and never a
/// reason to restart anything (`handleEnd`, `shouldRestart` and `restartTogether` pass them
/// over). Each joins the pod's network, IPC and UTS namespaces like any container of the pod,
/// mounts the pod's volumes it names, and with `targetContainerName` the PID namespace of that
/// container. They are part of the pod's spec in the worker's record (`status.json`), so a
/// re-adopting agent knows them.
extension PodWorker {
    /// How the containers of a request relate to those already in the pod.
    enum EphemeralUpdate {
        /// Each container is new (Shoal's CLI): a name in use is a duplicate.
        case add
        /// kubectl's subresource: the request lists ephemeral containers by name; those already
        /// there must be unchanged, the others are added (a strategic-merge PATCH).
        case merge
        /// PUT: the whole list; none of those already there may be missing or changed.
        case replace
    }

    /// Validates and starts `requested` in the running pod. Nothing changes, in the pod or on
    /// the host, when the request is refused. Returns the pod with its new status.
    func addEphemeralContainers(_ requested: [EphemeralContainer], update: EphemeralUpdate,
                                terminalSize: (width: UInt16, height: UInt16)? = nil) async throws -> Pod {
        let podName = pod.metadata.name ?? ""
        if terminating || finished {
            throw NodeAPIError.badRequest("pod \"\(podName)\" is terminating: ephemeral containers can only be added to a running pod")
        }
        let phase = buildStatus().phase ?? .pending
        guard phase == .running, sandbox != nil, volumes != nil else {
            throw NodeAPIError.badRequest("pod \"\(podName)\" is not running (phase \(phase.rawValue)): ephemeral containers can only be added to a running pod")
        }

        // Kubernetes' defaults first, as the API server applies them before validating.
        var defaulting = pod
        defaulting.spec.ephemeralContainers = requested
        PodDefaults.apply(to: &defaulting)
        let wanted = defaulting.spec.ephemeralContainers ?? []

        let existing = pod.spec.ephemeralContainers ?? []
        let listPath = FieldPath("spec", "ephemeralContainers")
        var errors: [String] = []
        var causes: [StatusCause] = []
        func refuse(_ e: FieldError) {
            errors.append(e.description)
            causes.append(StatusCause(reason: e.type.rawValue, message: e.body, field: e.field))
        }
        var added: [EphemeralContainer] = []
        switch update {
        case .add:
            added = wanted
        case .merge, .replace:
            for e in wanted {
                if let old = existing.first(where: { $0.container.name == e.container.name }) {
                    if old != e { refuse(.forbidden(listPath, "existing ephemeral containers \"\(e.container.name)\" may not be changed")) }
                } else {
                    added.append(e)
                }
            }
            if update == .replace {
                for old in existing where !wanted.contains(where: { $0.container.name == old.container.name }) {
                    refuse(.forbidden(listPath, "existing ephemeral containers \"\(old.container.name)\" may not be removed"))
                }
            }
        }
        var candidate = pod
        candidate.spec.ephemeralContainers = existing + added
        // The pod passed validation when it was created: what fails now is the new containers.
        for e in PodValidation.validate(candidate) where e.field.hasPrefix("spec.ephemeralContainers") { refuse(e) }
        for (offset, e) in added.enumerated() {
            let path = listPath.index(existing.count + offset)
            let image = e.container.image ?? ""
            if !image.isEmpty && !ctx.images.contains(image) {
                errors.append("\(path.child("image")): Not found: \"\(image)\" (not in the image store; import it with `shoal image import`)")
                causes.append(StatusCause(reason: FieldError.ErrorType.notFound.rawValue, message: "Not found: \"\(image)\"", field: path.child("image").description))
            }
            if let target = e.targetContainerName, !target.isEmpty, pod.allContainers.contains(where: { $0.name == target }),
               !isRunning(target) {
                refuse(.invalid(path.child("targetContainerName"), .string(target), "the target container is not running"))
            }
        }
        if !errors.isEmpty {
            let message = errors.count == 1 ? errors[0] : "[" + errors.joined(separator: ", ") + "]"
            throw EphemeralError.invalid(pod: podName, message: message, causes: causes)
        }
        if added.isEmpty { return podWithFreshStatus() }

        // Everything that can fail on the configuration fails here, before the pod changes.
        var prepared: [(EphemeralContainer, ContainerLaunch, ImageInfo, String)] = []
        for e in added {
            do {
                prepared.append(try prepareEphemeral(e))
            } catch {
                for (_, _, _, dir) in prepared { try? FileSystem.removeTree(dir) }
                throw error
            }
        }

        record.pod.spec.ephemeralContainers = existing + added
        for e in added {
            record.containers.append(ContainerRecord(name: e.container.name, kind: .ephemeral, image: e.container.image ?? ""))
        }
        persist()
        for (e, launch, image, dir) in prepared {
            await startEphemeral(e, launch: launch, image: image, instanceDir: dir, terminalSize: terminalSize)
        }
        requestSync()
        return podWithFreshStatus()
    }

    /// The stdio of a container started with `stdin` or `tty` (kubelet's attach targets): a
    /// terminal whose master the agent keeps and writes the log from, or a stdin pipe beside
    /// the usual log. Other containers get the log and /dev/null.
    struct PreparedStdio {
        var stdio: ContainerStdio
        var stdinPipe: (read: FileDescriptor, write: FileDescriptor)?
        var terminalLog: TerminalLog?
        var wantsStdin: Bool
    }

    func prepareStdio(_ c: Container, logPath: String, terminalSize: (width: UInt16, height: UInt16)?) -> PreparedStdio {
        let wantsStdin = c.stdin ?? false
        if c.tty ?? false {
            // The agent writes this container's log from the terminal; the file exists from now on.
            return PreparedStdio(stdio: .terminal(rows: terminalSize?.height ?? 0, cols: terminalSize?.width ?? 0),
                                 terminalLog: TerminalLog(path: logPath), wantsStdin: wantsStdin)
        }
        let pipe = wantsStdin ? try? makePipe() : nil
        return PreparedStdio(stdio: .log(.log(path: logPath, maxSize: ctx.config.containerLogMaxSize, maxFiles: ctx.config.containerLogMaxFiles),
                                         stdin: pipe?.read),
                             stdinPipe: pipe, wantsStdin: wantsStdin)
    }

    /// After the spawn: the agent keeps the terminal or the stdin pipe for attach.
    func keepStdio(_ io: PreparedStdio, name: String, instanceID: String, master: FileDescriptor?) async {
        io.stdinPipe?.read.close()
        if let master, let log = io.terminalLog {
            let terminal = ContainerTerminal(master: master, stdin: io.wantsStdin)
            terminals[name] = terminal
            terminal.startRelay(log: log)
        } else if let pipe = io.stdinPipe {
            terminals[name] = ContainerTerminal(stdinPipe: pipe.write)
        }
        // The sandbox keeps a copy of the terminal, so the container keeps it through an agent
        // crash (no SIGHUP); the next agent gets it back when it re-adopts the pod. A stdin
        // pipe is not held: its EOF is how a client ends the container's input.
        if let kept = master, let sandbox {
            do { try await sandbox.client.hold(instanceID, kept) } catch {
                logger.warning("sandbox cannot hold the container's terminal", metadata: ["container": "\(name)", "error": "\(error)"])
            }
        }
    }

    func discardStdio(_ io: PreparedStdio) {
        io.stdinPipe?.read.close()
        io.stdinPipe?.write.close()
        io.terminalLog?.close()
    }

    func podWithFreshStatus() -> Pod {
        var p = currentPod()
        p.status = buildStatus()
        return p
    }

    /// The image and the launch of a new ephemeral container, its instance directory made.
    private func prepareEphemeral(_ e: EphemeralContainer) throws -> (EphemeralContainer, ContainerLaunch, ImageInfo, String) {
        guard let sandbox, let volumes else { throw NodeAPIError.badRequest("pod \"\(pod.metadata.name ?? "")\" is not running") }
        let c = e.container
        let image: ImageInfo
        do {
            image = try ctx.images.resolve(c.image ?? "")
        } catch {
            throw NodeAPIError.badRequest("image \"\(c.image ?? "")\": \(error)")
        }
        let instanceDir = "\(podDir)/containers/\(c.name).1"
        do {
            try? FileSystem.removeTree(instanceDir)
            let launch = try prepareInstance(c, fieldPath: "spec.ephemeralContainers{\(c.name)}", image: image, instanceDir: instanceDir,
                                             sandbox: sandbox, volumes: volumes)
            return (e, launch, image, instanceDir)
        } catch let error as ContainerConfigError {
            try? FileSystem.removeTree(instanceDir)
            throw NodeAPIError(code: 422, reason: "Invalid", message: "\(error.reason): \(error.message)")
        } catch {
            try? FileSystem.removeTree(instanceDir)
            throw NodeAPIError.internalError("prepare ephemeral container \(c.name): \(error)")
        }
    }

    /// Starts one ephemeral container, once. A failure shows in its status (StartError or
    /// CreateContainerError) and is final: ephemeral containers are not retried or restarted.
    private func startEphemeral(_ e: EphemeralContainer, launch: ContainerLaunch, image: ImageInfo, instanceDir: String,
                                terminalSize: (width: UInt16, height: UInt16)?) async {
        let c = e.container
        let name = c.name
        let fieldPath = "spec.ephemeralContainers{\(name)}"
        guard let i = index(of: name), let sandbox, !terminating else { return }
        ctx.events.record(pod, reason: "Pulled", message: "Container image \"\(c.image ?? "")\" already present on machine", fieldPath: fieldPath)
        record.containers[i].imageID = image.id
        let attempt = record.containers[i].attempt + 1
        let instanceID = ContainerRecord.instanceID(name, attempt)
        let logDir = ctx.config.podLogDir(pod) + "/" + name
        let logPath = "\(logDir)/\(record.containers[i].restartCount).log"
        try? FileSystem.createDirectory(logDir, mode: 0o755)
        record.containers[i].attempt = attempt
        record.containers[i].instanceID = instanceID
        persist()

        var target: FileDescriptor?
        if let t = e.targetContainerName, !t.isEmpty, let r = record.containers.first(where: { $0.name == t }), r.isRunning, let id = r.instanceID {
            target = pidfds[id]
        }
        let io = prepareStdio(c, logPath: logPath, terminalSize: terminalSize)
        spawning.insert(instanceID)
        defer {
            spawning.remove(instanceID)
            if earlyExits.removeValue(forKey: instanceID) != nil { Task { try? await sandbox.client.forget(instanceID) } }
        }
        do {
            let (process, master) = try await sandbox.startContainer(
                name: name, instanceID: instanceID, launch: launch, resources: PodResources.container(c), stdio: io.stdio,
                joinPIDNamespaceOf: target)
            pidfds[instanceID] = process.pidfd
            launches[name] = launch
            await keepStdio(io, name: name, instanceID: instanceID, master: master)
            var r = record.containers[i]
            r.pid = process.pid
            r.state = ContainerState(running: ContainerStateRunning(startedAt: Time(epochSeconds: Double(process.startNanos) / 1e9)))
            r.started = true
            r.ready = false  // ephemeral containers are never ready (they have no probes)
            r.startedThisRun = true
            record.containers[i] = r
            ctx.events.record(pod, reason: "Created", message: "Created container \(name)", fieldPath: fieldPath)
            ctx.events.record(pod, reason: "Started", message: "Started container \(name)", fieldPath: fieldPath)
            persist()
            spawning.remove(instanceID)
            if let early = earlyExits.removeValue(forKey: instanceID) { await processExited(early) }
        } catch {
            discardStdio(io)
            if let error = error as? SandboxError, case .setup = error {
                recordStartError(i, instanceID: instanceID, error: error, fieldPath: fieldPath)
            } else {
                let message = "failed to create container \"\(name)\": \(error)"
                record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(reason: "CreateContainerError", message: message))
                ctx.events.record(pod, type: "Warning", reason: "Failed", message: "Error: \(message)", fieldPath: fieldPath)
                logger.warning("ephemeral container not created", metadata: ["container": "\(name)", "error": "\(error)"])
            }
            try? FileSystem.removeTree(instanceDir)
            persist()
        }
    }

    /// After a re-adoption: the terminal the sandbox held for a running ephemeral container
    /// comes back to the agent, which relays its output to the log again.
    func restoreTerminal(_ name: String, held: FileDescriptor) {
        guard let e = (pod.spec.ephemeralContainers ?? []).first(where: { $0.container.name == name }),
              let r = record.containers.first(where: { $0.name == name }) else { return }
        let terminal = ContainerTerminal(master: held, stdin: e.container.stdin ?? false)
        terminals[name] = terminal
        terminal.startRelay(log: TerminalLog(path: "\(ctx.config.podLogDir(pod))/\(name)/\(r.restartCount).log"))
    }

    // MARK: attach

    /// Connects to a container's primary process, as `kubectl attach` does: its terminal (the
    /// output from the start for the first attach, then live), or else its log as it is
    /// written; stdin goes to its terminal or stdin pipe. The exit status is the container's.
    func attach(container name: String?, stdin wantStdin: Bool, tty: Bool,
                terminalSize: (width: UInt16, height: UInt16)? = nil) async throws -> (ExecProcess, @Sendable () -> Void) {
        let c = try resolveContainer(name)
        let podName = pod.metadata.name ?? ""
        guard let r = record.containers.first(where: { $0.name == c.name }) else {
            throw NodeAPIError.badRequest("container \(c.name) is not valid for pod \(podName)")
        }
        let terminal = terminals[c.name]
        if tty && !(terminal?.isTerminal ?? false) {
            throw NodeAPIError.badRequest("container \"\(c.name)\" in pod \"\(podName)\" has no terminal to attach to (it was not started with tty: true)")
        }
        if wantStdin && !(c.stdin ?? false) {
            throw NodeAPIError.badRequest("container \"\(c.name)\" in pod \"\(podName)\" does not accept stdin (it was not started with stdin: true)")
        }
        let exit = ExecExit()
        let id = "attach.\(c.name).\(realtimeNanos())"
        if r.isRunning, let instance = r.instanceID {
            let waiter = ExitWaiter()
            exitWaiters[instance, default: []].append(waiter)
            let containerName = c.name
            Task { [weak self] in
                _ = await waiter.wait(timeout: nil)
                let code = await self?.exitCode(of: containerName) ?? 137
                exit.resolve(code)
            }
        } else if let t = r.terminated, terminal.map({ !$0.hasAttached }) ?? false {
            // It ended before anyone attached (a quick `attach-sidecar -it -- cmd`): its
            // output and exit code are still there for this first attach.
            exit.resolve(t.exitCode)
        } else {
            let state = r.terminated != nil ? "has terminated" : "is waiting to start: \(r.state.waiting?.reason ?? "ContainerCreating")"
            throw NodeAPIError.badRequest("container \"\(c.name)\" in pod \"\(podName)\" \(state)")
        }

        let pidfd = r.instanceID.flatMap { pidfds[$0] } ?? FileDescriptor(-1)
        if let terminal, let master = terminal.master {
            if let terminalSize { _ = sh_set_winsize(master.raw, terminalSize.height, terminalSize.width) }
            let output = try terminal.subscribe()
            let process = ExecProcess(id: id, pidfd: pidfd, stdin: wantStdin ? master : nil, stdout: output, stderr: nil,
                                      terminal: master, exit: exit)
            return (process, {})
        }
        // No terminal: the container's output as the sandbox logs it (stdout and stderr
        // together), from the start for the first attach of a container with stdin.
        let (path, running) = try logPath(container: c.name, previous: false)
        let fromStart = terminal?.claimFirstAttach() ?? false
        let pipe = try makePipe()
        _ = fcntl(pipe.write.raw, F_SETFL, fcntl(pipe.write.raw, F_GETFL) | O_NONBLOCK)
        _ = fcntl(pipe.write.raw, 1031, Int32(1 << 20))
        let reader = CRILogReader(path: path)
        let options = LogReadOptions(follow: running, tailLines: fromStart ? nil : 0)
        let writeEnd = pipe.write
        let follow = Task {
            try? await reader.read(options) { bytes in try await ContainerTerminal.writeAll(writeEnd, bytes) }
            writeEnd.close()
        }
        // The sandbox logs everything a container wrote before it reports its exit: once the
        // exit is known, the follower reads to the end of the file and stops.
        Task {
            _ = await exit.wait()
            follow.cancel()
        }
        let process = ExecProcess(id: id, pidfd: pidfd, stdin: wantStdin ? terminal?.stdinPipe : nil, stdout: pipe.read, stderr: nil,
                                  terminal: nil, exit: exit)
        return (process, { follow.cancel() })
    }

    func exitCode(of container: String) -> Int32 {
        record.containers.first { $0.name == container }?.terminated?.exitCode ?? 137
    }
}

/// A refused `ephemeralcontainers` request, as the API server answers it: 422 Invalid with one
/// cause per field error.
struct EphemeralError: Error {
    var status: Status

    static func invalid(pod: String, message: String, causes: [StatusCause]) -> EphemeralError {
        EphemeralError(status: Status(
            status: "Failure", message: "Pod \"\(pod)\" is invalid: \(message)", reason: "Invalid",
            details: StatusDetails(name: pod, kind: "pods", causes: causes), code: 422))
    }
}
