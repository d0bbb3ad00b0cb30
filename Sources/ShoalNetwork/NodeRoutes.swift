import Logging
import ShoalAPI
import ShoalOS

/// A route to another node's pods: its pod CIDR via its address, as flannel's host-gw backend
/// makes them. It needs the nodes on one link (a lab's bridge, or one LAN), which is also why
/// it needs no encapsulation and costs nothing per packet.
public struct NodeRoute: Sendable, Hashable, CustomStringConvertible {
    public var destination: IPv4CIDR
    public var gateway: IPv4Address

    public init(destination: IPv4CIDR, gateway: IPv4Address) {
        self.destination = destination
        self.gateway = gateway
    }

    public var description: String { "\(destination) via \(gateway)" }

    /// Every other node's pod CIDR via its InternalIP; nodes without either are skipped
    /// (they have not registered fully yet). A CIDR claimed twice keeps the first node's.
    public static func desired(nodes: [Node], selfName: String) -> Set<NodeRoute> {
        var out: [IPv4CIDR: NodeRoute] = [:]
        for node in nodes.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) where node.metadata.name != selfName {
            guard let text = node.spec.podCIDR, let cidr = try? IPv4CIDR(parsing: text),
                  let address = node.status?.addresses?.first(where: { $0.type == .internalIP })?.address,
                  let gateway = IPv4Address(address), out[cidr] == nil else { continue }
            out[cidr] = NodeRoute(destination: cidr, gateway: gateway)
        }
        return Set(out.values)
    }

    /// Our routes in `ip -4 route show proto N` output ("10.42.1.0/24 via 172.30.0.12 dev eth0 …").
    public static func parse(_ output: String) -> Set<NodeRoute> {
        var out = Set<NodeRoute>()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 3, words[1] == "via", let cidr = try? IPv4CIDR(parsing: words[0]),
                  let gateway = IPv4Address(words[2]) else { continue }
            out.insert(NodeRoute(destination: cidr, gateway: gateway))
        }
        return out
    }
}

/// Keeps the node's routes to other nodes' pods equal to what the Node objects say. The routes
/// carry a protocol number of their own, so the ones Shoal made are found again after a restart
/// and nobody else's route is ever touched.
public actor NodeRouter {
    /// The routes' `proto` (free in iproute2's rt_protos).
    public static let routeProtocol = "77"
    let networkNamespace: String?
    let logger: Logger
    private var applied: Set<NodeRoute>?

    public init(networkNamespace: String?, logger: Logger) {
        self.networkNamespace = networkNamespace
        self.logger = logger
    }

    public func sync(_ wanted: Set<NodeRoute>) async {
        do {
            let current: Set<NodeRoute>
            if let applied { current = applied } else { current = try await installed() }
            for route in current.subtracting(wanted) {
                try await ip(["route", "del", route.destination.description, "via", route.gateway.description, "proto", Self.routeProtocol])
            }
            for route in wanted.subtracting(current) {
                try await ip(["route", "replace", route.destination.description, "via", route.gateway.description, "proto", Self.routeProtocol])
                logger.info("route to a node's pods", metadata: ["route": "\(route)"])
            }
            applied = wanted
        } catch {
            // Forget what is applied: the next sync reads the table again.
            applied = nil
            logger.warning("node routes not synced", metadata: ["error": "\(error)"])
        }
    }

    /// Removes every route Shoal made (--cleanup).
    public func removeAll() async {
        await sync([])
    }

    private func installed() async throws -> Set<NodeRoute> {
        let out = try await HostCommand("/usr/sbin/ip", ["-4", "route", "show", "proto", Self.routeProtocol], networkNamespace: networkNamespace).check()
        return NodeRoute.parse(String(decoding: out.stdout, as: UTF8.self))
    }

    private func ip(_ args: [String]) async throws {
        _ = try await HostCommand("/usr/sbin/ip", args, networkNamespace: networkNamespace).check()
    }
}
