import ShoalAPI

/// Which external addresses each LoadBalancer service gets (pure, for the controller).
enum LoadBalancerAllocator {
    static func key(_ s: Service) -> String { "\(s.metadata.namespace ?? "default")/\(s.metadata.name ?? "")" }

    /// By service key. From a pool, each service keeps the address it has while it is still in
    /// the pool and not another's, else gets `spec.loadBalancerIP` if free, else the lowest free
    /// one; with no pool, every service gets the nodes' addresses. Services with a
    /// loadBalancerClass belong to another implementation and get nothing from us.
    static func ingress(_ services: [Service], pool: IPv4CIDR?, nodeIPs: [String]) -> [String: [String]] {
        let ours = services.filter { $0.spec.type == .loadBalancer && ($0.spec.loadBalancerClass ?? "").isEmpty }
            .sorted { key($0) < key($1) }
        guard let pool else { return Dictionary(uniqueKeysWithValues: ours.map { (key($0), nodeIPs) }) }
        var out: [String: [String]] = [:]
        var used = Set<String>()
        func take(_ ip: String?, for s: Service) -> Bool {
            guard let ip, let a = IPv4Address(ip), pool.contains(a), !used.contains(ip) else { return false }
            used.insert(ip)
            out[key(s)] = [ip]
            return true
        }
        var pending: [Service] = []
        for s in ours where !take(s.status?.loadBalancer?.ingress?.first?.ip, for: s) { pending.append(s) }
        var next: UInt32 = pool.size > 2 ? 1 : 0
        for s in pending where !take(s.spec.loadBalancerIP, for: s) {
            while UInt64(next) < pool.size {
                let candidate = pool.address(next).description
                next += 1
                // The network and broadcast addresses of a real subnet are no one's.
                if pool.size > 2 && UInt64(next) == pool.size { break }
                if take(candidate, for: s) { break }
            }
        }
        return out
    }
}
