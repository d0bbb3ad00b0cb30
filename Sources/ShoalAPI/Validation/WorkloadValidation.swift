/// Defaults and validation of apps/v1 ReplicaSet and Deployment (pkg/apis/apps/validation), in
/// the API server's words.
public enum WorkloadValidation {
    // MARK: defaults

    /// SetDefaults_ReplicaSet, with the pod template defaulted as a pod is.
    public static func applyDefaults(_ rs: inout ReplicaSet) {
        if rs.spec.replicas == nil { rs.spec.replicas = 1 }
        if rs.spec.minReadySeconds == nil { rs.spec.minReadySeconds = 0 }
        defaultTemplate(&rs.spec.template)
    }

    /// SetDefaults_Deployment: one replica, RollingUpdate 25%/25%, ten old ReplicaSets kept,
    /// a ten-minute progress deadline.
    public static func applyDefaults(_ d: inout Deployment) {
        if d.spec.replicas == nil { d.spec.replicas = 1 }
        var strategy = d.spec.strategy ?? DeploymentStrategy()
        if (strategy.type ?? "").isEmpty { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var ru = strategy.rollingUpdate ?? RollingUpdateDeployment()
            if ru.maxUnavailable == nil { ru.maxUnavailable = .string("25%") }
            if ru.maxSurge == nil { ru.maxSurge = .string("25%") }
            strategy.rollingUpdate = ru
        }
        d.spec.strategy = strategy
        if d.spec.revisionHistoryLimit == nil { d.spec.revisionHistoryLimit = 10 }
        if d.spec.progressDeadlineSeconds == nil { d.spec.progressDeadlineSeconds = 600 }
        if d.spec.minReadySeconds == nil { d.spec.minReadySeconds = 0 }
        defaultTemplate(&d.spec.template)
    }

    static func defaultTemplate(_ t: inout PodTemplateSpec?) {
        guard var template = t else { return }
        var pod = Pod(metadata: template.metadata ?? ObjectMeta(), spec: template.spec ?? PodSpec())
        PodDefaults.apply(to: &pod)
        template.spec = pod.spec
        t = template
    }

    // MARK: validation

    public static func validate(_ rs: ReplicaSet) -> [FieldError] {
        var errs = MetaValidation.validate(rs.metadata, namespaced: true)
        let spec = FieldPath("spec")
        errs += ValidationRules.nonnegative(Int64(rs.spec.replicas ?? 0), spec.child("replicas"))
        errs += ValidationRules.nonnegative(Int64(rs.spec.minReadySeconds ?? 0), spec.child("minReadySeconds"))
        errs += selectorAndTemplate(rs.spec.selector, rs.spec.template, path: spec)
        return errs
    }

    public static func validate(_ d: Deployment) -> [FieldError] {
        var errs = MetaValidation.validate(d.metadata, namespaced: true)
        let spec = FieldPath("spec")
        errs += ValidationRules.nonnegative(Int64(d.spec.replicas ?? 0), spec.child("replicas"))
        errs += ValidationRules.nonnegative(Int64(d.spec.minReadySeconds ?? 0), spec.child("minReadySeconds"))
        errs += ValidationRules.nonnegative(Int64(d.spec.revisionHistoryLimit ?? 0), spec.child("revisionHistoryLimit"))
        errs += selectorAndTemplate(d.spec.selector, d.spec.template, path: spec)
        errs += strategy(d.spec.strategy, path: spec.child("strategy"))
        if let deadline = d.spec.progressDeadlineSeconds {
            errs += ValidationRules.nonnegative(Int64(deadline), spec.child("progressDeadlineSeconds"))
            if deadline <= d.spec.minReadySeconds ?? 0 {
                errs.append(.invalid(spec.child("progressDeadlineSeconds"), .int(Int64(deadline)), "must be greater than minReadySeconds"))
            }
        }
        return errs
    }

    /// The selector may not change once set (apps/v1).
    public static func validateSelectorUnchanged(_ new: LabelSelector?, _ old: LabelSelector?) -> [FieldError] {
        guard new != old else { return [] }
        return [.invalid(FieldPath("spec", "selector"), .string(new.map(describe) ?? ""), "field is immutable")]
    }

    static func selectorAndTemplate(_ selector: LabelSelector?, _ template: PodTemplateSpec?, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let sel = path.child("selector")
        guard let selector else { return [.required(sel)] }
        if selector.isEmpty { errs.append(.invalid(sel, .string(describe(selector)), "empty selector is invalid for deployment")) }
        for (i, e) in (selector.matchExpressions ?? []).enumerated() {
            let p = sel.child("matchExpressions").index(i)
            if !LabelSelectorRequirement.operators.contains(e.operator) {
                errs.append(.notSupported(p.child("operator"), .string(e.operator), LabelSelectorRequirement.operators))
            } else if (e.operator == "In" || e.operator == "NotIn") && (e.values ?? []).isEmpty {
                errs.append(.required(p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
            } else if (e.operator == "Exists" || e.operator == "DoesNotExist") && !(e.values ?? []).isEmpty {
                errs.append(.forbidden(p.child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
            }
        }
        let tpl = path.child("template")
        guard let template else { return errs + [.required(tpl)] }
        let labels = template.metadata?.labels ?? [:]
        if !selector.isEmpty && !selector.matches(labels) {
            // Go's %#v of the map, as the API server prints it.
            let shown = "map[string]string{" + labels.sorted { $0.key < $1.key }.map { "\(goQuote($0.key)):\(goQuote($0.value))" }.joined(separator: ", ") + "}"
            errs.append(.invalid(tpl.child("metadata", "labels"), .raw(shown), "`selector` does not match template `labels`"))
        }
        let spec = template.spec ?? PodSpec()
        errs += PodValidation.validatePodSpec(spec, metadata: template.metadata, path: tpl.child("spec"))
        if let policy = spec.restartPolicy, policy != .always {
            errs.append(.notSupported(tpl.child("spec", "restartPolicy"), .string(policy.rawValue), ["Always"]))
        }
        if spec.activeDeadlineSeconds != nil {
            errs.append(.forbidden(tpl.child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
        }
        return errs
    }

    static func strategy(_ s: DeploymentStrategy?, path: FieldPath) -> [FieldError] {
        guard let s else { return [] }
        let type = s.type ?? "RollingUpdate"
        switch type {
        case "Recreate":
            if s.rollingUpdate != nil {
                return [.forbidden(path.child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")]
            }
            return []
        case "RollingUpdate":
            guard let ru = s.rollingUpdate else { return [] }
            var errs: [FieldError] = []
            let unavailablePath = path.child("rollingUpdate", "maxUnavailable"), surgePath = path.child("rollingUpdate", "maxSurge")
            errs += intOrPercent(ru.maxUnavailable, unavailablePath)
            errs += intOrPercent(ru.maxSurge, surgePath)
            if isZero(ru.maxUnavailable) && isZero(ru.maxSurge) {
                errs.append(.invalid(unavailablePath, .int(0), "may not be 0 when `maxSurge` is 0"))
            }
            if case .string(let p) = ru.maxUnavailable ?? .int(0), let v = percent(p), v > 100 {
                errs.append(.invalid(unavailablePath, .string(p), "must not be greater than 100%"))
            }
            return errs
        default:
            return [.notSupported(path.child("type"), .string(type), ["Recreate", "RollingUpdate"])]
        }
    }

    static func intOrPercent(_ v: IntOrString?, _ path: FieldPath) -> [FieldError] {
        switch v {
        case .int(let i)?: return i < 0 ? [.invalid(path, .int(Int64(i)), "must be greater than or equal to 0")] : []
        case .string(let s)?:
            guard percent(s) != nil else { return [.invalid(path, .string(s), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")] }
            return []
        case nil: return []
        }
    }

    static func percent(_ s: String) -> Int? {
        guard s.hasSuffix("%"), s.count > 1 else { return nil }
        return Int(s.dropLast()).flatMap { $0 >= 0 ? $0 : nil }
    }

    static func isZero(_ v: IntOrString?) -> Bool {
        switch v {
        case .int(let i)?: return i == 0
        case .string(let s)?: return percent(s) == 0
        case nil: return false
        }
    }

    /// `intstr.GetScaledValueFromIntOrPercent`: a number, or a percent of `total` rounded up
    /// (maxSurge) or down (maxUnavailable).
    public static func scaled(_ v: IntOrString?, total: Int32, roundUp: Bool) -> Int32 {
        switch v {
        case .int(let i)?: return Int32(i)
        case .string(let s)?:
            guard let p = percent(s) else { return 0 }
            let x = Int(total) * p
            return Int32(roundUp ? (x + 99) / 100 : x / 100)
        case nil: return 0
        }
    }

    static func describe(_ s: LabelSelector) -> String {
        var parts: [String] = []
        if let m = s.matchLabels { parts.append("matchLabels:map[\(m.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "))]") }
        if let e = s.matchExpressions, !e.isEmpty { parts.append("matchExpressions:\(e.count) requirement(s)") }
        return "{" + parts.joined(separator: " ") + "}"
    }
}

/// Defaults and validation of batch/v1 Job (pkg/apis/batch/validation).
public enum JobValidation {
    /// SetDefaults_Job, and the selector the API server generates from the Job's UID
    /// (unless manualSelector): its pods carry the controller-uid and job-name labels.
    public static func applyDefaults(_ j: inout Job) {
        if j.spec.completions == nil && j.spec.parallelism == nil {
            j.spec.completions = 1
            j.spec.parallelism = 1
        }
        if j.spec.parallelism == nil { j.spec.parallelism = 1 }
        if j.spec.backoffLimit == nil { j.spec.backoffLimit = 6 }
        if j.spec.completionMode == nil { j.spec.completionMode = "NonIndexed" }
        if j.spec.suspend == nil { j.spec.suspend = false }
        if j.spec.manualSelector != true, let uid = j.metadata.uid, !uid.isEmpty {
            let labels = [Job.controllerUIDLabel: uid, Job.jobNameLabel: j.metadata.name ?? "",
                          Job.legacyControllerUIDLabel: uid, Job.legacyJobNameLabel: j.metadata.name ?? ""]
            if j.spec.selector == nil { j.spec.selector = LabelSelector(matchLabels: [Job.controllerUIDLabel: uid]) }
            var template = j.spec.template ?? PodTemplateSpec()
            var meta = template.metadata ?? ObjectMeta()
            meta.labels = (meta.labels ?? [:]).merging(labels) { old, _ in old }
            template.metadata = meta
            j.spec.template = template
        }
        WorkloadValidation.defaultTemplate(&j.spec.template)
    }

    public static func validate(_ j: Job) -> [FieldError] {
        var errs = MetaValidation.validate(j.metadata, namespaced: true)
        let spec = FieldPath("spec")
        errs += ValidationRules.nonnegative(Int64(j.spec.parallelism ?? 0), spec.child("parallelism"))
        errs += ValidationRules.nonnegative(Int64(j.spec.completions ?? 0), spec.child("completions"))
        errs += ValidationRules.nonnegative(Int64(j.spec.backoffLimit ?? 0), spec.child("backoffLimit"))
        if let d = j.spec.activeDeadlineSeconds, d <= 0 {
            errs.append(.invalid(spec.child("activeDeadlineSeconds"), .int(d), "must be greater than or equal to 1"))
        }
        if let t = j.spec.ttlSecondsAfterFinished { errs += ValidationRules.nonnegative(Int64(t), spec.child("ttlSecondsAfterFinished")) }
        if let mode = j.spec.completionMode, mode != "NonIndexed" {
            errs.append(.notSupported(spec.child("completionMode"), .string(mode), ["NonIndexed"]))
        }
        let tpl = spec.child("template")
        guard let template = j.spec.template else { return errs + [.required(tpl)] }
        if let selector = j.spec.selector, !selector.matches(template.metadata?.labels) {
            errs.append(.invalid(tpl.child("metadata", "labels"), .omitted, "`selector` does not match template `labels`"))
        }
        let podSpec = template.spec ?? PodSpec()
        errs += PodValidation.validatePodSpec(podSpec, metadata: template.metadata, path: tpl.child("spec"))
        let policy = podSpec.restartPolicy?.rawValue ?? ""
        if policy != "OnFailure" && policy != "Never" {
            errs.append(.notSupported(tpl.child("spec", "restartPolicy"), .string(policy), ["OnFailure", "Never"]))
        }
        return errs
    }
}

/// Defaults and validation of apps/v1 DaemonSet.
public enum DaemonSetValidation {
    public static func applyDefaults(_ d: inout DaemonSet) {
        var strategy = d.spec.updateStrategy ?? DaemonSetUpdateStrategy()
        if (strategy.type ?? "").isEmpty { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var ru = strategy.rollingUpdate ?? RollingUpdateDaemonSet()
            if ru.maxUnavailable == nil { ru.maxUnavailable = .int(1) }
            if ru.maxSurge == nil { ru.maxSurge = .int(0) }
            strategy.rollingUpdate = ru
        }
        d.spec.updateStrategy = strategy
        if d.spec.revisionHistoryLimit == nil { d.spec.revisionHistoryLimit = 10 }
        if d.spec.minReadySeconds == nil { d.spec.minReadySeconds = 0 }
        WorkloadValidation.defaultTemplate(&d.spec.template)
    }

    public static func validate(_ d: DaemonSet) -> [FieldError] {
        var errs = MetaValidation.validate(d.metadata, namespaced: true)
        let spec = FieldPath("spec")
        errs += WorkloadValidation.selectorAndTemplate(d.spec.selector, d.spec.template, path: spec)
        let strategy = d.spec.updateStrategy?.type ?? "RollingUpdate"
        if strategy != "RollingUpdate" && strategy != "OnDelete" {
            errs.append(.notSupported(spec.child("updateStrategy", "type"), .string(strategy), ["OnDelete", "RollingUpdate"]))
        }
        if let ru = d.spec.updateStrategy?.rollingUpdate {
            let path = spec.child("updateStrategy", "rollingUpdate")
            errs += WorkloadValidation.intOrPercent(ru.maxUnavailable, path.child("maxUnavailable"))
            errs += WorkloadValidation.intOrPercent(ru.maxSurge, path.child("maxSurge"))
            if WorkloadValidation.isZero(ru.maxUnavailable) && WorkloadValidation.isZero(ru.maxSurge) {
                errs.append(.invalid(path.child("maxUnavailable"), .int(0), "may not be 0 when `maxSurge` is 0"))
            }
        }
        return errs
    }
}

/// Defaults and validation of core/v1 ReplicationController: the selector defaults to the
/// template's labels, as SetDefaults_ReplicationController does.
public enum ReplicationControllerValidation {
    public static func applyDefaults(_ rc: inout ReplicationController) {
        if rc.spec.replicas == nil { rc.spec.replicas = 1 }
        if (rc.spec.selector ?? [:]).isEmpty { rc.spec.selector = rc.spec.template?.metadata?.labels }
        if (rc.metadata.labels ?? [:]).isEmpty { rc.metadata.labels = rc.spec.template?.metadata?.labels }
        WorkloadValidation.defaultTemplate(&rc.spec.template)
    }

    public static func validate(_ rc: ReplicationController) -> [FieldError] {
        var errs = MetaValidation.validate(rc.metadata, namespaced: true)
        errs += ValidationRules.nonnegative(Int64(rc.spec.replicas ?? 0), FieldPath("spec", "replicas"))
        errs += WorkloadValidation.selectorAndTemplate(rc.spec.selector.map { LabelSelector(matchLabels: $0) }, rc.spec.template, path: FieldPath("spec"))
        return errs
    }
}
