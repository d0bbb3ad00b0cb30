import Yams

/// core/v1 Node: a machine pods run on, as its agent registers and reports it.
///
/// `metadata` and `spec` are always present (Kubernetes always serializes them); `status` is
/// optional so that a node object written by hand encodes without an empty status.
public struct Node: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: NodeSpec
    public var status: NodeStatus?

    public init(
        apiVersion: String? = "v1",
        kind: String? = "Node",
        metadata: ObjectMeta = ObjectMeta(),
        spec: NodeSpec = NodeSpec(),
        status: NodeStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 NodeSpec.
public struct NodeSpec: Sendable, Hashable, Codable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var providerID: String?
    /// Cordoned: no new pods are scheduled here (`kubectl cordon`).
    public var unschedulable: Bool?
    public var taints: [Taint]?
    /// Deprecated dynamic kubelet configuration, kept opaque.
    public var configSource: JSONValue?
    /// Deprecated.
    public var externalID: String?

    public init(
        podCIDR: String? = nil,
        podCIDRs: [String]? = nil,
        providerID: String? = nil,
        unschedulable: Bool? = nil,
        taints: [Taint]? = nil,
        configSource: JSONValue? = nil,
        externalID: String? = nil
    ) {
        self.podCIDR = podCIDR
        self.podCIDRs = podCIDRs
        self.providerID = providerID
        self.unschedulable = unschedulable
        self.taints = taints
        self.configSource = configSource
        self.externalID = externalID
    }
}

/// core/v1 Taint: repels pods that do not tolerate it.
public struct Taint: Sendable, Hashable, Codable {
    public var key: String
    public var value: String?
    public var effect: TaintEffect
    /// When a NoExecute taint was added.
    public var timeAdded: Time?

    public init(
        key: String,
        value: String? = nil,
        effect: TaintEffect,
        timeAdded: Time? = nil
    ) {
        self.key = key
        self.value = value
        self.effect = effect
        self.timeAdded = timeAdded
    }
}

/// core/v1 NodeStatus.
public struct NodeStatus: Sendable, Hashable, Codable {
    public var capacity: [String: Quantity]?
    /// What pods may use: capacity less what is reserved for the system.
    public var allocatable: [String: Quantity]?
    /// Deprecated; never set by current kubelets.
    public var phase: NodePhase?
    public var conditions: [NodeCondition]?
    public var addresses: [NodeAddress]?
    public var daemonEndpoints: NodeDaemonEndpoints?
    public var nodeInfo: NodeSystemInfo?
    /// The images on the node, kept opaque.
    public var images: JSONValue?
    public var volumesInUse: [String]?
    public var volumesAttached: JSONValue?
    public var config: JSONValue?
    public var runtimeHandlers: JSONValue?
    public var features: JSONValue?

    public init(
        capacity: [String: Quantity]? = nil,
        allocatable: [String: Quantity]? = nil,
        phase: NodePhase? = nil,
        conditions: [NodeCondition]? = nil,
        addresses: [NodeAddress]? = nil,
        daemonEndpoints: NodeDaemonEndpoints? = nil,
        nodeInfo: NodeSystemInfo? = nil,
        images: JSONValue? = nil,
        volumesInUse: [String]? = nil,
        volumesAttached: JSONValue? = nil,
        config: JSONValue? = nil,
        runtimeHandlers: JSONValue? = nil,
        features: JSONValue? = nil
    ) {
        self.capacity = capacity
        self.allocatable = allocatable
        self.phase = phase
        self.conditions = conditions
        self.addresses = addresses
        self.daemonEndpoints = daemonEndpoints
        self.nodeInfo = nodeInfo
        self.images = images
        self.volumesInUse = volumesInUse
        self.volumesAttached = volumesAttached
        self.config = config
        self.runtimeHandlers = runtimeHandlers
        self.features = features
    }
}

/// The (deprecated) lifecycle phase of a node.
public struct NodePhase: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let pending: NodePhase = "Pending"
    public static let running: NodePhase = "Running"
    public static let terminated: NodePhase = "Terminated"
}

/// The type of a node condition.
public struct NodeConditionType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let ready: NodeConditionType = "Ready"
    public static let memoryPressure: NodeConditionType = "MemoryPressure"
    public static let diskPressure: NodeConditionType = "DiskPressure"
    public static let pidPressure: NodeConditionType = "PIDPressure"
    public static let networkUnavailable: NodeConditionType = "NetworkUnavailable"
}

/// core/v1 NodeCondition.
public struct NodeCondition: Sendable, Hashable, Codable {
    public var type: NodeConditionType
    public var status: ConditionStatus
    public var lastHeartbeatTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    public init(
        type: NodeConditionType,
        status: ConditionStatus,
        lastHeartbeatTime: Time? = nil,
        lastTransitionTime: Time? = nil,
        reason: String? = nil,
        message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// The kind of a node address.
public struct NodeAddressType: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let hostname: NodeAddressType = "Hostname"
    public static let internalIP: NodeAddressType = "InternalIP"
    public static let externalIP: NodeAddressType = "ExternalIP"
    public static let internalDNS: NodeAddressType = "InternalDNS"
    public static let externalDNS: NodeAddressType = "ExternalDNS"
}

/// core/v1 NodeAddress.
public struct NodeAddress: Sendable, Hashable, Codable {
    public var type: NodeAddressType
    public var address: String

    public init(
        type: NodeAddressType,
        address: String
    ) {
        self.type = type
        self.address = address
    }
}

/// core/v1 NodeDaemonEndpoints: the ports the node's daemons listen on.
public struct NodeDaemonEndpoints: Sendable, Hashable, Codable {
    public var kubeletEndpoint: DaemonEndpoint?

    public init(
        kubeletEndpoint: DaemonEndpoint? = nil
    ) {
        self.kubeletEndpoint = kubeletEndpoint
    }
}

/// core/v1 DaemonEndpoint. Its one field is spelled `Port` on the wire.
public struct DaemonEndpoint: Sendable, Hashable, Codable {
    public var port: Int32

    enum CodingKeys: String, CodingKey {
        case port = "Port"
    }

    public init(
        port: Int32
    ) {
        self.port = port
    }
}

/// core/v1 NodeSystemInfo. Every field is always serialized, as in Kubernetes.
public struct NodeSystemInfo: Sendable, Hashable, Codable {
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var kernelVersion: String
    public var osImage: String
    public var containerRuntimeVersion: String
    public var kubeletVersion: String
    /// Deprecated; empty on current kubelets.
    public var kubeProxyVersion: String
    public var operatingSystem: String
    public var architecture: String
    /// Swap the node has (`{capacity: …}`), kept opaque.
    public var swap: JSONValue?

    public init(
        machineID: String = "",
        systemUUID: String = "",
        bootID: String = "",
        kernelVersion: String = "",
        osImage: String = "",
        containerRuntimeVersion: String = "",
        kubeletVersion: String = "",
        kubeProxyVersion: String = "",
        operatingSystem: String = "",
        architecture: String = "",
        swap: JSONValue? = nil
    ) {
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.containerRuntimeVersion = containerRuntimeVersion
        self.kubeletVersion = kubeletVersion
        self.kubeProxyVersion = kubeProxyVersion
        self.operatingSystem = operatingSystem
        self.architecture = architecture
        self.swap = swap
    }
}

/// The taint keys Kubernetes itself puts on nodes (k8s.io/api/core/v1 well_known_taints.go).
public enum WellKnownTaint {
    /// Ready is False (added by the node lifecycle controller).
    public static let notReady = "node.kubernetes.io/not-ready"
    /// Ready is Unknown: the node stopped reporting.
    public static let unreachable = "node.kubernetes.io/unreachable"
    /// The node is cordoned (`spec.unschedulable`).
    public static let unschedulable = "node.kubernetes.io/unschedulable"
    public static let memoryPressure = "node.kubernetes.io/memory-pressure"
    public static let diskPressure = "node.kubernetes.io/disk-pressure"
    public static let pidPressure = "node.kubernetes.io/pid-pressure"
    public static let networkUnavailable = "node.kubernetes.io/network-unavailable"
    public static let outOfService = "node.kubernetes.io/out-of-service"
}

/// Labels every kubelet sets on its node.
public enum WellKnownNodeLabel {
    public static let hostname = "kubernetes.io/hostname"
    public static let os = "kubernetes.io/os"
    public static let arch = "kubernetes.io/arch"
}

extension Node {
    /// The condition of that type, if the node reports it.
    public func condition(_ type: NodeConditionType) -> NodeCondition? {
        status?.conditions?.first { $0.type == type }
    }

    /// True when the node reports Ready=True.
    public var isReady: Bool { condition(.ready)?.status == .true }
}
