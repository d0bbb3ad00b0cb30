/// core/v1 Pod: a group of containers sharing a sandbox.
///
/// `metadata` and `spec` are always present (Kubernetes always serializes them); `status` is
/// optional so that manifests encode without an empty status.
public struct Pod: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(
        apiVersion: String? = "v1",
        kind: String? = "Pod",
        metadata: ObjectMeta = ObjectMeta(),
        spec: PodSpec = PodSpec(),
        status: PodStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 PodSpec.
///
/// Fields Shoal does not interpret yet (affinity, topologySpreadConstraints, resourceClaims,
/// schedulingGates) are kept as opaque JSON so that manifests using them round-trip and are not
/// reported as unknown.
public struct PodSpec: Sendable, Hashable, Codable {
    public var volumes: [Volume]?
    public var initContainers: [Container]?
    public var containers: [Container]
    public var ephemeralContainers: [EphemeralContainer]?
    public var restartPolicy: RestartPolicy?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var dnsPolicy: DNSPolicy?
    public var dnsConfig: PodDNSConfig?
    public var nodeSelector: [String: String]?
    public var serviceAccountName: String?
    /// Deprecated alias of serviceAccountName.
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var nodeName: String?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var shareProcessNamespace: Bool?
    public var securityContext: PodSecurityContext?
    public var imagePullSecrets: [LocalObjectReference]?
    public var hostname: String?
    public var subdomain: String?
    public var setHostnameAsFQDN: Bool?
    public var affinity: JSONValue?
    public var schedulerName: String?
    public var tolerations: [Toleration]?
    public var hostAliases: [HostAlias]?
    public var priorityClassName: String?
    public var priority: Int32?
    public var preemptionPolicy: String?
    public var readinessGates: [PodReadinessGate]?
    public var runtimeClassName: String?
    public var enableServiceLinks: Bool?
    public var topologySpreadConstraints: JSONValue?
    public var overhead: [String: Quantity]?
    public var os: PodOS?
    public var hostUsers: Bool?
    public var schedulingGates: JSONValue?
    public var resourceClaims: JSONValue?
    /// Pod-level resources (KEP-2837).
    public var resources: ResourceRequirements?

    public init(
        volumes: [Volume]? = nil,
        initContainers: [Container]? = nil,
        containers: [Container] = [],
        ephemeralContainers: [EphemeralContainer]? = nil,
        restartPolicy: RestartPolicy? = nil,
        terminationGracePeriodSeconds: Int64? = nil,
        activeDeadlineSeconds: Int64? = nil,
        dnsPolicy: DNSPolicy? = nil,
        dnsConfig: PodDNSConfig? = nil,
        nodeSelector: [String: String]? = nil,
        serviceAccountName: String? = nil,
        serviceAccount: String? = nil,
        automountServiceAccountToken: Bool? = nil,
        nodeName: String? = nil,
        hostNetwork: Bool? = nil,
        hostPID: Bool? = nil,
        hostIPC: Bool? = nil,
        shareProcessNamespace: Bool? = nil,
        securityContext: PodSecurityContext? = nil,
        imagePullSecrets: [LocalObjectReference]? = nil,
        hostname: String? = nil,
        subdomain: String? = nil,
        setHostnameAsFQDN: Bool? = nil,
        affinity: JSONValue? = nil,
        schedulerName: String? = nil,
        tolerations: [Toleration]? = nil,
        hostAliases: [HostAlias]? = nil,
        priorityClassName: String? = nil,
        priority: Int32? = nil,
        preemptionPolicy: String? = nil,
        readinessGates: [PodReadinessGate]? = nil,
        runtimeClassName: String? = nil,
        enableServiceLinks: Bool? = nil,
        topologySpreadConstraints: JSONValue? = nil,
        overhead: [String: Quantity]? = nil,
        os: PodOS? = nil,
        hostUsers: Bool? = nil,
        schedulingGates: JSONValue? = nil,
        resourceClaims: JSONValue? = nil,
        resources: ResourceRequirements? = nil
    ) {
        self.volumes = volumes
        self.initContainers = initContainers
        self.containers = containers
        self.ephemeralContainers = ephemeralContainers
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.dnsPolicy = dnsPolicy
        self.dnsConfig = dnsConfig
        self.nodeSelector = nodeSelector
        self.serviceAccountName = serviceAccountName
        self.serviceAccount = serviceAccount
        self.automountServiceAccountToken = automountServiceAccountToken
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
        self.hostPID = hostPID
        self.hostIPC = hostIPC
        self.shareProcessNamespace = shareProcessNamespace
        self.securityContext = securityContext
        self.imagePullSecrets = imagePullSecrets
        self.hostname = hostname
        self.subdomain = subdomain
        self.setHostnameAsFQDN = setHostnameAsFQDN
        self.affinity = affinity
        self.schedulerName = schedulerName
        self.tolerations = tolerations
        self.hostAliases = hostAliases
        self.priorityClassName = priorityClassName
        self.priority = priority
        self.preemptionPolicy = preemptionPolicy
        self.readinessGates = readinessGates
        self.runtimeClassName = runtimeClassName
        self.enableServiceLinks = enableServiceLinks
        self.topologySpreadConstraints = topologySpreadConstraints
        self.overhead = overhead
        self.os = os
        self.hostUsers = hostUsers
        self.schedulingGates = schedulingGates
        self.resourceClaims = resourceClaims
        self.resources = resources
    }
}

/// A reference to an object in the same namespace, by name.
public struct LocalObjectReference: Sendable, Hashable, Codable {
    public var name: String?

    public init(
        name: String? = nil
    ) {
        self.name = name
    }
}

/// core/v1 Toleration.
public struct Toleration: Sendable, Hashable, Codable {
    public var key: String?
    public var `operator`: TolerationOperator?
    public var value: String?
    public var effect: TaintEffect?
    public var tolerationSeconds: Int64?

    public init(
        key: String? = nil,
        `operator`: TolerationOperator? = nil,
        value: String? = nil,
        effect: TaintEffect? = nil,
        tolerationSeconds: Int64? = nil
    ) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }
}

/// An /etc/hosts entry added to the pod.
public struct HostAlias: Sendable, Hashable, Codable {
    public var ip: String
    public var hostnames: [String]?

    public init(
        ip: String,
        hostnames: [String]? = nil
    ) {
        self.ip = ip
        self.hostnames = hostnames
    }
}

/// Extra resolv.conf settings, merged with those from dnsPolicy.
public struct PodDNSConfig: Sendable, Hashable, Codable {
    public var nameservers: [String]?
    public var searches: [String]?
    public var options: [PodDNSConfigOption]?

    public init(
        nameservers: [String]? = nil,
        searches: [String]? = nil,
        options: [PodDNSConfigOption]? = nil
    ) {
        self.nameservers = nameservers
        self.searches = searches
        self.options = options
    }
}

/// A resolv.conf option (`ndots:2`).
public struct PodDNSConfigOption: Sendable, Hashable, Codable {
    public var name: String?
    public var value: String?

    public init(
        name: String? = nil,
        value: String? = nil
    ) {
        self.name = name
        self.value = value
    }
}

/// An extra condition that must be true for the pod to be ready.
public struct PodReadinessGate: Sendable, Hashable, Codable {
    public var conditionType: PodConditionType

    public init(
        conditionType: PodConditionType
    ) {
        self.conditionType = conditionType
    }
}

/// The operating system the pod is meant for.
public struct PodOS: Sendable, Hashable, Codable {
    public var name: OSName

    public init(
        name: OSName
    ) {
        self.name = name
    }
}
