import Foundation
import ShoalAPI
import ShoalOS

/// The ReplicaSet, Deployment, Job and DaemonSet controllers, as kube-controller-manager runs them, reading the
/// store directly (so a pod made in one pass is seen by the next: no expectations needed).
/// Each pass is serialized; a pass may ask for another at a later time (minReadySeconds,
/// progress deadlines), since the event then is time passing.
extension Master {
    func runWorkloadControllers() async {
        let timer = Locked<Double?>(nil)
        let serial = Lock()
        let pass: @Sendable () -> Void = { [self] in
            serial.withLock {
                let next = [syncReplicaSets(), syncDeployments(), syncJobs(), syncDaemonSets()].compactMap { $0 }.min()
                timer.withLock { t in t = next.map { n in min(n, t ?? n) } }
            }
        }
        let ticker = Task {
            while !Task.isCancelled {
                let due = timer.withLock { $0 }
                let now = Date().timeIntervalSince1970
                if let due, due <= now {
                    timer.withLock { $0 = nil }
                    pass()
                    continue
                }
                try? await Task.sleep(for: .milliseconds(due.map { Int(min(1000, max(10, ($0 - now) * 1000))) } ?? 1000))
            }
        }
        await onChanges([Resources.replicaSets, Resources.replicationControllers, Resources.pods, Resources.deployments, Resources.jobs,
                          Resources.daemonSets, Resources.nodes].map { Registry.prefix($0, namespace: nil) }) { pass() }
        ticker.cancel()
    }

    // MARK: ReplicaSets

    /// Returns when a pass is due again (epoch seconds), if one is.
    func syncReplicaSets() -> Double? {
        let sets = (listAll(Resources.replicaSets, as: ReplicaSet.self) ?? []).map { ($0, ReplicaKind.replicaSet) }
            + (listAll(Resources.replicationControllers, as: ReplicationController.self) ?? []).map { ($0.asReplicaSet, ReplicaKind.replicationController) }
        // Pods are read only when there is a ReplicaSet to read them for.
        guard !sets.isEmpty, let pods = listAll(Resources.pods, as: Pod.self) else { return nil }
        let byNamespace = Dictionary(grouping: pods) { $0.metadata.namespace ?? "default" }
        var next: Double?
        for (rs, kind) in sets where rs.metadata.deletionTimestamp == nil {
            if let due = syncReplicaSet(rs, pods: byNamespace[rs.metadata.namespace ?? "default"] ?? [], as: kind) {
                next = min(due, next ?? due)
            }
        }
        return next
    }

    /// Which kind a replica controller is (a ReplicationController is run as the ReplicaSet
    /// its map selector makes).
    struct ReplicaKind {
        var resource: ResourceInfo
        var kind: String
        var apiVersion: String
        static let replicaSet = ReplicaKind(resource: Resources.replicaSets, kind: "ReplicaSet", apiVersion: "apps/v1")
        static let replicationController = ReplicaKind(resource: Resources.replicationControllers, kind: "ReplicationController", apiVersion: "v1")
    }

    func syncReplicaSet(_ rs: ReplicaSet, pods: [Pod], as k: ReplicaKind = .replicaSet) -> Double? {
        guard let uid = rs.metadata.uid, let selector = rs.spec.selector else { return nil }
        let now = Time.now().secondsSinceEpoch
        let active = pods.filter { $0.metadata.deletionTimestamp == nil && $0.status?.phase != .succeeded && $0.status?.phase != .failed }
        var owned = active.filter { controllerRef($0.metadata)?.uid == uid }
        // Adoption and release, by labels (ClaimPods).
        for pod in active where controllerRef(pod.metadata) == nil && selector.matches(pod.metadata.labels) {
            if setOwner(Resources.pods, pod.metadata, to: reference(rs.metadata, kind: k.kind, apiVersion: k.apiVersion)) { owned.append(pod) }
        }
        for pod in owned where !selector.matches(pod.metadata.labels) {
            _ = setOwner(Resources.pods, pod.metadata, to: nil, releasing: uid)
            owned.removeAll { $0.metadata.uid == pod.metadata.uid }
        }
        let wanted = Int(rs.spec.replicas ?? 1)
        var count = owned.count
        if count < wanted {
            for _ in 0..<min(wanted - count, 500) where createPod(for: rs, as: k) { count += 1 }
        } else if count > wanted {
            for pod in owned.sorted(by: { Rollout.rank($0) < Rollout.rank($1) }).prefix(count - wanted) {
                if (try? registry.delete(Resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", options: Registry.DeleteOptions())) != nil {
                    count -= 1
                    recordEvent(kind: k.kind, apiVersion: k.apiVersion, rs.metadata, type: "Normal", reason: "SuccessfulDelete",
                                message: "Deleted pod: \(pod.metadata.name ?? "")", component: "replicaset-controller")
                }
            }
        }
        let minReady = rs.spec.minReadySeconds ?? 0
        let templateLabels = rs.spec.template?.metadata?.labels ?? [:]
        var status = ReplicaSetStatus(
            replicas: Int32(count),
            fullyLabeledReplicas: Int32(owned.filter { p in templateLabels.allSatisfy { p.metadata.labels?[$0.key] == $0.value } }.count),
            readyReplicas: Int32(owned.filter { Rollout.isAvailable($0, minReadySeconds: 0, now: now) }.count),
            availableReplicas: Int32(owned.filter { Rollout.isAvailable($0, minReadySeconds: minReady, now: now) }.count),
            observedGeneration: rs.metadata.generation)
        status.conditions = rs.status?.conditions
        if status != rs.status { writeStatus(k.resource, rs.metadata, status) }
        // A pod that is ready but not yet available turns available later.
        let maturing = owned.compactMap { p -> Int64? in
            guard minReady > 0, let t = p.status?.conditions?.first(where: { $0.type == .ready && $0.status == .true })?.lastTransitionTime else { return nil }
            let at = t.secondsSinceEpoch + Int64(minReady)
            return at > now ? at : nil
        }.min()
        return maturing.map { Double($0) + 0.05 }
    }

    func createPod(for rs: ReplicaSet, as k: ReplicaKind) -> Bool {
        createOwnedPod(rs.spec.template, owner: rs.metadata, kind: k.kind, apiVersion: k.apiVersion, component: "replicaset-controller")
    }

    /// A pod of a controller's template, owned by it (generateName from the owner's name), with
    /// the SuccessfulCreate or FailedCreate event the controllers record.
    func createOwnedPod(_ template: PodTemplateSpec?, owner: ObjectMeta, kind: String, apiVersion: String, component: String,
                        extraLabels: [String: String] = [:], adjust: (inout PodSpec) -> Void = { _ in }) -> Bool {
        let template = template ?? PodTemplateSpec()
        var meta = ObjectMeta(generateName: "\(owner.name ?? "")-", namespace: owner.namespace)
        meta.labels = extraLabels.isEmpty ? template.metadata?.labels : (template.metadata?.labels ?? [:]).merging(extraLabels) { $1 }
        meta.annotations = template.metadata?.annotations
        meta.ownerReferences = [reference(owner, kind: kind, apiVersion: apiVersion)]
        var spec = template.spec ?? PodSpec()
        adjust(&spec)
        guard let body = try? JSONValue.encoding(Pod(metadata: meta, spec: spec)) else { return false }
        do {
            let created = try registry.create(Resources.pods, namespace: owner.namespace, object: body, strict: false)
            recordEvent(kind: kind, apiVersion: apiVersion, owner, type: "Normal", reason: "SuccessfulCreate",
                        message: "Created pod: \(created["metadata"]?["name"]?.stringValue ?? "")", component: component)
            return true
        } catch {
            recordEvent(kind: kind, apiVersion: apiVersion, owner, type: "Warning", reason: "FailedCreate",
                        message: "Error creating: \(error)", component: component)
            return false
        }
    }

    // MARK: Deployments

    func syncDeployments() -> Double? {
        guard let deployments = listAll(Resources.deployments, as: Deployment.self), !deployments.isEmpty,
              let sets = listAll(Resources.replicaSets, as: ReplicaSet.self), let pods = listAll(Resources.pods, as: Pod.self) else { return nil }
        var next: Double?
        for d in deployments where d.metadata.deletionTimestamp == nil {
            let ns = d.metadata.namespace ?? "default"
            if let due = syncDeployment(d, sets: sets.filter { ($0.metadata.namespace ?? "default") == ns },
                                        pods: pods.filter { ($0.metadata.namespace ?? "default") == ns }) {
                next = min(due, next ?? due)
            }
        }
        return next
    }

    func syncDeployment(_ d: Deployment, sets: [ReplicaSet], pods: [Pod]) -> Double? {
        guard let uid = d.metadata.uid, let selector = d.spec.selector else { return nil }
        var owned = sets.filter { controllerRef($0.metadata)?.uid == uid && $0.metadata.deletionTimestamp == nil }
        for rs in sets where controllerRef(rs.metadata) == nil && rs.metadata.deletionTimestamp == nil && selector.matches(rs.metadata.labels) {
            if setOwner(Resources.replicaSets, rs.metadata, to: reference(d.metadata, kind: "Deployment")) { owned.append(rs) }
        }
        let maxRevision = owned.compactMap(revision).max() ?? 0
        var newRS = owned.first { Rollout.sameTemplate($0.spec.template, d.spec.template) }
        var progressed = false
        if d.spec.paused != true {
            if newRS == nil {
                newRS = createReplicaSet(for: d, revision: maxRevision + 1, replicas: 0)
                progressed = newRS != nil
                if let rs = newRS { owned.append(rs) }
            } else if let rs = newRS, revision(rs) != maxRevision || rs.metadata.annotations?["kubernetes.io/change-cause"] != d.metadata.annotations?["kubernetes.io/change-cause"] {
                // A rollback to an earlier template makes its ReplicaSet the newest revision.
                newRS = annotate(rs, revision: revision(rs) == maxRevision ? maxRevision : maxRevision + 1, from: d)
            }
        }
        guard let current = newRS else { return updateDeploymentStatus(d, new: nil, all: owned, progressed: false) }
        let old = owned.filter { $0.metadata.uid != current.metadata.uid }
        if d.spec.paused == true || isScalingEvent(d, [current] + old), let plan = resizePlan(d, new: current, old: old) {
            // A resize (or a paused Deployment) changes sizes only, and is no rollout progress;
            // the rollout goes on next sync.
            for (rs, replicas) in plan { _ = scale(rs, to: replicas, for: d) }
        } else if d.spec.paused != true {
            let plan = d.spec.strategy?.type == "Recreate"
                ? recreatePlan(d, new: current, old: old, pods: pods)
                : rollingPlan(d, new: current, old: old)
            for (rs, replicas) in plan where scale(rs, to: replicas, for: d) { progressed = true }
            cleanUpHistory(d, old: old)
        }
        let refreshed = (listAll(Resources.replicaSets, as: ReplicaSet.self) ?? owned).filter { r in owned.contains { $0.metadata.uid == r.metadata.uid } }
        return updateDeploymentStatus(d, new: refreshed.first { $0.metadata.uid == current.metadata.uid } ?? current, all: refreshed, progressed: progressed)
    }

    /// isScalingEvent: an active ReplicaSet was last sized for another replica count.
    func isScalingEvent(_ d: Deployment, _ sets: [ReplicaSet]) -> Bool {
        sets.contains { rs in
            guard (rs.spec.replicas ?? 0) > 0, let v = rs.metadata.annotations?[Rollout.desiredReplicasAnnotation], let n = Int32(v) else { return false }
            return n != d.spec.replicas ?? 1
        }
    }

    /// scale(): one active ReplicaSet (or none: the new one) takes the whole count; a saturated
    /// new one leaves the old ones nothing; otherwise a rolling Deployment shares the change
    /// out proportionally. Nil when a Recreate Deployment is mid-rollout: its plan decides.
    func resizePlan(_ d: Deployment, new: ReplicaSet, old: [ReplicaSet]) -> [(ReplicaSet, Int32)]? {
        let desired = d.spec.replicas ?? 1
        let all = [new] + old.sorted { revision($0) > revision($1) }
        let active = all.filter { ($0.spec.replicas ?? 0) > 0 }
        if active.count <= 1 { return [(active.first ?? new, desired)] }
        let saturated = new.spec.replicas == desired && new.metadata.annotations?[Rollout.desiredReplicasAnnotation] == String(desired)
            && (new.status?.availableReplicas ?? 0) == desired
        if saturated { return old.filter { ($0.spec.replicas ?? 0) > 0 }.map { ($0, 0) } }
        guard d.spec.strategy?.type != "Recreate" else { return nil }
        let shares = active.map { rs in
            Rollout.Share(replicas: rs.spec.replicas ?? 0, maxReplicasBefore: rs.metadata.annotations?[Rollout.maxReplicasAnnotation].flatMap { Int32($0) },
                          revision: revision(rs))
        }
        let sizes = Rollout.proportionalSizes(desired: desired, maxSurge: Rollout.limits(d).maxSurge,
                                              statusReplicas: d.status?.replicas ?? 0, sets: shares)
        return Array(zip(active, sizes))
    }

    /// Recreate: every old pod gone before the new ReplicaSet grows.
    func recreatePlan(_ d: Deployment, new: ReplicaSet, old: [ReplicaSet], pods: [Pod]) -> [(ReplicaSet, Int32)] {
        let scaleDown = old.filter { ($0.spec.replicas ?? 0) > 0 }.map { ($0, Int32(0)) }
        if !scaleDown.isEmpty { return scaleDown }
        let oldUIDs = Set(old.compactMap(\.metadata.uid))
        let oldPodsLeft = pods.contains { p in controllerRef(p.metadata).map { oldUIDs.contains($0.uid) } ?? false }
        return oldPodsLeft ? [] : [(new, d.spec.replicas ?? 1)]
    }

    /// RollingUpdate: grow the new ReplicaSet within maxSurge, shrink the old within
    /// maxUnavailable (unhealthy old pods first), oldest ReplicaSet first.
    func rollingPlan(_ d: Deployment, new: ReplicaSet, old: [ReplicaSet]) -> [(ReplicaSet, Int32)] {
        let desired = d.spec.replicas ?? 1
        let limits = Rollout.limits(d)
        let all = [new] + old
        let allCurrent = all.reduce(0) { $0 + ($1.spec.replicas ?? 0) }
        let newCurrent = new.spec.replicas ?? 0
        let target = Rollout.newReplicas(desired: desired, newCurrent: newCurrent, allCurrent: allCurrent, limits: limits)
        if target != newCurrent { return [(new, target)] }
        var room = Rollout.oldScaleDown(desired: desired, allCurrent: allCurrent, newCurrent: newCurrent,
                                        newAvailable: new.status?.availableReplicas ?? 0,
                                        allAvailable: all.reduce(0) { $0 + ($1.status?.availableReplicas ?? 0) }, limits: limits)
        let minAvailable = desired - limits.maxUnavailable
        let newUnavailable = newCurrent - (new.status?.availableReplicas ?? 0)
        // Unhealthy old pods may go first, within what the minimum availability allows.
        var unhealthyRoom = max(0, allCurrent - minAvailable - newUnavailable)
        var plan: [(ReplicaSet, Int32)] = []
        for rs in old.sorted(by: { revision($0) < revision($1) }) {
            var size = rs.spec.replicas ?? 0
            let unhealthy = max(0, size - (rs.status?.availableReplicas ?? 0))
            let cleanup = min(unhealthy, unhealthyRoom)
            size -= cleanup
            unhealthyRoom -= cleanup
            room = min(room, unhealthyRoom)
            let healthyDown = min(size, room)
            size -= healthyDown
            room -= healthyDown
            if size != (rs.spec.replicas ?? 0) { plan.append((rs, size)) }
        }
        return plan
    }

    /// Sizes a ReplicaSet and stamps it with the Deployment size it was sized for (what
    /// isScalingEvent and proportional scaling read). True when the size changed.
    func scale(_ rs: ReplicaSet, to replicas: Int32, for d: Deployment) -> Bool {
        let before = rs.spec.replicas ?? 0
        let stamps = Self.sizeAnnotations(d)
        guard replicas != before || stamps.contains(where: { rs.metadata.annotations?[$0.key] != $0.value }) else { return false }
        let done = (try? registry.modify(Resources.replicaSets, namespace: rs.metadata.namespace, name: rs.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            obj["spec"]?["replicas"] = .int(Int64(replicas))
            var annotations = obj["metadata"]?["annotations"]?.objectValue ?? [:]
            for (k, v) in stamps { annotations[k] = .string(v) }
            obj["metadata"]?["annotations"] = .object(annotations)
            return obj
        }) != nil
        guard replicas != before else { return false }
        if done {
            recordEvent(kind: "Deployment", apiVersion: "apps/v1", d.metadata, type: "Normal", reason: "ScalingReplicaSet",
                        message: "Scaled \(replicas > before ? "up" : "down") replica set \(rs.metadata.name ?? "") from \(before) to \(replicas)",
                        component: "deployment-controller")
        }
        return done
    }

    func createReplicaSet(for d: Deployment, revision: Int, replicas: Int32) -> ReplicaSet? {
        let hash = Rollout.templateHash(d.spec.template, collisionCount: d.status?.collisionCount ?? 0)
        var template = d.spec.template ?? PodTemplateSpec()
        var meta = template.metadata ?? ObjectMeta()
        meta.labels = (meta.labels ?? [:]).merging([Deployment.templateHashLabel: hash]) { $1 }
        template.metadata = meta
        var selector = d.spec.selector ?? ShoalAPI.LabelSelector()
        selector.matchLabels = (selector.matchLabels ?? [:]).merging([Deployment.templateHashLabel: hash]) { $1 }
        var rsMeta = ObjectMeta(name: "\(d.metadata.name ?? "")-\(hash)", namespace: d.metadata.namespace, labels: meta.labels)
        rsMeta.annotations = Self.copiedAnnotations(d).merging(Self.sizeAnnotations(d)) { $1 }
            .merging([Deployment.revisionAnnotation: String(revision)]) { $1 }
        rsMeta.ownerReferences = [reference(d.metadata, kind: "Deployment")]
        let rs = ReplicaSet(metadata: rsMeta, spec: ReplicaSetSpec(replicas: replicas, minReadySeconds: d.spec.minReadySeconds, selector: selector, template: template))
        guard let body = try? JSONValue.encoding(rs) else { return nil }
        do {
            let created = try registry.create(Resources.replicaSets, namespace: d.metadata.namespace, object: body, strict: false)
            return try? created.decode(ReplicaSet.self)
        } catch {
            logger.warning("creating a ReplicaSet failed", metadata: ["deployment": "\(d.metadata.name ?? "")", "error": "\(error)"])
            return nil
        }
    }

    /// desired-replicas and max-replicas (SetReplicasAnnotations); Recreate has no surge.
    static func sizeAnnotations(_ d: Deployment) -> [String: String] {
        let desired = d.spec.replicas ?? 1
        let surge = d.spec.strategy?.type == "Recreate" ? 0 : Rollout.limits(d).maxSurge
        return [Rollout.desiredReplicasAnnotation: String(desired), Rollout.maxReplicasAnnotation: String(desired + surge)]
    }

    /// The Deployment's annotations its ReplicaSets carry (the change cause among them), as
    /// the controller copies them, without its own bookkeeping ones.
    static func copiedAnnotations(_ d: Deployment) -> [String: String] {
        (d.metadata.annotations ?? [:]).filter { !$0.key.hasPrefix("deployment.kubernetes.io/") && $0.key != "kubectl.kubernetes.io/last-applied-configuration" }
    }

    func annotate(_ rs: ReplicaSet, revision: Int, from d: Deployment) -> ReplicaSet {
        let updated = try? registry.modify(Resources.replicaSets, namespace: rs.metadata.namespace, name: rs.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            var annotations = obj["metadata"]?["annotations"]?.objectValue ?? [:]
            for (k, v) in Self.copiedAnnotations(d) { annotations[k] = .string(v) }
            annotations[Deployment.revisionAnnotation] = .string(String(revision))
            obj["metadata"]?["annotations"] = .object(annotations)
            return obj
        }
        return (try? updated?.decode(ReplicaSet.self)) ?? rs
    }

    /// Old ReplicaSets scaled to nothing, beyond revisionHistoryLimit, oldest first.
    func cleanUpHistory(_ d: Deployment, old: [ReplicaSet]) {
        let limit = Int(d.spec.revisionHistoryLimit ?? 10)
        let idle = old.filter { ($0.spec.replicas ?? 0) == 0 && ($0.status?.replicas ?? 0) == 0 }.sorted { revision($0) < revision($1) }
        guard idle.count > limit else { return }
        for rs in idle.prefix(idle.count - limit) {
            _ = try? registry.delete(Resources.replicaSets, namespace: rs.metadata.namespace, name: rs.metadata.name ?? "", options: Registry.DeleteOptions())
        }
    }

    /// Replica counts and the Available and Progressing conditions; returns when the progress
    /// deadline would pass, if the rollout is not complete.
    func updateDeploymentStatus(_ d: Deployment, new: ReplicaSet?, all: [ReplicaSet], progressed: Bool) -> Double? {
        let desired = d.spec.replicas ?? 1
        let now = Time.now()
        var s = DeploymentStatus()
        s.observedGeneration = d.metadata.generation
        s.replicas = all.reduce(0) { $0 + ($1.status?.replicas ?? 0) }
        s.updatedReplicas = new?.status?.replicas ?? 0
        s.readyReplicas = all.reduce(0) { $0 + ($1.status?.readyReplicas ?? 0) }
        s.availableReplicas = all.reduce(0) { $0 + ($1.status?.availableReplicas ?? 0) }
        s.unavailableReplicas = max(0, (s.replicas ?? 0) - (s.availableReplicas ?? 0))
        s.collisionCount = d.status?.collisionCount
        let previous = d.status?.conditions ?? []
        func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String, touched: Bool) -> DeploymentCondition {
            let before = previous.first { $0.type == type }
            let same = before?.status == (status ? "True" : "False")
            let changed = !same || before?.reason != reason
            return DeploymentCondition(type: type, status: status ? "True" : "False",
                                       lastUpdateTime: changed || touched ? now : (before?.lastUpdateTime ?? now),
                                       lastTransitionTime: same ? (before?.lastTransitionTime ?? now) : now, reason: reason, message: message)
        }
        let maxUnavailable = d.spec.strategy?.type == "Recreate" ? desired : Rollout.limits(d).maxUnavailable
        let minAvailable = (s.availableReplicas ?? 0) >= desired - maxUnavailable
        var conditions = [condition("Available", minAvailable, minAvailable ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                                    minAvailable ? "Deployment has minimum availability." : "Deployment does not have minimum availability.", touched: false)]
        let name = new?.metadata.name ?? ""
        let complete = new != nil && s.updatedReplicas == desired && s.replicas == desired && s.availableReplicas == desired
        let deadline = Double(d.spec.progressDeadlineSeconds ?? 600)
        var due: Double?
        if d.spec.paused == true {
            conditions.append(condition("Progressing", false, "DeploymentPaused", "Deployment is paused", touched: false))
        } else if complete {
            conditions.append(condition("Progressing", true, "NewReplicaSetAvailable", "ReplicaSet \"\(name)\" has successfully progressed.", touched: false))
        } else {
            // Progress first, then the deadline (syncRolloutStatus): a rollout that missed its
            // deadline and then moves again (an undo, say) is progressing again.
            let before = previous.first { $0.type == "Progressing" }
            let advanced = progressed || before == nil || before?.reason == "NewReplicaSetAvailable" || Rollout.advanced(from: d.status, to: s)
            let lastProgress = advanced ? now : (before?.lastUpdateTime ?? now)
            if !advanced && (before?.reason == "ProgressDeadlineExceeded" || Double(now.secondsSinceEpoch - lastProgress.secondsSinceEpoch) > deadline) {
                conditions.append(condition("Progressing", false, "ProgressDeadlineExceeded", "ReplicaSet \"\(name)\" has timed out progressing.", touched: false))
            } else {
                var c = condition("Progressing", true, "ReplicaSetUpdated", "ReplicaSet \"\(name)\" is progressing.", touched: progressed)
                c.lastUpdateTime = lastProgress
                conditions.append(c)
                due = Double(lastProgress.secondsSinceEpoch) + deadline + 0.5
            }
        }
        s.conditions = conditions
        if s != d.status || d.metadata.annotations?[Deployment.revisionAnnotation] != new.flatMap({ $0.metadata.annotations?[Deployment.revisionAnnotation] }) {
            let revision = new?.metadata.annotations?[Deployment.revisionAnnotation]
            writeStatus(Resources.deployments, d.metadata, s)
            if let revision, d.metadata.annotations?[Deployment.revisionAnnotation] != revision {
                _ = try? registry.modify(Resources.deployments, namespace: d.metadata.namespace, name: d.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
                    var obj = obj
                    var annotations = obj["metadata"]?["annotations"]?.objectValue ?? [:]
                    annotations[Deployment.revisionAnnotation] = .string(revision)
                    obj["metadata"]?["annotations"] = .object(annotations)
                    return obj
                }
            }
        }
        return due
    }

    // MARK: helpers

    func revision(_ rs: ReplicaSet) -> Int { Int(rs.metadata.annotations?[Deployment.revisionAnnotation] ?? "") ?? 0 }

    func controllerRef(_ m: ObjectMeta) -> OwnerReference? { m.ownerReferences?.first { $0.controller == true } }

    func reference(_ m: ObjectMeta, kind: String, apiVersion: String = "apps/v1") -> OwnerReference {
        OwnerReference(apiVersion: apiVersion, kind: kind, name: m.name ?? "", uid: m.uid ?? "", controller: true, blockOwnerDeletion: true)
    }

    /// Adds `owner` as the controller reference (adoption, if there is none yet) or removes
    /// the one with `releasing` as its uid.
    func setOwner(_ r: ResourceInfo, _ m: ObjectMeta, to owner: OwnerReference?, releasing: String? = nil) -> Bool {
        (try? registry.modify(r, namespace: m.namespace, name: m.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            var refs = obj["metadata"]?["ownerReferences"]?.arrayValue ?? []
            if let owner {
                guard !refs.contains(where: { $0["controller"] == .bool(true) }), obj["metadata"]?["uid"]?.stringValue == m.uid else {
                    throw APIError.conflict(r, m.name ?? "")
                }
                refs.append((try? JSONValue.encoding(owner)) ?? .null)
            } else {
                refs.removeAll { $0["uid"]?.stringValue == releasing }
            }
            obj["metadata"]?["ownerReferences"] = refs.isEmpty ? nil : .array(refs)
            return obj
        }) != nil
    }

    func writeStatus<S: Encodable>(_ r: ResourceInfo, _ m: ObjectMeta, _ status: S) {
        guard let encoded = try? JSONValue.encoding(status) else { return }
        _ = try? registry.modify(r, namespace: m.namespace, name: m.name ?? "", subresource: "status") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            obj["status"] = encoded
            return obj
        }
    }
}
