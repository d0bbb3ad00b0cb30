import ShoalAPI

/// A lab's names and addresses, all derived from its name, node count and subnet: so `down`,
/// `status` and `node` find everything again from the saved state, and leftovers carry the
/// lab's name.
///
/// One network namespace is the lab's switch (`shoal-LAB`): a bridge holding the master's
/// address, the subnet's first. Each node is a namespace of its own (`shoal-LAB-NODE`) with one
/// interface, `eth0`, whose peer sits on the switch; nodes take the addresses after the
/// master's. Nothing of the lab is in the host's network namespace: the master's process serves
/// kubectl on the host's loopback and the nodes on the switch.
public struct LabLayout: Sendable, Equatable {
    public var name: String
    public var subnet: IPv4CIDR
    public var nodeNames: [String]

    /// The switch's bridge, inside the switch namespace.
    public static let bridge = "shoal-br"
    /// The node's interface, inside its namespace.
    public static let nodeInterface = "eth0"
    /// The port nodes reach the API on, in the switch namespace (kubeadm's).
    public static let apiPort = 6443

    public init(name: String, nodes: Int, subnet: IPv4CIDR) throws(LabError) {
        try Self.validate(name: name)
        guard nodes >= 1 else { throw .invalid("--nodes", "a lab needs at least one node, got \(nodes)") }
        guard nodes <= 50 else { throw .invalid("--nodes", "at most 50 nodes on one host, got \(nodes)") }
        // The master is .1, nodes from .10: the subnet must hold them and its broadcast address.
        guard UInt64(nodes) + 11 <= subnet.size else {
            throw .invalid("--subnet", "\(subnet) has no room for the master and \(nodes) nodes")
        }
        self.name = name
        self.subnet = subnet
        nodeNames = (1...nodes).map { "node\($0)" }
    }

    /// A lab's name is part of namespace, cgroup and interface names: short, DNS-label-like.
    public static func validate(name: String) throws(LabError) {
        let ok = !name.isEmpty && name.utf8.count <= 16
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            && name.first != "-" && name.last != "-"
        guard ok else { throw .invalid("--name", "\"\(name)\" must be 1 to 16 lower case letters, digits or '-', starting and ending with a letter or digit") }
    }

    public var switchNamespace: String { "shoal-\(name)" }
    public func namespace(of node: String) -> String { "shoal-\(name)-\(node)" }
    public func cgroupParent(of node: String) -> String { "shoal-\(name)-\(node)" }
    /// The node's port on the switch (an interface name: at most 15 bytes).
    public func switchPort(of node: String) -> String { String("sh-\(node)".prefix(15)) }

    public var masterAddress: IPv4Address { IPv4Address(subnet.network.value + 1) }
    public func address(of node: String) -> IPv4Address? {
        guard let i = nodeNames.firstIndex(of: node) else { return nil }
        return IPv4Address(subnet.network.value + 10 + UInt32(i))
    }
    public var serverURL: String { "https://\(masterAddress):\(Self.apiPort)" }

    /// Every namespace the lab makes, switch first.
    public var namespaces: [String] { [switchNamespace] + nodeNames.map(namespace(of:)) }

    /// The node for a name as users type it (`node2`); nil when the lab has none so named.
    public func node(named text: String) -> String? { nodeNames.contains(text) ? text : nil }
}

public struct LabError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }

    static func invalid(_ flag: String, _ why: String) -> LabError { LabError("\(flag): \(why)") }
}
