import Logging
import ShoalAPI
import ShoalNetwork
import ShoalOS

/// How the agent networks its pods. Without it (a standalone agent given no pod CIDR), pods
/// have their own namespace with loopback only.
public struct NodeNetworkOptions: Sendable, Equatable {
    /// This node's pod CIDR; nil: the master assigns one (the Node's spec.podCIDR).
    public var podCIDR: String?
    public var clusterCIDR: String
    public var serviceCIDR: String
    public var loadBalancerCIDR: String?
    /// The network namespace standing for the node (a lab node's or a test's); nil: the agent's own.
    public var networkNamespace: String?
    public var bridge: String

    public init(podCIDR: String? = nil, clusterCIDR: String = "10.42.0.0/16", serviceCIDR: String = "10.43.0.0/16",
                loadBalancerCIDR: String? = nil, networkNamespace: String? = nil, bridge: String = "shoal0") {
        self.podCIDR = podCIDR
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.loadBalancerCIDR = loadBalancerCIDR
        self.networkNamespace = networkNamespace
        self.bridge = bridge
    }
}

public struct NetworkNotReady: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "network is not ready: \(reason)" }
}

/// The node's network as the agent runs it: the pod network once the node's pod CIDR is
/// known, and the service proxy fed from the master's services and slices.
actor NodeNetwork {
    let options: NodeNetworkOptions?
    let nodeName: String
    let stateDirectory: String
    let logger: Logger
    private(set) var pods: PodNetwork?
    private(set) var proxy: ServiceProxy?
    private var dns: DNSServer?
    /// The DNS server's address (the bridge's), once it serves.
    private(set) var clusterDNS: String?
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var services: [Service] = []
    private var slices: [EndpointSlice] = []
    private var hostPorts: [String: [HostPort]] = [:]
    private var pendingDetaches: [(Pod, String)] = []
    /// Routes to the other nodes' pod CIDRs (host-gw).
    private let router: NodeRouter

    init(options: NodeNetworkOptions?, nodeName: String, dataDir: String, logger: Logger) {
        self.options = options
        self.nodeName = nodeName
        self.stateDirectory = dataDir + "/network"
        self.logger = logger
        router = NodeRouter(networkNamespace: options?.networkNamespace, logger: logger)
    }

    nonisolated var enabled: Bool { options != nil }

    /// Sets the node's pod CIDR up (once: Kubernetes never changes a node's podCIDR).
    func configure(podCIDR text: String) async throws {
        guard let options, pods == nil else { return }
        var config = PodNetworkConfig(
            podCIDR: try IPv4CIDR(parsing: text), clusterCIDR: try IPv4CIDR(parsing: options.clusterCIDR),
            serviceCIDR: try IPv4CIDR(parsing: options.serviceCIDR), bridge: options.bridge,
            networkNamespace: options.networkNamespace, stateDirectory: stateDirectory)
        config.loadBalancerCIDR = try options.loadBalancerCIDR.map { try IPv4CIDR(parsing: $0) }
        let network = PodNetwork(config: config, logger: logger)
        try await network.prepare()
        let proxy = ServiceProxy(
            state: ProxyState(nodeName: nodeName, podCIDR: config.podCIDR, clusterCIDR: config.clusterCIDR, bridge: config.bridge),
            networkNamespace: options.networkNamespace, logger: logger)
        await proxy.setServices(services)
        await proxy.setSlices(slices)
        for (uid, ports) in hostPorts { await proxy.setHostPorts(pod: uid, ports) }
        await proxy.resync()
        let dns = try await DNSServer(
            address: config.gateway.description, in: options.networkNamespace.map(NetNamespace.path) ?? .host,
            upstreams: DNSServer.nameservers((try? FileSystem.readString("/etc/resolv.conf")) ?? ""), logger: logger)
        dns.setZone(ClusterDNS(services: services, slices: slices))
        dns.start()
        self.dns = dns
        clusterDNS = config.gateway.description
        pods = network
        self.proxy = proxy
        for w in waiters { w.resume() }
        waiters = []
        for (pod, uid) in pendingDetaches { await detach(pod, uid: uid) }
        pendingDetaches = []
    }

    /// The pod network, waiting a while for the pod CIDR; nil when pods are not networked.
    func ready(timeout: Double = 10) async throws -> PodNetwork? {
        guard enabled else { return nil }
        if let pods { return pods }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitConfigured() }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9)) }
            await group.next()
            group.cancelAll()
        }
        guard let pods else { throw NetworkNotReady(reason: "the node has no pod CIDR yet") }
        return pods
    }

    private func waitConfigured() async {
        if pods != nil { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Attaches a sandbox and forwards its hostPorts; returns the pod's IP.
    func attach(_ pod: Pod, uid: String, sandboxPID: Int32) async throws -> String? {
        guard let network = try await ready() else { return nil }
        let ip = try await network.attach(containerID: uid, namespace: pod.metadata.namespace ?? "default",
                                          name: pod.metadata.name ?? "", netns: "/proc/\(sandboxPID)/ns/net")
        await setHostPorts(uid, NodeNetwork.hostPorts(pod, ip: ip))
        return ip
    }

    /// Releases the pod's address and hostPorts. Before the pod CIDR is known (an agent
    /// restarted, its node not yet seen), the release waits for it.
    func detach(_ pod: Pod, uid: String) async {
        guard enabled, pod.spec.hostNetwork != true else { return }
        await setHostPorts(uid, [])
        guard let network = pods else {
            pendingDetaches.append((pod, uid))
            return
        }
        await network.detach(containerID: uid, namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "")
    }

    /// An adopted pod's hostPorts (its address survived the agent's restart).
    func restore(_ pod: Pod, uid: String, ip: String) async {
        await setHostPorts(uid, NodeNetwork.hostPorts(pod, ip: ip))
    }

    func setServices(_ list: [Service]) async {
        services = list
        dns?.setZone(ClusterDNS(services: services, slices: slices))
        await proxy?.setServices(list)
    }

    func setSlices(_ list: [EndpointSlice]) async {
        slices = list
        dns?.setZone(ClusterDNS(services: services, slices: slices))
        await proxy?.setSlices(list)
    }

    func setNodes(_ nodes: [Node]) async {
        guard enabled else { return }
        await router.sync(NodeRoute.desired(nodes: nodes, selfName: nodeName))
    }

    /// Stops serving DNS (the agent stops; its rules and bridge stay for the next one).
    func stop() {
        dns?.stop()
        dns = nil
    }

    private func setHostPorts(_ uid: String, _ ports: [HostPort]) async {
        hostPorts[uid] = ports.isEmpty ? nil : ports
        await proxy?.setHostPorts(pod: uid, ports)
    }

    /// Removes the nftables table, the bridge and the network state (--cleanup, after the pods).
    func cleanup() async {
        stop()
        await proxy?.remove()
        await router.removeAll()
        await pods?.removeAll()
    }

    static func hostPorts(_ pod: Pod, ip: String) -> [HostPort] {
        guard pod.spec.hostNetwork != true else { return [] }
        return pod.spec.containers.flatMap { c in
            (c.ports ?? []).compactMap { p in
                guard let host = p.hostPort, host > 0 else { return nil }
                return HostPort(podIP: ip, hostPort: host, containerPort: p.containerPort, proto: p.protocol?.rawValue ?? "TCP", hostIP: p.hostIP)
            }
        }
    }
}
