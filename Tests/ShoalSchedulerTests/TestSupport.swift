import ShoalAPI
@testable import ShoalScheduler

/// A quantity from its text; the tests only use valid ones.
func q(_ text: String) -> Quantity {
    do { return try Quantity(text) } catch { fatalError("bad quantity \(text): \(error)") }
}

/// A Ready node with this much allocatable cpu, memory and pods.
func makeNode(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: String = "110",
              extra: [String: String] = [:], labels: [String: String]? = nil, taints: [Taint]? = nil,
              unschedulable: Bool? = nil, conditions: [NodeCondition]? = [NodeCondition(type: .ready, status: .true)]) -> Node {
    var allocatable = ["cpu": q(cpu), "memory": q(memory), "pods": q(pods)]
    for (k, v) in extra { allocatable[k] = q(v) }
    return Node(
        metadata: ObjectMeta(name: name, labels: labels),
        spec: NodeSpec(unschedulable: unschedulable, taints: taints),
        status: NodeStatus(capacity: allocatable, allocatable: allocatable, conditions: conditions))
}

/// Resource requirements from `name: quantity` pairs.
func resources(requests: [String: String]? = nil, limits: [String: String]? = nil) -> ResourceRequirements {
    ResourceRequirements(limits: limits?.mapValues(q), requests: requests?.mapValues(q))
}

/// A one-container pod requesting `cpu` and `memory` (when given).
func makePod(_ name: String = "p", cpu: String? = nil, memory: String? = nil, spec: (inout PodSpec) -> Void = { _ in }) -> Pod {
    var requests: [String: String] = [:]
    if let cpu { requests["cpu"] = cpu }
    if let memory { requests["memory"] = memory }
    var podSpec = PodSpec(containers: [Container(name: "app", image: "busybox", resources: requests.isEmpty ? nil : resources(requests: requests))])
    spec(&podSpec)
    return Pod(metadata: ObjectMeta(name: name, namespace: "default"), spec: podSpec)
}

/// Schedules once with a fresh scheduler; the message of the failure, or the node chosen.
func outcome(_ pod: Pod, _ nodes: [Node], bound: [String: [Pod]] = [:], runAllFilters: Bool = false) -> String {
    var scheduler = Scheduler(runAllFilters: runAllFilters)
    switch scheduler.schedule(pod, nodes: nodes, bound: bound) {
    case .bound(let name): return "bound:\(name)"
    case .unschedulable(let error): return error.description
    }
}

/// The JSON tree of an affinity written as YAML/JSON text.
func affinityJSON(_ text: String) -> JSONValue {
    do { return try ManifestDecoder.documents(text)[0].value } catch { fatalError("\(error)") }
}
