import ShoalAPI

/// JSON merge patches (RFC 7386) between two trees: what turns `old` into `new`.
enum MergePatch {
    /// Members that changed or appeared are given whole (arrays included), members that went
    /// are null; nil when nothing changed.
    static func diff(from old: JSONValue, to new: JSONValue) -> JSONValue? {
        guard case .object(let a) = old, case .object(let b) = new else {
            // (No `? nil :` here: with JSONValue nil-literal convertible it would mean `.null`.)
            if old == new { return Optional<JSONValue>.none }
            return new
        }
        var out: [String: JSONValue] = [:]
        for (key, value) in b {
            if let previous = a[key] {
                if let d = diff(from: previous, to: value) { out[key] = d }
            } else {
                out[key] = value
            }
        }
        // (`b.keys.contains`, not `b[key] == nil`: JSONValue is nil-literal convertible.)
        for key in a.keys where !b.keys.contains(key) { out[key] = .null }
        if out.isEmpty { return Optional<JSONValue>.none }
        return .object(out)
    }

    /// Applies a merge patch (for tests and for keeping a local copy in step).
    static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in members {
            if value.isNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}

/// The part of a pod's status the agent owns, and the patches that report it (the kubelet's
/// status manager: a merge patch of `status` whenever it differs from what was last sent).
enum PodStatusReport {
    /// Status fields the agent writes; anything else (nominatedNodeName, resize, …) belongs to
    /// someone else and is never touched.
    static let ownedFields: Set<String> = [
        "phase", "conditions", "message", "reason", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
        "initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses", "qosClass",
    ]

    /// Condition types the agent computes; others (readiness gates, DisruptionTarget, …) are
    /// kept as the API has them.
    static let ownedConditions: Set<PodConditionType> = [
        .podReadyToStartContainers, .initialized, .containersReady, .ready, .podScheduled, "AllContainersRestarting",
    ]

    /// The agent's status with the conditions of other writers carried over from the API's.
    static func merged(_ ours: PodStatus, api: PodStatus?) -> PodStatus {
        var status = ours
        let foreign = (api?.conditions ?? []).filter { !ownedConditions.contains($0.type) }
        if !foreign.isEmpty { status.conditions = (status.conditions ?? []) + foreign }
        return status
    }

    /// The owned fields of a status as JSON (a normalized form to compare and diff).
    static func projection(_ status: PodStatus?) -> JSONValue {
        guard let status, let tree = try? JSONValue.encoding(status), case .object(let members) = tree else { return .object([:]) }
        return .object(members.filter { ownedFields.contains($0.key) })
    }

    /// The merge-patch body that turns `old` (what the API has, as far as the agent knows)
    /// into `new`, or nil when they agree on every owned field.
    static func patch(from old: PodStatus?, to new: PodStatus) -> JSONValue? {
        guard let d = MergePatch.diff(from: projection(old), to: projection(new)) else { return Optional<JSONValue>.none }
        return .object(["status": d])
    }
}
