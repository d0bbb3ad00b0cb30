import ShoalAPI

/// Scoring among the nodes that passed every filter. Each scorer gives 0…100 per node, as
/// kube-scheduler's plugins do (integer arithmetic, so near-equal nodes tie exactly); the total
/// is the weighted sum.
///
/// Weights, and why:
/// - `memory` 2 (LeastAllocated on memory): memory is the resource that cannot be
///   overcommitted gracefully — running short means OOM kills, where short cpu only
///   throttles — so the node left with the largest share of its memory free wins first.
/// - `balance` 1 (BalancedAllocation on cpu and memory): among nodes with similar free memory,
///   prefer the one whose cpu and memory fractions stay closest, so that neither resource is
///   stranded (a node with all its cpu taken and memory free can host nothing).
/// - `nodeAffinity` 1 (preferred node affinity, weights of matching terms normalized to
///   0…100): a stated preference moves a pod as far as free memory does at half its weight,
///   enough to decide between comparable nodes without packing preferred nodes to exhaustion.
/// - `taintToleration` 1 (fewest untolerated PreferNoSchedule taints, normalized, reversed):
///   PreferNoSchedule means "avoid unless needed", worth as much as a preference.
public enum ScoreWeights {
    public static let memory: Int64 = 2
    public static let balance: Int64 = 1
    public static let nodeAffinity: Int64 = 1
    public static let taintToleration: Int64 = 1
}

let maxNodeScore: Int64 = 100

/// `leastRequestedScore`: the free share of the resource after placing the pod.
func leastRequestedScore(requested: Int64, capacity: Int64) -> Int64 {
    if capacity <= 0 || requested > capacity { return 0 }
    return Int64((Int128(capacity) - Int128(requested)) * Int128(maxNodeScore) / Int128(capacity))
}

/// `balancedResourceScorer` for cpu and memory: 100 × (1 − the standard deviation of the
/// requested fractions); resources the node has none of are left out.
func balancedScore(requested: [Int64], allocatable: [Int64]) -> Int64 {
    var fractions: [Double] = []
    for (r, a) in zip(requested, allocatable) where a > 0 {
        fractions.append(min(1, Double(r) / Double(a)))
    }
    var std = 0.0
    if fractions.count == 2 {
        std = abs((fractions[0] - fractions[1]) / 2)
    } else if fractions.count > 2 {
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        std = (fractions.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(fractions.count)).squareRoot()
    }
    return Int64((1 - std) * Double(maxNodeScore))
}

/// `DefaultNormalizeScore`: scale so that the highest is 100 (reversed: the lowest).
func normalize(_ scores: [Int64], reverse: Bool) -> [Int64] {
    let top = scores.max() ?? 0
    if top == 0 { return scores.map { _ in reverse ? maxNodeScore : 0 } }
    return scores.map { score in
        let scaled = maxNodeScore * score / top
        return reverse ? maxNodeScore - scaled : scaled
    }
}

/// The weighted total of every scorer for each node, in the order given.
func scoreNodes(_ pod: PodContext, _ nodes: [NodeInfo]) -> [Int64] {
    let memory = nodes.map { node in
        leastRequestedScore(requested: node.nonZeroRequested.memory.addingClamped(pod.nonZeroRequests.memory),
                            capacity: node.allocatable.memory)
    }

    // BalancedAllocation skips best-effort pods (nothing requested: nothing to balance).
    let bestEffort = pod.requests.milliCPU == 0 && pod.requests.memory == 0
    let balance = nodes.map { node in
        bestEffort ? 0 : balancedScore(
            requested: [node.requested.milliCPU.addingClamped(pod.requests.milliCPU),
                        node.requested.memory.addingClamped(pod.requests.memory)],
            allocatable: [node.allocatable.milliCPU, node.allocatable.memory])
    }

    let preferred = (pod.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).filter { $0.weight != 0 }
    let affinity = normalize(nodes.map { node in
        preferred.reduce(Int64(0)) { sum, term in term.preference.matches(node.node) ? sum + Int64(term.weight) : sum }
    }, reverse: false)

    // Tolerations that can tolerate a PreferNoSchedule taint: empty effect or PreferNoSchedule.
    let softTolerations = (pod.pod.spec.tolerations ?? []).filter {
        ($0.effect?.rawValue ?? "").isEmpty || $0.effect == .preferNoSchedule
    }
    let taints = normalize(nodes.map { node in
        Int64((node.node.spec.taints ?? []).filter { taint in
            taint.effect == .preferNoSchedule && !tolerated(taint, by: softTolerations)
        }.count)
    }, reverse: true)

    return nodes.indices.map { i in
        ScoreWeights.memory * memory[i] + ScoreWeights.balance * balance[i]
            + ScoreWeights.nodeAffinity * affinity[i] + ScoreWeights.taintToleration * taints[i]
    }
}
