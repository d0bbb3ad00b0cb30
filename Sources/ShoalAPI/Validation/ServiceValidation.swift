/// The API server's defaults and validation for core/v1 Service (pkg/apis/core/validation's
/// ValidateService), in its words. Address and port allocation is the master's; it reports its
/// own failures on the same field paths.
public enum ServiceValidation {
    public static let protocols = ["SCTP", "TCP", "UDP"]

    /// Defaults every service gets before validation (SetDefaults_Service).
    public static func applyDefaults(_ s: inout Service) {
        if s.spec.type == nil { s.spec.type = .clusterIP }
        if s.spec.sessionAffinity == nil { s.spec.sessionAffinity = "None" }
        if s.spec.sessionAffinity == "ClientIP", s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == nil {
            s.spec.sessionAffinityConfig = SessionAffinityConfig(clientIP: ClientIPConfig(timeoutSeconds: 10800))
        }
        guard s.spec.type != .externalName else { return }
        if s.spec.internalTrafficPolicy == nil { s.spec.internalTrafficPolicy = "Cluster" }
        if s.spec.wantsNodePorts || s.spec.type == .loadBalancer, s.spec.externalTrafficPolicy == nil {
            s.spec.externalTrafficPolicy = "Cluster"
        }
        if s.spec.type == .loadBalancer, s.spec.allocateLoadBalancerNodePorts == nil { s.spec.allocateLoadBalancerNodePorts = true }
        s.spec.ports = s.spec.ports?.map { p in
            var p = p
            if p.protocol == nil { p.protocol = "TCP" }
            if p.targetPort == nil || p.targetPort == .int(0) || p.targetPort == .string("") { p.targetPort = .int(p.port) }
            return p
        }
        if s.spec.clusterIPs == nil, let ip = s.spec.clusterIP, !ip.isEmpty { s.spec.clusterIPs = [ip] }
        if s.spec.ipFamilies == nil { s.spec.ipFamilies = ["IPv4"] }
        if s.spec.ipFamilyPolicy == nil { s.spec.ipFamilyPolicy = "SingleStack" }
        if s.status == nil { s.status = ServiceStatus(loadBalancer: LoadBalancerStatus()) }
    }

    public static func validate(_ s: Service) -> [FieldError] {
        let spec = FieldPath("spec")
        var errs = MetaValidation.validate(s.metadata, namespaced: true)
        if let name = s.metadata.name, !name.isEmpty {
            // Service names are DNS-1035 labels: they become DNS names and environment variables.
            errs.removeAll { $0.field == "metadata.name" }
            errs += ValidationRules.isDNS1035Label(name).map { .invalid(FieldPath("metadata", "name"), .string(name), $0) }
        }
        let type = s.spec.type ?? .clusterIP
        guard ServiceType.all.contains(type) else {
            return errs + [.notSupported(spec.child("type"), .string(type.rawValue), ServiceType.all.map(\.rawValue))]
        }
        let ports = s.spec.ports ?? []
        if type == .externalName {
            if (s.spec.externalName ?? "").isEmpty {
                errs.append(.required(spec.child("externalName")))
            } else {
                errs += ValidationRules.isDNS1123Subdomain(s.spec.externalName ?? "").map { .invalid(spec.child("externalName"), .string(s.spec.externalName ?? ""), $0) }
            }
        } else if ports.isEmpty && !s.spec.isHeadless {
            errs.append(.required(spec.child("ports")))
        }
        var names = Set<String>()
        var seen = Set<String>()
        for (i, port) in ports.enumerated() {
            let p = spec.child("ports").index(i)
            let name = port.name ?? ""
            if ports.count > 1 && name.isEmpty {
                errs.append(.required(p.child("name")))
            } else if !name.isEmpty {
                errs += ValidationRules.dns1123Label(name, p.child("name"))
                if !names.insert(name).inserted { errs.append(.duplicate(p.child("name"), .string(name))) }
            }
            errs += ValidationRules.isValidPortNum(Int64(port.port)).map { .invalid(p.child("port"), .integer(port.port), $0) }
            let proto = port.protocol ?? "TCP"
            if !protocols.contains(proto) {
                errs.append(.notSupported(p.child("protocol"), .string(proto), protocols))
            }
            if !seen.insert("\(port.port)/\(proto)").inserted {
                errs.append(.duplicate(p, .raw("core.ServicePort{Name:\(goQuote(name)), Protocol:\(goQuote(proto)), Port:\(port.port)}")))
            }
            switch port.targetPort {
            case .int(let n)?:
                errs += ValidationRules.isValidPortNum(Int64(n)).map { .invalid(p.child("targetPort"), .integer(n), $0) }
            case .string(let n)?:
                errs += ValidationRules.isValidPortName(n).map { .invalid(p.child("targetPort"), .string(n), $0) }
            case nil:
                break
            }
            if let node = port.nodePort, node != 0, !s.spec.wantsNodePorts {
                errs.append(.forbidden(p.child("nodePort"), "may not be used when `type` is '\(type.rawValue)'"))
            }
        }
        if let affinity = s.spec.sessionAffinity, !["ClientIP", "None"].contains(affinity) {
            errs.append(.notSupported(spec.child("sessionAffinity"), .string(affinity), ["ClientIP", "None"]))
        }
        if let t = s.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, !(1...86400).contains(t) {
            errs.append(.invalid(spec.child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), .integer(t), "must be greater than 0 and less than 86400"))
        }
        errs += ValidationRules.labels(s.spec.selector, spec.child("selector"))
        if let policy = s.spec.externalTrafficPolicy {
            if !s.spec.wantsNodePorts && type != .loadBalancer {
                errs.append(.invalid(spec.child("externalTrafficPolicy"), .string(policy), "may only be set for services with externally-accessible addresses"))
            } else if !["Cluster", "Local"].contains(policy) {
                errs.append(.notSupported(spec.child("externalTrafficPolicy"), .string(policy), ["Cluster", "Local"]))
            }
        }
        if let policy = s.spec.internalTrafficPolicy, !["Cluster", "Local"].contains(policy) {
            errs.append(.notSupported(spec.child("internalTrafficPolicy"), .string(policy), ["Cluster", "Local"]))
        }
        if let ip = s.spec.clusterIP, !ip.isEmpty, ip != Service.clusterIPNone, !ValidationRules.parsesAsIP(ip) {
            errs.append(.invalid(spec.child("clusterIPs").index(0), .string(ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
        }
        if s.spec.isHeadless && s.spec.wantsNodePorts {
            errs.append(.invalid(spec.child("clusterIPs").index(0), .string(Service.clusterIPNone), "may not be set to 'None' for \(type.rawValue) services"))
        }
        for (i, ip) in (s.spec.externalIPs ?? []).enumerated() where !ValidationRules.parsesAsIP(ip) {
            errs.append(.invalid(spec.child("externalIPs").index(i), .string(ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
        }
        return errs
    }

    /// What an update may not change (ValidateServiceUpdate): the allocated address.
    public static func validateUpdate(_ new: Service, old: Service) -> [FieldError] {
        var errs = validate(new)
        let oldIP = old.spec.clusterIP ?? "", newIP = new.spec.clusterIP ?? ""
        if !oldIP.isEmpty, newIP != oldIP, new.spec.type != .externalName, old.spec.type != .externalName {
            errs.append(.invalid(FieldPath("spec", "clusterIPs").index(0), .raw("[]string{\(goQuote(newIP))}"), "may not change once set"))
        }
        return errs
    }
}

extension ValidationRules {
    static let dns1035LabelErrMsg =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"

    /// `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    static func isDNS1035Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append(maxLenError(63)) }
        let b = Array(value.utf8)
        let lowerAlnum: (UInt8) -> Bool = { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
        let ok = !b.isEmpty && b[0] >= 0x61 && b[0] <= 0x7A && lowerAlnum(b[b.count - 1])
            && b.allSatisfy { lowerAlnum($0) || $0 == UInt8(ascii: "-") }
        if !ok { errs.append(regexError(dns1035LabelErrMsg, "[a-z]([-a-z0-9]*[a-z0-9])?", "my-name", "abc-123")) }
        return errs
    }
}
