/// core/v1 Service: a stable virtual address (ClusterIP, NodePort, LoadBalancer) in front of the
/// ready pods its selector matches, or a DNS alias (ExternalName).
public struct Service: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ServiceSpec
    public var status: ServiceStatus?

    public init(apiVersion: String? = "v1", kind: String? = "Service", metadata: ObjectMeta = ObjectMeta(),
                spec: ServiceSpec = ServiceSpec(), status: ServiceStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The address a headless service has instead of one.
    public static let clusterIPNone = "None"
}

public struct ServiceSpec: Sendable, Hashable, Codable {
    public var type: ServiceType?
    public var selector: [String: String]?
    public var ports: [ServicePort]?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var ipFamilies: [String]?
    public var ipFamilyPolicy: String?
    public var sessionAffinity: String?
    public var sessionAffinityConfig: SessionAffinityConfig?
    public var externalTrafficPolicy: String?
    public var internalTrafficPolicy: String?
    public var externalIPs: [String]?
    public var externalName: String?
    public var loadBalancerIP: String?
    public var loadBalancerClass: String?
    public var loadBalancerSourceRanges: [String]?
    public var allocateLoadBalancerNodePorts: Bool?
    public var healthCheckNodePort: Int32?
    public var publishNotReadyAddresses: Bool?
    public var trafficDistribution: String?

    public init(type: ServiceType? = nil, selector: [String: String]? = nil, ports: [ServicePort]? = nil, clusterIP: String? = nil) {
        self.type = type
        self.selector = selector
        self.ports = ports
        self.clusterIP = clusterIP
    }

    /// Whether the service gets node ports (NodePort, and LoadBalancer unless told not to).
    public var wantsNodePorts: Bool {
        type == .nodePort || (type == .loadBalancer && allocateLoadBalancerNodePorts != false)
    }

    public var isHeadless: Bool { clusterIP == Service.clusterIPNone }
}

public struct ServiceType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static let clusterIP: ServiceType = "ClusterIP"
    public static let nodePort: ServiceType = "NodePort"
    public static let loadBalancer: ServiceType = "LoadBalancer"
    public static let externalName: ServiceType = "ExternalName"
    public static let all: [ServiceType] = [.clusterIP, .externalName, .loadBalancer, .nodePort]
}

public struct ServicePort: Sendable, Hashable, Codable {
    public var name: String?
    public var `protocol`: String?
    public var appProtocol: String?
    public var port: Int32
    public var targetPort: IntOrString?
    public var nodePort: Int32?

    public init(name: String? = nil, protocol: String? = nil, port: Int32, targetPort: IntOrString? = nil, nodePort: Int32? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

public struct SessionAffinityConfig: Sendable, Hashable, Codable {
    public var clientIP: ClientIPConfig?
    public init(clientIP: ClientIPConfig? = nil) { self.clientIP = clientIP }
}

public struct ClientIPConfig: Sendable, Hashable, Codable {
    public var timeoutSeconds: Int32?
    public init(timeoutSeconds: Int32? = nil) { self.timeoutSeconds = timeoutSeconds }
}

public struct ServiceStatus: Sendable, Hashable, Codable {
    public var loadBalancer: LoadBalancerStatus?
    public var conditions: [Condition]?
    public init(loadBalancer: LoadBalancerStatus? = nil) { self.loadBalancer = loadBalancer }
}

public struct LoadBalancerStatus: Sendable, Hashable, Codable {
    public var ingress: [LoadBalancerIngress]?
    public init(ingress: [LoadBalancerIngress]? = nil) { self.ingress = ingress }
}

public struct LoadBalancerIngress: Sendable, Hashable, Codable {
    public var ip: String?
    public var hostname: String?
    public var ipMode: String?
    public init(ip: String? = nil, hostname: String? = nil, ipMode: String? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.ipMode = ipMode
    }
}

/// metav1.Condition, as Service status uses it.
public struct Condition: Sendable, Hashable, Codable {
    public var type: String
    public var status: String
    public var observedGeneration: Int64?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?
}

// MARK: endpoints

/// discovery.k8s.io/v1 EndpointSlice: a service's ready and not-ready pod addresses and ports.
public struct EndpointSlice: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var addressType: String
    public var endpoints: [Endpoint]?
    public var ports: [EndpointPort]?

    public init(metadata: ObjectMeta = ObjectMeta(), addressType: String = "IPv4", endpoints: [Endpoint]? = nil, ports: [EndpointPort]? = nil) {
        apiVersion = "discovery.k8s.io/v1"
        kind = "EndpointSlice"
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    /// The label naming the service a slice belongs to.
    public static let serviceNameLabel = "kubernetes.io/service-name"
    /// The label naming who manages a slice.
    public static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
}

public struct Endpoint: Sendable, Hashable, Codable {
    public var addresses: [String]
    public var conditions: EndpointConditions?
    public var hostname: String?
    public var targetRef: ObjectReference?
    public var nodeName: String?

    public init(addresses: [String], conditions: EndpointConditions? = nil, hostname: String? = nil,
                targetRef: ObjectReference? = nil, nodeName: String? = nil) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.targetRef = targetRef
        self.nodeName = nodeName
    }
}

public struct EndpointConditions: Sendable, Hashable, Codable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?
    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

public struct EndpointPort: Sendable, Hashable, Codable {
    public var name: String?
    public var `protocol`: String?
    public var port: Int32?
    public var appProtocol: String?
    public init(name: String? = nil, protocol: String? = nil, port: Int32? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
    }
}

/// core/v1 Endpoints, the older form of a service's addresses that some tools still read.
public struct Endpoints: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var subsets: [EndpointSubset]?

    public init(metadata: ObjectMeta = ObjectMeta(), subsets: [EndpointSubset]? = nil) {
        apiVersion = "v1"
        kind = "Endpoints"
        self.metadata = metadata
        self.subsets = subsets
    }
}

public struct EndpointSubset: Sendable, Hashable, Codable {
    public var addresses: [EndpointAddress]?
    public var notReadyAddresses: [EndpointAddress]?
    public var ports: [EndpointPort]?
    public init(addresses: [EndpointAddress]? = nil, notReadyAddresses: [EndpointAddress]? = nil, ports: [EndpointPort]? = nil) {
        self.addresses = addresses
        self.notReadyAddresses = notReadyAddresses
        self.ports = ports
    }
}

public struct EndpointAddress: Sendable, Hashable, Codable {
    public var ip: String
    public var hostname: String?
    public var nodeName: String?
    public var targetRef: ObjectReference?
    public init(ip: String, nodeName: String? = nil, targetRef: ObjectReference? = nil) {
        self.ip = ip
        self.nodeName = nodeName
        self.targetRef = targetRef
    }
}
