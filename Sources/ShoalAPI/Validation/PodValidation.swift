#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Validation of a `v1 Pod` as the API server validates it on create
/// (k8s.io/kubernetes/pkg/apis/core/validation: ValidatePod → validatePodMetadataAndSpec →
/// ValidateObjectMeta, ValidatePodSpec, …), with Kubernetes' messages, field paths and order.
/// The pod must have had `PodDefaults.apply` first, as in Kubernetes, where defaulting runs
/// before validation (a missing port protocol is TCP, not "Required value").
///
/// Feature-gated behaviour follows Kubernetes 1.34's defaults: relaxed environment variable
/// names, relaxed DNS search names, zero-second sleep actions, pod-level resources and sidecar
/// resize policies are allowed. Map-valued fields (labels, resources) are checked in sorted key
/// order, where Go's order is random. Where Kubernetes keeps a field Shoal treats as opaque JSON
/// (affinity, topologySpreadConstraints, windowsOptions, volumeDevices, most remote volume
/// types), only the simple checks are made.
///
/// Shoal's own additions, outside Kubernetes' API validation: a negative
/// `terminationGracePeriodSeconds` is an error (the API server warns and uses 1), and an
/// emptyDir `medium` must be "" or "Memory" (the kubelet refuses other media at mount time).
/// Ephemeral containers are validated like the API server's ephemeralcontainers subresource
/// does, rather than refused as "cannot be set on create".
public enum PodValidation {
    /// ValidatePod.
    public static func validate(_ pod: Pod) -> [FieldError] {
        let meta = FieldPath("metadata")
        let specPath = FieldPath("spec")
        var errs = validateObjectMeta(pod.metadata, path: meta)
        errs += podSpecificAnnotations(pod.metadata.annotations, path: meta.child("annotations"))
        errs += validatePodSpec(pod.spec, metadata: pod.metadata, path: specPath)

        if (pod.spec.serviceAccountName ?? "").isEmpty {
            for (vi, volume) in (pod.spec.volumes ?? []).enumerated() {
                guard let projected = volume.projected else { continue }
                let path = specPath.child("volumes").index(vi).child("projected")
                for (si, source) in (projected.sources ?? []).enumerated() where source.serviceAccountToken != nil {
                    errs.append(.forbidden(path.child("sources").index(si).child("serviceAccountToken"),
                                           "must not be specified when serviceAccountName is not set"))
                }
            }
        }
        errs += containersOnlyForPod(pod.spec.containers, specPath.child("containers"))
        errs += containersOnlyForPod(pod.spec.initContainers ?? [], specPath.child("initContainers"))
        for (name, list) in [("containers", pod.spec.containers), ("initContainers", pod.spec.initContainers ?? [])] {
            for (i, c) in list.enumerated() where !(c.volumeDevices?.arrayValue ?? []).isEmpty {
                errs.append(.forbidden(specPath.child(name).index(i).child("volumeDevices"), PersistentVolumeSpec.blockModeRefusal))
            }
        }
        return errs
    }

    // MARK: - ObjectMeta

    /// ValidateObjectMeta for a namespaced object named as a DNS subdomain.
    public static func validateObjectMeta(_ m: ObjectMeta, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let generateName = m.generateName ?? ""
        if !generateName.isEmpty {
            errs += ValidationRules.nameIsDNSSubdomain(generateName, prefix: true)
                .map { .invalid(path.child("generateName"), .string(generateName), $0) }
        }
        let name = m.name ?? ""
        if name.isEmpty {
            errs.append(.required(path.child("name"), "name or generateName is required"))
        } else {
            errs += ValidationRules.nameIsDNSSubdomain(name).map { .invalid(path.child("name"), .string(name), $0) }
        }
        let namespace = m.namespace ?? ""
        if namespace.isEmpty {
            errs.append(.required(path.child("namespace")))
        } else {
            errs += ValidationRules.nameIsDNSLabel(namespace).map { .invalid(path.child("namespace"), .string(namespace), $0) }
        }
        errs += ValidationRules.nonnegative(m.generation ?? 0, path.child("generation"))
        errs += ValidationRules.labels(m.labels, path.child("labels"))
        errs += annotations(m.annotations, path.child("annotations"))
        errs += ownerReferences(m.ownerReferences ?? [], path.child("ownerReferences"))
        let finalizers = m.finalizers ?? []
        for finalizer in finalizers {
            errs += ValidationRules.qualifiedName(finalizer, path.child("finalizers"))
        }
        if finalizers.contains("orphan") && finalizers.contains("foregroundDeletion") {
            errs.append(.invalid(path.child("finalizers"), .json(.array(finalizers.map(JSONValue.string))),
                                 "finalizer orphan and foregroundDeletion cannot be both set"))
        }
        // pkg/apis/core/validation adds the legacy finalizer-name check, per index.
        for (i, finalizer) in finalizers.enumerated()
        where !finalizer.contains("/") && !["kubernetes", "orphan", "foregroundDeletion"].contains(finalizer) {
            errs.append(.invalid(path.child("finalizers").index(i), .string(finalizer),
                                 "name is neither a standard finalizer name nor is it fully qualified"))
        }
        return errs
    }

    static let totalAnnotationSizeLimit = 256 * 1024

    static func annotations(_ annotations: [String: String]?, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var size = 0
        for key in (annotations ?? [:]).keys.sorted() {
            // Qualified names, case aside.
            errs += ValidationRules.isQualifiedName(key.lowercased()).map { .invalid(path, .string(key), $0) }
            size += key.utf8.count + (annotations?[key]?.utf8.count ?? 0)
        }
        if size > totalAnnotationSizeLimit { errs.append(.tooLong(path, maxLength: totalAnnotationSizeLimit)) }
        return errs
    }

    static func ownerReferences(_ refs: [OwnerReference], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var firstController: String?
        for ref in refs {
            var group = "", version = ref.apiVersion
            if let slash = ref.apiVersion.firstIndex(of: "/") {
                group = String(ref.apiVersion[..<slash])
                version = String(ref.apiVersion[ref.apiVersion.index(after: slash)...])
            }
            if version.isEmpty {
                errs.append(.invalid(path.child("apiVersion"), .string(ref.apiVersion), "version must not be empty"))
            }
            if ref.kind.isEmpty { errs.append(.invalid(path.child("kind"), .string(ref.kind), "must not be empty")) }
            if ref.name.isEmpty { errs.append(.invalid(path.child("name"), .string(ref.name), "must not be empty")) }
            if ref.uid.isEmpty { errs.append(.invalid(path.child("uid"), .json(ref.uid), "must not be empty")) }
            if group.isEmpty && version == "v1" && ref.kind == "Event" {
                errs.append(.invalid(path, .raw(jsonText(ref)), "/v1, Kind=Event is disallowed from being an owner"))
            }
            if ref.controller == true {
                let current = ref.kind + "/" + ref.name
                if let first = firstController {
                    errs.append(.invalid(path, .raw(jsonText(refs)),
                                         "Only one reference can have Controller set to true. Found \"true\" in references for \(first) and \(current)"))
                } else {
                    firstController = current
                }
            }
        }
        return errs
    }

    static let podDeletionCost = "controller.kubernetes.io/pod-deletion-cost"

    /// ValidatePodSpecificAnnotations: of the annotations it checks, only the deletion cost
    /// applies to a standalone node (mirror-pod, toleration and seccomp annotations are the
    /// API server's or deprecated).
    static func podSpecificAnnotations(_ annotations: [String: String]?, path: FieldPath) -> [FieldError] {
        guard let cost = annotations?[podDeletionCost] else { return [] }
        let first = cost.utf8.first
        let validFirst = first == UInt8(ascii: "-") || cost == "0" || (first.map { $0 >= 0x31 && $0 <= 0x39 } ?? false)
        if validFirst, Int32(cost) != nil { return [] }
        return [.invalid(path.key(podDeletionCost), .string(cost), "must be a 32bit integer")]
    }

    // MARK: - PodSpec

    /// ValidatePodSpec.
    public static func validatePodSpec(_ spec: PodSpec, metadata: ObjectMeta?, path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let gracePath = path.child("terminationGracePeriodSeconds")
        if let grace = spec.terminationGracePeriodSeconds {
            errs += ValidationRules.nonnegative(grace, gracePath)
        } else {
            errs.append(.required(gracePath))
        }
        let grace = spec.terminationGracePeriodSeconds
        let hostUsers = spec.hostUsers ?? true
        let restartPolicy = spec.restartPolicy?.rawValue ?? ""

        let (volumes, volumeErrors) = validateVolumes(spec.volumes ?? [], metadata: metadata, path: path.child("volumes"))
        errs += volumeErrors
        errs += validateContainers(spec.containers, volumes: volumes, grace: grace, path: path.child("containers"),
                                   podRestartPolicy: restartPolicy, hostUsers: hostUsers)
        errs += validateInitContainers(spec.initContainers ?? [], regular: spec.containers, volumes: volumes, grace: grace,
                                       path: path.child("initContainers"), podRestartPolicy: restartPolicy, hostUsers: hostUsers)
        errs += validateEphemeralContainers(spec.ephemeralContainers ?? [], regular: spec.containers,
                                            initContainers: spec.initContainers ?? [], volumes: volumes,
                                            path: path.child("ephemeralContainers"), podRestartPolicy: restartPolicy,
                                            hostUsers: hostUsers)
        errs += podResources(spec, path.child("resources"))
        errs += hostNetworkDeps(spec, path)
        errs += oneOf(restartPolicy, path.child("restartPolicy"), ["Always", "OnFailure", "Never"])
        errs += oneOf(spec.dnsPolicy?.rawValue ?? "", path.child("dnsPolicy"),
                      ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"])
        errs += ValidationRules.labels(spec.nodeSelector, path.child("nodeSelector"))
        errs += podSecurityContext(spec, path.child("securityContext"))
        errs += dnsConfig(spec.dnsConfig, policy: spec.dnsPolicy?.rawValue, path.child("dnsConfig"))
        for (i, gate) in (spec.readinessGates ?? []).enumerated() {
            errs += ValidationRules.qualifiedName(gate.conditionType.rawValue, path.child("readinessGates").index(i).child("conditionType"))
        }
        errs += schedulingGates(spec.schedulingGates, path.child("schedulingGates"))
        if spec.hostUsers == false {
            let detail = "when `pod.Spec.HostUsers` is false"
            if spec.hostNetwork == true { errs.append(.forbidden(path.child("hostNetwork"), detail)) }
            if spec.hostPID == true { errs.append(.forbidden(path.child("HostPID"), detail)) }
            if spec.hostIPC == true { errs.append(.forbidden(path.child("HostIPC"), detail)) }
        }
        if let name = spec.serviceAccountName, !name.isEmpty {
            errs += ValidationRules.nameIsDNSSubdomain(name).map { .invalid(path.child("serviceAccountName"), .string(name), $0) }
        }
        if let node = spec.nodeName, !node.isEmpty {
            errs += ValidationRules.nameIsDNSSubdomain(node).map { .invalid(path.child("nodeName"), .string(node), $0) }
        }
        if let deadline = spec.activeDeadlineSeconds, deadline < 1 || deadline > Int64(Int32.max) {
            errs.append(.invalid(path.child("activeDeadlineSeconds"), .int(deadline),
                                 ValidationRules.inclusiveRangeError(1, Int64(Int32.max))))
        }
        if let hostname = spec.hostname, !hostname.isEmpty {
            errs += ValidationRules.dns1123Label(hostname, path.child("hostname"))
        }
        if let subdomain = spec.subdomain, !subdomain.isEmpty {
            errs += ValidationRules.dns1123Label(subdomain, path.child("subdomain"))
        }
        if let tolerations = spec.tolerations, !tolerations.isEmpty {
            errs += validateTolerations(tolerations, path.child("tolerations"))
        }
        for (i, alias) in (spec.hostAliases ?? []).enumerated() {
            let aliasPath = path.child("hostAliases").index(i)
            errs += ValidationRules.isValidIP(aliasPath.child("ip"), alias.ip)
            for (j, hostname) in (alias.hostnames ?? []).enumerated() {
                errs += ValidationRules.dns1123Subdomain(hostname, aliasPath.child("hostnames").index(j))
            }
        }
        if let priorityClass = spec.priorityClassName, !priorityClass.isEmpty {
            errs += ValidationRules.nameIsDNSSubdomain(priorityClass)
                .map { .invalid(path.child("priorityClassName"), .string(priorityClass), $0) }
        }
        if let runtimeClass = spec.runtimeClassName {
            errs += ValidationRules.nameIsDNSSubdomain(runtimeClass)
                .map { .invalid(path.child("runtimeClassName"), .string(runtimeClass), $0) }
        }
        if let preemption = spec.preemptionPolicy {
            errs += oneOf(preemption, path.child("preemptionPolicy"), ["PreemptLowerPriority", "Never"])
        }
        if let overhead = spec.overhead {
            errs += validateResourceRequirements(ResourceRequirements(limits: overhead), path.child("overhead"),
                                                 resourceName: containerResourceName)
        }
        if let os = spec.os {
            let osErrors = validateOS(os, path.child("os"))
            if !osErrors.isEmpty {
                errs += osErrors
            } else if os.name == .linux {
                errs += validateLinux(spec, path)
            } else if os.name == .windows {
                errs += validateWindows(spec, path)
            }
        }
        return errs
    }

    /// The switch Kubernetes writes for an enumerated field: "" is Required, an unknown value
    /// is Unsupported with the values in the order given.
    static func oneOf(_ value: String, _ path: FieldPath, _ supported: [String]) -> [FieldError] {
        if supported.contains(value) { return [] }
        if value.isEmpty { return [.required(path)] }
        return [.notSupported(path, .json(value), supported)]
    }

    /// Like `oneOf` for fields where "" is not special (optional pointers in Kubernetes).
    static func member(_ value: String, _ path: FieldPath, _ supported: [String]) -> [FieldError] {
        supported.contains(value) ? [] : [.notSupported(path, .json(value), supported)]
    }

    static func hostNetworkDeps(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        guard spec.hostNetwork == true else { return [] }
        var errs: [FieldError] = []
        for (i, c) in spec.containers.enumerated() {
            for (j, port) in (c.ports ?? []).enumerated() where (port.hostPort ?? 0) != port.containerPort {
                errs.append(.invalid(path.child("containers").index(i).child("ports").index(j).child("hostPort"),
                                     .integer(port.hostPort ?? 0), "must match `containerPort` when `hostNetwork` is true"))
            }
        }
        return errs
    }

    static func schedulingGates(_ gates: JSONValue?, _ path: FieldPath) -> [FieldError] {
        guard case .array(let list)? = gates else { return [] }
        var errs: [FieldError] = []
        var seen = Set<String>()
        for (i, gate) in list.enumerated() {
            let name = gate["name"]?.stringValue ?? ""
            errs += ValidationRules.qualifiedName(name, path.index(i))
            if !seen.insert(name).inserted { errs.append(.duplicate(path.index(i), .string(name))) }
        }
        return errs
    }

    static let sysctlRegex = "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"

    static func isValidSysctlName(_ name: String) -> Bool {
        guard name.utf8.count <= 253 else { return false }
        let segments = name.utf8.split(omittingEmptySubsequences: false) { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "/") }
        return segments.allSatisfy { segment in
            let b = Array(segment)
            func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
            guard let first = b.first, let last = b.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
            return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
    }

    /// The namespace a sysctl belongs to (component-helpers' GetNamespace): net or ipc.
    static func sysctlNamespace(_ name: String) -> String? {
        let n = String(name.map { $0 == "/" ? "." : $0 })
        if n.hasPrefix("net.") { return "net" }
        if n.hasPrefix("kernel.shm") || n.hasPrefix("kernel.msg") || n == "kernel.sem" || n.hasPrefix("fs.mqueue.") { return "ipc" }
        return nil
    }

    /// validatePodSpecSecurityContext (the defaulted pod always has a security context).
    static func podSecurityContext(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        guard let sc = spec.securityContext else { return [] }
        var errs: [FieldError] = []
        if let fsGroup = sc.fsGroup {
            errs += ValidationRules.isValidGroupID(fsGroup).map { .invalid(path.child("fsGroup"), .int(fsGroup), $0) }
        }
        if let user = sc.runAsUser {
            errs += ValidationRules.isValidUserID(user).map { .invalid(path.child("runAsUser"), .int(user), $0) }
        }
        if let group = sc.runAsGroup {
            errs += ValidationRules.isValidGroupID(group).map { .invalid(path.child("runAsGroup"), .int(group), $0) }
        }
        for (g, gid) in (sc.supplementalGroups ?? []).enumerated() {
            errs += ValidationRules.isValidGroupID(gid).map { .invalid(path.child("supplementalGroups").index(g), .int(gid), $0) }
        }
        if spec.shareProcessNamespace == true && spec.hostPID == true {
            errs.append(.invalid(path.child("shareProcessNamespace"), .bool(true),
                                 "ShareProcessNamespace and HostPID cannot both be enabled"))
        }
        if let sysctls = sc.sysctls, !sysctls.isEmpty {
            var names = Set<String>()
            for (i, s) in sysctls.enumerated() {
                let namePath = path.child("sysctls").index(i).child("name")
                if s.name.isEmpty {
                    errs.append(.required(namePath))
                } else if !isValidSysctlName(s.name) {
                    errs.append(.invalid(namePath, .string(s.name), "must have at most 253 characters and match regex \(sysctlRegex)"))
                } else if names.contains(s.name) {
                    errs.append(.duplicate(namePath, .string(s.name)))
                }
                let namespace = sysctlNamespace(s.name)
                if spec.hostNetwork == true && namespace == "net" {
                    errs.append(.invalid(namePath, .string(s.name), "may not be specified when 'hostNetwork' is true"))
                } else if spec.hostIPC == true && namespace == "ipc" {
                    errs.append(.invalid(namePath, .string(s.name), "may not be specified when 'hostIPC' is true"))
                }
                names.insert(s.name)
            }
        }
        if let policy = sc.fsGroupChangePolicy {
            errs += member(policy.rawValue, path.child("fsGroupChangePolicy"), ["Always", "OnRootMismatch"])
        }
        errs += seccompProfile(sc.seccompProfile, path.child("seccompProfile"))
        errs += appArmorProfile(sc.appArmorProfile, path.child("appArmorProfile"))
        if let policy = sc.supplementalGroupsPolicy {
            errs += member(policy, path.child("supplementalGroupsPolicy"), ["Merge", "Strict"])
        }
        if let policy = sc.seLinuxChangePolicy {
            errs += member(policy, path.child("seLinuxChangePolicy"), ["MountOption", "Recursive"])
        }
        return errs
    }

    static func seccompProfile(_ profile: SeccompProfile?, _ path: FieldPath) -> [FieldError] {
        guard let profile else { return [] }
        var errs: [FieldError] = []
        let type = profile.type.rawValue
        switch type {
        case "Localhost", "RuntimeDefault", "Unconfined": break
        case "": errs.append(.required(path.child("type"), "type is required when seccompProfile is set"))
        default: errs.append(.notSupported(path.child("type"), .json(type), ["Localhost", "RuntimeDefault", "Unconfined"]))
        }
        if type == "Localhost" {
            if let local = profile.localhostProfile {
                errs += ValidationRules.localDescendingPath(local, path.child("localhostProfile"))
            } else {
                errs.append(.required(path.child("localhostProfile"), "must be set when seccomp type is Localhost"))
            }
        } else if let local = profile.localhostProfile {
            // Go prints the internal struct: field names as declared, no JSON tags.
            let shown = "{\"Type\":\(goJSONQuote(type)),\"LocalhostProfile\":\(goJSONQuote(local))}"
            errs.append(.invalid(path.child("localhostProfile"), .raw(shown), "can only be set when seccomp type is Localhost"))
        }
        return errs
    }

    /// ValidateAppArmorProfileField, on the opaque JSON of the field.
    static func appArmorProfile(_ profile: JSONValue?, _ path: FieldPath) -> [FieldError] {
        guard let profile, case .object = profile else { return [] }
        var errs: [FieldError] = []
        let local = profile["localhostProfile"].flatMap { $0.isNull ? nil : $0 }
        switch profile["type"]?.stringValue ?? "" {
        case "Localhost":
            guard let local else {
                return [.required(path.child("localhostProfile"), "must be set when AppArmor type is Localhost")]
            }
            let text = local.stringValue ?? ""
            let trimmed = text.trimmingASCIIWhitespace()
            if trimmed != text {
                errs.append(.invalid(path.child("localhostProfile"), .string(text), "must not be padded with whitespace"))
            } else if trimmed.isEmpty {
                errs.append(.required(path.child("localhostProfile"), "must be set when AppArmor type is Localhost"))
            }
            if text.utf8.count > 4095 { errs.append(.tooLong(path.child("localhostProfile"), maxLength: 4095)) }
        case "RuntimeDefault", "Unconfined":
            if let local {
                errs.append(.invalid(path.child("localhostProfile"), .json(local), "can only be set when AppArmor type is Localhost"))
            }
        case "":
            errs.append(.required(path.child("type"), "type is required when appArmorProfile is set"))
        case let type:
            errs.append(.notSupported(path.child("type"), .json(type), ["Localhost", "RuntimeDefault", "Unconfined"]))
        }
        return errs
    }

    static func dnsConfig(_ config: PodDNSConfig?, policy: String?, _ path: FieldPath) -> [FieldError] {
        if policy == "None" {
            guard let config else { return [.required(path, "must provide `dnsConfig` when `dnsPolicy` is None")] }
            if (config.nameservers ?? []).isEmpty {
                return [.required(path.child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")]
            }
        }
        guard let config else { return [] }
        var errs: [FieldError] = []
        let nameservers = config.nameservers ?? []
        if nameservers.count > 3 {
            errs.append(.invalid(path.child("nameservers"), .json(.array(nameservers.map(JSONValue.string))),
                                 "must not have more than 3 nameservers"))
        }
        for (i, ns) in nameservers.enumerated() {
            errs += ValidationRules.isValidIP(path.child("nameservers").index(i), ns)
        }
        let searches = config.searches ?? []
        if searches.count > 32 {
            errs.append(.invalid(path.child("searches"), .json(.array(searches.map(JSONValue.string))),
                                 "must not have more than 32 search paths"))
        }
        if searches.joined(separator: " ").utf8.count > 2048 {
            errs.append(.invalid(path.child("searches"), .json(.array(searches.map(JSONValue.string))),
                                 "must not have more than 2048 characters (including spaces) in the search list"))
        }
        for (i, search) in searches.enumerated() where search != "." {
            let trimmed = search.hasSuffix(".") ? String(search.dropLast()) : search
            errs += ValidationRules.isDNS1123SubdomainWithUnderscore(trimmed)
                .map { .invalid(path.child("searches").index(i), .string(trimmed), $0) }
        }
        for (i, option) in (config.options ?? []).enumerated() where (option.name ?? "").isEmpty {
            errs.append(.required(path.child("options").index(i), "must not be empty"))
        }
        return errs
    }

    static func validateTolerations(_ tolerations: [Toleration], _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        for (i, t) in tolerations.enumerated() {
            let p = path.index(i)
            let key = t.key ?? "", op = t.operator?.rawValue ?? "", value = t.value ?? "", effect = t.effect?.rawValue ?? ""
            if !key.isEmpty { errs += ValidationRules.qualifiedName(key, p.child("key")) }
            if key.isEmpty && op != "Exists" {
                errs.append(.invalid(p.child("operator"), .json(op),
                                     "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
            }
            if t.tolerationSeconds != nil && effect != "NoExecute" {
                errs.append(.invalid(p.child("effect"), .json(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"))
            }
            switch op {
            case "Equal", "":
                let msgs = ValidationRules.isValidLabelValue(value)
                if !msgs.isEmpty { errs.append(.invalid(p.child("operator"), .string(value), msgs.joined(separator: ";"))) }
            case "Exists":
                if !value.isEmpty {
                    errs.append(.invalid(p.child("operator"), .string(value), "value must be empty when `operator` is 'Exists'"))
                }
            default:
                errs.append(.notSupported(p.child("operator"), .json(op), ["Equal", "Exists"]))
            }
            if !effect.isEmpty {
                errs += member(effect, p.child("effect"), ["NoSchedule", "PreferNoSchedule", "NoExecute"])
            }
        }
        return errs
    }

    static func validateOS(_ os: PodOS, _ path: FieldPath) -> [FieldError] {
        if os.name.rawValue.isEmpty { return [.required(path.child("name"), "cannot be empty")] }
        return member(os.name.rawValue, path, ["linux", "windows"])
    }

    /// Every container with its path, in VisitContainersWithPath's order.
    static func allContainers(_ spec: PodSpec, _ path: FieldPath) -> [(Container, FieldPath)] {
        (spec.initContainers ?? []).enumerated().map { ($1, path.child("initContainers").index($0)) }
            + spec.containers.enumerated().map { ($1, path.child("containers").index($0)) }
            + (spec.ephemeralContainers ?? []).enumerated().map { ($1.container, path.child("ephemeralContainers").index($0)) }
    }

    static func validateLinux(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let detail = "windows options cannot be set for a linux pod"
        if spec.securityContext?.windowsOptions != nil {
            errs.append(.forbidden(path.child("securityContext", "windowsOptions"), detail))
        }
        for (c, cPath) in allContainers(spec, path) where c.securityContext?.windowsOptions != nil {
            errs.append(.forbidden(cPath.child("securityContext", "windowsOptions"), detail))
        }
        return errs
    }

    static func validateWindows(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let detail = "cannot be set for a windows pod"
        if let sc = spec.securityContext {
            let scPath = path.child("securityContext")
            if sc.appArmorProfile != nil { errs.append(.forbidden(scPath.child("appArmorProfile"), detail)) }
            if sc.seLinuxOptions != nil { errs.append(.forbidden(scPath.child("seLinuxOptions"), detail)) }
            if spec.hostUsers != nil { errs.append(.forbidden(path.child("hostUsers"), detail)) }
            if spec.hostPID == true { errs.append(.forbidden(path.child("hostPID"), detail)) }
            if spec.hostIPC == true { errs.append(.forbidden(path.child("hostIPC"), detail)) }
            if sc.seccompProfile != nil { errs.append(.forbidden(scPath.child("seccompProfile"), detail)) }
            if sc.fsGroup != nil { errs.append(.forbidden(scPath.child("fsGroup"), detail)) }
            if sc.fsGroupChangePolicy != nil { errs.append(.forbidden(scPath.child("fsGroupChangePolicy"), detail)) }
            if !(sc.sysctls ?? []).isEmpty { errs.append(.forbidden(scPath.child("sysctls"), detail)) }
            if spec.shareProcessNamespace != nil { errs.append(.forbidden(path.child("shareProcessNamespace"), detail)) }
            if sc.runAsUser != nil { errs.append(.forbidden(scPath.child("runAsUser"), detail)) }
            if sc.runAsGroup != nil { errs.append(.forbidden(scPath.child("runAsGroup"), detail)) }
            if sc.supplementalGroups != nil { errs.append(.forbidden(scPath.child("supplementalGroups"), detail)) }
            if sc.supplementalGroupsPolicy != nil { errs.append(.forbidden(scPath.child("supplementalGroupsPolicy"), detail)) }
            if sc.seLinuxChangePolicy != nil { errs.append(.forbidden(scPath.child("seLinuxChangePolicy"), detail)) }
        }
        for (c, cPath) in allContainers(spec, path) {
            guard let sc = c.securityContext else { continue }
            let scPath = cPath.child("securityContext")
            if sc.appArmorProfile != nil { errs.append(.forbidden(scPath.child("appArmorProfile"), detail)) }
            if sc.seLinuxOptions != nil { errs.append(.forbidden(scPath.child("seLinuxOptions"), detail)) }
            if sc.seccompProfile != nil { errs.append(.forbidden(scPath.child("seccompProfile"), detail)) }
            if sc.capabilities != nil { errs.append(.forbidden(scPath.child("capabilities"), detail)) }
            if sc.readOnlyRootFilesystem != nil { errs.append(.forbidden(scPath.child("readOnlyRootFilesystem"), detail)) }
            if sc.privileged != nil { errs.append(.forbidden(scPath.child("privileged"), detail)) }
            if sc.allowPrivilegeEscalation != nil { errs.append(.forbidden(scPath.child("allowPrivilegeEscalation"), detail)) }
            if sc.procMount != nil { errs.append(.forbidden(scPath.child("procMount"), detail)) }
            if sc.runAsUser != nil { errs.append(.forbidden(scPath.child("runAsUser"), detail)) }
            if sc.runAsGroup != nil { errs.append(.forbidden(scPath.child("runAsGroup"), detail)) }
        }
        return errs
    }

    /// validateContainersOnlyForPod.
    static func containersOnlyForPod(_ containers: [Container], _ path: FieldPath) -> [FieldError] {
        containers.enumerated().flatMap { containerOnlyForPod($1, path.index($0)) }
    }

    static func containerOnlyForPod(_ c: Container, _ path: FieldPath) -> [FieldError] {
        let image = c.image ?? ""
        guard image != image.trimmingASCIIWhitespace() else { return [] }
        return [.invalid(path.child("image"), .string(image), "must not have leading or trailing whitespace")]
    }

    /// Compact JSON of an encodable value, for bad values Go prints with json.Marshal.
    static func jsonText<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }
}
