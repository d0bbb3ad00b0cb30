import Logging
import ShoalAPI
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// Where a node's pods live on the network.
public struct PodNetworkConfig: Sendable, Equatable {
    /// This node's pod CIDR (the Node's `spec.podCIDR`).
    public var podCIDR: IPv4CIDR
    /// The whole cluster's pod CIDR: traffic to it is pod to pod, not masqueraded.
    public var clusterCIDR: IPv4CIDR
    /// Routed onto the bridge so the node's own connections to cluster IPs reach the NAT rules
    /// (this kernel has no dummy link to hold them).
    public var serviceCIDR: IPv4CIDR
    /// LoadBalancer addresses, routed onto the bridge like the service CIDR.
    public var loadBalancerCIDR: IPv4CIDR?
    public var bridge: String
    /// The network namespace that stands for the node (a lab node's, or a test's); nil: the
    /// agent's own.
    public var networkNamespace: String?
    public var pluginDirectory: String
    /// IPAM state and the pinned pod namespaces.
    public var stateDirectory: String

    public init(podCIDR: IPv4CIDR, clusterCIDR: IPv4CIDR, serviceCIDR: IPv4CIDR, bridge: String = "shoal0", networkNamespace: String? = nil,
                pluginDirectory: String = "/usr/lib/cni", stateDirectory: String) {
        self.podCIDR = podCIDR
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.bridge = bridge
        self.networkNamespace = networkNamespace
        self.pluginDirectory = pluginDirectory
        self.stateDirectory = stateDirectory
    }

    /// The bridge's address: the pods' gateway and the node's address inside the cluster network.
    public var gateway: IPv4Address { podCIDR.address(1) }
    var netnsDirectory: String { stateDirectory + "/netns" }
    func pinnedNetns(_ containerID: String) -> String { netnsDirectory + "/" + containerID }

    /// Our CNI network configuration list: the bridge plugin with host-local IPAM. Masquerade and
    /// hostPorts are not the plugins' (ipMasq, portmap): they write into iptables' shared `nat`
    /// table, which outlives them, so they live in Shoal's own nftables table instead.
    public var conflist: JSONValue {
        .object([
            "cniVersion": "1.0.0",
            "name": "shoal",
            "plugins": .array([
                .object([
                    "type": "bridge", "bridge": .string(bridge), "isGateway": true, "ipMasq": false, "hairpinMode": true,
                    "ipam": .object([
                        "type": "host-local",
                        "ranges": .array([.array([.object(["subnet": .string(podCIDR.description), "gateway": .string(gateway.description)])])]),
                        "routes": .array([.object(["dst": "0.0.0.0/0"])]),
                        "dataDir": .string(stateDirectory + "/ipam"),
                    ]),
                ]),
            ]),
        ])
    }
}

public enum PodNetworkError: Error, CustomStringConvertible, Sendable {
    case setup(String, underlying: String)
    case noAddress(pod: String)

    public var description: String {
        switch self {
        case let .setup(step, underlying): return "pod network setup: \(step): \(underlying)"
        case let .noAddress(pod): return "the CNI result for \(pod) holds no IPv4 address"
        }
    }
}

/// Gives pods their address on the node's bridge (through the CNI plugins) and takes it back.
///
/// A pod's network namespace is pinned by a bind mount of the sandbox's /proc/PID/ns/net, so the
/// plugins can still enter it to delete the attachment after the sandbox is gone, and an agent
/// restarted over running pods still finds it.
public actor PodNetwork {
    public let config: PodNetworkConfig
    let cni: CNIRunner
    let logger: Logger
    private var prepared = false

    public init(config: PodNetworkConfig, logger: Logger) {
        self.config = config
        cni = CNIRunner(list: config.conflist, pluginDirectory: config.pluginDirectory, networkNamespace: config.networkNamespace)
        self.logger = logger
    }

    /// The bridge with the gateway address, the service route and the sysctls the rules need:
    /// forwarding, and route_localnet so that 127.0.0.1:NodePort may be DNATed to a pod.
    public func prepare() async throws {
        if prepared { return }
        try FileSystem.createDirectory(config.netnsDirectory, mode: 0o700)
        try FileSystem.writeAtomically(config.stateDirectory + "/shoal.conflist", config.conflist.serialized + [10])
        let exists = try await ip("link", "show", config.bridge).succeeded
        if !exists { try await must("create bridge", "link", "add", config.bridge, "type", "bridge") }
        // A bridge whose address was never set takes the lowest of its ports' MACs, so it
        // changes as pods come and go, and pods' cached neighbour entry for the gateway (their
        // DNS server and way out) goes stale for seconds. Set, it stays.
        try await must("set the bridge's MAC", "link", "set", config.bridge, "address", PodNetwork.bridgeMAC(gateway: config.gateway))
        try await must("address the bridge", "addr", "replace", "\(config.gateway)/\(config.podCIDR.prefixLength)", "dev", config.bridge)
        try await must("bring the bridge up", "link", "set", config.bridge, "up")
        for cidr in [config.serviceCIDR] + (config.loadBalancerCIDR.map { [$0] } ?? []) {
            try await must("route \(cidr) to the bridge", "route", "replace", cidr.description, "dev", config.bridge, "src", config.gateway.description)
        }
        for key in ["net.ipv4.ip_forward", "net.ipv4.conf.all.route_localnet"] {
            let out = try await HostCommand("/usr/sbin/sysctl", ["-qw", key + "=1"], networkNamespace: config.networkNamespace).run()
            guard out.succeeded else { throw PodNetworkError.setup("sysctl \(key)", underlying: out.stderrText) }
        }
        prepared = true
        logger.info("pod network ready", metadata: ["bridge": "\(config.bridge)", "podCIDR": "\(config.podCIDR)"])
    }

    /// Attaches the sandbox's network namespace to the bridge and returns the pod's address.
    /// An attachment left by an earlier sandbox of the same pod is deleted first; a failed
    /// attachment is rolled back.
    /// `netns`: the pod's network namespace file (the sandbox's /proc/PID/ns/net).
    public func attach(containerID: String, namespace: String, name: String, netns: String) async throws -> String {
        try await prepare()
        let pin = config.pinnedNetns(containerID)
        // The pin is made before ADD and removed after DEL: one left means an attachment may be.
        if FileSystem.exists(pin) { await detach(containerID: containerID, namespace: namespace, name: name) }
        let a = CNIAttachment(containerID: containerID, netnsPath: pin, podNamespace: namespace, podName: name)
        do {
            let fd = open(pin, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SystemError("create", path: pin) }
            close(fd)
            try HostMounts.bind(netns, onto: pin)
            let result = try await cni.add(a)
            guard let address = CNIRunner.firstIPv4(result) else { throw PodNetworkError.noAddress(pod: "\(namespace)/\(name)") }
            logger.debug("pod attached", metadata: ["pod": "\(namespace)/\(name)", "ip": "\(address)"])
            return address
        } catch {
            await detach(containerID: containerID, namespace: namespace, name: name)
            throw error
        }
    }

    /// Deletes the attachment (releasing the address) and the pin. Safe to repeat.
    public func detach(containerID: String, namespace: String, name: String) async {
        let pin = config.pinnedNetns(containerID)
        let pinned = FileSystem.exists(pin)
        guard pinned || FileSystem.exists(config.stateDirectory + "/ipam") else { return }
        // With the pin gone (a crash mid-way), an empty netns still releases the address.
        let a = CNIAttachment(containerID: containerID, netnsPath: pinned && isMountPoint(pin) ? pin : "", podNamespace: namespace, podName: name)
        do {
            try await cni.delete(a)
        } catch {
            logger.warning("CNI DEL failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
        }
        if pinned {
            try? HostMounts.unmount(pin)
            unlink(pin)
        }
    }

    /// Removes what `prepare` made: the bridge (with its route) and the network state. Pods
    /// must be detached first.
    public func removeAll() async {
        if (try? await ip("link", "show", config.bridge))?.succeeded == true {
            _ = try? await ip("link", "del", config.bridge)
        }
        for pin in (try? FileSystem.listDirectory(config.netnsDirectory)) ?? [] {
            try? HostMounts.unmount(config.netnsDirectory + "/" + pin)
        }
        try? FileSystem.removeTree(config.stateDirectory)
        prepared = false
    }

    /// A locally administered unicast MAC made from the gateway address: unique per node, the
    /// same across agent restarts.
    static func bridgeMAC(gateway: IPv4Address) -> String {
        let v = gateway.value
        return "02:5a:" + [24, 16, 8, 0].map { shift -> String in
            let byte = String((v >> UInt32(shift)) & 0xff, radix: 16)
            return byte.count == 1 ? "0" + byte : byte
        }.joined(separator: ":")
    }

    func isMountPoint(_ path: String) -> Bool { HostMounts.mountPoints(under: path).contains(path) }

    private func ip(_ args: String...) async throws -> HostCommand.Output {
        try await HostCommand("/usr/sbin/ip", args, networkNamespace: config.networkNamespace).run()
    }

    private func must(_ step: String, _ args: String...) async throws {
        let out = try await HostCommand("/usr/sbin/ip", args, networkNamespace: config.networkNamespace).run()
        guard out.succeeded else { throw PodNetworkError.setup(step, underlying: out.stderrText) }
    }
}
