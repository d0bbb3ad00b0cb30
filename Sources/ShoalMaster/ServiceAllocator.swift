import ShoalAPI
import ShoalOS

/// Cluster IPs from the service range and node ports from their range, as kube-apiserver's
/// allocators hand them out. The stored services are the truth: the sets here are loaded from
/// them when the master starts and then follow each create, update and delete
/// (`ServiceStrategy.settle`), so a failed write gives back what it took.
final class ServiceAllocator: Sendable {
    let serviceCIDR: IPv4CIDR
    let nodePorts: ClosedRange<Int32>
    /// Owner ("namespace/name") of each address and port in use.
    private let held = Locked(Holdings())

    struct Holdings: Sendable {
        var ips: [IPv4Address: String] = [:]
        var ports: [Int32: String] = [:]
    }

    init(serviceCIDR: IPv4CIDR, nodePorts: ClosedRange<Int32>) {
        self.serviceCIDR = serviceCIDR
        self.nodePorts = nodePorts
    }

    /// The API server's own service address: the first of the range.
    var kubernetesServiceIP: IPv4Address { serviceCIDR.address(1) }

    static func owner(_ s: Service) -> String { "\(s.metadata.namespace ?? "default")/\(s.metadata.name ?? "")" }

    /// What a stored service holds.
    static func holdings(_ s: Service) -> (ips: [IPv4Address], ports: [Int32]) {
        let ips = (s.spec.clusterIPs ?? s.spec.clusterIP.map { [$0] } ?? []).compactMap(IPv4Address.init)
        var ports = (s.spec.ports ?? []).compactMap { $0.nodePort }.filter { $0 != 0 }
        if let h = s.spec.healthCheckNodePort, h != 0 { ports.append(h) }
        return (ips, ports)
    }

    func load(_ services: [Service]) {
        held.withLock { h in
            for s in services {
                let owner = Self.owner(s), (ips, ports) = Self.holdings(s)
                for ip in ips { h.ips[ip] = owner }
                for p in ports { h.ports[p] = owner }
            }
        }
    }

    /// Fills in the service's cluster IP and node ports, taking what it asks for if free and in
    /// range. All or nothing: on error nothing new is held.
    func assign(_ s: inout Service) throws(APIError) {
        let owner = Self.owner(s), name = s.metadata.name ?? ""
        let spec = FieldPath("spec")
        try held.withLock { (h) throws(APIError) in
            var trial = h
            if s.spec.type != .externalName && !s.spec.isHeadless {
                if let requested = s.spec.clusterIP, !requested.isEmpty {
                    let fail = { (reason: String) in
                        APIError.invalid(Resources.services, name,
                                         [.invalid(spec.child("clusterIPs"), .raw("[]string{\(goQuote(requested))}"), "failed to allocate IP \(requested): \(reason)")])
                    }
                    guard let ip = IPv4Address(requested) else { throw fail("not an IPv4 address: this cluster is IPv4 only") }
                    guard serviceCIDR.contains(ip), ip != serviceCIDR.network, ip != serviceCIDR.last else {
                        throw fail("the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(serviceCIDR)")
                    }
                    if let current = trial.ips[ip], current != owner { throw fail("provided IP is already allocated") }
                    trial.ips[ip] = owner
                } else {
                    guard let ip = freeIP(trial.ips) else { throw APIError.internalError("failed to allocate a serviceIP: range is full") }
                    trial.ips[ip] = owner
                    s.spec.clusterIP = ip.description
                }
                s.spec.clusterIPs = [s.spec.clusterIP ?? ""]
            }
            if s.spec.wantsNodePorts, var ports = s.spec.ports {
                var mine = Set<Int32>()
                for i in ports.indices {
                    let path = spec.child("ports").index(i).child("nodePort")
                    if let requested = ports[i].nodePort, requested != 0 {
                        guard nodePorts.contains(requested) else {
                            throw APIError.invalid(Resources.services, name, [.invalid(path, .integer(requested),
                                "provided port is not in the valid range. The range of valid ports is \(nodePorts.lowerBound)-\(nodePorts.upperBound)")])
                        }
                        if let current = trial.ports[requested], current != owner || mine.contains(requested) && !Self.differentProtocols(ports, requested) {
                            throw APIError.invalid(Resources.services, name, [.invalid(path, .integer(requested), "provided port is already allocated")])
                        }
                        trial.ports[requested] = owner
                        mine.insert(requested)
                    } else {
                        guard let p = freePort(trial.ports) else {
                            throw APIError.internalError("failed to allocate a nodePort: range is full")
                        }
                        trial.ports[p] = owner
                        mine.insert(p)
                        ports[i].nodePort = p
                    }
                }
                s.spec.ports = ports
            }
            h = trial
        }
    }

    /// A TCP and a UDP port of one service may share a node port, as they may share a port.
    static func differentProtocols(_ ports: [ServicePort], _ nodePort: Int32) -> Bool {
        let protocols = ports.filter { $0.nodePort == nodePort }.map { $0.protocol ?? "TCP" }
        return Set(protocols).count == protocols.count
    }

    /// Gives back what `service` holds and `keep` does not.
    func release(_ service: Service, keeping keep: Service?) {
        let owner = Self.owner(service), (ips, ports) = Self.holdings(service)
        let kept: (ips: [IPv4Address], ports: [Int32]) = keep.map(Self.holdings) ?? ([], [])
        held.withLock { h in
            for ip in ips where !kept.ips.contains(ip) && h.ips[ip] == owner { h.ips[ip] = nil }
            for p in ports where !kept.ports.contains(p) && h.ports[p] == owner { h.ports[p] = nil }
        }
    }

    /// Random, from the upper part of the range first: the lower part is where users pick
    /// addresses by hand (kube-apiserver's static band, KEP-3070).
    private func freeIP(_ used: [IPv4Address: String]) -> IPv4Address? {
        let size = UInt32(min(serviceCIDR.size, 1 << 24))
        guard size > 2 else { return nil }
        let usable = 1...(size - 2)
        let band = UInt32(min(max(16, Int(size / 16)), 256))
        let upper = min(band + 1, usable.upperBound)...usable.upperBound
        for range in [upper, usable] {
            if let ip = randomFree(in: range, { used[serviceCIDR.address($0)] == nil }) { return serviceCIDR.address(ip) }
        }
        return nil
    }

    private func freePort(_ used: [Int32: String]) -> Int32? {
        let span = UInt32(nodePorts.upperBound - nodePorts.lowerBound)
        let band = UInt32(min(max(16, Int(span / 32)), 128))
        let upper = min(band, span)...span
        for range in [upper, 0...span] {
            if let offset = randomFree(in: range, { used[nodePorts.lowerBound + Int32($0)] == nil }) {
                return nodePorts.lowerBound + Int32(offset)
            }
        }
        return nil
    }

    /// A random start, then a walk that wraps: finds a free slot whenever there is one.
    private func randomFree(in range: ClosedRange<UInt32>, _ free: (UInt32) -> Bool) -> UInt32? {
        let count = UInt64(range.upperBound - range.lowerBound) + 1
        let start = UInt64.random(in: 0..<count)
        for step in 0..<count {
            let candidate = range.lowerBound + UInt32((start + step) % count)
            if free(candidate) { return candidate }
        }
        return nil
    }
}
