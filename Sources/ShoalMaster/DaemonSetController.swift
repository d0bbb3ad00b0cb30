import Foundation
import ShoalAPI
import ShoalScheduler

/// The DaemonSet controller: a pod of the template on each node whose labels its nodeSelector
/// matches and whose NoSchedule/NoExecute taints it tolerates, bound to the node directly
/// (DaemonSet pods also tolerate a node that is not ready or unreachable, as Kubernetes adds
/// those tolerations); pods on nodes that left or no longer qualify go. A template change
/// rolls through the nodes `maxUnavailable` at a time, each replaced pod waiting for the
/// previous ones to be available; `OnDelete` waits for the user to delete them.
extension Master {
    func syncDaemonSets() -> Double? {
        guard let sets = listAll(Resources.daemonSets, as: DaemonSet.self), !sets.isEmpty, let nodes = listAll(Resources.nodes, as: Node.self),
              let pods = listAll(Resources.pods, as: Pod.self) else { return nil }
        for ds in sets where ds.metadata.deletionTimestamp == nil {
            let ns = ds.metadata.namespace ?? "default"
            syncDaemonSet(ds, nodes: nodes, pods: pods.filter { ($0.metadata.namespace ?? "default") == ns })
        }
        return nil
    }

    static let daemonTolerations = [
        Toleration(key: "node.kubernetes.io/not-ready", operator: .exists, effect: .noExecute),
        Toleration(key: "node.kubernetes.io/unreachable", operator: .exists, effect: .noExecute),
        Toleration(key: "node.kubernetes.io/unschedulable", operator: .exists, effect: .noSchedule),
    ]

    static func daemonRuns(_ ds: DaemonSet, on node: Node) -> Bool {
        let spec = ds.spec.template?.spec ?? PodSpec()
        let labels = node.metadata.labels ?? [:]
        for (k, v) in spec.nodeSelector ?? [:] where labels[k] != v { return false }
        if let required = (try? spec.decodedAffinity())??.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, !required.matches(node) { return false }
        let tolerations = (spec.tolerations ?? []) + daemonTolerations
        for taint in node.spec.taints ?? [] where taint.effect == .noSchedule || taint.effect == .noExecute {
            if !tolerations.contains(where: { $0.tolerates(taint) }) { return false }
        }
        return true
    }

    func syncDaemonSet(_ ds: DaemonSet, nodes: [Node], pods: [Pod]) {
        guard let uid = ds.metadata.uid else { return }
        let now = Time.now().secondsSinceEpoch
        let hash = Rollout.templateHash(ds.spec.template)
        let owned = pods.filter { controllerRef($0.metadata)?.uid == uid && $0.metadata.deletionTimestamp == nil }
        let byNode = Dictionary(grouping: owned) { $0.spec.nodeName ?? "" }
        let eligible = Set(nodes.filter { Self.daemonRuns(ds, on: $0) }.compactMap(\.metadata.name))
        let minReady = ds.spec.minReadySeconds ?? 0
        // Pods on nodes that left or stopped qualifying, and extra pods on one node, go.
        for (node, list) in byNode {
            let extra = eligible.contains(node) ? Array(list.sorted { Rollout.rank($0) > Rollout.rank($1) }.dropFirst()) : list
            for pod in extra { deletePod(pod) }
        }
        let missing = eligible.filter { byNode[$0] == nil }
        // The rolling update: outdated pods are deleted while few enough are unavailable, and
        // recreated from the current template by the pass that sees them gone.
        let outdated = eligible.compactMap { byNode[$0]?.first }.filter { $0.metadata.labels?[DaemonSet.revisionHashLabel] != hash }
        if ds.spec.updateStrategy?.type != "OnDelete", !outdated.isEmpty {
            let maxUnavailable = max(1, WorkloadValidation.scaled(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? .int(1),
                                                                  total: Int32(eligible.count), roundUp: true))
            let unavailable = eligible.filter { n in !(byNode[n]?.first.map { Rollout.isAvailable($0, minReadySeconds: minReady, now: now) } ?? false) }.count
            var budget = Int(maxUnavailable) - unavailable
            // Unavailable outdated pods cost nothing more to replace.
            for pod in outdated where budget > 0 || !Rollout.isAvailable(pod, minReadySeconds: minReady, now: now) {
                if Rollout.isAvailable(pod, minReadySeconds: minReady, now: now) { budget -= 1 }
                deletePod(pod)
            }
        }
        for node in missing.sorted() { _ = createPod(for: ds, on: node, hash: hash) }
        let current = eligible.compactMap { byNode[$0]?.first }
        var status = DaemonSetStatus(
            currentNumberScheduled: Int32(current.count),
            numberMisscheduled: Int32(byNode.keys.filter { !eligible.contains($0) }.count),
            desiredNumberScheduled: Int32(eligible.count),
            numberReady: Int32(current.filter { Rollout.isAvailable($0, minReadySeconds: 0, now: now) }.count))
        status.observedGeneration = ds.metadata.generation
        status.updatedNumberScheduled = Int32(current.filter { $0.metadata.labels?[DaemonSet.revisionHashLabel] == hash }.count)
        let available = Int32(current.filter { Rollout.isAvailable($0, minReadySeconds: minReady, now: now) }.count)
        status.numberAvailable = available
        status.numberUnavailable = max(0, Int32(eligible.count) - available)
        if status != ds.status { writeStatus(Resources.daemonSets, ds.metadata, status) }
    }

    func deletePod(_ pod: Pod) {
        _ = try? registry.delete(Resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", options: Registry.DeleteOptions())
    }

    func createPod(for ds: DaemonSet, on node: String, hash: String) -> Bool {
        createOwnedPod(ds.spec.template, owner: ds.metadata, kind: "DaemonSet", apiVersion: "apps/v1", component: "daemonset-controller",
                       extraLabels: [DaemonSet.revisionHashLabel: hash]) { spec in
            spec.nodeName = node
            spec.tolerations = (spec.tolerations ?? []) + Self.daemonTolerations
        }
    }
}
