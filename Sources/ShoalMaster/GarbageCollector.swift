import ShoalAPI

/// The garbage collector for the kinds Shoal's controllers own (ReplicaSets own pods,
/// Deployments own ReplicaSets): an object whose every owner is gone is deleted (background
/// cascade); an owner deleted with `propagationPolicy: Orphan` waits, under the `orphan`
/// finalizer, until its dependents no longer name it; one deleted with `Foreground` waits,
/// under `foregroundDeletion`, until its dependents are gone.
extension Master {
    static let orphanFinalizer = "orphan"
    static let foregroundFinalizer = "foregroundDeletion"
    static let collected: [ResourceInfo] = [Resources.pods, Resources.replicaSets, Resources.deployments, Resources.jobs, Resources.daemonSets,
                                            Resources.replicationControllers]
    /// The kinds that own others (a pod owns nothing here), which Orphan and Foreground apply to.
    static let owners: [ResourceInfo] = [Resources.replicaSets, Resources.deployments, Resources.jobs, Resources.daemonSets,
                                         Resources.replicationControllers]

    func runGarbageCollector() async {
        await onChanges(Self.collected.map { Registry.prefix($0, namespace: nil) }) { [self] in
            collectGarbage()
        }
    }

    func collectGarbage() {
        var all: [(ResourceInfo, ObjectMeta)] = []
        for r in Self.collected {
            guard let items = listAll(r, as: JSONValue.self) else { return }
            all += items.compactMap { o in (try? (o["metadata"] ?? [:]).decode(ObjectMeta.self)).map { (r, $0) } }
        }
        let live = Set(all.compactMap { $0.1.uid })
        let ownerKinds = Set(["ReplicaSet", "Deployment", "Job", "DaemonSet", "ReplicationController"])
        for (r, m) in all where m.deletionTimestamp != nil {
            let finalizers = m.finalizers ?? []
            let dependents = all.filter { $0.1.ownerReferences?.contains { $0.uid == m.uid } ?? false }
            if finalizers.contains(Self.orphanFinalizer) {
                for (dr, dm) in dependents { _ = setOwner(dr, dm, to: nil, releasing: m.uid) }
                removeFinalizer(r, m, Self.orphanFinalizer)
            } else if finalizers.contains(Self.foregroundFinalizer) {
                if dependents.isEmpty {
                    removeFinalizer(r, m, Self.foregroundFinalizer)
                } else {
                    for (dr, dm) in dependents where dm.deletionTimestamp == nil {
                        _ = try? registry.delete(dr, namespace: dm.namespace, name: dm.name ?? "", options: Registry.DeleteOptions())
                    }
                }
            }
        }
        for (r, m) in all where m.deletionTimestamp == nil {
            let refs = (m.ownerReferences ?? []).filter { ownerKinds.contains($0.kind) }
            guard !refs.isEmpty, refs.allSatisfy({ !live.contains($0.uid) }) else { continue }
            _ = try? registry.delete(r, namespace: m.namespace, name: m.name ?? "", options: Registry.DeleteOptions())
        }
    }

    func removeFinalizer(_ r: ResourceInfo, _ m: ObjectMeta, _ finalizer: String) {
        _ = try? registry.modify(r, namespace: m.namespace, name: m.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            let rest = (obj["metadata"]?["finalizers"]?.arrayValue ?? []).filter { $0.stringValue != finalizer }
            obj["metadata"]?["finalizers"] = rest.isEmpty ? nil : .array(rest)
            return obj
        }
    }
}
