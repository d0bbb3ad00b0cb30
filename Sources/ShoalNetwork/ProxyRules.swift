import ShoalAPI

/// A container's `hostPort`, DNATed on the node to the pod.
public struct HostPort: Sendable, Hashable {
    public var podIP: String
    public var hostPort: Int32
    public var containerPort: Int32
    /// tcp or udp.
    public var proto: String
    /// Only this node address; nil or empty: any.
    public var hostIP: String?

    public init(podIP: String, hostPort: Int32, containerPort: Int32, proto: String, hostIP: String? = nil) {
        self.podIP = podIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto.lowercased()
        self.hostIP = hostIP
    }
}

/// What the node's NAT rules are made from.
public struct ProxyState: Sendable, Equatable {
    public var nodeName: String
    public var podCIDR: IPv4CIDR
    public var clusterCIDR: IPv4CIDR
    public var bridge: String
    public var services: [Service] = []
    public var slices: [EndpointSlice] = []
    public var hostPorts: [HostPort] = []

    public init(nodeName: String, podCIDR: IPv4CIDR, clusterCIDR: IPv4CIDR, bridge: String) {
        self.nodeName = nodeName
        self.podCIDR = podCIDR
        self.clusterCIDR = clusterCIDR
        self.bridge = bridge
    }
}

/// One port of one service, with the endpoints traffic to it goes to.
struct ServiceTarget: Equatable {
    var key: String  // namespace/name:port
    var proto: String
    var clusterIPs: [String]
    var port: Int32
    var nodePort: Int32?
    /// LoadBalancer ingress IPs and externalIPs: reached like a NodePort, on the service port.
    var externalIPs: [String]
    var endpoints: [Destination]
    var affinityTimeout: Int32?
    var externalLocal: Bool

    struct Destination: Hashable, Comparable {
        var ip: String
        var port: Int32
        var local: Bool
        static func < (a: Destination, b: Destination) -> Bool { (a.ip, a.port) < (b.ip, b.port) }
    }
}

/// The node's nftables ruleset, in kube-proxy's nftables layout: one table of Shoal's own,
/// replaced whole in one transaction.
///
/// Cluster IPs and external addresses go through a verdict map to a chain per service port,
/// which picks an endpoint chain round-robin (`numgen inc`), or by client IP when the service
/// asks for affinity. Masquerade is marked where replies would otherwise not come back
/// through this node: a pod reaching itself (hairpin), sources outside the cluster network,
/// the node's own loopback, and external traffic under the Cluster policy. A service port
/// with no ready endpoint is rejected in the filter hooks, so a connection is refused rather
/// than left hanging.
public enum ProxyRules {
    public static let table = "shoal"
    static let masqueradeMark = "0x4000"

    public static func ruleset(_ s: ProxyState) -> String {
        let targets = serviceTargets(s)
        var out = "add table ip \(table)\ndelete table ip \(table)\n"
        out += "table ip \(table) {\n"
        out += """
            map service_ips { type ipv4_addr . inet_proto . inet_service : verdict; }
            map service_nodeports { type inet_proto . inet_service : verdict; }
            map no_endpoint_services { type ipv4_addr . inet_proto . inet_service : verdict; }
            map no_endpoint_nodeports { type inet_proto . inet_service : verdict; }
            chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; jump hostports; }
            chain output { type nat hook output priority -100; policy accept; jump services; jump hostports; }
            chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                meta mark & \(masqueradeMark) == \(masqueradeMark) meta mark set meta mark ^ \(masqueradeMark) masquerade
                ip saddr \(s.podCIDR) ip daddr != \(s.clusterCIDR) oifname != "\(s.bridge)" masquerade comment "pods to the outside"
            }
            chain filter_forward { type filter hook forward priority -110; policy accept; ct state new jump endpoints_check; }
            chain filter_output { type filter hook output priority -110; policy accept; ct state new jump endpoints_check; }
            chain filter_input { type filter hook input priority -110; policy accept; ct state new jump endpoints_check; }
            chain endpoints_check {
                ip daddr . meta l4proto . th dport vmap @no_endpoint_services
                fib daddr type local meta l4proto . th dport vmap @no_endpoint_nodeports
            }
            chain reject_chain { reject; }
            chain services {
                ip daddr . meta l4proto . th dport vmap @service_ips
                fib daddr type local meta l4proto . th dport vmap @service_nodeports
            }
            chain mark_for_masquerade { meta mark set meta mark | \(masqueradeMark); }

        """
        out += hostPortChains(s.hostPorts)
        var serviceIPs: [String] = [], nodePorts: [String] = [], noEndpointIPs: [String] = [], noEndpointPorts: [String] = []
        for t in targets {
            let id = chainID(t.key + "/" + t.proto)
            if t.endpoints.isEmpty {
                for ip in t.clusterIPs + t.externalIPs { noEndpointIPs.append("\(ip) . \(t.proto) . \(t.port) : goto reject_chain") }
                if let np = t.nodePort { noEndpointPorts.append("\(t.proto) . \(np) : goto reject_chain") }
                continue
            }
            out += serviceChains(t, id: id, podCIDR: s.clusterCIDR)
            for ip in t.clusterIPs { serviceIPs.append("\(ip) . \(t.proto) . \(t.port) : goto svc_\(id)") }
            for ip in t.externalIPs { serviceIPs.append("\(ip) . \(t.proto) . \(t.port) : goto ext_\(id)") }
            if let np = t.nodePort { nodePorts.append("\(t.proto) . \(np) : goto ext_\(id)") }
        }
        out += "}\n"
        out += elements("service_ips", serviceIPs) + elements("service_nodeports", nodePorts)
        out += elements("no_endpoint_services", noEndpointIPs) + elements("no_endpoint_nodeports", noEndpointPorts)
        return out
    }

    /// The table's removal (the agent's --cleanup), harmless when it is not there.
    public static var removal: String { "add table ip \(table)\ndelete table ip \(table)\n" }

    static func elements(_ map: String, _ items: [String]) -> String {
        items.isEmpty ? "" : "add element ip \(table) \(map) { \(items.joined(separator: ", ")) }\n"
    }

    static func serviceChains(_ t: ServiceTarget, id: String, podCIDR: IPv4CIDR) -> String {
        var out = ""
        let eps = t.endpoints
        let comment = "comment \"\(t.key)/\(t.proto)\""
        func pick(_ chain: String, _ list: [(Int, ServiceTarget.Destination)]) -> String {
            var body = ""
            if t.affinityTimeout != nil {
                for (i, _) in list { body += "        ip saddr @aff_\(id)_\(i) goto ep_\(id)_\(i)\n" }
            }
            let map = list.enumerated().map { "\($0.offset) : goto ep_\(id)_\($0.element.0)" }.joined(separator: ", ")
            body += "        numgen inc mod \(list.count) vmap { \(map) } \(comment)\n"
            return "    chain \(chain) {\n" + body + "    }\n"
        }
        let all = Array(eps.enumerated())
        // Traffic to the cluster IP from outside the cluster network (another host) is
        // masqueraded so the reply comes back through this node.
        out += "    chain svc_\(id) {\n        ip saddr != \(podCIDR) jump mark_for_masquerade\n        goto pick_\(id)\n    }\n"
        out += pick("pick_\(id)", all)
        let local = all.filter { $0.1.local }
        var ext = "    chain ext_\(id) {\n"
        if t.externalLocal {
            // Local policy keeps the client's address and uses this node's endpoints only; the
            // node's own traffic may still go anywhere, as with kube-proxy.
            ext += "        fib saddr type local jump mark_for_masquerade\n        fib saddr type local goto svc_\(id)\n"
            ext += local.isEmpty ? "        drop \(comment)\n" : "        goto local_\(id)\n"
        } else {
            ext += "        jump mark_for_masquerade\n        goto svc_\(id)\n"
        }
        out += ext + "    }\n"
        if t.externalLocal && !local.isEmpty { out += pick("local_\(id)", local) }
        for (i, ep) in all {
            if let timeout = t.affinityTimeout {
                out += "    set aff_\(id)_\(i) { type ipv4_addr; flags dynamic,timeout; timeout \(timeout)s; }\n"
            }
            out += "    chain ep_\(id)_\(i) {\n        ip saddr \(ep.ip) jump mark_for_masquerade\n"
            if t.affinityTimeout != nil { out += "        update @aff_\(id)_\(i) { ip saddr }\n" }
            out += "        meta l4proto \(t.proto) dnat to \(ep.ip):\(ep.port)\n    }\n"
        }
        return out
    }

    static func hostPortChains(_ ports: [HostPort]) -> String {
        var chain = "    chain hostports {\n"
        var targets = ""
        for (i, p) in ports.sorted(by: { ($0.hostPort, $0.proto, $0.podIP) < ($1.hostPort, $1.proto, $1.podIP) }).enumerated() {
            let match = (p.hostIP ?? "").isEmpty || p.hostIP == "0.0.0.0" ? "fib daddr type local" : "ip daddr \(p.hostIP!)"
            chain += "        \(match) meta l4proto \(p.proto) th dport \(p.hostPort) goto hostport_\(i)\n"
            targets += "    chain hostport_\(i) {\n        fib saddr type local jump mark_for_masquerade\n"
            targets += "        ip saddr \(p.podIP) jump mark_for_masquerade\n"
            targets += "        meta l4proto \(p.proto) dnat to \(p.podIP):\(p.containerPort)\n    }\n"
        }
        return chain + "    }\n" + targets
    }

    /// Service ports with their ready endpoints, from the slices of each service.
    static func serviceTargets(_ s: ProxyState) -> [ServiceTarget] {
        var slicesByService: [String: [EndpointSlice]] = [:]
        for slice in s.slices {
            guard let owner = slice.metadata.labels?[EndpointSlice.serviceNameLabel] else { continue }
            slicesByService["\(slice.metadata.namespace ?? "default")/\(owner)", default: []].append(slice)
        }
        var out: [ServiceTarget] = []
        for svc in s.services.sorted(by: { key($0) < key($1) }) {
            let spec = svc.spec
            guard spec.type != .externalName, !spec.isHeadless else { continue }
            let clusterIPs = (spec.clusterIPs ?? spec.clusterIP.map { [$0] } ?? []).filter { IPv4Address($0) != nil }
            let external = ((svc.status?.loadBalancer?.ingress ?? []).compactMap(\.ip) + (spec.externalIPs ?? [])).filter { IPv4Address($0) != nil }
            let affinity = spec.sessionAffinity == "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : nil
            for port in spec.ports ?? [] {
                let proto = (port.protocol ?? "TCP").lowercased()
                guard proto == "tcp" || proto == "udp" else { continue }
                var eps = Set<ServiceTarget.Destination>()
                for slice in slicesByService[key(svc)] ?? [] where slice.addressType == "IPv4" {
                    guard let sp = slice.ports?.first(where: { ($0.name ?? "") == (port.name ?? "") && ($0.protocol ?? "TCP").lowercased() == proto }),
                          let target = sp.port else { continue }
                    for ep in slice.endpoints ?? [] where ep.conditions?.ready != false {
                        for ip in ep.addresses where IPv4Address(ip) != nil {
                            eps.insert(.init(ip: ip, port: target, local: ep.nodeName == s.nodeName))
                        }
                    }
                }
                out.append(ServiceTarget(
                    key: "\(key(svc)):\(port.name ?? String(port.port))", proto: proto, clusterIPs: clusterIPs, port: port.port,
                    nodePort: spec.wantsNodePorts ? port.nodePort : nil, externalIPs: external, endpoints: eps.sorted(),
                    affinityTimeout: affinity, externalLocal: spec.externalTrafficPolicy == "Local"))
            }
        }
        return out
    }

    static func key(_ s: Service) -> String { "\(s.metadata.namespace ?? "default")/\(s.metadata.name ?? "")" }

    /// A short stable name for a service port's chains (FNV-1a), as kube-proxy hashes its own.
    static func chainID(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
