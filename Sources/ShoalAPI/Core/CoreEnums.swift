// The string enums of core/v1 that Shoal models. Unknown values decode; validation rejects them.

/// The lifecycle phase of a pod (`status.phase`).
public struct PodPhase: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let pending: PodPhase = "Pending"
    public static let running: PodPhase = "Running"
    public static let succeeded: PodPhase = "Succeeded"
    public static let failed: PodPhase = "Failed"
    public static let unknown: PodPhase = "Unknown"
}

/// The pod-level restart policy (`spec.restartPolicy`).
public struct RestartPolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let always: RestartPolicy = "Always"
    public static let onFailure: RestartPolicy = "OnFailure"
    public static let never: RestartPolicy = "Never"
}

/// A container-level restart policy: `Always` marks an init container as a sidecar; with container restart rules (KEP-5307) any container may set it.
public struct ContainerRestartPolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let always: ContainerRestartPolicy = "Always"
    public static let onFailure: ContainerRestartPolicy = "OnFailure"
    public static let never: ContainerRestartPolicy = "Never"
}

/// What a matching container restart rule does (KEP-5307 `Restart`, KEP-5532 `RestartAllContainers`).
public struct ContainerRestartRuleAction: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let restart: ContainerRestartRuleAction = "Restart"
    public static let restartAllContainers: ContainerRestartRuleAction = "RestartAllContainers"
}

/// How a restart rule compares exit codes.
public struct ContainerRestartRuleOnExitCodesOperator: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `in`: ContainerRestartRuleOnExitCodesOperator = "In"
    public static let notIn: ContainerRestartRuleOnExitCodesOperator = "NotIn"
}

/// How a pod's resolv.conf is built (`spec.dnsPolicy`).
public struct DNSPolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let clusterFirstWithHostNet: DNSPolicy = "ClusterFirstWithHostNet"
    public static let clusterFirst: DNSPolicy = "ClusterFirst"
    public static let `default`: DNSPolicy = "Default"
    public static let none: DNSPolicy = "None"
}

/// A port's protocol (core/v1 `Protocol`).
public struct PortProtocol: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let tcp: PortProtocol = "TCP"
    public static let udp: PortProtocol = "UDP"
    public static let sctp: PortProtocol = "SCTP"
}

/// Mount propagation of a volume mount.
public struct MountPropagationMode: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let none: MountPropagationMode = "None"
    public static let hostToContainer: MountPropagationMode = "HostToContainer"
    public static let bidirectional: MountPropagationMode = "Bidirectional"
}

/// Whether a read-only mount is made recursively read-only.
public struct RecursiveReadOnlyMode: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let disabled: RecursiveReadOnlyMode = "Disabled"
    public static let ifPossible: RecursiveReadOnlyMode = "IfPossible"
    public static let enabled: RecursiveReadOnlyMode = "Enabled"
}

/// What a hostPath volume must be on the node; the empty value checks nothing.
public struct HostPathType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let unset: HostPathType = ""
    public static let directoryOrCreate: HostPathType = "DirectoryOrCreate"
    public static let directory: HostPathType = "Directory"
    public static let fileOrCreate: HostPathType = "FileOrCreate"
    public static let file: HostPathType = "File"
    public static let socket: HostPathType = "Socket"
    public static let charDevice: HostPathType = "CharDevice"
    public static let blockDevice: HostPathType = "BlockDevice"
}

/// Where an emptyDir lives: node disk (empty), tmpfs (`Memory`) or hugepages.
public struct StorageMedium: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `default`: StorageMedium = ""
    public static let memory: StorageMedium = "Memory"
    public static let hugePages: StorageMedium = "HugePages"
}

/// When an image is pulled.
public struct PullPolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let always: PullPolicy = "Always"
    public static let never: PullPolicy = "Never"
    public static let ifNotPresent: PullPolicy = "IfNotPresent"
}

/// Where a container's termination message comes from.
public struct TerminationMessagePolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let file: TerminationMessagePolicy = "File"
    public static let fallbackToLogsOnError: TerminationMessagePolicy = "FallbackToLogsOnError"
}

/// The scheme of an HTTP probe or hook.
public struct URIScheme: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let http: URIScheme = "HTTP"
    public static let https: URIScheme = "HTTPS"
}

/// The kind of seccomp profile applied.
public struct SeccompProfileType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let unconfined: SeccompProfileType = "Unconfined"
    public static let runtimeDefault: SeccompProfileType = "RuntimeDefault"
    public static let localhost: SeccompProfileType = "Localhost"
}

/// How /proc is mounted in a container.
public struct ProcMountType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `default`: ProcMountType = "Default"
    public static let unmasked: ProcMountType = "Unmasked"
}

/// How a toleration matches a taint's value.
public struct TolerationOperator: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let exists: TolerationOperator = "Exists"
    public static let equal: TolerationOperator = "Equal"
}

/// The effect of a taint a toleration tolerates.
public struct TaintEffect: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let noSchedule: TaintEffect = "NoSchedule"
    public static let preferNoSchedule: TaintEffect = "PreferNoSchedule"
    public static let noExecute: TaintEffect = "NoExecute"
}

/// The status of a condition.
public struct ConditionStatus: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `true`: ConditionStatus = "True"
    public static let `false`: ConditionStatus = "False"
    public static let unknown: ConditionStatus = "Unknown"
}

/// The type of a pod condition.
public struct PodConditionType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let podScheduled: PodConditionType = "PodScheduled"
    public static let ready: PodConditionType = "Ready"
    public static let initialized: PodConditionType = "Initialized"
    public static let containersReady: PodConditionType = "ContainersReady"
    public static let podReadyToStartContainers: PodConditionType = "PodReadyToStartContainers"
    public static let disruptionTarget: PodConditionType = "DisruptionTarget"
}

/// A pod's quality-of-service class.
public struct PodQOSClass: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let guaranteed: PodQOSClass = "Guaranteed"
    public static let burstable: PodQOSClass = "Burstable"
    public static let bestEffort: PodQOSClass = "BestEffort"
}

/// The operating system a pod targets (`spec.os.name`).
public struct OSName: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let linux: OSName = "linux"
    public static let windows: OSName = "windows"
}

/// How volume ownership is changed for fsGroup.
public struct PodFSGroupChangePolicy: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let onRootMismatch: PodFSGroupChangePolicy = "OnRootMismatch"
    public static let always: PodFSGroupChangePolicy = "Always"
}
