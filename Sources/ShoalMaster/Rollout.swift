import ShoalAPI

/// The Deployment controller's arithmetic (pkg/controller/deployment), pure for testing: the
/// template hash, how far the new ReplicaSet may grow and the old ones shrink in a rolling
/// update, and which pods a shrinking ReplicaSet gives up first.
enum Rollout {
    /// The `pod-template-hash`: FNV-32a of the template, in apimachinery's safe alphabet (what
    /// `rand.SafeEncodeString` makes of controller.ComputeHash).
    static func templateHash(_ template: PodTemplateSpec?, collisionCount: Int32 = 0) -> String {
        let bytes = canonical(template).serialized + (collisionCount > 0 ? Array(String(collisionCount).utf8) : [])
        var h: UInt32 = 0x811c_9dc5
        for b in bytes {
            h ^= UInt32(b)
            h = h &* 0x0100_0193
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var out = ""
        for c in String(h) { out.append(alphabet[Int(c.asciiValue! - 48) % alphabet.count]) }
        return out
    }

    /// Templates equal but for the hash label (EqualIgnoreHash).
    static func sameTemplate(_ a: PodTemplateSpec?, _ b: PodTemplateSpec?) -> Bool { canonical(a) == canonical(b) }

    /// A template as JSON without the hash label and without empty values: a client that
    /// writes `resources: {}` (kubectl's rollout undo does) means the same template as one
    /// that leaves it out.
    static func canonical(_ template: PodTemplateSpec?) -> JSONValue {
        var t = template ?? PodTemplateSpec()
        t.metadata?.labels?[Deployment.templateHashLabel] = nil
        func strip(_ v: JSONValue) -> JSONValue? {
            switch v {
            case .null: return nil
            case .object(let o):
                var out: [String: JSONValue] = [:]
                for (k, x) in o { if let y = strip(x) { out[k] = y } }
                return out.isEmpty ? nil : .object(out)
            case .array(let a):
                let out = a.map { strip($0) ?? .object([:]) }
                return out.isEmpty ? nil : .array(out)
            default: return v
            }
        }
        return strip((try? JSONValue.encoding(t)) ?? .null) ?? .null
    }

    struct Limits: Equatable {
        var maxSurge: Int32
        var maxUnavailable: Int32
    }

    /// ResolveFenceposts: percentages of the desired count, surge rounded up and unavailability
    /// down; both 0 would stall, so unavailability becomes 1.
    static func limits(_ d: Deployment) -> Limits {
        let replicas = d.spec.replicas ?? 1
        let ru = d.spec.strategy?.rollingUpdate
        let surge = WorkloadValidation.scaled(ru?.maxSurge ?? .string("25%"), total: replicas, roundUp: true)
        var unavailable = WorkloadValidation.scaled(ru?.maxUnavailable ?? .string("25%"), total: replicas, roundUp: false)
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return Limits(maxSurge: surge, maxUnavailable: unavailable)
    }

    /// NewRSNewReplicas: the new ReplicaSet's size this step.
    static func newReplicas(desired: Int32, newCurrent: Int32, allCurrent: Int32, limits: Limits) -> Int32 {
        if newCurrent >= desired { return desired }
        let maxTotal = desired + limits.maxSurge
        if allCurrent >= maxTotal { return newCurrent }
        return newCurrent + min(maxTotal - allCurrent, desired - newCurrent)
    }

    /// How many old pods may go this step (reconcileOldReplicaSets): the total over the
    /// minimum available, less what the new ReplicaSet still lacks.
    static func oldScaleDown(desired: Int32, allCurrent: Int32, newCurrent: Int32, newAvailable: Int32, allAvailable: Int32,
                             limits: Limits) -> Int32 {
        let minAvailable = desired - limits.maxUnavailable
        let newUnavailable = newCurrent - newAvailable
        let room = allCurrent - minAvailable - newUnavailable
        guard room > 0 else { return 0 }
        return max(0, min(room, allAvailable - minAvailable))
    }

    /// A pod as the ReplicaSet controller ranks it for removal: unscheduled, then pending,
    /// then not ready, then the most recently ready or created first (ActivePodsWithRanks).
    struct PodRank: Comparable {
        var unassigned: Bool
        var pending: Bool
        var notReady: Bool
        var since: Int64
        var name: String

        static func < (a: PodRank, b: PodRank) -> Bool {
            if a.unassigned != b.unassigned { return a.unassigned }
            if a.pending != b.pending { return a.pending }
            if a.notReady != b.notReady { return a.notReady }
            if a.since != b.since { return a.since > b.since }
            return a.name < b.name
        }
    }

    static func rank(_ pod: Pod) -> PodRank {
        let ready = pod.status?.conditions?.first { $0.type == .ready }
        return PodRank(unassigned: (pod.spec.nodeName ?? "").isEmpty, pending: pod.status?.phase == .pending || pod.status?.phase == nil,
                       notReady: ready?.status != .true,
                       since: ready?.lastTransitionTime?.secondsSinceEpoch ?? pod.metadata.creationTimestamp?.secondsSinceEpoch ?? 0,
                       name: pod.metadata.name ?? "")
    }

    /// Ready, and for at least minReadySeconds (podutil.IsPodAvailable).
    static func isAvailable(_ pod: Pod, minReadySeconds: Int32, now: Int64) -> Bool {
        guard let ready = pod.status?.conditions?.first(where: { $0.type == .ready }), ready.status == .true else { return false }
        guard minReadySeconds > 0 else { return true }
        return (ready.lastTransitionTime?.secondsSinceEpoch ?? now) + Int64(minReadySeconds) <= now
    }
}

extension Rollout {
    /// DeploymentProgressing: more updated, ready or available pods, or fewer old ones, than
    /// the status last written.
    static func advanced(from old: DeploymentStatus?, to new: DeploymentStatus) -> Bool {
        let o = old ?? DeploymentStatus()
        func n(_ v: Int32?) -> Int32 { v ?? 0 }
        return n(new.updatedReplicas) > n(o.updatedReplicas)
            || n(new.replicas) - n(new.updatedReplicas) < n(o.replicas) - n(o.updatedReplicas)
            || n(new.readyReplicas) > n(o.readyReplicas)
            || n(new.availableReplicas) > n(o.availableReplicas)
    }

    static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"

    /// One active ReplicaSet as proportional scaling sees it.
    struct Share: Equatable {
        var replicas: Int32
        /// Its max-replicas annotation: the Deployment's size plus surge when it last scaled this set.
        var maxReplicasBefore: Int32?
        /// Newer sets have larger revisions; ties in size go to the newer when growing, the older when shrinking.
        var revision: Int
    }

    /// scale() of a rolling Deployment resized mid-rollout: the change in its allowed size
    /// (replicas + maxSurge) shared among the active sets in proportion to their size, from
    /// the largest down, the rounding leftover to the largest. Returns the sizes in `sets`' order.
    static func proportionalSizes(desired: Int32, maxSurge: Int32, statusReplicas: Int32, sets: [Share]) -> [Int32] {
        var sizes = sets.map(\.replicas)
        let active = sets.indices.filter { sets[$0].replicas > 0 }
        let allowed = desired > 0 ? desired + maxSurge : 0
        let toAdd = allowed - active.reduce(0) { $0 + sets[$1].replicas }
        guard toAdd != 0 else { return sizes }
        let order = active.sorted { a, b in
            if sets[a].replicas != sets[b].replicas { return sets[a].replicas > sets[b].replicas }
            return toAdd > 0 ? sets[a].revision > sets[b].revision : sets[a].revision < sets[b].revision
        }
        var added: Int32 = 0
        for i in order where added != toAdd {
            let share = fraction(sets[i], desired: desired, allowed: allowed, statusReplicas: statusReplicas)
            let proportion = toAdd > 0 ? min(share, toAdd - added) : max(share, toAdd - added)
            sizes[i] += proportion
            added += proportion
        }
        if let largest = order.first { sizes[largest] = max(0, sizes[largest] + toAdd - added) }
        return sizes
    }

    /// getReplicaSetFraction: how much a set grows or shrinks when the allowed size goes from
    /// what its annotation says to `allowed`; without the annotation, from the Deployment's
    /// current pod count.
    private static func fraction(_ s: Share, desired: Int32, allowed: Int32, statusReplicas: Int32) -> Int32 {
        if desired == 0 { return -s.replicas }
        var before = s.maxReplicasBefore ?? 0
        if before == 0 { before = statusReplicas }
        guard before > 0 else { return 0 }
        return Int32((Double(s.replicas) * Double(allowed) / Double(before)).rounded()) - s.replicas
    }
}
