/// The columns `kubectl get svc,endpoints,endpointslices` prints, as the API server's table
/// printers compute them (printService, formatEndpoints, formatDiscoveryPorts/Endpoints).
public struct ServiceRow: Sendable, Equatable {
    public var type: String
    public var clusterIP: String
    public var externalIP: String
    public var ports: String
    public var selector: String
}

public enum ServicePrinter {
    /// How many addresses a cell lists before "+ N more...".
    static let shown = 3

    public static func row(_ s: Service) -> ServiceRow {
        let type = s.spec.type ?? .clusterIP
        var clusterIP = s.spec.clusterIPs?.joined(separator: ",") ?? s.spec.clusterIP ?? ""
        if clusterIP.isEmpty { clusterIP = "<none>" }
        let ports = (s.spec.ports ?? []).map { p -> String in
            let proto = p.protocol ?? "TCP"
            if let n = p.nodePort, n != 0 { return "\(p.port):\(n)/\(proto)" }
            return "\(p.port)/\(proto)"
        }
        let selector = (s.spec.selector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return ServiceRow(type: type.rawValue, clusterIP: clusterIP, externalIP: externalIP(s),
                          ports: ports.isEmpty ? "<none>" : ports.joined(separator: ","),
                          selector: selector.isEmpty ? "<none>" : selector)
    }

    static func externalIP(_ s: Service) -> String {
        let external = s.spec.externalIPs ?? []
        switch s.spec.type ?? .clusterIP {
        case .clusterIP, .nodePort:
            return external.isEmpty ? "<none>" : external.joined(separator: ",")
        case .loadBalancer:
            let ingress = (s.status?.loadBalancer?.ingress ?? []).compactMap { i -> String? in
                if let ip = i.ip, !ip.isEmpty { return ip }
                if let h = i.hostname, !h.isEmpty { return h }
                return nil
            }
            let all = ingress + external
            return all.isEmpty ? "<pending>" : all.joined(separator: ",")
        case .externalName:
            return s.spec.externalName ?? ""
        default:
            return "<unknown>"
        }
    }

    /// `10.42.0.5:8080,10.42.0.6:8080 + 1 more...`: ready addresses by port, `<none>` when empty.
    public static func endpoints(_ subsets: [EndpointSubset]) -> String {
        var list: [String] = []
        var count = 0
        for subset in subsets {
            let addresses = subset.addresses ?? []
            let ports = subset.ports ?? []
            if ports.isEmpty {
                for a in addresses {
                    if list.count < shown { list.append(a.ip) }
                    count += 1
                }
            } else {
                for p in ports {
                    for a in addresses {
                        if list.count < shown { list.append("\(hostPort(a.ip, p.port ?? 0))") }
                        count += 1
                    }
                }
            }
        }
        if count == 0 { return "<none>" }
        return list.joined(separator: ",") + (count > shown ? " + \(count - shown) more..." : "")
    }

    static func hostPort(_ ip: String, _ port: Int32) -> String {
        ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    public static func slicePorts(_ ports: [EndpointPort]) -> String {
        if ports.isEmpty { return "<unset>" }
        let listed = ports.prefix(shown).map { $0.port.map(String.init) ?? "<unset>" }.joined(separator: ",")
        return listed + (ports.count > shown ? " + \(ports.count - shown) more..." : "")
    }

    public static func sliceEndpoints(_ endpoints: [Endpoint]) -> String {
        let addresses = endpoints.flatMap(\.addresses)
        if addresses.isEmpty { return "<unset>" }
        return addresses.prefix(shown).joined(separator: ",") + (addresses.count > shown ? " + \(addresses.count - shown) more..." : "")
    }
}
