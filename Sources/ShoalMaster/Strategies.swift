import ShoalAPI

/// What is particular to one kind: defaults, validation and which fields an update may change.
protocol ResourceStrategy: Sendable {
    var resource: ResourceInfo { get }
    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError)
    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError)
    /// Seconds a delete waits for the owner to finish (0: remove at once).
    func gracePeriod(_ obj: JSONValue, requested: Int64?) -> Int64
    func beginDeletion(_ obj: inout JSONValue)
    /// Whether an object with a deletionTimestamp goes once its metadata.finalizers are empty.
    var removesWhenFinalized: Bool { get }
    /// Called once a prepared write is stored (`committed`) or given up (an error, a dry run,
    /// a conflict): `old` is nil for a create, `new` nil for a removal. Kinds that hand out
    /// shared resources (service addresses) give back what the losing side held.
    func settle(old: JSONValue?, new: JSONValue?, committed: Bool)
}

extension ResourceStrategy {
    func gracePeriod(_ obj: JSONValue, requested: Int64?) -> Int64 { 0 }
    func beginDeletion(_ obj: inout JSONValue) {}
    var removesWhenFinalized: Bool { true }
    func settle(old: JSONValue?, new: JSONValue?, committed: Bool) {}

    func validateMeta(_ obj: JSONValue, nameIsDNSLabel: Bool = false) throws(APIError) {
        let meta: ObjectMeta
        do {
            meta = try (obj["metadata"] ?? [:]).decode(ObjectMeta.self)
        } catch {
            throw APIError.badRequest("\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): \(error)")
        }
        let errs = MetaValidation.validate(meta, namespaced: resource.namespaced, nameIsDNSLabel: nameIsDNSLabel)
        if !errs.isEmpty { throw APIError.invalid(resource, meta.name ?? "", errs) }
    }

    /// The status subresource's rule: the main resource cannot change status, and the status
    /// subresource changes nothing else.
    func splitStatus(_ obj: inout JSONValue, old: JSONValue, subresource: String?) {
        guard resource.subresources.contains("status") else { return }
        if subresource == "status" {
            let status = obj["status"]
            obj = old
            obj["status"] = status
        } else {
            obj["status"] = old["status"]
        }
    }
}

/// Kinds without rules of their own: metadata validation and the status split.
struct GenericStrategy: ResourceStrategy {
    let resource: ResourceInfo

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        try validateMeta(obj)
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        splitStatus(&obj, old: old, subresource: subresource)
        try validateMeta(obj)
    }
}

/// Namespaces: DNS-label names, `Active` until deleted, then `Terminating` while the
/// namespace controller empties them (the `kubernetes` finalizer of spec.finalizers).
struct NamespaceStrategy: ResourceStrategy {
    let resource = Resources.namespaces

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        try validateMeta(obj, nameIsDNSLabel: true)
        obj["spec"] = ["finalizers": ["kubernetes"]]
        obj["status"] = ["phase": "Active"]
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        splitStatus(&obj, old: old, subresource: subresource)
        if subresource != "finalize" { obj["spec"] = old["spec"] }
        try validateMeta(obj, nameIsDNSLabel: true)
    }

    func gracePeriod(_ obj: JSONValue, requested: Int64?) -> Int64 { 1 }

    func beginDeletion(_ obj: inout JSONValue) {
        obj["status"] = ["phase": "Terminating"]
    }

    var removesWhenFinalized: Bool { false }
}

/// Pods: typed decoding, defaults and validation of ShoalAPI, the update rules of the API server.
struct PodStrategy: ResourceStrategy {
    let resource = Resources.pods
    /// The DefaultTolerationSeconds admission plugin's value: how long a pod stays on a node
    /// that is not ready or unreachable before it is evicted.
    var defaultTolerationSeconds: Int64 = 300

    func decode(_ obj: JSONValue, strict: Bool) throws(APIError) -> Pod {
        do {
            return try ManifestDecoder.decodePod(from: ManifestDocument(value: obj), rejectUnknownFields: strict)
        } catch {
            let detail = strict ? "strict decoding error: " + error.messages.joined(separator: ", ") : error.messages.joined(separator: ", ")
            throw APIError.badRequest("Pod in version \"v1\" cannot be handled as a Pod: \(detail)")
        }
    }

    func encode(_ pod: Pod) throws(APIError) -> JSONValue { try encodeTyped(pod) }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        var pod = try decode(obj, strict: strict)
        PodDefaults.apply(to: &pod)
        let errs = PodValidation.validate(pod)
        if !errs.isEmpty { throw APIError.invalid(resource, pod.metadata.name ?? "", errs) }
        addDefaultTolerations(&pod)
        pod.status = PodStatus(phase: .pending, qosClass: PodQOS.classify(pod))
        obj = try encode(pod)
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        switch subresource {
        case "status":
            splitStatus(&obj, old: old, subresource: subresource)
            _ = try decode(obj, strict: strict)
        case "ephemeralcontainers":
            let wanted = obj["spec"]?["ephemeralContainers"]
            obj = old
            obj["spec"]?["ephemeralContainers"] = wanted
            var pod = try decode(obj, strict: strict)
            let previous = try decode(old, strict: false)
            PodDefaults.apply(to: &pod)
            var errs = PodValidation.validate(pod)
            for e in previous.spec.ephemeralContainers ?? [] where !(pod.spec.ephemeralContainers ?? []).contains(e) {
                errs.append(.forbidden(FieldPath("spec", "ephemeralContainers"), "existing ephemeral containers \(goQuote(e.name)) may not be removed or changed"))
            }
            if !errs.isEmpty { throw APIError.invalid(resource, pod.metadata.name ?? "", errs) }
            obj = try encode(pod)
        default:
            splitStatus(&obj, old: old, subresource: subresource)
            var pod = try decode(obj, strict: strict)
            PodDefaults.apply(to: &pod)
            let previous = try decode(old, strict: false)
            var errs = PodValidation.validate(pod)
            if Self.mutableView(pod.spec) != Self.mutableView(previous.spec) {
                errs.append(.forbidden(FieldPath("spec"), "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
            }
            if !errs.isEmpty { throw APIError.invalid(resource, pod.metadata.name ?? "", errs) }
            obj = try encode(pod)
        }
    }

    func addDefaultTolerations(_ pod: inout Pod) {
        var tolerations = pod.spec.tolerations ?? []
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
        where !tolerations.contains(where: { ($0.key == key || ($0.key ?? "").isEmpty && $0.operator == .exists) && ($0.effect == nil || $0.effect == .noExecute) }) {
            tolerations.append(Toleration(key: key, operator: .exists, effect: .noExecute, tolerationSeconds: defaultTolerationSeconds))
        }
        pod.spec.tolerations = tolerations
    }

    /// The spec with the fields an update may change blanked out: equal views mean a legal update.
    static func mutableView(_ spec: PodSpec) -> PodSpec {
        var s = spec
        s.containers = s.containers.map { var c = $0; c.image = nil; return c }
        s.initContainers = s.initContainers?.map { var c = $0; c.image = nil; return c }
        s.activeDeadlineSeconds = nil
        s.tolerations = nil
        s.ephemeralContainers = nil
        return s
    }

    func gracePeriod(_ obj: JSONValue, requested: Int64?) -> Int64 {
        let phase = obj["status"]?["phase"]?.stringValue
        // A pod no node runs, or that has finished, has nothing to wait for.
        if (obj["spec"]?["nodeName"]?.stringValue ?? "").isEmpty || phase == "Succeeded" || phase == "Failed" { return 0 }
        if let requested { return max(requested, 0) }
        if case .int(let g)? = obj["spec"]?["terminationGracePeriodSeconds"] { return max(g, 1) }
        return PodDefaults.terminationGracePeriodSeconds
    }

    /// Pods are removed by their node once stopped (it deletes with grace 0), not by finalizers alone.
    var removesWhenFinalized: Bool { true }
}
