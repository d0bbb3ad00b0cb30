import ShoalAPI

/// Admission on create, against the policies of the object's namespace.
extension Registry {
    /// LimitRanger: a pod's containers get the namespace's default requests and limits, and a
    /// pod outside its bounds is refused (403, as kube-apiserver refuses it).
    func admitLimits(_ r: ResourceInfo, _ obj: inout JSONValue, namespace: String) throws(APIError) {
        guard r == Resources.pods, let ranges = try? listTyped(Resources.limitRanges, LimitRange.self, namespace: namespace), !ranges.isEmpty,
              var pod = try? obj.decode(Pod.self) else { return }
        let errs = LimitRanger.admit(&pod, ranges)
        if !errs.isEmpty { throw Self.forbidden(r, obj, errs.count == 1 ? errs[0] : "[" + errs.joined(separator: ", ") + "]") }
        var admitted = try encodeTyped(pod)
        admitted["metadata"] = obj["metadata"]
        obj = admitted
    }

    /// ServiceAccount admission: a pod runs as the service account it names, `default` when it
    /// names none (mirror pods excepted, as the API server exempts them); naming one that does
    /// not exist is refused. The namespace's `default` account is made by a controller, so a
    /// pod created the moment its namespace is does not wait for it. Shoal issues no service
    /// account tokens, so nothing is mounted into the pod.
    func admitServiceAccount(_ r: ResourceInfo, _ obj: inout JSONValue, namespace: String) throws(APIError) {
        guard r == Resources.pods, obj["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] == nil else { return }
        let named = obj["spec"]?["serviceAccountName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            ?? obj["spec"]?["serviceAccount"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? Master.defaultServiceAccount
        if named != Master.defaultServiceAccount, (try? get(Resources.serviceAccounts, namespace: namespace, name: named)) == nil {
            throw Self.forbidden(r, obj, "error looking up service account \(namespace)/\(named): serviceaccount \"\(named)\" not found")
        }
        obj["spec"]?["serviceAccountName"] = .string(named)
        obj["spec"]?["serviceAccount"] = .string(named)
    }

    /// ResourceQuota: refused when the namespace's usage plus this object passes a quota.
    func admitQuota(_ r: ResourceInfo, _ obj: JSONValue, namespace: String) throws(APIError) {
        guard r != Resources.resourceQuotas, let quotas = try? listTyped(Resources.resourceQuotas, ResourceQuota.self, namespace: namespace),
              !quotas.isEmpty else { return }
        let adding = QuotaAdmission.usage(r, obj)
        guard !adding.isEmpty else { return }
        let pod = r == Resources.pods ? try? obj.decode(Pod.self) : nil
        for quota in quotas.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) {
            let used = quotaUsage(namespace: namespace, for: Set((quota.spec.hard ?? [:]).keys))
            if let why = QuotaAdmission.refusal(quota, used: used, adding: adding, pod: pod) { throw Self.forbidden(r, obj, why) }
        }
    }

    /// The namespace's usage of the given quota resources.
    func quotaUsage(namespace: String, for names: Set<String>) -> [String: Quantity] {
        var used: [String: Quantity] = [:]
        for r in Resources.all where r.namespaced && !Set(QuotaAdmission.countNames(r) + (r == Resources.pods ? Self.computeNames : [])).isDisjoint(with: names) {
            for item in (try? list(r, namespace: namespace, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items) ?? [] {
                for (k, v) in QuotaAdmission.usage(r, item) where names.contains(k) { used[k] = (used[k] ?? .zero) + v }
            }
        }
        for name in names where used[name] == nil { used[name] = .zero }
        return used
    }

    static let computeNames = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory",
                               "requests.ephemeral-storage", "limits.ephemeral-storage", "ephemeral-storage"]

    func listTyped<T: Decodable>(_ r: ResourceInfo, _ type: T.Type, namespace: String) throws(APIError) -> [T] {
        try list(r, namespace: namespace, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items.compactMap { try? $0.decode(T.self) }
    }

    static func forbidden(_ r: ResourceInfo, _ obj: JSONValue, _ why: String) -> APIError {
        let name = obj["metadata"]?["name"]?.stringValue ?? ""
        return APIError(code: 403, reason: "Forbidden", message: "\(r.qualifiedName) \"\(name)\" is forbidden: \(why)",
                        details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
    }
}
