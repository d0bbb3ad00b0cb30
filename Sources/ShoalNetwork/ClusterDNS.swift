import ShoalAPI

/// The cluster's names, as CoreDNS's kubernetes plugin serves them
/// (https://github.com/kubernetes/dns/blob/master/docs/specification.md):
/// `SVC.NS.svc.DOMAIN` is the cluster IP (A) or, for a headless service, the ready endpoints;
/// `_PORT._PROTO.SVC.NS.svc.DOMAIN` is an SRV record per named port; an endpoint's hostname is
/// `HOST.SVC.NS.svc.DOMAIN`; `A-B-C-D.NS.pod.DOMAIN` is a pod address; ExternalName is a CNAME.
public struct ClusterDNS: Sendable {
    public let domain: String
    public let ttl: UInt32 = 5
    /// By owner name: the records of each name that exists.
    private(set) var records: [String: [DNSMessage.Record]] = [:]

    public init(domain: String = "cluster.local", services: [Service], slices: [EndpointSlice]) {
        self.domain = domain
        var slicesByService: [String: [EndpointSlice]] = [:]
        for s in slices {
            guard let owner = s.metadata.labels?[EndpointSlice.serviceNameLabel] else { continue }
            slicesByService["\(s.metadata.namespace ?? "default")/\(owner)", default: []].append(s)
        }
        for svc in services {
            let ns = svc.metadata.namespace ?? "default", name = svc.metadata.name ?? ""
            let fqdn = "\(name).\(ns).svc.\(domain)".lowercased()
            let spec = svc.spec
            if spec.type == .externalName, let target = spec.externalName {
                add(.cname(fqdn, target, ttl: ttl))
                continue
            }
            let ready = (slicesByService["\(ns)/\(name)"] ?? []).flatMap { slice in
                (slice.endpoints ?? []).filter { $0.conditions?.ready != false || spec.publishNotReadyAddresses == true }
            }
            if spec.isHeadless {
                for ep in ready {
                    for ip in ep.addresses {
                        guard let bytes = IPv4Bytes(ip) else { continue }
                        add(.a(fqdn, bytes, ttl: ttl))
                        let host = (ep.hostname ?? ip.replacingDots()).lowercased()
                        add(.a("\(host).\(fqdn)", bytes, ttl: ttl))
                    }
                }
            } else if let ip = spec.clusterIP.flatMap(IPv4Bytes.init) {
                add(.a(fqdn, ip, ttl: ttl))
            }
            for port in spec.ports ?? [] {
                guard let portName = port.name, !portName.isEmpty else { continue }
                let srvName = "_\(portName)._\((port.protocol ?? "TCP").lowercased()).\(fqdn)".lowercased()
                if spec.isHeadless {
                    for ep in ready {
                        for ip in ep.addresses where IPv4Bytes(ip) != nil {
                            let host = (ep.hostname ?? ip.replacingDots()).lowercased()
                            add(.srv(srvName, port: UInt16(clamping: port.port), target: "\(host).\(fqdn)", ttl: ttl))
                        }
                    }
                } else {
                    add(.srv(srvName, port: UInt16(clamping: port.port), target: fqdn, ttl: ttl))
                }
            }
        }
    }

    private mutating func add(_ r: DNSMessage.Record) { records[r.name, default: []].append(r) }

    /// Whether the name is ours to answer (inside the cluster domain).
    public func owns(_ name: String) -> Bool { name == domain || name.hasSuffix("." + domain) }

    /// The answer for a name in the cluster domain: the records of that type (with a CNAME
    /// answering any type), NODATA when the name exists without one, NXDOMAIN when it does not.
    public func answer(_ q: DNSMessage.Question) -> (rcode: UInt16, records: [DNSMessage.Record]) {
        if let pod = podRecord(q.name) {
            return (DNSMessage.rcodeNoError, q.type == DNSType.a || q.type == DNSType.any ? [pod] : [])
        }
        guard let all = records[q.name] else {
            // A name with names below it (svc.DOMAIN, NS.svc.DOMAIN) exists, without records.
            let isParent = q.name == domain || records.keys.contains { $0.hasSuffix("." + q.name) }
            return (isParent ? DNSMessage.rcodeNoError : DNSMessage.rcodeNameError, [])
        }
        let matching = all.filter { $0.type == q.type || q.type == DNSType.any || $0.type == DNSType.cname }
        return (DNSMessage.rcodeNoError, matching)
    }

    /// `A-B-C-D.NS.pod.DOMAIN`.
    func podRecord(_ name: String) -> DNSMessage.Record? {
        let suffix = ".pod." + domain
        guard name.hasSuffix(suffix) else { return nil }
        let labels = name.dropLast(suffix.count).split(separator: ".")
        guard labels.count == 2, let ip = IPv4Bytes(labels[0].replacingOccurrences(of: "-", with: ".")) else { return nil }
        return .a(name, ip, ttl: ttl)
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "-" : $0 }) }
}

extension Substring {
    func replacingOccurrences(of a: Character, with b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
