import CShims
import Logging
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// One pod's worker: every change to the pod goes through this actor, so its state machine
/// never sees two things at once (the kubelet's pod worker, one goroutine per pod UID).
///
/// Inputs are the desired pod, process exits reported by the pod's sandbox, timers (back-off,
/// retries) and a kill request. Each input updates the record and asks for a sync; one sync
/// loop at a time brings the pod towards what the record says it should be.
///
/// Invariant: once `terminating` is set nothing new is started, and a kill is never undone.
actor PodWorker {
    let ctx: AgentContext
    let uid: String
    /// `namespace/name`; fixed for the worker's life (a changed pod is a new UID, a new worker).
    nonisolated let key: String
    var record: PodRecord
    var sandbox: PodSandbox?
    var volumes: [String: (path: String, isDirectory: Bool)]?
    /// pidfds of running instances, by instance id.
    var pidfds: [String: FileDescriptor] = [:]
    /// How each running container was launched (exec joins it with the same identity).
    var launches: [String: ContainerLaunch] = [:]
    var exitWaiters: [String: [ExitWaiter]] = [:]
    var stopping: Set<String> = []
    var terminating = false
    var finished = false
    var gracePeriodOverride: Int64?
    /// When the kill began: the pod shows as Terminating from then on.
    var deletionTimestamp: Time?
    var finishWaiters: [CheckedContinuation<Void, Never>] = []
    var syncing = false
    var syncRequested = false
    var wakeTask: Task<Void, Never>?
    var retryDelay: Double = 1
    /// The node's DNS server, for the pod's resolv.conf (nil: the host's resolvers).
    var clusterDNS: String?
    var lastStatus: PodStatus?
    var execCounter = 0
    /// Instances whose spawn is in flight. The sandbox may report a fast exit before the spawn
    /// call returns here (the actor runs other work while it awaits); such exits wait in
    /// `earlyExits` until the instance is recorded as running.
    var spawning: Set<String> = []
    var earlyExits: [String: SandboxProcess] = [:]
    var execExits: [String: ExecExit] = [:]
    /// Probers and postStart hooks in flight (Prober.swift, Handlers.swift).
    var probes = ProbeBook()
    /// Terminals and stdin pipes the agent keeps for containers started with tty/stdin (ephemeral ones), by name.
    var terminals: [String: ContainerTerminal] = [:]

    var pod: Pod { record.pod }
    var podDir: String { ctx.config.podDir(uid) }
    var logger: Logger {
        var l = ctx.logger
        l[metadataKey: "pod"] = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
        return l
    }
    var restartScopeIsPod: Bool { pod.metadata.annotations?["shoal.dev/restart-scope"] != "container" }
    var maxBackoff: Double { ctx.config.maxBackoff }

    init(ctx: AgentContext, pod: Pod) {
        self.ctx = ctx
        self.uid = pod.metadata.uid ?? ""
        self.key = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
        var containers: [ContainerRecord] = []
        for c in pod.spec.initContainers ?? [] {
            containers.append(ContainerRecord(name: c.name, kind: c.restartPolicy == .always ? .sidecar : .initContainer, image: c.image ?? ""))
        }
        for c in pod.spec.containers { containers.append(ContainerRecord(name: c.name, kind: .regular, image: c.image ?? "")) }
        var pod = pod
        if pod.metadata.creationTimestamp == nil { pod.metadata.creationTimestamp = Time.now() }
        record = PodRecord(pod: pod, containers: containers)
    }

    /// A worker for a pod found on disk after an agent restart.
    init(ctx: AgentContext, adopting record: PodRecord) {
        self.ctx = ctx
        self.uid = record.pod.metadata.uid ?? ""
        self.key = "\(record.pod.metadata.namespace ?? "default")/\(record.pod.metadata.name ?? "")"
        self.record = record
    }

    // MARK: inputs

    func start() {
        requestSync()
    }

    /// Stops the pod and removes it; returns once everything is gone.
    func kill(gracePeriod: Int64? = nil) async {
        if finished { return }
        if !terminating {
            terminating = true
            deletionTimestamp = Time.now()
            gracePeriodOverride = gracePeriod
            wakeTask?.cancel()
            cancelHooks()
            requestSync()
        }
        await withCheckedContinuation { finishWaiters.append($0) }
    }

    func status() -> PodStatus { lastStatus ?? buildStatus() }
    func currentPod() -> Pod {
        var p = pod
        p.status = status()
        if let deletionTimestamp {
            p.metadata.deletionTimestamp = deletionTimestamp
            p.metadata.deletionGracePeriodSeconds = gracePeriodOverride ?? pod.spec.terminationGracePeriodSeconds ?? 30
        }
        return p
    }

    // MARK: the sync loop

    func requestSync() {
        syncRequested = true
        guard !syncing else { return }
        syncing = true
        Task { await self.runSyncLoop() }
    }

    private func runSyncLoop() async {
        while syncRequested && !finished {
            syncRequested = false
            await syncOnce()
        }
        syncing = false
    }

    /// Asks for a sync at an epoch time (back-off expiry, retries).
    func wake(at epoch: Double) {
        wakeTask?.cancel()
        let delay = max(0, epoch - ShoalClock.now())
        wakeTask = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            if Task.isCancelled { return }
            await self?.requestSync()
        }
    }

    private func syncOnce() async {
        if terminating {
            await terminate()
            return
        }
        defer { publish() }
        guard await ensureVolumes(), await ensureSandbox() else { return }
        if record.restartCause != nil {
            guard await restartTogether() else { return }
        }
        guard await runInitContainers() else { return }
        await runAppContainers()
        await finishIfComplete()
    }

    // MARK: volumes and sandbox

    private func ensureVolumes() async -> Bool {
        if volumes != nil { return true }
        do {
            volumes = try PodVolumes.setUp(pod, podDir: podDir, config: ctx.configs.objects(namespace: pod.metadata.namespace ?? "default"))
            retryDelay = 1
            return true
        } catch {
            ctx.events.record(pod, type: "Warning", reason: "FailedMount", message: error.description)
            logger.warning("volume setup failed", metadata: ["error": "\(error)"])
            setWaiting(all: "ContainerCreating", message: nil)
            scheduleRetry()
            return false
        }
    }

    private func ensureSandbox() async -> Bool {
        if sandbox != nil { return true }
        do {
            clusterDNS = await ctx.network.clusterDNS
            try writePodFiles()
            let config = sandboxConfig()
            let created = try await PodSandbox.create(config, cgroups: ctx.cgroups, launcher: ctx.launcher, logger: logger)
            do {
                if !config.hostNetwork {
                    record.podIP = try await ctx.network.attach(pod, uid: uid, sandboxPID: created.pid)
                    clusterDNS = await ctx.network.clusterDNS
                    try writePodFiles()
                }
            } catch {
                await created.destroy()
                await ctx.network.detach(pod, uid: uid)
                throw error
            }
            sandbox = created
            attachSandboxEvents()
            record.sandboxReady = true
            if record.startTime == nil { record.startTime = Time.now() }
            retryDelay = 1
            persist()
            return true
        } catch {
            ctx.events.record(pod, type: "Warning", reason: "FailedCreatePodSandBox", message: "Failed to create pod sandbox: \(error)")
            logger.error("sandbox creation failed", metadata: ["error": "\(error)"])
            setWaiting(all: "ContainerCreating", message: nil)
            scheduleRetry()
            return false
        }
    }

    func sandboxConfig() -> PodSandboxConfig {
        let name = pod.spec.hostname ?? pod.metadata.name ?? "pod"
        return PodSandboxConfig(
            uid: uid, hostname: String(name.prefix(63)), hostNetwork: pod.spec.hostNetwork ?? false,
            shareProcessNamespace: pod.spec.shareProcessNamespace ?? false, directory: podDir,
            resources: PodResources.pod(pod))
    }

    func attachSandboxEvents() {
        guard let sandbox else { return }
        sandbox.client.onExit { [weak self] process in
            Task { await self?.processExited(process) }
        }
        sandbox.client.onDisconnect { [weak self] in
            Task { await self?.sandboxLost() }
        }
    }

    private func scheduleRetry() {
        wake(at: ShoalClock.now() + retryDelay)
        retryDelay = min(retryDelay * 2, 30)
    }

    /// The pod's /etc/hosts, /etc/hostname and /etc/resolv.conf, as the kubelet writes them.
    func writePodFiles() throws {
        try FileSystem.createDirectory(podDir, mode: 0o700)
        let hostname = String((pod.spec.hostname ?? pod.metadata.name ?? "pod").prefix(63))
        try FileSystem.writeAtomically(podDir + "/etc-hosts", PodFiles.hosts(pod, hostname: hostname, podIP: record.podIP))
        try FileSystem.writeAtomically(podDir + "/etc-hostname", (pod.spec.hostNetwork == true ? hostHostname() : hostname) + "\n")
        try FileSystem.writeAtomically(podDir + "/resolv.conf", PodFiles.resolvConf(pod, clusterDNS: clusterDNS))
    }

    // MARK: restart-together

    /// Stops what still runs, waits out the back-off, then makes every container start again
    /// in the current sandbox. Returns true when the new run may begin.
    private func restartTogether() async -> Bool {
        let running = record.containers.filter { $0.isRunning && $0.kind != .ephemeral }
        if !running.isEmpty {
            await stopGracefully(running.map(\.name), reason: "restarting every container of the pod")
            if terminating { return false }
        }
        let lastFinish = record.containers.filter { $0.kind != .ephemeral }.compactMap { $0.terminated?.finishedAt?.epochSeconds }.max() ?? ShoalClock.now()
        let now = ShoalClock.now()
        if let until = record.podBackoff.waitUntil(finishedAt: lastFinish, now: now, max: maxBackoff) {
            let cause = record.restartCause ?? ""
            let wait = Int((until - lastFinish).rounded())
            if let i = index(of: cause) {
                record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(
                    reason: "CrashLoopBackOff", message: "back-off \(wait)s restarting failed container=\(cause) pod=\(podName)"))
            }
            ctx.events.record(pod, type: "Warning", reason: "BackOff", message: "Back-off restarting failed container \(cause) in pod \(podName)",
                              fieldPath: fieldPath(cause))
            wake(at: until)
            persist()
            return false
        }
        record.podBackoff.next(now: now, max: maxBackoff)
        for i in record.containers.indices where record.containers[i].kind != .ephemeral {
            var r = record.containers[i]
            if r.everStarted {
                r.restartCount += 1
                if let t = r.terminated { r.lastState = ContainerState(terminated: t) }
            }
            r.state = ContainerState(waiting: ContainerStateWaiting(reason: "PodInitializing"))
            r.startedThisRun = false
            r.ready = false
            record.containers[i] = r
        }
        record.restartCause = nil
        persist()
        return true
    }

    // MARK: starting containers

    /// Runs init containers one at a time; sidecars are started and left running. Returns true
    /// when every init container is done and the app containers may start.
    private func runInitContainers() async -> Bool {
        for c in pod.spec.initContainers ?? [] {
            guard let i = index(of: c.name) else { continue }
            let r = record.containers[i]
            if r.kind == .sidecar {
                // A sidecar counts as started once its postStart hook and startupProbe passed.
                if r.isRunning {
                    if !r.started { return false }
                    continue
                }
                if r.startedThisRun && !containerScopeRestartDue(i) { continue }
                guard await startContainer(c, at: i, fieldPath: "spec.initContainers{\(c.name)}") else { return false }
                if !record.containers[i].started { return false }
                continue
            }
            if r.startedThisRun {
                if r.isRunning { return false }
                if r.terminated?.exitCode == 0 { continue }
                // Failed: the exit handler chose restart-together, back-off or a failed pod.
                if !containerScopeRestartDue(i) { return false }
            }
            _ = await startContainer(c, at: i, fieldPath: "spec.initContainers{\(c.name)}")
            return false
        }
        return true
    }

    /// App containers start together: their setups (mounts, pivot_root, seccomp) run in
    /// parallel in the sandbox's children instead of one after another.
    private func runAppContainers() async {
        var due: [(Container, Int)] = []
        for c in pod.spec.containers {
            guard let i = index(of: c.name), !terminating, record.restartCause == nil else { continue }
            let r = record.containers[i]
            if r.isRunning { continue }
            if r.startedThisRun && !containerScopeRestartDue(i) { continue }
            due.append((c, i))
        }
        await withTaskGroup(of: Void.self) { group in
            for (c, i) in due {
                group.addTask { _ = await self.startContainer(c, at: i, fieldPath: "spec.containers{\(c.name)}") }
            }
        }
    }

    /// With `shoal.dev/restart-scope: container`, an ended container restarts on its own once
    /// its back-off allows; until then it shows CrashLoopBackOff.
    private func containerScopeRestartDue(_ i: Int) -> Bool {
        let r = record.containers[i]
        guard !restartScopeIsPod, let t = r.terminated, shouldRestart(r, exitCode: t.exitCode) else { return false }
        let now = ShoalClock.now()
        if let until = r.backoff.waitUntil(finishedAt: t.finishedAt?.epochSeconds ?? now, now: now, max: maxBackoff) {
            let wait = Int((until - (t.finishedAt?.epochSeconds ?? now)).rounded())
            record.containers[i].lastState = ContainerState(terminated: t)
            record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(
                reason: "CrashLoopBackOff", message: "back-off \(wait)s restarting failed container=\(r.name) pod=\(podName)"))
            ctx.events.record(pod, type: "Warning", reason: "BackOff", message: "Back-off restarting failed container \(r.name) in pod \(podName)",
                              fieldPath: fieldPath(r.name))
            wake(at: until)
            return false
        }
        record.containers[i].backoff.next(now: now, max: maxBackoff)
        record.containers[i].restartCount += 1
        record.containers[i].lastState = ContainerState(terminated: t)
        return true
    }

    /// Starts one container instance. Returns false when it could not be started.
    @discardableResult
    private func startContainer(_ c: Container, at i: Int, fieldPath: String) async -> Bool {
        guard let sandbox, let volumes, !terminating else { return false }
        let name = c.name
        let image: ImageInfo
        do {
            image = try ctx.images.resolve(c.image ?? "")
        } catch {
            let message = "Container image \"\(c.image ?? "")\" is not present with pull policy of Never"
            record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(reason: "ErrImageNeverPull", message: message))
            ctx.events.record(pod, type: "Warning", reason: "ErrImageNeverPull", message: message, fieldPath: fieldPath)
            scheduleRetry()
            return false
        }
        ctx.events.record(pod, reason: "Pulled", message: "Container image \"\(c.image ?? "")\" already present on machine", fieldPath: fieldPath)
        record.containers[i].imageID = image.id

        let attempt = record.containers[i].attempt + 1
        let instanceDir = "\(podDir)/containers/\(name).\(attempt)"
        let launch: ContainerLaunch
        do {
            launch = try prepareInstance(c, fieldPath: fieldPath, image: image, instanceDir: instanceDir, sandbox: sandbox, volumes: volumes)
        } catch let error as ContainerConfigError {
            failToCreate(i, reason: error.reason, message: error.message, fieldPath: fieldPath, instanceDir: instanceDir)
            return false
        } catch {
            failToCreate(i, reason: "CreateContainerError", message: "\(error)", fieldPath: fieldPath, instanceDir: instanceDir)
            return false
        }

        let logDir = ctx.config.podLogDir(pod) + "/" + name
        let logPath = "\(logDir)/\(record.containers[i].restartCount).log"
        try? FileSystem.createDirectory(logDir, mode: 0o755)
        let instanceID = ContainerRecord.instanceID(name, attempt)
        record.containers[i].attempt = attempt
        record.containers[i].instanceID = instanceID
        // Persist before the spawn: if the agent dies right after it, the re-adopting agent
        // finds this instance in the sandbox and knows whose it is.
        persist()
        spawning.insert(instanceID)
        defer {
            spawning.remove(instanceID)
            // The exit of a process that failed its setup: the sandbox need not keep its record.
            if earlyExits.removeValue(forKey: instanceID) != nil { Task { try? await sandbox.client.forget(instanceID) } }
        }
        let io = prepareStdio(c, logPath: logPath, terminalSize: nil)
        do {
            let (process, master) = try await sandbox.startContainer(
                name: name, instanceID: instanceID, launch: launch, resources: PodResources.container(c), stdio: io.stdio,
                joinPIDNamespaceOf: nil)
            pidfds[instanceID] = process.pidfd
            launches[name] = launch
            await keepStdio(io, name: name, instanceID: instanceID, master: master)
            var r = record.containers[i]
            r.pid = process.pid
            r.state = ContainerState(running: ContainerStateRunning(startedAt: Time(epochSeconds: Double(process.startNanos) / 1e9)))
            r.started = PodWorker.startsStarted(c)
            r.ready = PodWorker.startsReady(c)
            r.startedThisRun = true
            record.containers[i] = r
            ctx.events.record(pod, reason: "Created", message: "Created container \(name)", fieldPath: fieldPath)
            ctx.events.record(pod, reason: "Started", message: "Started container \(name)", fieldPath: fieldPath)
            removeOldInstances(name, keep: attempt)
            persist()
            spawning.remove(instanceID)
            if let early = earlyExits.removeValue(forKey: instanceID) { await processExited(early) }
            await containerDidStart(c, instanceID: instanceID)
            return true
        } catch let error as SandboxError {
            discardStdio(io)
            if case .setup = error {
                recordStartError(i, instanceID: instanceID, error: error, fieldPath: fieldPath)
                try? FileSystem.removeTree(instanceDir)
                handleEnd(i, exitCode: 128)
                return false
            }
            failToCreate(i, reason: "CreateContainerError", message: "failed to create container \"\(name)\": \(error)",
                         fieldPath: fieldPath, instanceDir: instanceDir)
            return false
        } catch {
            discardStdio(io)
            failToCreate(i, reason: "CreateContainerError", message: "failed to create container \"\(name)\": \(error)",
                         fieldPath: fieldPath, instanceDir: instanceDir)
            return false
        }
    }

    /// The process was created but a setup step (a mount, the working directory, the exec)
    /// failed: containerd and the kubelet report that as a terminated container (StartError,
    /// 128; runc fails these at task start), which then follows the restart policy.
    func recordStartError(_ i: Int, instanceID: String, error: SandboxError, fieldPath: String) {
        let name = record.containers[i].name
        let message = "failed to start container \"\(name)\": \(error)"
        let now = Time.now()
        record.containers[i].startedThisRun = true
        record.containers[i].state = ContainerState(terminated: ContainerStateTerminated(
            exitCode: 128, reason: "StartError", message: message, startedAt: now, finishedAt: now,
            containerID: "shoal://\(uid)/\(instanceID)"))
        ctx.events.record(pod, type: "Warning", reason: "Failed", message: "Error: \(message)", fieldPath: fieldPath)
        logger.warning("container start failed", metadata: ["container": "\(name)", "error": "\(error)"])
    }

    /// What every container of this pod is given: downward values, volumes, the pod's files.
    func podContext(sandbox: PodSandbox, volumes: [String: (path: String, isDirectory: Bool)]) -> PodContext {
        PodContext(
            pod: pod, nodeName: ctx.config.nodeName, hostIP: ctx.config.hostIP,
            podIP: (pod.spec.hostNetwork ?? false) ? ctx.config.hostIP : (record.podIP ?? ""),
            volumes: volumes, hostsFile: podDir + "/etc-hosts", hostnameFile: podDir + "/etc-hostname",
            resolvConf: podDir + "/resolv.conf", sharedMemory: sandbox.config.shmPath,
            config: ctx.configs.objects(namespace: pod.metadata.namespace ?? "default"))
    }

    /// A fresh instance directory (writable layer, overlay work dir, mount point, termination
    /// log) and the launch of the container in it.
    func prepareInstance(_ c: Container, fieldPath: String, image: ImageInfo, instanceDir: String, sandbox: PodSandbox,
                         volumes: [String: (path: String, isDirectory: Bool)]) throws -> ContainerLaunch {
        for d in ["upper", "work", "rootfs"] { try FileSystem.createDirectory(instanceDir + "/" + d, mode: 0o755) }
        let terminationLog = instanceDir + "/termination-log"
        try FileSystem.writeAtomically(terminationLog, [], mode: 0o666)
        return try ctx.configurator.launch(
            container: c, fieldPath: fieldPath, image: image, context: podContext(sandbox: sandbox, volumes: volumes),
            rootfs: (instanceDir + "/upper", instanceDir + "/work", instanceDir + "/rootfs"), terminationLog: terminationLog)
    }

    private func failToCreate(_ i: Int, reason: String, message: String, fieldPath: String, instanceDir: String) {
        record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(reason: reason, message: message))
        ctx.events.record(pod, type: "Warning", reason: "Failed", message: "Error: \(message)", fieldPath: fieldPath)
        logger.warning("container not created", metadata: ["container": "\(record.containers[i].name)", "reason": "\(reason)", "message": "\(message)"])
        try? FileSystem.removeTree(instanceDir)
        persist()
        scheduleRetry()
    }

    /// A restarted container gets a fresh writable layer, as in Kubernetes; the previous
    /// instance's goes.
    private func removeOldInstances(_ name: String, keep attempt: Int) {
        let dir = podDir + "/containers"
        for entry in (try? FileSystem.listDirectory(dir)) ?? [] where entry.hasPrefix(name + ".") && entry != "\(name).\(attempt)" {
            try? FileSystem.removeTree(dir + "/" + entry)
        }
    }

    // MARK: exits

    /// A process of this pod's sandbox ended.
    func processExited(_ p: SandboxProcess) async {
        if spawning.contains(p.id) {
            earlyExits[p.id] = p
            return
        }
        defer { resumeExitWaiters(p.id) }
        pidfds[p.id] = nil
        stopProbers(p.id)
        guard let i = record.containers.firstIndex(where: { $0.instanceID == p.id }), record.containers[i].isRunning else {
            // An exec session, or a stale record.
            execExits.removeValue(forKey: p.id)?.resolve(p.exitCode)
            try? await sandbox?.client.forget(p.id)
            return
        }
        let name = record.containers[i].name
        let c = pod.allContainers.first { $0.name == name }
        let oom = (sandbox?.oomKills(container: name) ?? 0) > 0
        let code = p.exitCode
        var reason = code == 0 ? "Completed" : "Error"
        if oom && (p.signal == SIGKILL || code == 137) { reason = "OOMKilled" }
        let started = record.containers[i].state.running?.startedAt
        let message = terminationMessage(c, instance: p.id, exitCode: code, restartCount: record.containers[i].restartCount)
        record.containers[i].state = ContainerState(terminated: ContainerStateTerminated(
            exitCode: code, signal: p.signal, reason: reason, message: message, startedAt: started,
            finishedAt: Time(epochSeconds: Double(p.exitNanos) / 1e9), containerID: "shoal://\(uid)/\(p.id)"))
        record.containers[i].pid = nil
        record.containers[i].ready = false
        launches[name] = nil
        sandbox?.removeContainerCgroup(name)
        persist()
        try? await sandbox?.client.forget(p.id)
        logger.info("container exited", metadata: ["container": "\(name)", "exitCode": "\(code)", "reason": "\(reason)"])
        if terminating || stopping.contains(name) || record.restartCause != nil {
            requestSync()
            return
        }
        handleEnd(i, exitCode: code)
    }

    /// Applies the restart policy to a container that just ended on its own.
    private func handleEnd(_ i: Int, exitCode: Int32) {
        let r = record.containers[i]
        defer {
            persist()
            requestSync()
        }
        if r.kind == .ephemeral { return }
        if r.kind == .initContainer && exitCode == 0 { return }
        let rule = matchingRestartRule(r.name, exitCode: exitCode)
        let restart = rule != nil || shouldRestart(r, exitCode: exitCode)
        guard restart else { return }
        if rule == .restartAllContainers || restartScopeIsPod {
            record.restartCause = r.name
            ctx.events.record(pod, type: "Warning", reason: "PodRestarted",
                              message: "Container \(r.name) exited with code \(exitCode); restarting every container of the pod",
                              fieldPath: fieldPath(r.name))
        }
    }

    /// The pod's restartPolicy for this container (sidecars always restart).
    /// The restart policy for a container that ended: sidecars always restart; a regular
    /// container's own `restartPolicy` (KEP-5307) wins over the pod's.
    func shouldRestart(_ r: ContainerRecord, exitCode: Int32) -> Bool {
        if r.kind == .sidecar { return true }
        if r.kind == .ephemeral { return false }
        let own = r.kind == .regular ? pod.spec.containers.first { $0.name == r.name }?.restartPolicy : nil
        switch own.map({ RestartPolicy(rawValue: $0.rawValue) }) ?? pod.spec.restartPolicy ?? .always {
        case .never: return false
        case .onFailure: return exitCode != 0
        default: return r.kind == .initContainer ? exitCode != 0 : true
        }
    }

    /// KEP-5532: a container's `restartPolicyRules` decide before the pod's policy.
    func matchingRestartRule(_ name: String, exitCode: Int32) -> ContainerRestartRuleAction? {
        guard let c = pod.allContainers.first(where: { $0.name == name }) else { return nil }
        for rule in c.restartPolicyRules ?? [] {
            guard let codes = rule.exitCodes else { continue }
            let listed = codes.values?.contains(exitCode) ?? false
            let matches = codes.operator == .in ? listed : !listed
            if matches { return rule.action }
        }
        return nil
    }

    /// `terminationMessagePath`'s content, or with FallbackToLogsOnError the log's tail.
    func terminationMessage(_ c: Container?, instance: String, exitCode: Int32, restartCount: Int32) -> String? {
        let attempt = instance.split(separator: ".").last.map(String.init) ?? ""
        let file = "\(podDir)/containers/\(c?.name ?? "").\(attempt)/termination-log"
        if let bytes = try? FileSystem.read(file), !bytes.isEmpty {
            return String(decoding: bytes.prefix(4096), as: UTF8.self)
        }
        guard c?.terminationMessagePolicy == .fallbackToLogsOnError, exitCode != 0, let name = c?.name else { return nil }
        let path = "\(ctx.config.podLogDir(pod))/\(name)/\(restartCount).log"
        return LogTail.lastLines(path, lines: 80, bytes: 2048)
    }

    private func resumeExitWaiters(_ id: String) {
        for w in exitWaiters.removeValue(forKey: id) ?? [] { w.fire() }
    }

    /// The sandbox process died under us: every container died with it (they have it as
    /// their parent-death signal). Record that and start over with a new sandbox.
    func sandboxLost() async {
        guard let lost = sandbox, !terminating else { return }
        sandbox = nil
        ctx.events.record(pod, type: "Warning", reason: "SandboxChanged", message: "Pod sandbox changed, it will be killed and re-created.")
        await lost.destroy()
        await ctx.network.detach(pod, uid: uid)
        record.podIP = nil
        for i in record.containers.indices where record.containers[i].isRunning {
            record.containers[i].state = ContainerState(terminated: ContainerStateTerminated(
                exitCode: 137, signal: SIGKILL, reason: "Error", message: "the pod sandbox ended",
                startedAt: record.containers[i].state.running?.startedAt, finishedAt: Time.now()))
            record.containers[i].pid = nil
            if let id = record.containers[i].instanceID { resumeExitWaiters(id) }
        }
        pidfds = [:]
        launches = [:]
        for i in record.containers.indices { record.containers[i].startedThisRun = false }
        record.sandboxReady = false
        persist()
        requestSync()
    }

    // MARK: stopping

    /// SIGTERM (or the image's stop signal), then SIGKILL at the deadline, for every named
    /// container at once; returns when all have exited.
    func stopGracefully(_ names: [String], reason: String, deadline: Double? = nil) async {
        let grace = Double(gracePeriodOverride ?? pod.spec.terminationGracePeriodSeconds ?? 30)
        let until = deadline ?? (ShoalClock.now() + grace)
        await withTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask { await self.stop(name, until: until, reason: reason) }
            }
        }
    }

    private func stop(_ name: String, until: Double, reason: String) async {
        guard let i = index(of: name), record.containers[i].isRunning, let id = record.containers[i].instanceID else { return }
        stopping.insert(name)
        defer { stopping.remove(name) }
        ctx.events.record(pod, reason: "Killing", message: "Stopping container \(name)", fieldPath: fieldPath(name))
        let waiter = ExitWaiter()
        exitWaiters[id, default: []].append(waiter)
        let until = await runPreStop(name, instanceID: id, until: until)
        if let fd = pidfds[id] {
            _ = sh_pidfd_send_signal(fd.raw, stopSignal(name))
        }
        let remaining = max(0, until - ShoalClock.now())
        if await waiter.wait(timeout: remaining) { return }
        logger.info("grace period over, killing", metadata: ["container": "\(name)"])
        if let fd = pidfds[id] { _ = sh_pidfd_send_signal(fd.raw, SIGKILL) }
        _ = await waiter.wait(timeout: nil)
    }

    func stopSignal(_ name: String) -> Int32 {
        guard let c = pod.allContainers.first(where: { $0.name == name }),
              let info = try? ctx.images.resolve(c.image ?? ""), let s = info.config.stopSignal else { return SIGTERM }
        return Signals.number(s) ?? SIGTERM
    }

    /// When no app container will run again, the sidecars stop too and the pod is done.
    private func finishIfComplete() async {
        let apps = record.containers.filter { $0.kind == .regular }
        guard !apps.isEmpty, record.restartCause == nil else { return }
        let initFailed = record.containers.contains { r in
            r.kind == .initContainer && r.startedThisRun && (r.terminated.map { $0.exitCode != 0 } ?? false) && !shouldRestart(r, exitCode: r.terminated?.exitCode ?? 1)
        }
        let appsDone = apps.allSatisfy { r in
            guard r.startedThisRun, let t = r.terminated else { return false }
            return !shouldRestart(r, exitCode: t.exitCode) && matchingRestartRule(r.name, exitCode: t.exitCode) == nil
        }
        guard appsDone || initFailed else { return }
        // Sidecars stop after the app containers, in reverse order (Kubernetes 1.29); an
        // ephemeral container does not outlive a pod that has ended either.
        for r in record.containers.reversed() where (r.kind == .sidecar || r.kind == .ephemeral) && r.isRunning {
            await stopGracefully([r.name], reason: "pod completed")
        }
    }

    /// Kill: app containers first, then sidecars in reverse order, all within one grace
    /// period; then the sandbox, the volumes and the pod's files.
    private func terminate() async {
        let grace = Double(gracePeriodOverride ?? pod.spec.terminationGracePeriodSeconds ?? 30)
        let deadline = ShoalClock.now() + grace
        let apps = record.containers.filter { ($0.kind == .regular || $0.kind == .ephemeral || $0.kind == .initContainer) && $0.isRunning }
        await stopGracefully(apps.map(\.name), reason: "pod deleted", deadline: deadline)
        for r in record.containers.reversed() where r.kind == .sidecar && r.isRunning {
            await stopGracefully([r.name], reason: "pod deleted", deadline: deadline)
        }
        await removeEverything()
    }

    func removeEverything() async {
        if let sandbox { await sandbox.destroy() }
        sandbox = nil
        await ctx.network.detach(pod, uid: uid)
        do {
            try PodVolumes.tearDown(podDir: podDir)
            try FileSystem.removeTree(podDir)
            try FileSystem.removeTree(ctx.config.podLogDir(pod))
        } catch {
            logger.error("pod cleanup", metadata: ["error": "\(error)"])
        }
        ctx.events.forget(uid)
        finished = true
        wakeTask?.cancel()
        for w in finishWaiters { w.resume() }
        finishWaiters = []
        logger.info("pod removed")
    }

    // MARK: status

    func buildStatus() -> PodStatus {
        PodStatusBuilder.status(.init(
            pod: pod, containers: record.containers, previousConditions: record.conditions, sandboxReady: record.sandboxReady && sandbox != nil,
            restarting: record.restartCause != nil, restartCause: record.restartCause, startTime: record.startTime,
            hostIP: ctx.config.hostIP, podIP: (pod.spec.hostNetwork ?? false) ? ctx.config.hostIP : record.podIP, uid: uid,
            now: Time.now(), terminalMessage: record.message, terminalReason: record.reason))
    }

    func publish() {
        let status = buildStatus()
        record.conditions = status.conditions ?? []
        record.phase = status.phase
        if status != lastStatus {
            lastStatus = status
            persist()
            ctx.statusChanged(uid, status)
        }
    }

    func persist() {
        guard !finished else { return }
        do {
            try FileSystem.createDirectory(podDir, mode: 0o700)
            try FileSystem.writeAtomically(podDir + "/status.json", try JSONCoding.encode(record), mode: 0o600)
        } catch {
            logger.error("persist pod record", metadata: ["error": "\(error)"])
        }
    }

    // MARK: helpers

    func index(of name: String) -> Int? { record.containers.firstIndex { $0.name == name } }

    var podName: String { "\(pod.metadata.name ?? "")_\(pod.metadata.namespace ?? "default")(\(uid))" }

    func fieldPath(_ name: String) -> String {
        if (pod.spec.initContainers ?? []).contains(where: { $0.name == name }) { return "spec.initContainers{\(name)}" }
        if (pod.spec.ephemeralContainers ?? []).contains(where: { $0.container.name == name }) { return "spec.ephemeralContainers{\(name)}" }
        return "spec.containers{\(name)}"
    }

    private func setWaiting(all reason: String, message: String?) {
        for i in record.containers.indices where !record.containers[i].isRunning && record.containers[i].terminated == nil {
            record.containers[i].state = ContainerState(waiting: ContainerStateWaiting(reason: reason, message: message))
        }
    }

    func hostHostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return string(fromCBuffer: buf)
    }
}

/// A one-shot signal with an optional timeout, for waiting on a process exit.
final class ExitWaiter: @unchecked Sendable {
    private let lock = Lock()
    private var fired = false
    private var continuation: CheckedContinuation<Bool, Never>?

    func fire() {
        let c: CheckedContinuation<Bool, Never>? = lock.withLock {
            fired = true
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: true)
    }

    /// True when fired, false on timeout.
    func wait(timeout: Double?) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let already: Bool = lock.withLock {
                if fired { return true }
                continuation = c
                return false
            }
            if already { return c.resume(returning: true) }
            guard let timeout else { return }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1_000_000_000))
                let pending: CheckedContinuation<Bool, Never>? = self.lock.withLock {
                    defer { self.continuation = nil }
                    return self.continuation
                }
                pending?.resume(returning: false)
            }
        }
    }
}

/// Wall-clock seconds (Kubernetes timestamps are wall-clock).
enum ShoalClock {
    static func now() -> Double { Double(realtimeNanos()) / 1e9 }
}

enum Signals {
    static func number(_ name: String) -> Int32? {
        let n = name.uppercased().hasPrefix("SIG") ? String(name.uppercased().dropFirst(3)) : name.uppercased()
        let table: [String: Int32] = ["TERM": SIGTERM, "KILL": SIGKILL, "INT": SIGINT, "QUIT": SIGQUIT, "HUP": SIGHUP,
                                      "USR1": SIGUSR1, "USR2": SIGUSR2, "WINCH": SIGWINCH, "STOP": SIGSTOP]
        return table[n] ?? Int32(name)
    }
}
