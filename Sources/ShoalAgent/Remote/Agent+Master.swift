import Logging
import ShoalAPI
import ShoalHTTP

extension Agent {
    /// Starts reporting to a master, as the kubelet does: registers the node (or takes over its
    /// existing object), keeps its status and lease fresh, runs the pods the API binds to the
    /// node, reports their status, mirrors the static pods and forwards pod events. Returns at
    /// once; everything retries with back-off while the master is unreachable (the static pods
    /// keep running meanwhile) and stops in `stop()`.
    ///
    /// Before or after `start(manifestsDir:)`: either way a re-adopted API pod is only stopped
    /// once the API's first list shows it is no longer bound here.
    public func connect(to master: MasterConnection, options: NodeReportOptions = NodeReportOptions()) async throws {
        guard remote == nil else {
            throw MasterError(operation: "connect to the master", method: "-", path: "-", code: nil, reason: "AlreadyConnected",
                              message: "the agent already reports to \(master.client.endpoint)")
        }
        var log = logger
        log[metadataKey: "master"] = "\(master.client.endpoint)"
        let session = MasterSession(agent: self, connection: master, options: options, hostIP: config.hostIP,
                                    dataDir: config.dataDir, logger: log)
        remote = session
        statusListeners.withLock { $0.append { [weak session] _ in session?.poke() } }
        if options.postEvents {
            ctx.events.onEvent { [weak session] event in session?.enqueue(event) }
        }
        await session.start()
        if ctx.network.enabled { await session.watchNetwork(ctx.network) }
        ctx.configs.enable()
        ctx.configs.onChange { [weak self] in Task { await self?.refreshConfigVolumes() } }
        await session.watchConfig(ctx.configs)
        logger.info("reporting to the master", metadata: ["master": "\(master.client.endpoint)", "node": "\(master.nodeName)"])
    }

    /// The manifest source's pods.
    func setStaticPods(_ pods: [Pod]) async {
        sources.staticPods = pods
        await reconcile()
        remote?.poke()
    }

    /// The API's pods bound to this node (mirror pods excluded), after each list or watch event.
    /// `removedGrace`: grace periods of pods the API deleted outright.
    func setAPIPods(_ pods: [String: Pod], removedGrace: [String: Int64]) {
        sources.apiPods = pods.mapValues(PodManifest.withDefaults)
        for (uid, grace) in removedGrace { sources.removedGrace[uid] = grace }
        sources.removedGrace = sources.removedGrace.filter { workers[$0.key] != nil && pods[$0.key] == nil }
        // Not awaited: a reconcile may wait for a replaced pod's kill, the watch must not.
        Task { await self.reconcile() }
    }

    /// Makes the workers match what the sources want (one reconcile at a time, each with the
    /// latest state, so a slow one never undoes a newer one).
    func reconcile() async {
        guard sources.adopted else { return }
        sources.reconcileRequested = true
        guard !sources.reconciling else { return }
        sources.reconciling = true
        defer { sources.reconciling = false }
        while sources.reconcileRequested {
            sources.reconcileRequested = false
            var infos: [String: PodSources.WorkerInfo] = [:]
            var current: [String: Pod] = [:]
            for (uid, w) in workers {
                let pod = await w.pod
                infos[uid] = PodSources.WorkerInfo(origin: PodSources.origin(of: pod), dying: dying[uid] != nil)
                current[uid] = pod
            }
            let plan = sources.plan(workers: infos, currentPods: current)
            for kill in plan.kills where workers[kill.uid] != nil && dying[kill.uid] == nil {
                logger.info("pod deleted in the API, stopping", metadata: [
                    "uid": "\(kill.uid)", "gracePeriod": "\(kill.gracePeriod.map(String.init) ?? "pod's own")"])
                startKill(kill.uid, gracePeriod: kill.gracePeriod)
            }
            await setDesired(plan.desired)
        }
    }

    /// What the master session reports: each worker's status (as the node API shows it).
    func masterSnapshot() async -> MasterSnapshot {
        var out = MasterSnapshot(adopted: sources.adopted, staticPods: sources.staticPods ?? (sources.staticEnabled ? nil : []), workers: [:])
        for (uid, w) in workers {
            out.workers[uid] = MasterSnapshot.Worker(status: await w.status(), dying: dying[uid] != nil)
        }
        return out
    }
}

struct MasterSnapshot: Sendable {
    struct Worker: Sendable {
        var status: PodStatus
        var dying: Bool
    }

    var adopted: Bool
    /// nil until the manifest source delivered (or when there is none: then empty).
    var staticPods: [Pod]?
    var workers: [String: Worker]
}

extension Agent {
    /// A ConfigMap or Secret changed: every pod's volumes of them catch up.
    func refreshConfigVolumes() async {
        for worker in workers.values { await worker.refreshConfigVolumes() }
    }
}
