import ShoalAPI

/// kube-scheduler's reasons for filtering a node out, word for word: they make up the
/// `FailedScheduling` event message (`0/3 nodes are available: 3 Insufficient memory.`).
public enum FitReason {
    /// NodeName
    public static let nodeName = "node(s) didn't match the requested node name"
    /// NodeUnschedulable
    public static let unschedulable = "node(s) were unschedulable"
    /// NodeAffinity (nodeSelector and required node affinity alike)
    public static let nodeAffinity = "node(s) didn't match Pod's node affinity/selector"
    /// NodePorts
    public static let nodePorts = "node(s) didn't have free ports for the requested pod ports"
    /// NodeResourcesFit
    public static let tooManyPods = "Too many pods"

    /// NodeResourcesFit: `Insufficient cpu`, `Insufficient memory`, `Insufficient example.com/gpu`.
    public static func insufficient(_ resource: String) -> String { "Insufficient \(resource)" }

    /// TaintToleration, naming the first taint the pod does not tolerate:
    /// `node(s) had untolerated taint {node.kubernetes.io/not-ready: }`.
    public static func untoleratedTaint(_ taint: Taint) -> String {
        "node(s) had untolerated taint {\(taint.key): \(taint.value ?? "")}"
    }
}

/// A host port a pod binds, as kube's HostPortInfo keys it: an empty IP is 0.0.0.0 (all
/// addresses) and an empty protocol TCP.
struct HostPort: Hashable {
    var ip: String
    var proto: String
    var port: Int32

    static let anyIP = "0.0.0.0"

    init(_ port: ContainerPort, hostNetwork: Bool) {
        ip = (port.hostIP ?? "").isEmpty ? Self.anyIP : port.hostIP!
        let p = port.protocol?.rawValue ?? ""
        proto = p.isEmpty ? PortProtocol.tcp.rawValue : p
        // Defaulting makes a host-network pod's hostPort its containerPort; do it here too
        // for pods that were not defaulted.
        let host = port.hostPort ?? 0
        self.port = host == 0 && hostNetwork ? port.containerPort : host
    }

    /// The ports a pod takes on its node: those of its app containers (kube-scheduler's
    /// NodePorts) and of its sidecars, which run as long as the pod does.
    static func ports(of pod: Pod) -> [HostPort] {
        let hostNetwork = pod.spec.hostNetwork == true
        let sidecars = (pod.spec.initContainers ?? []).filter { $0.restartPolicy == .always }
        return (pod.spec.containers + sidecars).flatMap { $0.ports ?? [] }
            .map { HostPort($0, hostNetwork: hostNetwork) }
            .filter { $0.port > 0 }
    }

    /// `HostPortInfo.CheckConflict`: 0.0.0.0 conflicts with the same protocol and port on any
    /// IP; a specific IP with the same IP or 0.0.0.0.
    func conflicts(with used: Set<HostPort>) -> Bool {
        if ip == Self.anyIP {
            return used.contains { $0.proto == proto && $0.port == port }
        }
        return used.contains(HostPort(ip: ip, proto: proto, port: port))
            || used.contains(HostPort(ip: Self.anyIP, proto: proto, port: port))
    }

    init(ip: String, proto: String, port: Int32) {
        self.ip = ip
        self.proto = proto
        self.port = port
    }
}

/// What the filters and scores need of the pod being scheduled, computed once per cycle.
struct PodContext {
    var pod: Pod
    var requests: ResourceAmounts
    var nonZeroRequests: ResourceAmounts
    var hostPorts: [HostPort]
    var nodeAffinity: NodeAffinity?
    /// `spec.affinity` is present but not an Affinity: no node can satisfy it.
    var affinityMalformed: Bool

    init(_ pod: Pod) {
        self.pod = pod
        requests = podRequests(pod)
        nonZeroRequests = podRequests(pod, nonZero: true)
        hostPorts = HostPort.ports(of: pod)
        do {
            nodeAffinity = try pod.spec.decodedAffinity()?.nodeAffinity
            affinityMalformed = false
        } catch {
            nodeAffinity = nil
            affinityMalformed = true
        }
    }
}

/// The taints the node lifecycle controller would have put on this node by now, from its
/// conditions (`TaintNodesByCondition`), when the node does not carry them already: Ready
/// False or missing → not-ready, Ready Unknown → unreachable, and the pressure conditions.
/// Appended after the node's own taints, as the controller appends them.
func conditionTaints(of node: Node) -> [Taint] {
    let present = Set((node.spec.taints ?? []).map(\.key))
    var taints: [Taint] = []
    func add(_ key: String) {
        if !present.contains(key) { taints.append(Taint(key: key, effect: .noSchedule)) }
    }
    let ready = node.condition(.ready)?.status
    if ready != .true && !present.contains(WellKnownTaint.notReady) && !present.contains(WellKnownTaint.unreachable) {
        add(ready == .unknown ? WellKnownTaint.unreachable : WellKnownTaint.notReady)
    }
    let pressure: [(NodeConditionType, String)] = [
        (.memoryPressure, WellKnownTaint.memoryPressure),
        (.diskPressure, WellKnownTaint.diskPressure),
        (.pidPressure, WellKnownTaint.pidPressure),
        (.networkUnavailable, WellKnownTaint.networkUnavailable),
    ]
    for (type, key) in pressure where node.condition(type)?.status == .true {
        add(key)
    }
    return taints
}

/// The filter plugins, in kube-scheduler's default order. Each returns the reasons the node
/// fails it (empty: passes).
enum Filter: CaseIterable {
    case nodeUnschedulable, nodeName, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit

    func reasons(_ pod: PodContext, _ node: NodeInfo) -> [String] {
        switch self {
        case .nodeUnschedulable:
            let taint = Taint(key: WellKnownTaint.unschedulable, effect: .noSchedule)
            if node.node.spec.unschedulable == true && !tolerated(taint, by: pod.pod.spec.tolerations) {
                return [FitReason.unschedulable]
            }
            return []

        case .nodeName:
            if let wanted = pod.pod.spec.nodeName, !wanted.isEmpty, wanted != node.name {
                return [FitReason.nodeName]
            }
            return []

        case .taintToleration:
            let taints = (node.node.spec.taints ?? []) + conditionTaints(of: node.node)
            let untolerated = taints.first { taint in
                (taint.effect == .noSchedule || taint.effect == .noExecute)
                    && !tolerated(taint, by: pod.pod.spec.tolerations)
            }
            return untolerated.map { [FitReason.untoleratedTaint($0)] } ?? []

        case .nodeAffinity:
            if pod.affinityMalformed { return [FitReason.nodeAffinity] }
            let labels = node.node.metadata.labels ?? [:]
            for (key, value) in pod.pod.spec.nodeSelector ?? [:] where labels[key] != value {
                return [FitReason.nodeAffinity]
            }
            if let required = pod.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
                !required.matches(node.node)
            {
                return [FitReason.nodeAffinity]
            }
            return []

        case .nodePorts:
            guard !pod.hostPorts.isEmpty else { return [] }
            let used = Set(node.pods.flatMap(HostPort.ports(of:)))
            if pod.hostPorts.contains(where: { $0.conflicts(with: used) }) {
                return [FitReason.nodePorts]
            }
            return []

        case .nodeResourcesFit:
            return Self.insufficientResources(pod.requests, node)
        }
    }

    /// `fitsRequest`: the pod count first, then each requested resource against what is left.
    static func insufficientResources(_ request: ResourceAmounts, _ node: NodeInfo) -> [String] {
        var reasons: [String] = []
        if Int64(node.pods.count) + 1 > node.allocatable.pods {
            reasons.append(FitReason.tooManyPods)
        }
        func check(_ name: String, _ wanted: Int64, _ allocatable: Int64, _ used: Int64) {
            if wanted > 0 && wanted > allocatable - used { reasons.append(FitReason.insufficient(name)) }
        }
        check(ResourceName.cpu, request.milliCPU, node.allocatable.milliCPU, node.requested.milliCPU)
        check(ResourceName.memory, request.memory, node.allocatable.memory, node.requested.memory)
        check(ResourceName.ephemeralStorage, request.ephemeralStorage, node.allocatable.ephemeralStorage,
              node.requested.ephemeralStorage)
        for name in request.scalar.keys.sorted() {
            check(name, request.scalar[name] ?? 0, node.allocatable.scalar[name] ?? 0, node.requested.scalar[name] ?? 0)
        }
        return reasons
    }
}
