import Foundation
import ShoalAPI
import ShoalOS
import ShoalScheduler
import ShoalStore

extension Master {
    func startControllers() {
        let tasks = [
            Task { await self.runScheduler() },
            Task { await self.runNodeLifecycle() },
            Task { await self.runNamespaceController() },
            Task { await self.runEndpointsController() },
            Task { await self.runNodeIPAM() },
            Task { await self.runLoadBalancerController() },
            Task { await self.runWorkloadControllers() },
            Task { await self.runGarbageCollector() },
            Task { await self.runQuotaController() },
            Task { await self.runVolumeController() },
            Task { await self.runServiceAccountController() },
        ]
        controllers.withLock { $0 = tasks }
    }

    /// Watches a store prefix from now, calling `changed` after each burst of events.
    /// Re-subscribes if the watch ends (a lagging watcher is cut off by the store).
    func onChanges(_ prefixes: [String], _ changed: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            // The revision is read before the pass, so that a change made during it is replayed.
            let revision = store.revision
            await changed()
            let (signal, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            var watchers: [Task<Void, Never>] = []
            for prefix in prefixes {
                guard let stream = try? store.watch(prefix: prefix, after: revision) else { continue }
                watchers.append(Task {
                    do { for try await _ in stream { continuation.yield() } } catch {}
                    continuation.finish()
                })
            }
            for await _ in signal {
                await changed()
                if Task.isCancelled { break }
            }
            for w in watchers { w.cancel() }
            if Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    // MARK: scheduler

    func runScheduler() async {
        let state = Locked(SchedulerState())
        await onChanges(["/registry/pods/", "/registry/nodes/"]) { [self] in
            schedulePending(state)
        }
    }

    struct SchedulerState: Sendable {
        var scheduler = Scheduler()
        /// The last unschedulable message per pod uid, so an Event is not repeated on every pass.
        var reported: [String: String] = [:]
    }

    func schedulePending(_ state: Locked<SchedulerState>) {
        guard let podObjects = try? registry.list(Resources.pods, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items,
              let nodeObjects = try? registry.list(Resources.nodes, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items
        else { return }
        let nodes = nodeObjects.compactMap { try? $0.decode(Node.self) }
        var bound: [String: [Pod]] = [:]
        var pending: [Pod] = []
        for obj in podObjects {
            guard let pod = try? obj.decode(Pod.self) else { continue }
            let phase = pod.status?.phase
            if let node = pod.spec.nodeName, !node.isEmpty {
                if phase != .succeeded && phase != .failed { bound[node, default: []].append(pod) }
            } else if pod.metadata.deletionTimestamp == nil && (pod.spec.schedulerName ?? PodDefaults.schedulerName) == PodDefaults.schedulerName {
                pending.append(pod)
            }
        }
        pending.sort { ($0.metadata.creationTimestamp?.secondsSinceEpoch ?? 0) < ($1.metadata.creationTimestamp?.secondsSinceEpoch ?? 0) }
        let storage = pending.contains { p in (p.spec.volumes ?? []).contains { $0.persistentVolumeClaim != nil } } ? StorageView(self) : nil
        for pod in pending {
            let ns = pod.metadata.namespace ?? "default", name = pod.metadata.name ?? "", uid = pod.metadata.uid ?? ""
            let snapshot = bound
            var candidates = nodes
            if let storage {
                switch storage.fit(pod, nodes: nodes) {
                case .nodes(let allowed): candidates = allowed
                case .wait(let message):
                    reportUnschedulable(pod, message, state)
                    continue
                }
            }
            let result = state.withLock { $0.scheduler.schedule(pod, nodes: candidates, bound: snapshot) }
            switch result {
            case .bound(let node):
                do {
                    try registry.setNodeName(namespace: ns, name: name, node: node)
                    bound[node, default: []].append(pod)
                    _ = state.withLock { $0.reported.removeValue(forKey: uid) }
                    recordEvent(for: pod, type: "Normal", reason: "Scheduled", message: "Successfully assigned \(ns)/\(name) to \(node)")
                } catch {
                    logger.warning("binding failed", metadata: ["pod": "\(ns)/\(name)", "error": "\(error)"])
                }
            case .unschedulable(let fit):
                reportUnschedulable(pod, candidates.count < nodes.count && candidates.isEmpty
                    ? "0/\(nodes.count) nodes are available: \(nodes.count) node(s) had volume node affinity conflict." : fit.description, state)
            }
        }
    }

    /// PodScheduled=False with the reason, and a FailedScheduling event once per message.
    func reportUnschedulable(_ pod: Pod, _ message: String, _ state: Locked<SchedulerState>) {
        let ns = pod.metadata.namespace ?? "default", name = pod.metadata.name ?? "", uid = pod.metadata.uid ?? ""
        let isNew = state.withLock { s -> Bool in
            if s.reported[uid] == message { return false }
            s.reported[uid] = message
            return true
        }
        guard isNew else { return }
        _ = try? registry.modify(Resources.pods, namespace: ns, name: name, subresource: "status") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            var conditions = obj["status"]?["conditions"]?.arrayValue ?? []
            conditions.removeAll { $0["type"]?.stringValue == "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message),
                               "lastProbeTime": nil, "lastTransitionTime": .string(Time.now().rfc3339)])
            obj["status"]?["conditions"] = .array(conditions)
            return obj
        }
        recordEvent(for: pod, type: "Warning", reason: "FailedScheduling", message: message)
    }

    /// A core/v1 Event about a pod, from the master's components.
    func recordEvent(for pod: Pod, type: String, reason: String, message: String, component: String = "default-scheduler") {
        recordEvent(kind: "Pod", apiVersion: "v1", pod.metadata, type: type, reason: reason, message: message, component: component)
    }

    func recordEvent(kind: String, apiVersion: String, _ meta: ObjectMeta, type: String, reason: String, message: String, component: String) {
        let ns = meta.namespace ?? "default"
        let now = Time.now().rfc3339
        let event: JSONValue = [
            "metadata": ["name": .string("\(meta.name ?? "").\(String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16))"), "namespace": .string(ns)],
            "involvedObject": ["kind": .string(kind), "namespace": .string(ns), "name": .string(meta.name ?? ""), "uid": .string(meta.uid ?? ""),
                               "apiVersion": .string(apiVersion)],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component)], "reportingComponent": .string(component),
            "firstTimestamp": .string(now), "lastTimestamp": .string(now), "count": 1,
        ]
        _ = try? registry.create(Resources.events, namespace: ns, object: event, strict: false)
    }

    // MARK: node lifecycle

    /// Like the node lifecycle controller: a node whose Lease is older than the grace period
    /// turns Unknown and is tainted unreachable; pods that do not tolerate that are evicted
    /// once their toleration runs out. A timer, because the event here is time passing.
    func runNodeLifecycle() async {
        let period = min(config.nodeMonitorGracePeriod / 4, .seconds(5))
        while !Task.isCancelled {
            checkNodes()
            try? await Task.sleep(for: period)
        }
    }

    func checkNodes() {
        guard let nodes = try? registry.list(Resources.nodes, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items else { return }
        let now = Date()
        let grace = Double(config.nodeMonitorGracePeriod.components.seconds)
        for nodeObj in nodes {
            let name = nodeObj["metadata"]?["name"]?.stringValue ?? ""
            let lease = try? registry.get(Resources.leases, namespace: "kube-node-lease", name: name)
            let renewed = (lease?["spec"]?["renewTime"]?.stringValue).flatMap(Self.parseMicroTime)
                ?? (nodeObj["metadata"]?["creationTimestamp"]?.stringValue).flatMap(Self.parseMicroTime) ?? now
            let stale = now.timeIntervalSince(renewed) > grace
            let ready = (nodeObj["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue
            if stale && ready != "Unknown" {
                markUnknown(name)
            }
            let taints = nodeObj["spec"]?["taints"]?.arrayValue ?? []
            let unreachable = taints.contains { $0["key"]?.stringValue == "node.kubernetes.io/unreachable" }
            if !stale && ready == "True" && unreachable {
                setUnreachableTaints(name, present: false)
            }
            if stale || unreachable { evictPods(on: name, taints: taints) }
        }
    }

    func markUnknown(_ name: String) {
        let now = Time.now().rfc3339
        _ = try? registry.modify(Resources.nodes, namespace: nil, name: name, subresource: "status") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            let conditions = (obj["status"]?["conditions"]?.arrayValue ?? []).map { c -> JSONValue in
                var c = c
                c["status"] = "Unknown"
                c["reason"] = "NodeStatusUnknown"
                c["message"] = "Kubelet stopped posting node status."
                c["lastTransitionTime"] = .string(now)
                return c
            }
            obj["status"]?["conditions"] = .array(conditions)
            return obj
        }
        setUnreachableTaints(name, present: true)
        markPodsNotReady(on: name)
        logger.warning("node stopped renewing its lease", metadata: ["node": "\(name)"])
    }

    /// The node lifecycle controller's MarkPodsNotReady: nobody vouches for the pods of a node
    /// gone silent, so they leave every Service's endpoints now, not only once evicted.
    func markPodsNotReady(on node: String) {
        let now = Time.now().rfc3339
        let fields = try? FieldSelector(parsing: "spec.nodeName=\(node)", for: Resources.pods)
        guard let pods = try? registry.list(Resources.pods, namespace: nil, labels: .everything, fields: fields ?? FieldSelector(), limit: nil, continueToken: nil).items else { return }
        for pod in pods {
            let ns = pod["metadata"]?["namespace"]?.stringValue ?? "default", podName = pod["metadata"]?["name"]?.stringValue ?? ""
            _ = try? registry.modify(Resources.pods, namespace: ns, name: podName, subresource: "status") { (obj) throws(APIError) -> JSONValue in
                var obj = obj
                let conditions = (obj["status"]?["conditions"]?.arrayValue ?? []).map { c -> JSONValue in
                    guard c["type"]?.stringValue == "Ready", c["status"]?.stringValue != "False" else { return c }
                    var c = c
                    c["status"] = "False"
                    c["reason"] = nil
                    c["lastTransitionTime"] = .string(now)
                    return c
                }
                obj["status"]?["conditions"] = .array(conditions)
                return obj
            }
        }
    }

    func setUnreachableTaints(_ name: String, present: Bool) {
        _ = try? registry.modify(Resources.nodes, namespace: nil, name: name) { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            var taints = (obj["spec"]?["taints"]?.arrayValue ?? []).filter {
                $0["key"]?.stringValue != "node.kubernetes.io/unreachable" && $0["key"]?.stringValue != "node.kubernetes.io/not-ready"
            }
            if present {
                let now = Time.now().rfc3339
                taints.append(["key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": .string(now)])
                taints.append(["key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": .string(now)])
            }
            var spec = obj["spec"] ?? [:]
            if taints.isEmpty { spec["taints"] = nil } else { spec["taints"] = .array(taints) }
            obj["spec"] = spec
            return obj
        }
    }

    func evictPods(on node: String, taints: [JSONValue]) {
        guard let noExecute = taints.first(where: { $0["effect"]?.stringValue == "NoExecute" }) else { return }
        let taint: Taint
        do { taint = try noExecute.decode(Taint.self) } catch {
            logger.warning("unreadable taint", metadata: ["node": "\(node)", "error": "\(error)"])
            return
        }
        let added = taint.timeAdded?.secondsSinceEpoch ?? Time.now().secondsSinceEpoch
        let fields = try? FieldSelector(parsing: "spec.nodeName=\(node)", for: Resources.pods)
        guard let pods = try? registry.list(Resources.pods, namespace: nil, labels: .everything, fields: fields ?? FieldSelector(), limit: nil, continueToken: nil).items else { return }
        for obj in pods where obj["metadata"]?["deletionTimestamp"] == nil {
            guard let pod = try? obj.decode(Pod.self) else { continue }
            let evictAt: Int64?
            switch tolerationSeconds(of: pod, for: taint) {
            case .notTolerated: evictAt = added
            case .forever: evictAt = nil
            case .seconds(let s): evictAt = added + s
            }
            guard let evictAt, Time.now().secondsSinceEpoch >= evictAt else { continue }
            let ns = pod.metadata.namespace ?? "default", name = pod.metadata.name ?? ""
            do {
                _ = try registry.delete(Resources.pods, namespace: ns, name: name, options: Registry.DeleteOptions())
            } catch {
                logger.warning("eviction failed", metadata: ["pod": "\(ns)/\(name)", "error": "\(error)"])
                continue
            }
            recordEvent(for: pod, type: "Normal", reason: "TaintManagerEviction", message: "Marking for deletion Pod \(ns)/\(name)", component: "taint-eviction-controller")
        }
    }

    static func parseMicroTime(_ s: String) -> Date? {
        if let t = try? MicroTime(rfc3339: s) { return t.date }
        if let t = try? Time(rfc3339: s) { return t.date }
        return nil
    }

    // MARK: namespaces

    /// Empties a Terminating namespace, then removes it, as the namespace controller does.
    func runNamespaceController() async {
        // Pods and claims go gracefully (their changes trigger the next pass); the rest is
        // removed at once.
        let prefixes = [Resources.namespaces, Resources.pods, Resources.persistentVolumeClaims].map { Registry.prefix($0, namespace: nil) }
        await onChanges(prefixes) { [self] in
            guard let namespaces = try? registry.list(Resources.namespaces, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items else { return }
            for ns in namespaces where ns["metadata"]?["deletionTimestamp"] != nil {
                let name = ns["metadata"]?["name"]?.stringValue ?? ""
                var remaining = 0
                for r in Resources.all where r.namespaced {
                    let items = (try? registry.list(r, namespace: name, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items) ?? []
                    for item in items {
                        guard item["metadata"]?["deletionTimestamp"] == nil else {
                            remaining += 1
                            continue
                        }
                        let removed = (try? registry.delete(r, namespace: name, name: item["metadata"]?["name"]?.stringValue ?? "", options: Registry.DeleteOptions()))?.removed
                        if removed != true { remaining += 1 }
                    }
                }
                if remaining == 0 { try? registry.purge(Resources.namespaces, namespace: nil, name: name) }
            }
        }
    }
}

extension Master {
    static let defaultServiceAccount = "default"

    /// The service account controller: every namespace that is not being deleted has a
    /// `default` ServiceAccount, made again if it is deleted.
    func runServiceAccountController() async {
        await onChanges([Resources.namespaces, Resources.serviceAccounts].map { Registry.prefix($0, namespace: nil) }) { [self] in
            guard let namespaces = try? registry.list(Resources.namespaces, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items else { return }
            for ns in namespaces where ns["metadata"]?["deletionTimestamp"] == nil {
                guard let name = ns["metadata"]?["name"]?.stringValue,
                      (try? registry.get(Resources.serviceAccounts, namespace: name, name: Self.defaultServiceAccount)) == nil else { continue }
                let account: JSONValue = ["apiVersion": "v1", "kind": "ServiceAccount",
                                          "metadata": ["name": .string(Self.defaultServiceAccount), "namespace": .string(name)]]
                _ = try? registry.create(Resources.serviceAccounts, namespace: name, object: account, strict: false)
            }
        }
    }
}
