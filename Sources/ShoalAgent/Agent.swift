import ShoalHTTP
import Foundation
import Logging
import ShoalAPI
import ShoalOS
import ShoalRuntime

/// The node agent: pod workers for the pods its sources want, adoption of the pods a previous
/// run left, and the node-local API.
public actor Agent {
    public let config: AgentConfig
    let ctx: AgentContext
    /// Every pod the agent runs, including those being killed (shown as Terminating until gone).
    var workers: [String: PodWorker] = [:]
    /// Kills in progress, by UID: a re-added pod waits for its earlier instance to go.
    var dying: [String: Task<Void, Never>] = [:]
    var manifests: ManifestSource?
    var server: HTTPServer?
    let logger: Logger
    private let statusVersion = Locked<UInt64>(0)
    /// The pods each source wants; `reconcile()` merges them (Remote/PodSources.swift).
    var sources = PodSources()
    /// The session with a master, when the agent reports to one (Remote/).
    var remote: MasterSession?
    /// Told the UID of every pod whose status changed (the master session listens).
    let statusListeners = Locked<[@Sendable (String) -> Void]>([])

    public init(config: AgentConfig, images: ImageResolver, logger: Logger) throws {
        self.config = config
        self.logger = logger
        try FileSystem.createDirectory(config.dataDir, mode: 0o711)
        try FileSystem.createDirectory(config.podsDir, mode: 0o700)
        try FileSystem.createDirectory(config.logsDir, mode: 0o755)
        let cgroups = try Cgroups.detect(parent: config.cgroupParent)
        let version = statusVersion
        let listeners = statusListeners
        ctx = AgentContext(
            config: config, cgroups: cgroups, launcher: SandboxLauncher.besideExecutable(), images: images,
            configurator: ContainerConfigurator(seccompProfileRoot: config.dataDir + "/seccomp"),
            events: EventRecorder(nodeName: config.nodeName),
            network: NodeNetwork(options: config.network, nodeName: config.nodeName, dataDir: config.dataDir, logger: logger),
            configs: ConfigCache(), logger: logger,
            statusChanged: { uid, _ in
                version.withLock { $0 += 1 }
                for listener in listeners.current { listener(uid) }
            })
    }

    /// Adopts what a previous run left, starts the API and the manifest source.
    public func start(manifestsDir: String?) async throws {
        if let cidr = config.network?.podCIDR { try await ctx.network.configure(podCIDR: cidr) }
        sources.staticEnabled = manifestsDir != nil
        await adoptExisting()
        sources.adopted = true
        await reconcile()
        server = try await HTTPServer(path: config.socketPath, handler: NodeAPI(agent: self), logger: logger)
        if let dir = manifestsDir {
            try FileSystem.createDirectory(dir)
            let source = try ManifestSource(directory: dir, nodeName: config.nodeName, images: ctx.images,
                                            imageIndexDirectory: config.dataDir + "/images", logger: logger)
            manifests = source
            source.run { [weak self] pods in await self?.setStaticPods(pods) }
        }
        logger.info("agent started", metadata: ["node": "\(config.nodeName)", "dataDir": "\(config.dataDir)", "cgroups": "\(ctx.cgroups.version.rawValue)"])
    }

    /// Stops the sources and the API, and lets kills in progress finish (a pod is never left
    /// half-removed). With `cleanupOnExit`, also stops every pod.
    public func stop() async {
        await remote?.stop()
        remote = nil
        manifests?.stop()
        await server?.close()
        if config.cleanupOnExit {
            for uid in Array(workers.keys) where dying[uid] == nil { startKill(uid) }
        }
        for t in dying.values { await t.value }
        if config.cleanupOnExit { await ctx.network.cleanup() } else { await ctx.network.stop() }
        // Empty when no pod is left; another agent's pods keep it (rmdir then fails, harmlessly).
        ctx.cgroups.removeRoot()
        logger.info("agent stopped", metadata: ["pods left running": "\(workers.count)"])
    }

    /// Makes the running pods match `pods`: new UIDs start, missing ones are killed.
    func setDesired(_ pods: [Pod]) async {
        let wanted = Dictionary(pods.map { ($0.metadata.uid ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for uid in workers.keys where wanted[uid] == nil && dying[uid] == nil { startKill(uid) }
        for (uid, pod) in wanted {
            if let worker = workers[uid], dying[uid] == nil {
                await worker.updateMetadata(labels: pod.metadata.labels, annotations: pod.metadata.annotations)
                await startNewEphemeralContainers(of: pod, in: worker)
            }
        }
        for (uid, pod) in wanted where workers[uid] == nil || dying[uid] != nil {
            // The same pod (same UID) must not run twice: wait for an earlier instance to go.
            if let t = dying[uid] { await t.value }
            // An edited manifest is a new UID under the same name: the old pod goes first.
            let key = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
            for (otherUID, t) in dying where workers[otherUID]?.key == key { await t.value }
            if workers[uid] != nil { continue }
            // Ephemeral containers only start in a running pod: they are added once it runs.
            var initial = pod
            initial.spec.ephemeralContainers = nil
            let worker = PodWorker(ctx: ctx, pod: initial)
            workers[uid] = worker
            logger.info("pod added", metadata: ["pod": "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")", "uid": "\(uid)"])
            await worker.start()
        }
    }

    /// The only change to a running pod's spec that the kubelet acts on in place: ephemeral
    /// containers added through the API (`kubectl debug`) start in the running sandbox.
    func startNewEphemeralContainers(of pod: Pod, in worker: PodWorker) async {
        let running = Set(await worker.pod.spec.ephemeralContainers?.map(\.container.name) ?? [])
        let added = (pod.spec.ephemeralContainers ?? []).filter { !running.contains($0.container.name) }
        guard !added.isEmpty else { return }
        do {
            _ = try await worker.addEphemeralContainers(added, update: .add)
        } catch {
            logger.warning("ephemeral containers not started", metadata: [
                "pod": "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")",
                "containers": "\(added.map(\.container.name))", "error": "\(error)"])
        }
    }

    func startKill(_ uid: String, gracePeriod: Int64? = nil) {
        guard let worker = workers[uid] else { return }
        dying[uid] = Task { [weak self] in
            await worker.kill(gracePeriod: gracePeriod)
            await self?.dead(uid)
        }
    }

    func dead(_ uid: String) {
        dying[uid] = nil
        workers[uid] = nil
        remote?.poke()
    }

    // MARK: adoption

    /// Pods on disk from a previous run: reconnect to their sandboxes and carry on; a pod whose
    /// sandbox is gone is cleaned up (its source will create it afresh).
    func adoptExisting() async {
        for uid in (try? FileSystem.listDirectory(config.podsDir)) ?? [] {
            let dir = config.podDir(uid)
            guard let bytes = try? FileSystem.read(dir + "/status.json"), let record = try? JSONCoding.decode(PodRecord.self, bytes) else {
                logger.warning("unreadable pod record, removing", metadata: ["dir": "\(dir)"])
                await PodWorker.cleanupOrphan(ctx: ctx, uid: uid, pod: nil)
                continue
            }
            let worker = PodWorker(ctx: ctx, adopting: record)
            if await worker.adopt() {
                workers[uid] = worker
                logger.info("pod re-adopted", metadata: ["pod": "\(record.pod.metadata.name ?? "")", "uid": "\(uid)"])
            } else {
                logger.warning("pod sandbox gone, cleaning up", metadata: ["pod": "\(record.pod.metadata.name ?? "")", "uid": "\(uid)"])
                await PodWorker.cleanupOrphan(ctx: ctx, uid: uid, pod: record.pod)
            }
        }
    }

    // MARK: queries for the API

    /// The pod by name; while an edited pod replaces its old instance, the new one.
    func worker(namespace: String, name: String) -> PodWorker? {
        let matches = workers.filter { $0.value.key == namespace + "/" + name }
        return matches.first { dying[$0.key] == nil }?.value ?? matches.first?.value
    }

    func allWorkers() -> [PodWorker] { Array(workers.values) }

    func manifestErrors() -> [ManifestError] { manifests?.errors.current ?? [] }

    func events() -> [Event] { ctx.events.all() }

    func events(uid: String) -> [Event] { ctx.events.events(for: uid) }

    /// Increments whenever any pod's status changes (for watchers; the master issue uses it).
    public func statusGeneration() -> UInt64 { statusVersion.current }
}
