import ShoalAPI

/// Amounts of the resources the scheduler accounts, in kube-scheduler's units
/// (`framework.Resource`): cpu in millicores, the rest in whole units (bytes for memory,
/// ephemeral-storage and hugepages).
struct ResourceAmounts: Sendable, Hashable {
    var milliCPU: Int64 = 0
    var memory: Int64 = 0
    var ephemeralStorage: Int64 = 0
    /// Allowed pod count (only meaningful for a node's allocatable).
    var pods: Int64 = 0
    /// Extended resources (`example.com/gpu`), hugepages, attachable volumes.
    var scalar: [String: Int64] = [:]

    static func += (lhs: inout ResourceAmounts, rhs: ResourceAmounts) {
        lhs.milliCPU = lhs.milliCPU.addingClamped(rhs.milliCPU)
        lhs.memory = lhs.memory.addingClamped(rhs.memory)
        lhs.ephemeralStorage = lhs.ephemeralStorage.addingClamped(rhs.ephemeralStorage)
        lhs.pods = lhs.pods.addingClamped(rhs.pods)
        for (name, amount) in rhs.scalar { lhs.scalar[name] = (lhs.scalar[name] ?? 0).addingClamped(amount) }
    }

    /// A `[String: Quantity]` list as kube-scheduler reads it (`NewResource`): names it does not
    /// account are dropped.
    init(_ list: [String: Quantity]) {
        for (name, quantity) in list {
            switch name {
            case ResourceName.cpu: milliCPU = quantity.milliValue()
            case ResourceName.memory: memory = quantity.value()
            case ResourceName.ephemeralStorage: ephemeralStorage = quantity.value()
            case ResourceName.pods: pods = quantity.value()
            default:
                if ResourceName.isScalar(name) { scalar[name] = quantity.value() }
            }
        }
    }

    init() {}
}

extension Int64 {
    func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

enum ResourceName {
    static let cpu = "cpu"
    static let memory = "memory"
    static let ephemeralStorage = "ephemeral-storage"
    static let pods = "pods"

    /// kube's `IsScalarResourceName`: extended (`vendor/name`) and prefixed native resources,
    /// hugepages, attachable volumes.
    static func isScalar(_ name: String) -> Bool {
        name.contains("/") || name.hasPrefix("hugepages-") || name.hasPrefix("attachable-volumes-")
    }

    /// The requests the scheduler assumes for a container that states none, when *scoring*
    /// (`DefaultMilliCPURequest`, `DefaultMemoryRequest`): without them a node full of
    /// best-effort pods would look empty.
    static let defaultMilliCPURequest: Int64 = 100
    static let defaultMemoryRequest: Int64 = 200 * 1024 * 1024
}

/// Exact resource lists in nano-units, for summing and maxing before rounding, as kube does
/// with Quantity arithmetic.
private typealias ExactList = [String: Int128]

private func exact(_ list: [String: Quantity]?) -> ExactList {
    var out: ExactList = [:]
    for (name, quantity) in list ?? [:] { out[name] = quantity.nanos }
    return out
}

private func add(_ list: inout ExactList, _ other: ExactList) {
    for (name, value) in other { list[name, default: 0] += value }
}

private func maxInto(_ list: inout ExactList, _ other: ExactList) {
    for (name, value) in other where value > (list[name] ?? Int128.min) { list[name] = value }
}

/// A container's requests after the API server's defaulting: a resource with a limit and no
/// request requests its limit.
private func containerRequests(_ container: Container, nonZero: Bool) -> ExactList {
    var requests = exact(container.resources?.requests)
    for (name, limit) in container.resources?.limits ?? [:] where requests[name] == nil {
        requests[name] = limit.nanos
    }
    if nonZero {
        // NonMissingContainerRequests: only a *missing* request is replaced; an explicit 0 stays.
        if requests[ResourceName.cpu] == nil {
            requests[ResourceName.cpu] = Int128(ResourceName.defaultMilliCPURequest) * 1_000_000
        }
        if requests[ResourceName.memory] == nil {
            requests[ResourceName.memory] = Int128(ResourceName.defaultMemoryRequest) * 1_000_000_000
        }
    }
    return requests
}

/// kube's `resource.PodRequests`: what a pod needs reserved on its node.
///
/// - app containers and restartable init containers (sidecars) run together, so they add up;
/// - a regular init container runs alone, but alongside the sidecars started before it, so the
///   pod needs at least its request plus theirs: the pod's request is the maximum of the two;
/// - pod-level requests (KEP-2837), where set, replace the containers' cpu and memory;
/// - the runtime class's overhead is added on top.
///
/// With `nonZero`, containers without a cpu or memory request count as 100m and 200Mi, the
/// scheduler's assumption when scoring.
func podRequests(_ pod: Pod, nonZero: Bool = false) -> ResourceAmounts {
    var total: ExactList = [:]
    for container in pod.spec.containers {
        add(&total, containerRequests(container, nonZero: nonZero))
    }
    var sidecars: ExactList = [:]
    var initPeak: ExactList = [:]
    for container in pod.spec.initContainers ?? [] {
        let requests = containerRequests(container, nonZero: nonZero)
        if container.restartPolicy == .always {
            add(&total, requests)
            add(&sidecars, requests)
            maxInto(&initPeak, sidecars)
        } else {
            var running = requests
            add(&running, sidecars)
            maxInto(&initPeak, running)
        }
    }
    maxInto(&total, initPeak)

    if let podLevel = pod.spec.resources {
        for name in [ResourceName.cpu, ResourceName.memory] {
            // Defaulting gives a pod-level limit without a request that request.
            if let value = podLevel.requests?[name] ?? podLevel.limits?[name] {
                total[name] = value.nanos
            }
        }
    }
    add(&total, exact(pod.spec.overhead))

    var amounts = ResourceAmounts()
    for (name, nanos) in total {
        switch name {
        case ResourceName.cpu: amounts.milliCPU = roundUp(nanos, unit: 1_000_000)
        case ResourceName.memory: amounts.memory = roundUp(nanos, unit: 1_000_000_000)
        case ResourceName.ephemeralStorage: amounts.ephemeralStorage = roundUp(nanos, unit: 1_000_000_000)
        default:
            if ResourceName.isScalar(name) { amounts.scalar[name] = roundUp(nanos, unit: 1_000_000_000) }
        }
    }
    return amounts
}

private func roundUp(_ nanos: Int128, unit: Int128) -> Int64 {
    let (q, r) = nanos.quotientAndRemainder(dividingBy: unit)
    return Int64(clamping: q + (r > 0 ? 1 : (r < 0 ? -1 : 0)))
}

/// A pod's effective requests, as kube-scheduler reserves them (kube's `resource.PodRequests`):
/// `max(sum of app and sidecar containers, each regular init container plus the sidecars
/// started before it) + overhead`, pod-level requests replacing the containers' where set, a
/// limit standing for a missing request. CPU in millicores, memory in bytes.
public func effectiveRequests(_ pod: Pod) -> (milliCPU: Int64, memory: Int64) {
    let r = podRequests(pod)
    return (r.milliCPU, r.memory)
}

/// What the scheduler knows of one node: its allocatable resources and what its pods take.
struct NodeInfo {
    var node: Node
    var name: String
    var pods: [Pod]
    var allocatable: ResourceAmounts
    /// Sum of the bound pods' requests.
    var requested: ResourceAmounts
    /// Sum of the bound pods' requests with the scoring defaults for missing ones.
    var nonZeroRequested: ResourceAmounts

    init(node: Node, pods: [Pod]) {
        self.node = node
        name = node.metadata.name ?? ""
        self.pods = pods
        // A node that reports only capacity (nothing reserved) offers all of it.
        allocatable = ResourceAmounts(node.status?.allocatable ?? node.status?.capacity ?? [:])
        requested = ResourceAmounts()
        nonZeroRequested = ResourceAmounts()
        for pod in pods {
            requested += podRequests(pod)
            let nonZero = podRequests(pod, nonZero: true)
            nonZeroRequested.milliCPU = nonZeroRequested.milliCPU.addingClamped(nonZero.milliCPU)
            nonZeroRequested.memory = nonZeroRequested.memory.addingClamped(nonZero.memory)
        }
    }
}
