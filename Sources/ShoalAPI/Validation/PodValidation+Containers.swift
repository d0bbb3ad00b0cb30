/// Containers: validateContainers, validateInitContainers, validateEphemeralContainers and
/// what they call (validateContainerCommon, ports, env, mounts, resources, probes, security).
extension PodValidation {
    typealias VolumeMap = [String: Volume]

    /// validateContainerCommon: checks shared by regular, init and ephemeral containers.
    static func validateContainerCommon(_ c: Container, volumes: VolumeMap, path: FieldPath, podRestartPolicy: String,
                                        hostUsers: Bool) -> [FieldError] {
        var errs: [FieldError] = []
        if c.name.isEmpty {
            errs.append(.required(path.child("name")))
        } else {
            errs += ValidationRules.dns1123Label(c.name, path.child("name"))
        }
        if (c.image ?? "").isEmpty { errs.append(.required(path.child("image"))) }
        errs += oneOf(c.terminationMessagePolicy?.rawValue ?? "", path.child("terminationMessagePolicy"),
                      ["File", "FallbackToLogsOnError"])
        errs += containerPorts(c.ports ?? [], path.child("ports"))
        errs += validateEnv(c.env ?? [], path.child("env"))
        errs += validateEnvFrom(c.envFrom ?? [], path.child("envFrom"))
        errs += volumeMounts(c.volumeMounts ?? [], volumes: volumes, container: c, path: path.child("volumeMounts"))
        errs += oneOf(c.imagePullPolicy?.rawValue ?? "", path.child("imagePullPolicy"), ["Always", "IfNotPresent", "Never"])
        errs += validateResourceRequirements(c.resources ?? ResourceRequirements(), path.child("resources"),
                                             resourceName: containerResourceName)
        errs += resizePolicy(c.resizePolicy, path.child("resizePolicy"), podRestartPolicy: podRestartPolicy)
        errs += securityContext(c.securityContext, path.child("securityContext"), hostUsers: hostUsers)
        return errs
    }

    /// validateContainers: the regular containers.
    static func validateContainers(_ containers: [Container], volumes: VolumeMap, grace: Int64?, path: FieldPath,
                                   podRestartPolicy: String, hostUsers: Bool) -> [FieldError] {
        if containers.isEmpty { return [.required(path)] }
        var errs: [FieldError] = []
        var names = Set<String>()
        for (i, c) in containers.enumerated() {
            let p = path.index(i)
            errs += validateContainerCommon(c, volumes: volumes, path: p, podRestartPolicy: podRestartPolicy, hostUsers: hostUsers)
            if !names.insert(c.name).inserted { errs.append(.duplicate(p.child("name"), .string(c.name))) }
            if let lifecycle = c.lifecycle { errs += validateLifecycle(lifecycle, grace: grace, path: p.child("lifecycle")) }
            errs += livenessProbe(c.livenessProbe, grace: grace, path: p.child("livenessProbe"))
            errs += readinessProbe(c.readinessProbe, grace: grace, path: p.child("readinessProbe"))
            errs += startupProbe(c.startupProbe, grace: grace, path: p.child("startupProbe"))
            errs += validateContainerRestartRules(c, path: p)
        }
        errs += hostPortConflicts(containers, path)
        return errs
    }

    /// A regular container's own restartPolicy and restartPolicyRules (KEP-5307, and KEP-5532's
    /// RestartAllContainers action), as the API server checks them with those features on.
    static func validateContainerRestartRules(_ c: Container, path p: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if let policy = c.restartPolicy, !["Always", "OnFailure", "Never"].contains(policy.rawValue) {
            errs.append(.notSupported(p.child("restartPolicy"), .json(policy.rawValue), ["Always", "OnFailure", "Never"]))
        }
        guard let rules = c.restartPolicyRules, !rules.isEmpty else { return errs }
        if c.restartPolicy == nil {
            errs.append(.required(p.child("restartPolicy"), "must specify restartPolicy when restart rules are used"))
        }
        if rules.count > 20 { errs.append(.tooMany(p.child("restartPolicyRules"), actual: rules.count, max: 20)) }
        for (i, rule) in rules.enumerated() {
            let rp = p.child("restartPolicyRules").index(i)
            if ![ContainerRestartRuleAction.restart, .restartAllContainers].contains(rule.action) {
                errs.append(.notSupported(rp.child("action"), .json(rule.action.rawValue), ["Restart", "RestartAllContainers"]))
            }
            guard let codes = rule.exitCodes else {
                errs.append(.required(rp.child("exitCodes"), "must be specified"))
                continue
            }
            if ![ContainerRestartRuleOnExitCodesOperator.in, .notIn].contains(codes.operator) {
                errs.append(.notSupported(rp.child("exitCodes", "operator"), .json(codes.operator.rawValue), ["In", "NotIn"]))
            }
            let values = codes.values ?? []
            if values.count > 255 { errs.append(.tooMany(rp.child("exitCodes", "values"), actual: values.count, max: 255)) }
            var seen = Set<Int32>()
            for (j, v) in values.enumerated() where !seen.insert(v).inserted {
                errs.append(.duplicate(rp.child("exitCodes", "values").index(j), .int(Int64(v))))
            }
        }
        return errs
    }

    /// validateInitContainers.
    static func validateInitContainers(_ containers: [Container], regular: [Container], volumes: VolumeMap, grace: Int64?,
                                       path: FieldPath, podRestartPolicy: String, hostUsers: Bool) -> [FieldError] {
        var errs: [FieldError] = []
        var names = Set(regular.map(\.name))
        for (i, c) in containers.enumerated() {
            let p = path.index(i)
            errs += validateContainerCommon(c, volumes: volumes, path: p, podRestartPolicy: podRestartPolicy, hostUsers: hostUsers)
            var restartAlways = false
            if let policy = c.restartPolicy {
                if policy.rawValue != "Always" {
                    errs.append(.notSupported(p.child("restartPolicy"), .json(policy.rawValue), ["Always"]))
                }
                restartAlways = policy.rawValue == "Always"
            }
            if names.contains(c.name) {
                errs.append(.duplicate(p.child("name"), .string(c.name)))
            } else if !c.name.isEmpty {
                names.insert(c.name)
            }
            // Init containers run one at a time, so each is checked alone (and, as in
            // Kubernetes, reported as if it were the first).
            errs += hostPortConflicts([c], path)
            if restartAlways {
                if let lifecycle = c.lifecycle { errs += validateLifecycle(lifecycle, grace: grace, path: p.child("lifecycle")) }
                errs += livenessProbe(c.livenessProbe, grace: grace, path: p.child("livenessProbe"))
                errs += readinessProbe(c.readinessProbe, grace: grace, path: p.child("readinessProbe"))
                errs += startupProbe(c.startupProbe, grace: grace, path: p.child("startupProbe"))
            } else {
                let detail = "may not be set for init containers without restartPolicy=Always"
                if c.lifecycle != nil { errs.append(.forbidden(p.child("lifecycle"), detail)) }
                if c.livenessProbe != nil { errs.append(.forbidden(p.child("livenessProbe"), detail)) }
                if c.readinessProbe != nil { errs.append(.forbidden(p.child("readinessProbe"), detail)) }
                if c.startupProbe != nil { errs.append(.forbidden(p.child("startupProbe"), detail)) }
            }
        }
        return errs
    }

    /// validateEphemeralContainers.
    static func validateEphemeralContainers(_ ephemeral: [EphemeralContainer], regular: [Container],
                                            initContainers: [Container], volumes: VolumeMap, path: FieldPath,
                                            podRestartPolicy: String, hostUsers: Bool) -> [FieldError] {
        guard !ephemeral.isEmpty else { return [] }
        var errs: [FieldError] = []
        let others = Set(regular.map(\.name) + initContainers.map(\.name))
        var names = others
        for (i, e) in ephemeral.enumerated() {
            let p = path.index(i)
            let c = e.container
            errs += validateContainerCommon(c, volumes: volumes, path: p, podRestartPolicy: podRestartPolicy, hostUsers: hostUsers)
            errs += containerOnlyForPod(c, p)
            if !names.insert(c.name).inserted { errs.append(.duplicate(p.child("name"), .string(c.name))) }
            if let target = e.targetContainerName, !target.isEmpty, !others.contains(target) {
                errs.append(.notFound(p.child("targetContainerName"), .string(target)))
            }
            // validateFieldAllowList, in the fields' declaration order.
            let detail = "cannot be set for an Ephemeral Container"
            let forbidden: [(String, Bool)] = [
                ("ports", c.ports != nil),
                ("resources", c.resources.map { $0.limits != nil || $0.requests != nil || $0.claims != nil } ?? false),
                ("resizePolicy", c.resizePolicy != nil),
                ("restartPolicy", c.restartPolicy != nil),
                ("restartPolicyRules", c.restartPolicyRules != nil),
                ("livenessProbe", c.livenessProbe != nil),
                ("readinessProbe", c.readinessProbe != nil),
                ("startupProbe", c.startupProbe != nil),
                ("lifecycle", c.lifecycle != nil),
            ]
            for (name, isSet) in forbidden where isSet { errs.append(.forbidden(p.child(name), detail)) }
            for (j, mount) in (c.volumeMounts ?? []).enumerated() {
                let mountPath = p.child("volumeMounts").index(j)
                if !(mount.subPath ?? "").isEmpty { errs.append(.forbidden(mountPath.child("subPath"), detail)) }
                if !(mount.subPathExpr ?? "").isEmpty { errs.append(.forbidden(mountPath.child("subPathExpr"), detail)) }
            }
        }
        return errs
    }

    /// AccumulateUniqueHostPorts: the same protocol, host IP and host port twice.
    static func hostPortConflicts(_ containers: [Container], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var seen = Set<String>()
        for (ci, c) in containers.enumerated() {
            for (pi, port) in (c.ports ?? []).enumerated() {
                let hostPort = port.hostPort ?? 0
                guard hostPort != 0 else { continue }
                let key = "\(port.protocol?.rawValue ?? "")/\(port.hostIP ?? "")/\(hostPort)"
                if !seen.insert(key).inserted {
                    errs.append(.duplicate(path.index(ci).child("ports").index(pi).child("hostPort"), .string(key)))
                }
            }
        }
        return errs
    }

    // MARK: - Ports

    static func containerPorts(_ ports: [ContainerPort], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var names = Set<String>()
        for (i, port) in ports.enumerated() {
            let p = path.index(i)
            if let name = port.name, !name.isEmpty {
                let msgs = ValidationRules.isValidPortName(name)
                if !msgs.isEmpty {
                    errs += msgs.map { .invalid(p.child("name"), .string(name), $0) }
                } else if !names.insert(name).inserted {
                    errs.append(.duplicate(p.child("name"), .string(name)))
                }
            }
            if port.containerPort == 0 {
                errs.append(.required(p.child("containerPort")))
            } else {
                errs += ValidationRules.isValidPortNum(Int64(port.containerPort))
                    .map { .invalid(p.child("containerPort"), .integer(port.containerPort), $0) }
            }
            if let hostPort = port.hostPort, hostPort != 0 {
                errs += ValidationRules.isValidPortNum(Int64(hostPort)).map { .invalid(p.child("hostPort"), .integer(hostPort), $0) }
            }
            let proto = port.protocol?.rawValue ?? ""
            if proto.isEmpty {
                errs.append(.required(p.child("protocol")))
            } else {
                errs += member(proto, p.child("protocol"), ["SCTP", "TCP", "UDP"])
            }
        }
        return errs
    }

    // MARK: - Environment

    static let envFieldPaths = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                                "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"]
    static let volumeFieldPaths = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"]
    static let resourceFieldPaths = ["limits.cpu", "limits.ephemeral-storage", "limits.memory",
                                     "requests.cpu", "requests.ephemeral-storage", "requests.memory"]
    /// What ConvertDownwardAPIFieldLabel accepts for v1 pods.
    static let downwardAPIFieldLabels: Set<String> = [
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
        "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
        "status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
    ]

    /// ValidateEnv.
    static func validateEnv(_ vars: [EnvVar], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        for (i, env) in vars.enumerated() {
            let p = path.index(i)
            if env.name.isEmpty {
                errs.append(.required(p.child("name")))
            } else {
                errs += ValidationRules.isRelaxedEnvVarName(env.name).map { .invalid(p.child("name"), .string(env.name), $0) }
            }
            errs += envVarValueFrom(env, p.child("valueFrom"))
        }
        return errs
    }

    static func envVarValueFrom(_ env: EnvVar, _ path: FieldPath) -> [FieldError] {
        guard let from = env.valueFrom else { return [] }
        var errs: [FieldError] = []
        var sources = 0
        if let ref = from.fieldRef {
            sources += 1
            errs += objectFieldSelector(ref, expressions: envFieldPaths, path.child("fieldRef"))
        }
        if let ref = from.resourceFieldRef {
            sources += 1
            errs += resourceFieldSelector(ref, path.child("resourceFieldRef"), volume: false)
        }
        if let ref = from.configMapKeyRef {
            sources += 1
            errs += keySelector(name: ref.name ?? "", key: ref.key, path.child("configMapKeyRef"))
        }
        if let ref = from.secretKeyRef {
            sources += 1
            errs += keySelector(name: ref.name ?? "", key: ref.key, path.child("secretKeyRef"))
        }
        if sources == 0 {
            errs.append(.invalid(path, .string(""), "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        } else if !(env.value ?? "").isEmpty {
            errs.append(.invalid(path, .string(""), "may not be specified when `value` is not empty"))
        } else if sources > 1 {
            errs.append(.invalid(path, .string(""), "may not have more than one field specified at a time"))
        }
        return errs
    }

    /// fieldpath.SplitMaybeSubscriptedPath: `metadata.labels['app']` → ("metadata.labels", "app").
    static func splitSubscripted(_ fieldPath: String) -> (String, String)? {
        guard fieldPath.hasSuffix("']") else { return nil }
        let s = fieldPath.dropLast(2)
        guard let open = s.range(of: "['") else { return nil }
        let path = String(s[..<open.lowerBound])
        guard !path.isEmpty else { return nil }
        return (path, String(s[open.upperBound...]))
    }

    /// validateObjectFieldSelector.
    static func objectFieldSelector(_ selector: ObjectFieldSelector, expressions: [String], _ path: FieldPath) -> [FieldError] {
        let version = selector.apiVersion ?? ""
        if version.isEmpty { return [.required(path.child("apiVersion"))] }
        let fieldPath = selector.fieldPath
        if fieldPath.isEmpty { return [.required(path.child("fieldPath"))] }
        // pods.ConvertDownwardAPIFieldLabel.
        var conversionError: String?
        var internalPath = fieldPath
        if version != "v1" {
            conversionError = "unsupported pod version: \(version)"
        } else if let split = splitSubscripted(fieldPath) {
            if split.0 != "metadata.annotations" && split.0 != "metadata.labels" {
                conversionError = "field label does not support subscript: \(fieldPath)"
            }
        } else if fieldPath == "spec.host" {
            internalPath = "spec.nodeName"
        } else if !downwardAPIFieldLabels.contains(fieldPath) {
            conversionError = "field label not supported: \(fieldPath)"
        }
        if let conversionError {
            return [.invalid(path.child("fieldPath"), .string(fieldPath), "error converting fieldPath: \(conversionError)")]
        }
        if let split = splitSubscripted(internalPath) {
            switch split.0 {
            case "metadata.annotations": return ValidationRules.qualifiedName(split.1.lowercased(), path)
            case "metadata.labels": return ValidationRules.qualifiedName(split.1, path)
            default: return [.invalid(path, .string(split.0), "does not support subscript")]
            }
        }
        if !expressions.contains(internalPath) {
            return [.notSupported(path.child("fieldPath"), .string(internalPath), expressions)]
        }
        return []
    }

    /// validateContainerResourceFieldSelector.
    static func resourceFieldSelector(_ selector: ResourceFieldSelector, _ path: FieldPath, volume: Bool) -> [FieldError] {
        var errs: [FieldError] = []
        let resource = selector.resource
        if volume && (selector.containerName ?? "").isEmpty {
            errs.append(.required(path.child("containerName")))
        } else if resource.isEmpty {
            errs.append(.required(path.child("resource")))
        } else if !resourceFieldPaths.contains(resource)
            && !resource.hasPrefix("requests.hugepages-") && !resource.hasPrefix("limits.hugepages-")
        {
            errs.append(.notSupported(path.child("resource"), .string(resource), resourceFieldPaths))
        }
        // validateContainerResourceDivisor.
        guard let divisor = selector.divisor, !divisor.isZero else { return errs }
        let shown = divisor.description
        let bytesDivisors: Set<String> = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"]
        let bytesList = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei"
        switch resource {
        case "limits.cpu", "requests.cpu":
            if !["1m", "1"].contains(shown) {
                errs.append(.invalid(path.child("divisor"), .string(resource), "only divisor's values 1m and 1 are supported with the cpu resource"))
            }
        case "limits.memory", "requests.memory":
            if !bytesDivisors.contains(shown) {
                errs.append(.invalid(path.child("divisor"), .string(resource),
                                     "only divisor's values \(bytesList) are supported with the memory resource"))
            }
        case "limits.ephemeral-storage", "requests.ephemeral-storage":
            if !bytesDivisors.contains(shown) {
                errs.append(.invalid(path.child("divisor"), .string(resource),
                                     "only divisor's values \(bytesList) are supported with the local ephemeral storage resource"))
            }
        default:
            break
        }
        if resource.hasPrefix("requests.hugepages-") || resource.hasPrefix("limits.hugepages-"), !bytesDivisors.contains(shown) {
            errs.append(.invalid(path.child("divisor"), .string(resource),
                                 "only divisor's values \(bytesList) are supported with the hugepages resource"))
        }
        return errs
    }

    /// validateConfigMapKeySelector / validateSecretKeySelector.
    static func keySelector(name: String, key: String, _ path: FieldPath) -> [FieldError] {
        var errs = ValidationRules.nameIsDNSSubdomain(name).map { FieldError.invalid(path.child("name"), .string(name), $0) }
        if key.isEmpty {
            errs.append(.required(path.child("key")))
        } else {
            errs += ValidationRules.isConfigMapKey(key).map { .invalid(path.child("key"), .string(key), $0) }
        }
        return errs
    }

    /// ValidateEnvFrom.
    static func validateEnvFrom(_ sources: [EnvFromSource], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        for (i, source) in sources.enumerated() {
            let p = path.index(i)
            if let prefix = source.prefix, !prefix.isEmpty {
                errs += ValidationRules.isRelaxedEnvVarName(prefix).map { .invalid(p.child("prefix"), .string(prefix), $0) }
            }
            var count = 0
            if let ref = source.configMapRef {
                count += 1
                errs += envSourceName(ref.name ?? "", p.child("configMapRef", "name"))
            }
            if let ref = source.secretRef {
                count += 1
                errs += envSourceName(ref.name ?? "", p.child("secretRef", "name"))
            }
            if count == 0 {
                errs.append(.invalid(path, .string(""), "must specify one of: `configMapRef` or `secretRef`"))
            } else if count > 1 {
                errs.append(.invalid(path, .string(""), "may not have more than one field specified at a time"))
            }
        }
        return errs
    }

    static func envSourceName(_ name: String, _ path: FieldPath) -> [FieldError] {
        if name.isEmpty { return [.required(path)] }
        return ValidationRules.nameIsDNSSubdomain(name, prefix: true).map { .invalid(path, .string(name), $0) }
    }

    // MARK: - Volume mounts

    /// ValidateVolumeMounts. As in Kubernetes, the subPath, subPathExpr, mountPropagation and
    /// recursiveReadOnly errors name the list, not the entry (`volumeMounts.subPath`).
    static func volumeMounts(_ mounts: [VolumeMount], volumes: VolumeMap, container: Container, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var mountPoints = Set<String>()
        for (i, mount) in mounts.enumerated() {
            let p = path.index(i)
            if mount.name.isEmpty { errs.append(.required(p.child("name"))) }
            if volumes[mount.name] == nil { errs.append(.notFound(p.child("name"), .string(mount.name))) }
            if mount.mountPath.isEmpty { errs.append(.required(p.child("mountPath"))) }
            if mountPoints.contains(mount.mountPath) {
                errs.append(.invalid(p.child("mountPath"), .string(mount.mountPath), "must be unique"))
            }
            mountPoints.insert(mount.mountPath)
            let subPath = mount.subPath ?? "", subPathExpr = mount.subPathExpr ?? ""
            if volumes[mount.name]?.image != nil {
                if !subPath.isEmpty {
                    errs.append(.invalid(p.child("subPath"), .string(subPath), "not allowed in image volume sources"))
                }
                if !subPathExpr.isEmpty {
                    errs.append(.invalid(p.child("subPathExpr"), .string(subPathExpr), "not allowed in image volume sources"))
                }
            }
            if !subPath.isEmpty { errs += ValidationRules.localDescendingPath(subPath, path.child("subPath")) }
            if !subPathExpr.isEmpty {
                if !subPath.isEmpty {
                    errs.append(.invalid(p.child("subPathExpr"), .string(subPathExpr), "subPathExpr and subPath are mutually exclusive"))
                }
                errs += ValidationRules.localDescendingPath(subPathExpr, path.child("subPathExpr"))
            }
            if let propagation = mount.mountPropagation?.rawValue {
                let propagationPath = path.child("mountPropagation")
                errs += member(propagation, propagationPath, ["Bidirectional", "HostToContainer", "None"])
                if propagation == "Bidirectional" && container.securityContext?.privileged != true {
                    errs.append(.forbidden(propagationPath, "Bidirectional mount propagation is available only to privileged containers"))
                }
            }
            if let rro = mount.recursiveReadOnly?.rawValue {
                let rroPath = path.child("recursiveReadOnly")
                switch rro {
                case "Disabled":
                    break
                case "Enabled", "IfPossible":
                    if mount.readOnly != true { errs.append(.forbidden(rroPath, "may only be specified when readOnly is true")) }
                    if let propagation = mount.mountPropagation?.rawValue, propagation != "None" {
                        errs.append(.forbidden(rroPath, "may only be specified when mountPropagation is None or not specified"))
                    }
                default:
                    errs.append(.notSupported(rroPath, .json(rro), ["Disabled", "Enabled", "IfPossible"]))
                }
            }
        }
        return errs
    }

    // MARK: - Resources

    static func isNativeResource(_ name: String) -> Bool { !name.contains("/") || name.contains("kubernetes.io/") }
    static func isHugePageResource(_ name: String) -> Bool { name.hasPrefix("hugepages-") }
    static func isOvercommitAllowed(_ name: String) -> Bool { isNativeResource(name) && !isHugePageResource(name) }

    static func isExtendedResourceName(_ name: String) -> Bool {
        if isNativeResource(name) || name.hasPrefix("requests.") { return false }
        return ValidationRules.isQualifiedName("requests." + name).isEmpty
    }

    static let integerResources: Set<String> = ["pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
                                                "configmaps", "persistentvolumeclaims", "services.nodeports",
                                                "services.loadbalancers"]
    static let standardResources: Set<String> = [
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
        "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
        "resourcequotas", "secrets", "persistentvolumeclaims", "storage", "requests.storage", "configmaps",
        "services.nodeports", "services.loadbalancers",
    ]

    /// validateResourceName.
    static func resourceName(_ name: String, _ path: FieldPath) -> [FieldError] {
        let errs = ValidationRules.isQualifiedName(name).map { FieldError.invalid(path, .json(name), $0) }
        if !errs.isEmpty { return errs }
        if !name.contains("/") && !standardResources.contains(name) && !isHugePageResource(name)
            && !name.hasPrefix("requests.hugepages-")
        {
            return [.invalid(path, .json(name), "must be a standard resource type or fully qualified")]
        }
        return []
    }

    /// validateContainerResourceName.
    static func containerResourceName(_ name: String, _ path: FieldPath) -> [FieldError] {
        var errs = resourceName(name, path)
        if !name.contains("/") {
            if !["cpu", "memory", "ephemeral-storage"].contains(name) && !isHugePageResource(name) {
                errs.append(.invalid(path, .json(name), "must be a standard resource for containers"))
            }
        } else if !isNativeResource(name) && !isExtendedResourceName(name) {
            errs.append(.invalid(path, .json(name), "doesn't follow extended resource name standard"))
        }
        return errs
    }

    /// validatePodResourceName (pod-level resources).
    static func podResourceName(_ name: String, _ path: FieldPath) -> [FieldError] {
        let errs = resourceName(name, path)
        if !errs.isEmpty { return errs }
        if name != "cpu" && name != "memory" && !isHugePageResource(name) {
            return [.notSupported(path, .json(name), ["cpu", "memory"])]
        }
        return []
    }

    /// ValidateResourceQuantityValue.
    static func resourceQuantityValue(_ name: String, _ quantity: Quantity, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if quantity.sign < 0 { errs.append(.invalid(path, .string(quantity.description), ValidationRules.isNegativeErrorMsg)) }
        if integerResources.contains(name) || isExtendedResourceName(name), quantity.milliValue() % 1000 != 0 {
            errs.append(.invalid(path, .json(quantity.description), "must be an integer"))
        }
        return errs
    }

    /// The page size a hugepages resource name carries (`hugepages-2Mi`).
    static func hugePageSize(_ name: String) -> Quantity? {
        guard isHugePageResource(name) else { return nil }
        return try? Quantity(String(name.dropFirst("hugepages-".count)))
    }

    static func hugePageValueError(_ name: String, _ quantity: Quantity) -> String? {
        guard isHugePageResource(name) else { return nil }
        if let size = hugePageSize(name), size.sign > 0, size.milliValue() % 1000 == 0, quantity.value() % size.value() == 0 {
            return nil
        }
        return "\(quantity) is not positive integer multiple of \(name)"
    }

    /// validateResourceRequirements.
    static func validateResourceRequirements(_ requirements: ResourceRequirements, _ path: FieldPath,
                                             resourceName nameCheck: (String, FieldPath) -> [FieldError]) -> [FieldError] {
        var errs: [FieldError] = []
        let limPath = path.child("limits"), reqPath = path.child("requests")
        let limits = requirements.limits ?? [:], requests = requirements.requests ?? [:]
        var limitsCPUOrMemory = false, requestsCPUOrMemory = false, limitsHugePages = false, requestsHugePages = false
        for name in limits.keys.sorted() {
            let quantity = limits[name]!
            let p = limPath.key(name)
            errs += nameCheck(name, p)
            errs += resourceQuantityValue(name, quantity, p)
            if isHugePageResource(name) {
                limitsHugePages = true
                if let message = hugePageValueError(name, quantity) { errs.append(.invalid(p, .string(quantity.description), message)) }
            }
            if name == "cpu" || name == "memory" { limitsCPUOrMemory = true }
        }
        for name in requests.keys.sorted() {
            let quantity = requests[name]!
            let p = reqPath.key(name)
            errs += nameCheck(name, p)
            errs += resourceQuantityValue(name, quantity, p)
            if let limit = limits[name] {
                if quantity != limit && !isOvercommitAllowed(name) {
                    errs.append(.invalid(reqPath, .string(quantity.description), "must be equal to \(name) limit of \(limit)"))
                } else if quantity > limit {
                    errs.append(.invalid(reqPath, .string(quantity.description), "must be less than or equal to \(name) limit of \(limit)"))
                }
            } else if !isOvercommitAllowed(name) {
                errs.append(.required(limPath, "Limit must be set for non overcommitable resources"))
            }
            if isHugePageResource(name) {
                requestsHugePages = true
                if let message = hugePageValueError(name, quantity) { errs.append(.invalid(p, .string(quantity.description), message)) }
            }
            if name == "cpu" || name == "memory" { requestsCPUOrMemory = true }
        }
        if !limitsCPUOrMemory && !requestsCPUOrMemory && (requestsHugePages || limitsHugePages) {
            errs.append(.forbidden(path, "HugePages require cpu or memory"))
        }
        return errs
    }

    /// validatePodResources and validatePodResourceConsistency (pod-level `spec.resources`).
    /// The aggregate check is made for the resources the pod-level requests name.
    static func podResources(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        guard let resources = spec.resources else { return [] }
        var errs: [FieldError] = []
        if resources.claims != nil { errs.append(.forbidden(path.child("claims"), "claims cannot be set for Resources at pod-level")) }
        errs += validateResourceRequirements(resources, path, resourceName: podResourceName)
        let podRequests = resources.requests ?? [:]
        for name in podRequests.keys.sorted() {
            // AggregateContainerRequests: regular containers and sidecars together, or the
            // largest init container with the sidecars started before it.
            var sum = Quantity.zero, sidecars = Quantity.zero, initPeak = Quantity.zero
            for c in spec.containers { sum = sum + (c.resources?.requests?[name] ?? .zero) }
            for c in spec.initContainers ?? [] {
                let request = c.resources?.requests?[name] ?? .zero
                if c.restartPolicy == .always {
                    sum = sum + request
                    sidecars = sidecars + request
                    initPeak = max(initPeak, sidecars)
                } else {
                    initPeak = max(initPeak, request + sidecars)
                }
            }
            let aggregate = max(sum, initPeak)
            let podRequest = podRequests[name]!
            if aggregate > podRequest {
                errs.append(.invalid(path.child("requests").key(name), .string(podRequest.description),
                                     "must be greater than or equal to aggregate container requests of \(aggregate)"))
            }
        }
        for (i, c) in spec.containers.enumerated() {
            let limits = c.resources?.limits ?? [:]
            for name in limits.keys.sorted() {
                guard let podLimit = resources.limits?[name], limits[name]! > podLimit else { continue }
                errs.append(.invalid(path.child("containers").index(i).key(name).child("limits"), .string(limits[name]!.description),
                                     "must be less than or equal to pod limits of \(podLimit)"))
            }
        }
        return errs
    }

    /// validateResizePolicy, on the opaque JSON list.
    static func resizePolicy(_ policy: JSONValue?, _ path: FieldPath, podRestartPolicy: String) -> [FieldError] {
        guard case .array(let list)? = policy else { return [] }
        var errs: [FieldError] = []
        var seen = Set<String>()
        for (i, item) in list.enumerated() {
            let name = item["resourceName"]?.stringValue ?? ""
            let restart = item["restartPolicy"]?.stringValue ?? ""
            if !seen.insert(name).inserted { errs.append(.duplicate(path.index(i), .json(name))) }
            switch name {
            case "cpu", "memory": break
            case "": errs.append(.required(path))
            default: errs.append(.notSupported(path, .json(name), ["cpu", "memory"]))
            }
            switch restart {
            case "NotRequired", "RestartContainer": break
            case "": errs.append(.required(path))
            default: errs.append(.notSupported(path, .json(restart), ["NotRequired", "RestartContainer"]))
            }
            if podRestartPolicy == "Never" && restart != "NotRequired" {
                errs.append(.invalid(path, .json(restart), "must be 'NotRequired' when `restartPolicy` is 'Never'"))
            }
        }
        return errs
    }

    // MARK: - Security context

    /// ValidateSecurityContext (privileged containers are allowed: a node agent's policy).
    static func securityContext(_ sc: SecurityContext?, _ path: FieldPath, hostUsers: Bool) -> [FieldError] {
        guard let sc else { return [] }
        var errs: [FieldError] = []
        if let user = sc.runAsUser {
            errs += ValidationRules.isValidUserID(user).map { .invalid(path.child("runAsUser"), .int(user), $0) }
        }
        if let group = sc.runAsGroup {
            errs += ValidationRules.isValidGroupID(group).map { .invalid(path.child("runAsGroup"), .int(group), $0) }
        }
        if let procMount = sc.procMount?.rawValue {
            errs += member(procMount, path.child("procMount"), ["Default", "Unmasked"])
            if hostUsers && procMount == "Unmasked" {
                errs.append(.invalid(path.child("procMount"), .json(procMount), "`hostUsers` must be false to use `Unmasked`"))
            }
        }
        errs += seccompProfile(sc.seccompProfile, path.child("seccompProfile"))
        if sc.allowPrivilegeEscalation == false {
            if sc.privileged == true {
                errs.append(.invalid(path, .raw(jsonText(sc)), "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
            }
            for cap in sc.capabilities?.add ?? [] where cap == "CAP_SYS_ADMIN" {
                errs.append(.invalid(path, .raw(jsonText(sc)),
                                     "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
            }
        }
        errs += appArmorProfile(sc.appArmorProfile, path.child("appArmorProfile"))
        return errs
    }

    // MARK: - Probes and lifecycle handlers

    static func livenessProbe(_ probe: Probe?, grace: Int64?, path: FieldPath) -> [FieldError] {
        guard let probe else { return [] }
        var errs = validateProbe(probe, grace: grace, path: path)
        let success = probe.successThreshold ?? 0
        if success != 1 { errs.append(.invalid(path.child("successThreshold"), .integer(success), "must be 1")) }
        return errs
    }

    static func readinessProbe(_ probe: Probe?, grace: Int64?, path: FieldPath) -> [FieldError] {
        guard let probe else { return [] }
        var errs = validateProbe(probe, grace: grace, path: path)
        if let t = probe.terminationGracePeriodSeconds {
            errs.append(.invalid(path.child("terminationGracePeriodSeconds"), .int(t), "must not be set for readinessProbes"))
        }
        return errs
    }

    static func startupProbe(_ probe: Probe?, grace: Int64?, path: FieldPath) -> [FieldError] {
        guard let probe else { return [] }
        var errs = validateProbe(probe, grace: grace, path: path)
        let success = probe.successThreshold ?? 0
        if success != 1 { errs.append(.invalid(path.child("successThreshold"), .integer(success), "must be 1")) }
        return errs
    }

    static func validateProbe(_ probe: Probe, grace: Int64?, path: FieldPath) -> [FieldError] {
        var errs = validateHandler(exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket, grpc: probe.grpc,
                                   sleep: nil, grace: grace, path: path)
        errs += ValidationRules.nonnegative(Int64(probe.initialDelaySeconds ?? 0), path.child("initialDelaySeconds"))
        errs += ValidationRules.nonnegative(Int64(probe.timeoutSeconds ?? 0), path.child("timeoutSeconds"))
        errs += ValidationRules.nonnegative(Int64(probe.periodSeconds ?? 0), path.child("periodSeconds"))
        errs += ValidationRules.nonnegative(Int64(probe.successThreshold ?? 0), path.child("successThreshold"))
        errs += ValidationRules.nonnegative(Int64(probe.failureThreshold ?? 0), path.child("failureThreshold"))
        if let t = probe.terminationGracePeriodSeconds, t <= 0 {
            errs.append(.invalid(path.child("terminationGracePeriodSeconds"), .int(t), "must be greater than 0"))
        }
        return errs
    }

    static func validateLifecycle(_ lifecycle: Lifecycle, grace: Int64?, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if let h = lifecycle.postStart {
            errs += validateHandler(exec: h.exec, httpGet: h.httpGet, tcpSocket: h.tcpSocket, grpc: nil, sleep: h.sleep,
                                    grace: grace, path: path.child("postStart"))
        }
        if let h = lifecycle.preStop {
            errs += validateHandler(exec: h.exec, httpGet: h.httpGet, tcpSocket: h.tcpSocket, grpc: nil, sleep: h.sleep,
                                    grace: grace, path: path.child("preStop"))
        }
        return errs
    }

    /// validateHandler: exactly one handler.
    static func validateHandler(exec: ExecAction?, httpGet: HTTPGetAction?, tcpSocket: TCPSocketAction?, grpc: GRPCAction?,
                                sleep: SleepAction?, grace: Int64?, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var handlers = 0
        func one(_ name: String, _ check: () -> [FieldError]) {
            if handlers > 0 {
                errs.append(.forbidden(path.child(name), "may not specify more than 1 handler type"))
            } else {
                handlers += 1
                errs += check()
            }
        }
        if let exec {
            one("exec") { (exec.command ?? []).isEmpty ? [.required(path.child("exec", "command"))] : [] }
        }
        if let httpGet {
            one("httpGet") {
                let p = path.child("httpGet")
                var e: [FieldError] = []
                if (httpGet.path ?? "").isEmpty { e.append(.required(p.child("path"))) }
                e += portNumOrName(httpGet.port, p.child("port"))
                e += member(httpGet.scheme?.rawValue ?? "", p.child("scheme"), ["HTTP", "HTTPS"])
                for header in httpGet.httpHeaders ?? [] {
                    e += ValidationRules.isHTTPHeaderName(header.name).map { .invalid(p.child("httpHeaders"), .string(header.name), $0) }
                }
                return e
            }
        }
        if let tcpSocket {
            one("tcpSocket") { portNumOrName(tcpSocket.port, path.child("tcpSocket", "port")) }
        }
        if let grpc {
            one("grpc") {
                ValidationRules.isValidPortNum(Int64(grpc.port)).map { .invalid(path.child("grpc", "port"), .integer(grpc.port), $0) }
            }
        }
        if let sleep {
            one("sleep") {
                // PodLifecycleSleepActionAllowZero (on by default since 1.33).
                guard let grace, sleep.seconds < 0 || sleep.seconds > grace else { return [] }
                return [.invalid(path.child("sleep"), .int(sleep.seconds),
                                 "must be non-negative and less than terminationGracePeriodSeconds (\(grace))")]
            }
        }
        if handlers == 0 { errs.append(.required(path, "must specify a handler type")) }
        return errs
    }

    /// ValidatePortNumOrName.
    static func portNumOrName(_ port: IntOrString, _ path: FieldPath) -> [FieldError] {
        switch port {
        case .int(let i): return ValidationRules.isValidPortNum(Int64(i)).map { .invalid(path, .integer(i), $0) }
        case .string(let s): return ValidationRules.isValidPortName(s).map { .invalid(path, .string(s), $0) }
        }
    }
}
