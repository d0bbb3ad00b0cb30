import ShoalAPI

/// apps/v1 ReplicaSets and Deployments: ShoalAPI's defaults and validation, an immutable
/// selector, and metadata.generation counting spec changes (what `observedGeneration` and
/// `kubectl rollout status` compare against).
struct WorkloadStrategy<T: Codable & Sendable>: ResourceStrategy {
    let resource: ResourceInfo
    let defaults: @Sendable (inout T) -> Void
    let validate: @Sendable (T) -> [FieldError]
    let selector: @Sendable (T) -> ShoalAPI.LabelSelector?
    let name: @Sendable (T) -> String

    func decode(_ obj: JSONValue, strict: Bool) throws(APIError) -> T {
        try decodeTyped(T.self, obj, kind: resource.kind, version: resource.version, strict: strict)
    }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        var w = try decode(obj, strict: strict)
        defaults(&w)
        let errs = validate(w)
        if !errs.isEmpty { throw APIError.invalid(resource, name(w), errs) }
        obj = try encodeTyped(w)
        obj["metadata"]?["generation"] = 1
        obj["status"] = obj["status"] ?? [:]
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        splitStatus(&obj, old: old, subresource: subresource)
        var w = try decode(obj, strict: strict)
        if subresource == "status" {
            obj = try encodeTyped(w)
            return
        }
        defaults(&w)
        let previous = try decode(old, strict: false)
        let errs = validate(w) + WorkloadValidation.validateSelectorUnchanged(selector(w), selector(previous))
        if !errs.isEmpty { throw APIError.invalid(resource, name(w), errs) }
        obj = try encodeTyped(w)
        var generation: Int64 = 1
        if case .int(let g)? = old["metadata"]?["generation"] { generation = g }
        let specChanged = obj["spec"] != old["spec"]
        obj["metadata"]?["generation"] = .int(specChanged ? generation + 1 : generation)
    }
}

extension WorkloadStrategy where T == ReplicaSet {
    static var replicaSets: WorkloadStrategy<ReplicaSet> {
        WorkloadStrategy(resource: Resources.replicaSets, defaults: { WorkloadValidation.applyDefaults(&$0) },
                         validate: { WorkloadValidation.validate($0) }, selector: { $0.spec.selector }, name: { $0.metadata.name ?? "" })
    }
}

extension WorkloadStrategy where T == Deployment {
    static var deployments: WorkloadStrategy<Deployment> {
        WorkloadStrategy(resource: Resources.deployments, defaults: { WorkloadValidation.applyDefaults(&$0) },
                         validate: { WorkloadValidation.validate($0) }, selector: { $0.spec.selector }, name: { $0.metadata.name ?? "" })
    }
}

extension WorkloadStrategy where T == Job {
    static var jobs: WorkloadStrategy<Job> {
        WorkloadStrategy(resource: Resources.jobs, defaults: { JobValidation.applyDefaults(&$0) },
                         validate: { JobValidation.validate($0) }, selector: { $0.spec.selector }, name: { $0.metadata.name ?? "" })
    }
}

extension WorkloadStrategy where T == DaemonSet {
    static var daemonSets: WorkloadStrategy<DaemonSet> {
        WorkloadStrategy(resource: Resources.daemonSets, defaults: { DaemonSetValidation.applyDefaults(&$0) },
                         validate: { DaemonSetValidation.validate($0) }, selector: { $0.spec.selector }, name: { $0.metadata.name ?? "" })
    }
}

extension WorkloadStrategy where T == ReplicationController {
    static var replicationControllers: WorkloadStrategy<ReplicationController> {
        WorkloadStrategy(resource: Resources.replicationControllers, defaults: { ReplicationControllerValidation.applyDefaults(&$0) },
                         validate: { ReplicationControllerValidation.validate($0) },
                         selector: { $0.spec.selector.map { ShoalAPI.LabelSelector(matchLabels: $0) } }, name: { $0.metadata.name ?? "" })
    }
}
