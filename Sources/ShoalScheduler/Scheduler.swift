import ShoalAPI

/// Pod placement as kube-scheduler's default profile does it, for the filters and scores that
/// make sense without volumes and inter-pod terms: pure logic over a snapshot of nodes and the
/// pods bound to them.
///
/// Filters, in kube-scheduler's order: NodeUnschedulable, NodeName, TaintToleration (the node's
/// taints plus those the node lifecycle controller derives from its conditions, e.g. not-ready),
/// NodeAffinity (nodeSelector and required node affinity), NodePorts, NodeResourcesFit. As in
/// kube-scheduler, a node stops at the first plugin it fails, with every reason that plugin
/// gives (`Insufficient cpu` and `Insufficient memory` together); `runAllFilters` collects the
/// reasons of every plugin instead (the framework's RunAllFilters option).
///
/// Scores: see `ScoreWeights`. Among equally scored best nodes the choice rotates from one
/// call to the next, so identical pods spread over identical nodes.
public struct Scheduler: Sendable {
    /// Run every filter on every node, counting a node under each plugin it fails.
    public var runAllFilters: Bool
    /// Advances on each placement; picks among tied nodes.
    private var rotation: UInt64 = 0

    public init(runAllFilters: Bool = false) {
        self.runAllFilters = runAllFilters
    }

    /// Chooses a node for `pod` among `nodes`, given the pods already bound to each node
    /// (`bound[nodeName]`, non-terminal pods only — the caller filters).
    public mutating func schedule(_ pod: Pod, nodes: [Node], bound: [String: [Pod]]) -> SchedulingResult {
        guard !nodes.isEmpty else { return .unschedulable(FitError(numAllNodes: 0, reasons: [:])) }
        let context = PodContext(pod)
        var feasible: [NodeInfo] = []
        var reasons: [String: Int] = [:]
        for node in nodes {
            let info = NodeInfo(node: node, pods: bound[node.metadata.name ?? ""] ?? [])
            let failed = filterReasons(context, info)
            if failed.isEmpty {
                feasible.append(info)
            } else {
                for reason in Set(failed) { reasons[reason, default: 0] += 1 }
            }
        }
        guard !feasible.isEmpty else {
            return .unschedulable(FitError(numAllNodes: nodes.count, reasons: reasons))
        }
        if feasible.count == 1 { return .bound(nodeName: feasible[0].name) }

        let totals = scoreNodes(context, feasible)
        let best = totals.max()!
        let tied = feasible.indices.filter { totals[$0] == best }.map { feasible[$0].name }.sorted()
        let chosen = tied[Int(rotation % UInt64(tied.count))]
        rotation &+= 1
        return .bound(nodeName: chosen)
    }

    /// Why `pod` cannot go to `node` with `bound` already there: kube-scheduler's reasons, empty
    /// when it fits. For checking a pod that names its node, or explaining a placement.
    public func filterReasons(_ pod: Pod, node: Node, bound: [Pod]) -> [String] {
        filterReasons(PodContext(pod), NodeInfo(node: node, pods: bound))
    }

    /// The total score of each node for `pod` (same order as `nodes`), without filtering.
    public func scores(_ pod: Pod, nodes: [Node], bound: [String: [Pod]]) -> [Int64] {
        scoreNodes(PodContext(pod), nodes.map { NodeInfo(node: $0, pods: bound[$0.metadata.name ?? ""] ?? []) })
    }

    func filterReasons(_ pod: PodContext, _ node: NodeInfo) -> [String] {
        var reasons: [String] = []
        for filter in Filter.allCases {
            let failed = filter.reasons(pod, node)
            reasons += failed
            if !failed.isEmpty && !runAllFilters { break }
        }
        return reasons
    }
}

/// The outcome of one scheduling attempt.
public enum SchedulingResult: Sendable, Equatable {
    case bound(nodeName: String)
    case unschedulable(FitError)
}

/// Why no node fits: per reason, how many nodes were filtered out for it. Its description is
/// kube-scheduler's FailedScheduling message.
public struct FitError: Error, Sendable, Equatable, CustomStringConvertible {
    public var numAllNodes: Int
    /// reason → number of nodes filtered for it (a node can count under several).
    public var reasons: [String: Int]

    public init(numAllNodes: Int, reasons: [String: Int]) {
        self.numAllNodes = numAllNodes
        self.reasons = reasons
    }

    /// `0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2
    /// Insufficient cpu.` — each reason prefixed by its count, the resulting strings sorted
    /// bytewise (Go's sort.Strings, so the count leads the order), joined by ", ". With no
    /// nodes at all, kube-scheduler's `no nodes available to schedule pods`.
    public var description: String {
        if numAllNodes == 0 && reasons.isEmpty { return "no nodes available to schedule pods" }
        var message = "0/\(numAllNodes) nodes are available:"
        let parts = reasons.map { "\($0.value) \($0.key)" }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if !parts.isEmpty { message += " " + parts.joined(separator: ", ") + "." }
        return message
    }
}
