import ShoalAPI
import ShoalOS

/// The lab's network: made with `ip` inside namespaces of its own, never in the host's.
enum LabNetwork {
    static let ipPath = "/usr/sbin/ip"

    static func ip(_ args: [String], in namespace: String? = nil) async throws {
        let full = (namespace.map { ["-n", $0] } ?? []) + args
        do {
            _ = try await HostCommand(ipPath, full).check()
        } catch {
            throw LabError("ip \(full.joined(separator: " ")): \(error)")
        }
    }

    static func namespaceExists(_ name: String) -> Bool { FileSystem.exists("/run/netns/" + name) }

    /// The addresses other labs' switches hold: a second lab must not reuse the subnet, or
    /// their nodes' addresses and routes would be ambiguous to a user reading them.
    static func otherLabSubnets(except layout: LabLayout) async -> [(String, IPv4CIDR)] {
        let names = ((try? FileSystem.listDirectory("/run/netns")) ?? []).filter {
            $0.hasPrefix("shoal-") && $0 != layout.switchNamespace
        }
        var out: [(String, IPv4CIDR)] = []
        for name in names {
            guard let o = try? await HostCommand(ipPath, ["-n", name, "-4", "-o", "addr", "show", "dev", LabLayout.bridge]).run(),
                  o.succeeded else { continue }
            for line in String(decoding: o.stdout, as: UTF8.self).split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if let i = words.firstIndex(of: "inet"), i + 1 < words.count, let cidr = try? IPv4CIDR(parsing: maskedCIDR(words[i + 1])) {
                    out.append((name, cidr))
                }
            }
        }
        return out
    }

    /// "172.30.0.1/24" → "172.30.0.0/24".
    static func maskedCIDR(_ text: String) -> String {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let a = IPv4Address(String(parts[0])), let len = Int(parts[1]), (0...32).contains(len) else { return text }
        let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - len)
        return "\(IPv4Address(a.value & mask))/\(len)"
    }

    /// The switch and every node's namespace and link. On failure, what was made is removed.
    static func create(_ layout: LabLayout) async throws {
        var made: [String] = []
        do {
            for ns in layout.namespaces {
                try await ip(["netns", "add", ns])
                made.append(ns)
                try await ip(["link", "set", "lo", "up"], in: ns)
            }
            let sw = layout.switchNamespace
            try await ip(["link", "add", LabLayout.bridge, "type", "bridge"], in: sw)
            try await ip(["addr", "add", "\(layout.masterAddress)/\(layout.subnet.prefixLength)", "dev", LabLayout.bridge], in: sw)
            try await ip(["link", "set", LabLayout.bridge, "up"], in: sw)
            for node in layout.nodeNames {
                let ns = layout.namespace(of: node)
                let port = layout.switchPort(of: node)
                try await ip(["link", "add", port, "type", "veth", "peer", "name", LabLayout.nodeInterface, "netns", ns], in: sw)
                try await ip(["link", "set", port, "master", LabLayout.bridge, "up"], in: sw)
                try await ip(["addr", "add", "\(layout.address(of: node)!)/\(layout.subnet.prefixLength)", "dev", LabLayout.nodeInterface], in: ns)
                try await ip(["link", "set", LabLayout.nodeInterface, "up"], in: ns)
                try await ip(["route", "add", "default", "via", layout.masterAddress.description], in: ns)
            }
        } catch {
            for ns in made.reversed() { try? await ip(["netns", "del", ns]) }
            throw error
        }
    }

    /// A node's cable: down, it is cut off from the master and the other nodes.
    static func setLink(_ layout: LabLayout, node: String, up: Bool) async throws {
        try await ip(["link", "set", layout.switchPort(of: node), up ? "up" : "down"], in: layout.switchNamespace)
    }

    /// Deletes every namespace of the lab that exists (their interfaces, routes and nft tables go with them).
    static func remove(_ layout: LabLayout) async {
        for ns in layout.namespaces.reversed() where namespaceExists(ns) {
            try? await ip(["netns", "del", ns])
        }
    }
}
