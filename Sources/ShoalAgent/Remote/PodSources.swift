import ShoalAPI

/// The annotations the kubelet uses to tie static pods to the API.
public enum PodSourceAnnotation {
    /// On a mirror pod: the UID of the static pod it mirrors.
    public static let mirror = "kubernetes.io/config.mirror"
    /// `file` for static pods (`api` is implied for the rest).
    public static let source = "kubernetes.io/config.source"
    public static let hash = "kubernetes.io/config.hash"
}

/// The pods each source wants, merged into the agent's desired set (the kubelet's pod config
/// merger): static pods from the manifest directory plus the API pods bound to this node.
///
/// A source that has not delivered yet says nothing: its pods (re-adopted after a restart) are
/// neither started nor killed until it has, so an agent restart never kills the API's pods
/// because the manifest directory was read first (or the other way round).
struct PodSources: Sendable {
    /// Whether the agent reads a manifest directory.
    var staticEnabled = false
    /// Set once the pods of a previous run are re-adopted; nothing is reconciled before.
    var adopted = false
    /// nil until the source first delivers.
    var staticPods: [Pod]?
    /// API pods bound to the node (mirror pods excluded), by UID; nil until the first list.
    var apiPods: [String: Pod]?
    /// Grace periods of API pods deleted outright (the last state the watch showed), by UID.
    var removedGrace: [String: Int64] = [:]
    /// Serializes reconciles: one at a time, the latest state each round.
    var reconciling = false
    var reconcileRequested = false

    enum Origin: Sendable, Equatable { case file, api }

    /// What the agent knows of a worker for planning.
    struct WorkerInfo: Sendable, Equatable {
        var origin: Origin
        var dying: Bool
    }

    struct Plan: Sendable {
        /// For `setDesired`: every pod that should run (workers kept while their source is
        /// not ready appear with their current pod).
        var desired: [Pod]
        /// Workers to kill first, with the grace period the API asked for (nil: the pod's own).
        var kills: [(uid: String, gracePeriod: Int64?)]
        /// UIDs kept only because their source has not delivered yet.
        var keptUnready: Set<String>
    }

    static func origin(of pod: Pod) -> Origin {
        pod.metadata.annotations?[PodSourceAnnotation.source] == "file" ? .file : .api
    }

    static func isMirror(_ pod: Pod) -> Bool { pod.metadata.annotations?[PodSourceAnnotation.mirror] != nil }

    static func isTerminal(_ pod: Pod) -> Bool {
        pod.status?.phase == .succeeded || pod.status?.phase == .failed
    }

    var staticReady: Bool { staticPods != nil }
    /// Only the API's own list stops an API pod: an agent restarted without (or before) its
    /// master connection leaves the pods it re-adopted from the API running. (Pods made from
    /// manifests are all `file` pods, so a standalone agent behaves as before.)
    var apiReady: Bool { apiPods != nil }

    func ready(_ origin: Origin) -> Bool { origin == .file ? staticReady : apiReady }

    /// The grace period the API asks for when a pod is deleted: `deletionGracePeriodSeconds`
    /// (what `kubectl delete --grace-period` set), else nil for the pod's own.
    static func deletionGrace(_ pod: Pod) -> Int64? { pod.metadata.deletionGracePeriodSeconds }

    /// - Parameter workers: the agent's workers by UID; `currentPods` their pods (for those kept).
    func plan(workers: [String: WorkerInfo], currentPods: [String: Pod]) -> Plan {
        var desired = staticPods ?? []
        var wanted = Set(desired.compactMap(\.metadata.uid))
        var kills: [(uid: String, gracePeriod: Int64?)] = []
        for (uid, pod) in (apiPods ?? [:]).sorted(by: { $0.key < $1.key }) {
            if pod.metadata.deletionTimestamp != nil {
                if let w = workers[uid], !w.dying { kills.append((uid, PodSources.deletionGrace(pod))) }
                continue
            }
            // A pod that ended (as the API knows it) is not started again, only kept if running.
            if PodSources.isTerminal(pod) && workers[uid] == nil { continue }
            if wanted.insert(uid).inserted { desired.append(pod) }
        }
        var kept: Set<String> = []
        for (uid, w) in workers.sorted(by: { $0.key < $1.key }) where !wanted.contains(uid) && !w.dying {
            if !ready(w.origin) {
                if let pod = currentPods[uid] {
                    desired.append(pod)
                    kept.insert(uid)
                }
                continue
            }
            if w.origin == .api, let grace = removedGrace[uid], !kills.contains(where: { $0.uid == uid }) {
                kills.append((uid, grace))
            }
        }
        return Plan(desired: desired, kills: kills, keptUnready: kept)
    }
}
