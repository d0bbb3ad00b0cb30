import ShoalAPI

extension Toleration {
    /// Whether this toleration tolerates `taint`, exactly as `v1.Toleration.ToleratesTaint`:
    /// an empty effect matches every effect, an empty key (with `Exists`) every key, and the
    /// operator defaults to `Equal`, which compares values (a missing value is "").
    public func tolerates(_ taint: Taint) -> Bool {
        if let effect, !effect.rawValue.isEmpty, effect != taint.effect { return false }
        if let key, !key.isEmpty, key != taint.key { return false }
        switch self.operator?.rawValue ?? "" {
        case "", TolerationOperator.equal.rawValue:
            return (value ?? "") == (taint.value ?? "")
        case TolerationOperator.exists.rawValue:
            return true
        default:
            return false
        }
    }
}

/// Whether any of `tolerations` tolerates `taint` (`TolerationsTolerateTaint`).
func tolerated(_ taint: Taint, by tolerations: [Toleration]?) -> Bool {
    (tolerations ?? []).contains { $0.tolerates(taint) }
}

/// How long a pod may stay on a node with a NoExecute taint, as the taint manager (the node
/// lifecycle controller's eviction) decides it.
public enum TolerationVerdict: Sendable, Hashable {
    /// No toleration matches: evict now.
    case notTolerated
    /// Tolerated without `tolerationSeconds`: the pod stays.
    case forever
    /// Tolerated for this many seconds from when the taint was added (0: evict now).
    case seconds(Int64)
}

/// The verdict for one taint. For a NoExecute taint, the first toleration that tolerates it
/// decides (kube's `GetMatchingTolerations`): no `tolerationSeconds` means forever, zero or
/// negative means evict now. Taints of other effects never evict: tolerated ones are
/// `.forever` (and `tolerationSeconds` is ignored for them, as in Kubernetes).
public func tolerationSeconds(of pod: Pod, for taint: Taint) -> TolerationVerdict {
    guard let toleration = (pod.spec.tolerations ?? []).first(where: { $0.tolerates(taint) }) else {
        return .notTolerated
    }
    guard taint.effect == .noExecute, let seconds = toleration.tolerationSeconds else { return .forever }
    return .seconds(max(0, seconds))
}

/// The verdict for all of a node's taints together, as the taint manager computes it
/// (`getMinTolerationTime`): only NoExecute taints count; any untolerated one evicts now;
/// otherwise the shortest `tolerationSeconds` among the tolerations used wins.
public func tolerationSeconds(of pod: Pod, for taints: [Taint]) -> TolerationVerdict {
    var verdict = TolerationVerdict.forever
    for taint in taints where taint.effect == .noExecute {
        switch tolerationSeconds(of: pod, for: taint) {
        case .notTolerated:
            return .notTolerated
        case .forever:
            break
        case .seconds(let s):
            if case .seconds(let current) = verdict, current <= s { break }
            verdict = .seconds(s)
        }
    }
    return verdict
}
