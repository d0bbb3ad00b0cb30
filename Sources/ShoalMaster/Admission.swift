import ShoalAPI

/// The admission plugins a namespace's policies need, as kube-apiserver runs them on create:
/// LimitRanger (fills in default requests and limits, then checks min and max) and
/// ResourceQuota (refuses what would pass a quota's hard limits). Pure, for the registry.
enum LimitRanger {
    static let computeResources = ["cpu", "memory", "ephemeral-storage"]

    /// Defaults the containers of `pod` and returns the violations, in LimitRanger's words.
    static func admit(_ pod: inout Pod, _ ranges: [LimitRange]) -> [String] {
        PodDefaults.apply(to: &pod)  // requests default to limits first, as defaulting runs before admission
        var errs: [String] = []
        for item in ranges.flatMap(\.spec.limits) where item.type == "Container" {
            pod.spec.containers = pod.spec.containers.map { fill($0, item) }
            pod.spec.initContainers = pod.spec.initContainers?.map { fill($0, item) }
        }
        for item in ranges.flatMap(\.spec.limits) {
            switch item.type {
            case "Container":
                for c in pod.spec.containers + (pod.spec.initContainers ?? []) {
                    errs += bounds(item, requests: c.resources?.requests ?? [:], limits: c.resources?.limits ?? [:], kind: "Container")
                }
            case "Pod":
                var requests: [String: Quantity] = [:], limits: [String: Quantity] = [:]
                for c in pod.spec.containers {
                    for (k, v) in c.resources?.requests ?? [:] { requests[k] = (requests[k] ?? .zero) + v }
                    for (k, v) in c.resources?.limits ?? [:] { limits[k] = (limits[k] ?? .zero) + v }
                }
                errs += bounds(item, requests: requests, limits: limits, kind: "Pod")
            default:
                continue
            }
        }
        return errs
    }

    static func fill(_ c: Container, _ item: LimitRangeItem) -> Container {
        var c = c
        var r = c.resources ?? ResourceRequirements()
        var limits = r.limits ?? [:], requests = r.requests ?? [:]
        for (k, v) in item.default ?? [:] where limits[k] == nil { limits[k] = v }
        for (k, v) in item.defaultRequest ?? [:] where requests[k] == nil {
            // A request never defaults above the container's own limit.
            requests[k] = limits[k].map { min($0, v) } ?? v
        }
        // Without a defaultRequest, a default limit is also the request (as the API server does).
        for (k, v) in limits where requests[k] == nil && item.defaultRequest?[k] == nil && item.default?[k] != nil { requests[k] = v }
        r.limits = limits.isEmpty ? nil : limits
        r.requests = requests.isEmpty ? nil : requests
        c.resources = r
        return c
    }

    static func bounds(_ item: LimitRangeItem, requests: [String: Quantity], limits: [String: Quantity], kind: String) -> [String] {
        var errs: [String] = []
        for (k, min) in (item.min ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let r = requests[k] {
                if r < min { errs.append("minimum \(k) usage per \(kind) is \(min), but request is \(r)") }
            } else {
                errs.append("minimum \(k) usage per \(kind) is \(min).  No request is specified")
            }
            if let l = limits[k], l < min { errs.append("minimum \(k) usage per \(kind) is \(min), but limit is \(l)") }
        }
        for (k, max) in (item.max ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let l = limits[k] {
                if l > max { errs.append("maximum \(k) usage per \(kind) is \(max), but limit is \(l)") }
            } else {
                errs.append("maximum \(k) usage per \(kind) is \(max).  No limit is specified")
            }
        }
        return errs
    }
}

enum QuotaAdmission {
    /// The quota resource names a kind's objects are counted under.
    static func countNames(_ r: ResourceInfo) -> [String] {
        var names = ["count/" + r.qualifiedName]
        if ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas"].contains(r.plural) && r.group.isEmpty {
            names.append(r.plural)
        }
        return names
    }

    /// What one object adds to a quota's usage: 1 of its counts, and a pod's compute totals.
    static func usage(_ r: ResourceInfo, _ obj: JSONValue) -> [String: Quantity] {
        var u: [String: Quantity] = [:]
        for name in countNames(r) { u[name] = Quantity(integer: 1) }
        guard r.plural == "pods", r.group.isEmpty, let pod = try? obj.decode(Pod.self) else { return u }
        if pod.status?.phase == .succeeded || pod.status?.phase == .failed { return [:] }
        for c in pod.spec.containers {
            for (k, v) in c.resources?.requests ?? [:] where LimitRanger.computeResources.contains(k) {
                u["requests." + k] = (u["requests." + k] ?? .zero) + v
                u[k] = (u[k] ?? .zero) + v
            }
            for (k, v) in c.resources?.limits ?? [:] where LimitRanger.computeResources.contains(k) {
                u["limits." + k] = (u["limits." + k] ?? .zero) + v
            }
        }
        return u
    }

    /// Why `quota` refuses an object adding `adding` to `used`, in the ResourceQuota
    /// plugin's words; nil when it fits.
    static func refusal(_ quota: ResourceQuota, used: [String: Quantity], adding: [String: Quantity], pod: Pod?) -> String? {
        let hard = quota.spec.hard ?? [:]
        let name = quota.metadata.name ?? ""
        // A pod under a compute quota must say what it asks for.
        if let pod {
            var missing: [String] = []
            for key in ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"] where hard[key] != nil {
                let resource = key.hasPrefix("limits.") ? String(key.dropFirst(7)) : key.hasPrefix("requests.") ? String(key.dropFirst(9)) : key
                let lacking = pod.spec.containers.filter { c in
                    key.hasPrefix("limits.") ? c.resources?.limits?[resource] == nil : c.resources?.requests?[resource] == nil
                }.map(\.name)
                if !lacking.isEmpty { missing.append("\(key) for: \(lacking.joined(separator: ","))") }
            }
            if !missing.isEmpty { return "failed quota: \(name): must specify \(missing.joined(separator: "; "))" }
        }
        let over = hard.keys.sorted().filter { k in
            guard let add = adding[k], !add.isZero else { return false }
            return (used[k] ?? .zero) + add > hard[k]!
        }
        guard !over.isEmpty else { return nil }
        func list(_ m: [String: Quantity]) -> String { over.map { "\($0)=\(m[$0] ?? .zero)" }.joined(separator: ",") }
        return "exceeded quota: \(name), requested: \(list(adding)), used: \(list(used)), limited: \(list(hard))"
    }
}

/// LimitRanges and ResourceQuotas: typed, with the few rules of their own.
extension TypedStrategy {
    static var limitRanges: TypedStrategy<LimitRange> {
        TypedStrategy<LimitRange>(resource: Resources.limitRanges) { lr, _, _ in
            var errs: [FieldError] = []
            for (i, item) in lr.spec.limits.enumerated() {
                let path = FieldPath("spec", "limits").index(i)
                if !["Container", "Pod", "PersistentVolumeClaim"].contains(item.type) {
                    errs.append(.notSupported(path.child("type"), .string(item.type), ["Container", "PersistentVolumeClaim", "Pod"]))
                }
                for (k, min) in item.min ?? [:] {
                    if let max = item.max?[k], min > max {
                        errs.append(.invalid(path.child("min").key(k), .raw(min.description), "min value \(min) is greater than max value \(max)"))
                    }
                }
            }
            return errs
        }
    }

    static var resourceQuotas: TypedStrategy<ResourceQuota> {
        TypedStrategy<ResourceQuota>(resource: Resources.resourceQuotas) { q, _, _ in
            (q.spec.hard ?? [:]).compactMap { k, v in
                v.sign < 0 ? .invalid(FieldPath("spec", "hard").key(k), .raw(v.description), "must be greater than or equal to 0") : nil
            }
        }
    }
}

/// The resource quota controller: each quota's status holds its hard limits and the
/// namespace's current usage.
extension Master {
    func runQuotaController() async {
        let watched = Resources.all.filter(\.namespaced).map { Registry.prefix($0, namespace: nil) }
        await onChanges(watched.filter { !$0.contains("/events/") }) { [self] in
            syncQuotas()
        }
    }

    func syncQuotas() {
        guard let quotas = listAll(Resources.resourceQuotas, as: ResourceQuota.self) else { return }
        for q in quotas {
            let hard = q.spec.hard ?? [:]
            let used = registry.quotaUsage(namespace: q.metadata.namespace ?? "default", for: Set(hard.keys))
            let status = ResourceQuotaStatus(hard: hard, used: used)
            if status != q.status { writeStatus(Resources.resourceQuotas, q.metadata, status) }
        }
    }
}
