import Foundation
import Logging
import ShoalAPI
import ShoalHTTP
import ShoalOS

/// The agent's side of a master: node registration and status, the node lease, the pods bound
/// to the node (list + watch), their status, mirror pods for the static ones, final deletes and
/// events. Each runs in its own task and retries with back-off; none blocks the agent.
actor MasterSession {
    weak var agent: Agent?
    let api: MasterAPI
    let nodeName: String
    let options: NodeReportOptions
    let identity: NodeBuilder.Identity
    let dataDir: String
    let logger: Logger

    private var tasks: [Task<Void, Never>] = []
    /// Wakes the status loop (status changed, pods changed, a worker went); coalesced.
    private nonisolated let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private nonisolated let eventInput: AsyncStream<Event>.Continuation
    private let eventQueue: AsyncStream<Event>

    // Node.
    private(set) var nodeUID: String?
    private(set) var registered = false
    private var nodeConditions: [NodeCondition] = []
    /// Conditions other writers put on the node (kept in each status patch).
    private var foreignNodeConditions: [NodeCondition] = []

    // Lease.
    private(set) var lease: Lease?

    // Pods.
    /// Every pod bound to the node as the API has it (mirror pods included), by UID.
    private(set) var pods: [String: Pod] = [:]
    /// The first list arrived (before that nothing is reported).
    private(set) var synced = false
    /// The status last sent (or found in the API) per API pod UID.
    private var lastSent: [String: PodStatus] = [:]
    /// When a pod's status was last re-sent because the API's differed from ours.
    private var lastRepair: [String: Double] = [:]
    /// Final deletes done (mirror or API pod UID); the watch then says DELETED.
    private var finalDeleted: Set<String> = []
    /// Static pods whose mirror could not be created, with when to try again.
    private var mirrorRetryAt: [String: Double] = [:]
    /// Operations currently failing (a warning once, then quiet until they work again).
    private var failing: Set<String> = []

    init(agent: Agent?, connection: MasterConnection, options: NodeReportOptions, hostIP: String, dataDir: String, logger: Logger) {
        self.agent = agent
        self.api = MasterAPI(client: connection.client, timeout: options.requestTimeout)
        self.nodeName = connection.nodeName
        self.options = options
        self.identity = NodeBuilder.Identity(
            nodeName: connection.nodeName, hostname: options.hostname ?? connection.nodeName,
            internalIP: hostIP.isEmpty ? "127.0.0.1" : hostIP, nodeAPIURL: connection.nodeAPIURL, labels: options.nodeLabels,
            localPathRoot: NodeStorage.root(dataDir: dataDir))
        self.dataDir = dataDir
        self.logger = logger
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (eventQueue, eventInput) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1000))
    }

    func start() {
        tasks = [
            Task { await self.nodeLoop() },
            Task { await self.leaseLoop() },
            Task { await self.podLoop() },
            Task { await self.statusLoop() },
            Task { await self.eventLoop() },
        ]
    }

    /// Follows what the node's network is made from: the Nodes (its own spec.podCIDR, routes to
    /// the others' pods), and the services and endpoint slices the proxy programs.
    func watchNetwork(_ network: NodeNetwork) {
        let log = logger
        let node = nodeName
        func watch(_ path: String, _ what: String, _ onChange: @escaping @Sendable ([JSONValue]) async -> Void) -> Task<Void, Never> {
            let w = ListWatch(api: api, path: path, what: what, logger: log, onChange: onChange)
            let delay = options.maxRetryDelay
            return Task { await w.run(maxRetryDelay: delay) }
        }
        // Every node: this one's spec.podCIDR sets the pod network up, the others' become routes.
        tasks.append(watch(MasterAPI.nodes, "nodes") { items in
            let nodes = items.compactMap { try? $0.decode(Node.self) }
            if let cidr = nodes.first(where: { $0.metadata.name == node })?.spec.podCIDR, !cidr.isEmpty {
                do {
                    try await network.configure(podCIDR: cidr)
                } catch {
                    log.error("pod network setup failed", metadata: ["podCIDR": "\(cidr)", "error": "\(error)"])
                }
            }
            await network.setNodes(nodes)
        })
        tasks.append(watch("/api/v1/services", "services") { items in
            await network.setServices(items.compactMap { try? $0.decode(Service.self) })
        })
        tasks.append(watch("/apis/discovery.k8s.io/v1/endpointslices", "endpoint slices") { items in
            await network.setSlices(items.compactMap { try? $0.decode(EndpointSlice.self) })
        })
    }

    /// Follows the ConfigMaps and Secrets pods use as env and volumes.
    func watchConfig(_ cache: ConfigCache) {
        let log = logger
        let delay = options.maxRetryDelay
        let configMaps = ListWatch(api: api, path: "/api/v1/configmaps", what: "configmaps", logger: log) { items in
            cache.setConfigMaps(items.compactMap { try? $0.decode(ConfigMap.self) })
        }
        let secrets = ListWatch(api: api, path: "/api/v1/secrets", what: "secrets", logger: log) { items in
            cache.setSecrets(items.compactMap { try? $0.decode(Secret.self) })
        }
        let claims = ListWatch(api: api, path: "/api/v1/persistentvolumeclaims", what: "persistent volume claims", logger: log) { items in
            cache.setClaims(items.compactMap { try? $0.decode(PersistentVolumeClaim.self) })
        }
        let storageRoot = NodeStorage.root(dataDir: dataDir)
        let volumes = ListWatch(api: api, path: "/api/v1/persistentvolumes", what: "persistent volumes", logger: log) { items in
            let list = items.compactMap { try? $0.decode(PersistentVolume.self) }
            cache.setVolumes(list)
            NodeStorage.collect(root: storageRoot, keeping: list, logger: log)
        }
        tasks.append(Task { await claims.run(maxRetryDelay: delay) })
        tasks.append(Task { await volumes.run(maxRetryDelay: delay) })
        tasks.append(Task { await configMaps.run(maxRetryDelay: delay) })
        tasks.append(Task { await secrets.run(maxRetryDelay: delay) })
    }

    func stop() async {
        for t in tasks { t.cancel() }
        wake.finish()
        eventInput.finish()
        for t in tasks { await t.value }
        tasks = []
        logger.info("stopped reporting to the master")
    }

    /// Asks for a status round (cheap; any thread).
    nonisolated func poke() { wake.yield() }

    nonisolated func enqueue(_ event: Event) { eventInput.yield(event) }

    // MARK: failures

    private func failed(_ key: String, _ error: Error) {
        if failing.insert(key).inserted {
            logger.warning("master call failed, retrying", metadata: ["what": "\(key)", "error": "\(error)"])
        } else {
            logger.debug("master call failed again", metadata: ["what": "\(key)", "error": "\(error)"])
        }
    }

    private func succeeded(_ key: String) {
        if failing.remove(key) != nil { logger.info("master call works again", metadata: ["what": "\(key)"]) }
    }

    private static func pause(_ seconds: Double) async {
        try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
    }

    private static func now() -> Double { Double(realtimeNanos()) / 1e9 }

    // MARK: node

    private func nodeLoop() async {
        var delay = RetryDelay(maximum: options.maxRetryDelay)
        while !Task.isCancelled {
            if !registered {
                do {
                    try await register()
                    succeeded("register node")
                    delay.reset()
                } catch {
                    failed("register node", error)
                    await MasterSession.pause(delay.next())
                    continue
                }
            } else {
                do {
                    try await updateNodeStatus()
                    succeeded("update node status")
                } catch let error as MasterError where error.isNotFound {
                    logger.warning("the node object is gone, registering again")
                    registered = false
                    continue
                } catch {
                    failed("update node status", error)
                }
            }
            await MasterSession.pause(options.nodeStatusUpdateFrequency)
        }
    }

    /// POST the node; if it exists, take it over: labels and annotations, then the status.
    func register() async throws {
        let facts = NodeFacts.read(dataDir: dataDir)
        let conditions = NodeBuilder.conditions(facts, previous: nodeConditions, now: Time.now())
        let node = NodeBuilder.node(identity, facts: facts, conditions: conditions)
        let op = "register node \(nodeName)"
        let body = try JSONValue.encoding(node)
        let response = try await api.send("POST", "/api/v1/nodes", body: body.serialized, operation: op)
        if response.ok {
            let created = try? response.json().decode(Node.self)
            nodeUID = created?.metadata.uid
            nodeConditions = conditions
            registered = true
            logger.info("node registered", metadata: ["node": "\(nodeName)", "uid": "\(nodeUID ?? "?")"])
            return
        }
        guard response.status == 409 else { throw MasterAPI.error(response, method: "POST", path: "/api/v1/nodes", operation: op) }
        // Registered before (an agent restart): the existing object becomes ours again.
        let existing = try await api.call("GET", MasterAPI.node(nodeName), operation: op).decode(Node.self)
        nodeUID = existing.metadata.uid
        nodeConditions = existing.status?.conditions?.filter(NodeBuilder.isOwnCondition) ?? []
        foreignNodeConditions = existing.status?.conditions?.filter { !NodeBuilder.isOwnCondition($0) } ?? []
        var metadata: [String: JSONValue] = [:]
        var labels: [String: JSONValue] = [:]
        for (k, v) in NodeBuilder.metadata(identity, facts: facts).labels ?? [:] where existing.metadata.labels?[k] != v { labels[k] = .string(v) }
        if !labels.isEmpty { metadata["labels"] = .object(labels) }
        var annotations: [String: JSONValue] = [:]
        let own = NodeBuilder.annotations(identity)
        for key in [NodeBuilder.nodeAPIAnnotation, NodeBuilder.localPathRootAnnotation] where existing.metadata.annotations?[key] != own[key] {
            annotations[key] = own[key].map(JSONValue.string) ?? .null
        }
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations) }
        if !metadata.isEmpty {
            try await api.call("PATCH", MasterAPI.node(nodeName), json: ["metadata": .object(metadata)],
                               contentType: MasterAPI.mergePatch, operation: op)
        }
        registered = true
        try await updateNodeStatus()
        logger.info("node re-registered", metadata: ["node": "\(nodeName)", "uid": "\(nodeUID ?? "?")"])
    }

    /// The heartbeat: capacity, addresses, info and conditions with fresh heartbeat times.
    func updateNodeStatus() async throws {
        let facts = NodeFacts.read(dataDir: dataDir)
        let conditions = NodeBuilder.conditions(facts, previous: nodeConditions, now: Time.now())
        for c in conditions where c.type != .ready {
            let before = nodeConditions.first { $0.type == c.type }?.status
            if before != nil && before != c.status {
                logger.notice("node condition changed", metadata: ["condition": "\(c.type)", "status": "\(c.status)", "reason": "\(c.reason ?? "")"])
            }
        }
        var status = NodeBuilder.status(identity, facts: facts, conditions: conditions + foreignNodeConditions)
        status.conditions = conditions + foreignNodeConditions
        let body: JSONValue = ["status": try JSONValue.encoding(status)]
        let answer = try await api.call("PATCH", MasterAPI.node(nodeName) + "/status", json: body, contentType: MasterAPI.mergePatch,
                                        operation: "update node status")
        nodeConditions = conditions
        if let node = try? answer.decode(Node.self) {
            if nodeUID == nil { nodeUID = node.metadata.uid }
            foreignNodeConditions = node.status?.conditions?.filter { !NodeBuilder.isOwnCondition($0) } ?? []
        }
    }

    // MARK: lease

    private func leaseLoop() async {
        var delay = RetryDelay(maximum: min(options.maxRetryDelay, options.leaseRenewInterval))
        while !Task.isCancelled {
            do {
                try await renewLease()
                succeeded("renew node lease")
                delay.reset()
                await MasterSession.pause(options.leaseRenewInterval)
            } catch {
                failed("renew node lease", error)
                await MasterSession.pause(delay.next())
            }
        }
    }

    func renewLease() async throws {
        let path = MasterAPI.lease(nodeName)
        let op = "renew node lease"
        if lease == nil {
            let r = try await api.send("GET", path, operation: op)
            if r.ok {
                lease = try r.json().decode(Lease.self)
            } else if r.status == 404 {
                try await createLease()
                return
            } else {
                throw MasterAPI.error(r, method: "GET", path: path, operation: op)
            }
        }
        for attempt in 0..<2 {
            guard var l = lease else { return try await createLease() }
            l.spec.holderIdentity = nodeName
            l.spec.leaseDurationSeconds = options.leaseDurationSeconds
            l.spec.renewTime = MicroTime.now()
            if l.metadata.ownerReferences == nil, let uid = nodeUID { l.metadata.ownerReferences = [nodeOwner(uid)] }
            let r = try await api.send("PUT", path, body: try JSONValue.encoding(l).serialized, operation: op)
            if r.ok {
                lease = try r.json().decode(Lease.self)
                return
            }
            switch r.status {
            case 409 where attempt == 0:
                // Someone else wrote it since: take the latest and try once more.
                lease = try await api.call("GET", path, operation: op).decode(Lease.self)
            case 404:
                lease = nil
                return try await createLease()
            default:
                throw MasterAPI.error(r, method: "PUT", path: path, operation: op)
            }
        }
    }

    private func createLease() async throws {
        let now = MicroTime.now()
        let l = Lease(
            metadata: ObjectMeta(name: nodeName, namespace: Lease.nodeLeaseNamespace,
                                 ownerReferences: nodeUID.map { [nodeOwner($0)] }),
            spec: LeaseSpec(holderIdentity: nodeName, leaseDurationSeconds: options.leaseDurationSeconds, renewTime: now))
        let path = "/apis/coordination.k8s.io/v1/namespaces/\(Lease.nodeLeaseNamespace)/leases"
        let r = try await api.send("POST", path, body: try JSONValue.encoding(l).serialized, operation: "create node lease")
        if r.ok {
            lease = try r.json().decode(Lease.self)
        } else if r.status == 409 {
            lease = try await api.call("GET", MasterAPI.lease(nodeName), operation: "create node lease").decode(Lease.self)
        } else {
            throw MasterAPI.error(r, method: "POST", path: path, operation: "create node lease")
        }
    }

    private func nodeOwner(_ uid: String) -> OwnerReference {
        OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: uid)
    }

    // MARK: pods bound to the node

    struct Gone: Error {}
    /// The last resourceVersion the current watch delivered.
    private var watchLatest = ""

    private func podLoop() async {
        var delay = RetryDelay(maximum: options.maxRetryDelay)
        var resourceVersion: String?
        while !Task.isCancelled {
            do {
                let rv: String
                if let known = resourceVersion {
                    rv = known
                } else {
                    rv = try await listPods()
                }
                resourceVersion = rv
                let began = MasterSession.now()
                resourceVersion = try await watchPods(from: rv)
                succeeded("watch pods")
                delay.reset()
                // A watch the server ends at once (or one it does not support) is not a busy loop.
                if MasterSession.now() - began < 1 { await MasterSession.pause(1) }
            } catch is Gone {
                logger.info("pod watch expired, listing again")
                resourceVersion = nil
                await MasterSession.pause(1)
            } catch {
                if Task.isCancelled { return }
                failed("watch pods", error)
                resourceVersion = nil
                await MasterSession.pause(delay.next())
            }
        }
    }

    /// Lists the bound pods; replaces the local view; returns the list's resourceVersion.
    func listPods() async throws -> String {
        let path = MasterAPI.boundPods(nodeName)
        let list = try await api.call("GET", path, operation: "list pods bound to \(nodeName)")
        var fresh: [String: Pod] = [:]
        for item in list["items"]?.arrayValue ?? [] {
            guard let pod = try? item.decode(Pod.self), let uid = pod.metadata.uid else { continue }
            fresh[uid] = pod
        }
        pods = fresh
        // Start from what the API has: only differences get sent.
        lastSent = [:]
        lastRepair = [:]
        finalDeleted = finalDeleted.filter { fresh[$0] != nil }
        synced = true
        succeeded("list pods")
        logger.debug("pods listed", metadata: ["count": "\(fresh.count)"])
        await deliver(removed: [:])
        return list["metadata"]?["resourceVersion"]?.stringValue ?? ""
    }

    /// Follows the watch until the server ends it (returns the last resourceVersion seen), the
    /// connection drops (throws) or the history is gone (throws `Gone`). A server that stops
    /// talking without closing is left after the watch's own timeout (plus a margin), and
    /// watched again from the last resourceVersion seen.
    func watchPods(from rv: String) async throws -> String {
        watchLatest = rv
        let timeout = 300
        let path = MasterAPI.boundPods(nodeName)
            + "&watch=true&allowWatchBookmarks=true&timeoutSeconds=\(timeout)&resourceVersion=" + MasterAPI.escape(rv)
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await self.followWatch(path, from: rv) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout + 30) * 1_000_000_000)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let latest = first else {
                logger.debug("pod watch outlived its timeout, watching again")
                return self.watchLatest
            }
            return latest
        }
    }

    private func followWatch(_ path: String, from rv: String) async throws -> String {
        let (status, lines) = try await api.client.lines(path)
        if status == 410 { throw Gone() }
        guard status == 200 else {
            var body: [UInt8] = []
            for try await chunk in lines { body += chunk }
            throw MasterAPI.error(MasterResponse(status: status, body: body), method: "GET", path: path, operation: "watch pods")
        }
        var latest = rv
        for try await line in lines {
            guard let event = try? JSONValue.parse(line), let type = event["type"]?.stringValue, let object = event["object"] else {
                logger.warning("unreadable watch event", metadata: ["line": "\(String(decoding: line.prefix(200), as: UTF8.self))"])
                continue
            }
            if type == "ERROR" {
                var code: Int?
                if case .int(let c) = object["code"] ?? .null { code = Int(c) }
                if code == 410 { throw Gone() }
                throw MasterError(operation: "watch pods", method: "GET", path: path, code: code, reason: object["reason"]?.stringValue,
                                  message: object["message"]?.stringValue ?? "watch error")
            }
            if let v = object["metadata"]?["resourceVersion"]?.stringValue, !v.isEmpty {
                latest = v
                watchLatest = v
            }
            guard type == "ADDED" || type == "MODIFIED" || type == "DELETED" else { continue }  // BOOKMARK
            guard let pod = try? object.decode(Pod.self), let uid = pod.metadata.uid else {
                logger.warning("undecodable pod in watch event", metadata: ["type": "\(type)"])
                continue
            }
            await apply(type: type, pod: pod, uid: uid)
        }
        if Task.isCancelled { throw CancellationError() }
        return latest
    }

    /// One watch event into the local view and on to the agent.
    func apply(type: String, pod: Pod, uid: String) async {
        if type == "DELETED" {
            let previous = pods.removeValue(forKey: uid)
            lastSent[uid] = nil
            lastRepair[uid] = nil
            finalDeleted.remove(uid)
            var removed: [String: Int64] = [:]
            if !PodSources.isMirror(pod) {
                logger.info("pod removed from the API", metadata: ["pod": "\(PodKey.of(pod))", "uid": "\(uid)"])
                if let grace = pod.metadata.deletionGracePeriodSeconds ?? previous?.metadata.deletionGracePeriodSeconds { removed[uid] = grace }
            }
            await deliver(removed: removed)
            return
        }
        let before = pods[uid]
        pods[uid] = pod
        if before == nil { logger.debug("pod bound to the node", metadata: ["pod": "\(PodKey.of(pod))", "uid": "\(uid)"]) }
        // Someone else rewrote the status: report ours again (at most every 10 s per pod).
        if let sent = lastSent[uid], PodStatusReport.projection(sent) != PodStatusReport.projection(pod.status) {
            let now = MasterSession.now()
            if now - (lastRepair[uid] ?? 0) > 10 {
                lastRepair[uid] = now
                lastSent[uid] = nil
            }
        }
        // Only what the agent runs matters to it: spec, deletion and label or annotation changes
        // (downwardAPI files show those), not status ones.
        if before.map({ $0.metadata.deletionTimestamp != pod.metadata.deletionTimestamp || $0.spec != pod.spec
            || $0.metadata.labels != pod.metadata.labels || $0.metadata.annotations != pod.metadata.annotations }) ?? true
            || PodSources.isMirror(pod) {
            await deliver(removed: [:])
        } else {
            poke()
        }
    }

    /// Hands the non-mirror pods to the agent and asks for a status round.
    private func deliver(removed: [String: Int64]) async {
        let apiPods = pods.filter { !PodSources.isMirror($0.value) }
        await agent?.setAPIPods(apiPods, removedGrace: removed)
        poke()
    }

    // MARK: status, final deletes, mirror pods

    private func statusLoop() async {
        var delay = RetryDelay(initial: 1, maximum: options.maxRetryDelay)
        var retry: Task<Void, Never>?
        for await _ in wakes {
            if Task.isCancelled { break }
            let ok = await syncRound()
            if ok {
                delay.reset()
            } else {
                retry?.cancel()
                let wait = delay.next()
                retry = Task { [weak self] in
                    try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
                    if !Task.isCancelled { self?.poke() }
                }
            }
            await MasterSession.pause(options.statusBatchInterval)
        }
        retry?.cancel()
    }

    /// One round: every changed status sent, pods gone from the node deleted for good, mirror
    /// pods created or removed. False when something failed (the loop retries later).
    func syncRound() async -> Bool {
        guard synced, let agent else { return true }
        let snapshot = await agent.masterSnapshot()
        guard snapshot.adopted else { return true }
        var ok = true

        for (uid, pod) in pods.sorted(by: { $0.key < $1.key }) where !PodSources.isMirror(pod) {
            if let worker = snapshot.workers[uid] {
                if !(await report(worker.status, for: pod)) { ok = false }
            } else if pod.metadata.deletionTimestamp != nil, !finalDeleted.contains(uid) {
                // Stopped and cleaned up here: the API object may go now.
                if !(await finalDelete(pod, why: "pod stopped on the node")) { ok = false }
            }
        }

        if let statics = snapshot.staticPods {
            if !(await syncMirrors(statics, snapshot: snapshot)) { ok = false }
        }

        lastSent = lastSent.filter { pods[$0.key] != nil }
        lastRepair = lastRepair.filter { pods[$0.key] != nil }
        return ok
    }

    /// PATCHes the pod's status when ours differs from what the API was last told.
    func report(_ ours: PodStatus, for pod: Pod) async -> Bool {
        guard let uid = pod.metadata.uid else { return true }
        let status = PodStatusReport.merged(ours, api: pod.status)
        let base = lastSent[uid] ?? pod.status
        guard let patch = PodStatusReport.patch(from: base, to: status) else {
            lastSent[uid] = status
            return true
        }
        let ns = pod.metadata.namespace ?? "default", name = pod.metadata.name ?? ""
        let path = MasterAPI.pod(ns, name) + "/status"
        do {
            let r = try await api.send("PATCH", path, body: patch.serialized, contentType: MasterAPI.mergePatch,
                                       operation: "update status of pod \(ns)/\(name)")
            if r.ok || r.status == 404 {
                // 404: the pod went meanwhile; the watch will say so.
                if r.ok { lastSent[uid] = status }
                succeeded("update pod status")
                return true
            }
            throw MasterAPI.error(r, method: "PATCH", path: path, operation: "update status of pod \(ns)/\(name)")
        } catch {
            failed("update pod status", error)
            return false
        }
    }

    /// DELETE with grace period 0 and the UID as precondition (the kubelet's status manager).
    func finalDelete(_ pod: Pod, why: String) async -> Bool {
        guard let uid = pod.metadata.uid else { return true }
        let ns = pod.metadata.namespace ?? "default", name = pod.metadata.name ?? ""
        let path = MasterAPI.pod(ns, name)
        do {
            let r = try await api.send("DELETE", path, body: MasterAPI.finalDelete(uid: uid).serialized,
                                       operation: "delete pod \(ns)/\(name)")
            // 404: gone already; 409: the name is another pod's now (precondition failed).
            guard r.ok || r.status == 404 || r.status == 409 else {
                throw MasterAPI.error(r, method: "DELETE", path: path, operation: "delete pod \(ns)/\(name)")
            }
            finalDeleted.insert(uid)
            logger.info("pod deleted from the API", metadata: ["pod": "\(ns)/\(name)", "uid": "\(uid)", "why": "\(why)"])
            succeeded("delete pod")
            return true
        } catch {
            failed("delete pod", error)
            return false
        }
    }

    /// Each static pod has a mirror pod in the API showing its status; mirrors of static pods
    /// that went (or changed: a new UID) are deleted; a deleted mirror is made again.
    func syncMirrors(_ statics: [Pod], snapshot: MasterSnapshot) async -> Bool {
        var ok = true
        let wanted = Dictionary(statics.compactMap { p in p.metadata.uid.map { ($0, p) } }, uniquingKeysWith: { a, _ in a })
        var mirrors: [String: Pod] = [:]  // static UID → mirror
        for (uid, pod) in pods.sorted(by: { $0.key < $1.key }) {
            guard let of = pod.metadata.annotations?[PodSourceAnnotation.mirror] else { continue }
            if wanted[of] == nil || pod.metadata.deletionTimestamp != nil {
                if !finalDeleted.contains(uid), !(await finalDelete(pod, why: wanted[of] == nil ? "its static pod is gone" : "mirror pod deleted")) {
                    ok = false
                }
                continue
            }
            mirrors[of] = pod
        }
        let now = MasterSession.now()
        for (staticUID, pod) in wanted.sorted(by: { $0.key < $1.key }) {
            if let mirror = mirrors[staticUID] {
                if let worker = snapshot.workers[staticUID], !(await report(worker.status, for: mirror)) { ok = false }
                continue
            }
            // A mirror still being deleted (old one under the same name) or a real pod with the
            // name: wait for the watch.
            let key = PodKey.of(pod)
            if pods.values.contains(where: { PodKey.of($0) == key }) { continue }
            if let at = mirrorRetryAt[staticUID], at > now { continue }
            if !(await createMirror(pod, staticUID: staticUID)) { ok = false }
        }
        mirrorRetryAt = mirrorRetryAt.filter { wanted[$0.key] != nil }
        return ok
    }

    /// The mirror pod of a static pod: its manifest, bound here, annotated with its UID.
    static func mirrorPod(of pod: Pod, staticUID: String, nodeName: String, nodeUID: String?) -> Pod {
        var m = Pod(metadata: ObjectMeta(name: pod.metadata.name, namespace: pod.metadata.namespace ?? "default",
                                         labels: pod.metadata.labels, annotations: pod.metadata.annotations),
                    spec: pod.spec)
        var annotations = m.metadata.annotations ?? [:]
        annotations[PodSourceAnnotation.mirror] = staticUID
        annotations[PodSourceAnnotation.source] = "file"
        annotations[PodSourceAnnotation.hash] = staticUID
        m.metadata.annotations = annotations
        m.spec.nodeName = nodeName
        if let nodeUID {
            m.metadata.ownerReferences = [OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUID, controller: false)]
        }
        return m
    }

    private func createMirror(_ pod: Pod, staticUID: String) async -> Bool {
        let mirror = MasterSession.mirrorPod(of: pod, staticUID: staticUID, nodeName: nodeName, nodeUID: nodeUID)
        let ns = mirror.metadata.namespace ?? "default", name = mirror.metadata.name ?? ""
        let op = "create mirror pod \(ns)/\(name)"
        do {
            let r = try await api.send("POST", MasterAPI.pods(ns), body: try JSONValue.encoding(mirror).serialized, operation: op)
            if r.ok {
                if let created = try? r.json().decode(Pod.self), let uid = created.metadata.uid {
                    pods[uid] = created
                    poke()  // its status next round
                }
                mirrorRetryAt[staticUID] = nil
                logger.info("mirror pod created", metadata: ["pod": "\(ns)/\(name)", "static uid": "\(staticUID)"])
                succeeded("create mirror pod")
                return true
            }
            // 409: a pod of that name exists that the watch has not shown yet, or is not ours.
            mirrorRetryAt[staticUID] = MasterSession.now() + (r.status == 409 ? 10 : 5)
            throw MasterAPI.error(r, method: "POST", path: MasterAPI.pods(ns), operation: op)
        } catch {
            if mirrorRetryAt[staticUID] == nil { mirrorRetryAt[staticUID] = MasterSession.now() + 5 }
            failed("create mirror pod \(ns)/\(name)", error)
            return false
        }
    }

    // MARK: events

    private func eventLoop() async {
        for await event in eventQueue {
            if Task.isCancelled { break }
            var delay = RetryDelay(initial: 0.5, maximum: 4)
            for attempt in 0..<3 {
                do {
                    try await post(event)
                    succeeded("post event")
                    break
                } catch {
                    if attempt == 2 || Task.isCancelled {
                        failed("post event", error)
                        break
                    }
                    await MasterSession.pause(delay.next())
                }
            }
        }
    }

    /// A new event is created; a repeat (same name, higher count) updates the existing one.
    func post(_ event: Event) async throws {
        let ns = event.metadata.namespace ?? event.involvedObject.namespace ?? "default"
        var e = event
        e.metadata.namespace = ns
        e.apiVersion = "v1"
        e.kind = "Event"
        let op = "post event \(e.reason ?? "")"
        let r = try await api.send("POST", MasterAPI.events(ns), body: try JSONValue.encoding(e).serialized, operation: op)
        if r.ok { return }
        guard r.status == 409, let name = e.metadata.name else {
            throw MasterAPI.error(r, method: "POST", path: MasterAPI.events(ns), operation: op)
        }
        var patch: [String: JSONValue] = ["count": .int(Int64(e.count ?? 1))]
        if let t = e.lastTimestamp { patch["lastTimestamp"] = .string(t.rfc3339) }
        if let m = e.message { patch["message"] = .string(m) }
        try await api.call("PATCH", MasterAPI.events(ns) + "/" + MasterAPI.escape(name), json: .object(patch),
                           contentType: MasterAPI.mergePatch, operation: op)
    }
}

enum PodKey {
    static func of(_ pod: Pod) -> String { "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")" }
}

extension NodeBuilder {
    static let ownConditionTypes: Set<NodeConditionType> = [.ready, .memoryPressure, .diskPressure, .pidPressure]
    static func isOwnCondition(_ c: NodeCondition) -> Bool { ownConditionTypes.contains(c.type) }
}
