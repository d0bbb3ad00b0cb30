import ShoalAPI

/// Decodes a stored or sent object as its typed form, with the API server's message for a body
/// that does not fit the type.
func decodeTyped<T: Decodable>(_ type: T.Type, _ obj: JSONValue, kind: String, version: String, strict: Bool) throws(APIError) -> T {
    do {
        return try ManifestDecoder.decode(T.self, from: ManifestDocument(value: obj), rejectUnknownFields: strict)
    } catch {
        let detail = (strict ? "strict decoding error: " : "") + error.messages.joined(separator: ", ")
        throw APIError.badRequest("\(kind) in version \"\(version)\" cannot be handled as a \(kind): \(detail)")
    }
}

func encodeTyped<T: Encodable>(_ value: T) throws(APIError) -> JSONValue {
    do { return try JSONValue.encoding(value) } catch { throw APIError.internalError("encoding \(T.self): \(error)") }
}

/// Services: defaults and validation of ShoalAPI, then a cluster IP and node ports from the
/// allocator. An update that leaves out what was allocated keeps it, as kube-apiserver does
/// for `kubectl apply` and `replace` of a manifest that never named them.
struct ServiceStrategy: ResourceStrategy {
    let resource = Resources.services
    let allocator: ServiceAllocator

    func decode(_ obj: JSONValue, strict: Bool) throws(APIError) -> Service {
        try decodeTyped(Service.self, obj, kind: "Service", version: "v1", strict: strict)
    }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        var s = try decode(obj, strict: strict)
        ServiceValidation.applyDefaults(&s)
        let errs = ServiceValidation.validate(s)
        if !errs.isEmpty { throw APIError.invalid(resource, s.metadata.name ?? "", errs) }
        s.status = ServiceStatus(loadBalancer: LoadBalancerStatus())
        try allocator.assign(&s)
        obj = try encodeTyped(s)
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        splitStatus(&obj, old: old, subresource: subresource)
        var s = try decode(obj, strict: strict)
        if subresource == "status" {
            obj = try encodeTyped(s)
            return
        }
        let previous = try decode(old, strict: false)
        Self.keepAllocations(&s, from: previous)
        ServiceValidation.applyDefaults(&s)
        let errs = ServiceValidation.validateUpdate(s, old: previous)
        if !errs.isEmpty { throw APIError.invalid(resource, s.metadata.name ?? "", errs) }
        try allocator.assign(&s)
        obj = try encodeTyped(s)
    }

    /// patchAllocatedValues and dropTypeDependentFields: an omitted cluster IP or node port is
    /// the one already held; a type that no longer has node ports (or an address) lets them go.
    static func keepAllocations(_ s: inout Service, from old: Service) {
        let type = s.spec.type ?? .clusterIP
        if type != .externalName, (s.spec.clusterIP ?? "").isEmpty, old.spec.type != .externalName {
            s.spec.clusterIP = old.spec.clusterIP
            s.spec.clusterIPs = old.spec.clusterIPs
        }
        if type == .externalName, s.spec.clusterIP == old.spec.clusterIP {
            s.spec.clusterIP = nil
            s.spec.clusterIPs = nil
        }
        let oldPorts = old.spec.ports ?? []
        s.spec.ports = s.spec.ports?.map { p in
            var p = p
            let match = oldPorts.first { $0.port == p.port && ($0.protocol ?? "TCP") == (p.protocol ?? "TCP") }
            if s.spec.wantsNodePorts, (p.nodePort ?? 0) == 0, let held = match?.nodePort { p.nodePort = held }
            if !s.spec.wantsNodePorts, let n = p.nodePort, n == match?.nodePort { p.nodePort = nil }
            return p
        }
    }

    func settle(old: JSONValue?, new: JSONValue?, committed: Bool) {
        let oldService = old.flatMap { try? $0.decode(Service.self) }
        let newService = new.flatMap { try? $0.decode(Service.self) }
        if committed {
            if let oldService { allocator.release(oldService, keeping: newService) }
        } else if let newService {
            allocator.release(newService, keeping: oldService)
        }
    }
}

/// EndpointSlices: typed, with the address type checked (the endpoint slice controller writes
/// them; users may write their own for selector-less services).
struct EndpointSliceStrategy: ResourceStrategy {
    let resource = Resources.endpointSlices
    static let addressTypes = ["FQDN", "IPv4", "IPv6"]

    func check(_ obj: JSONValue, strict: Bool) throws(APIError) {
        try validateMeta(obj)
        let slice = try decodeTyped(EndpointSlice.self, obj, kind: "EndpointSlice", version: "v1", strict: strict)
        var errs: [FieldError] = []
        if !Self.addressTypes.contains(slice.addressType) {
            errs.append(.notSupported(FieldPath("addressType"), .string(slice.addressType), Self.addressTypes))
        }
        for (i, e) in (slice.endpoints ?? []).enumerated() {
            let path = FieldPath("endpoints").index(i).child("addresses")
            if e.addresses.isEmpty || e.addresses.count > 100 {
                errs.append(.invalid(path, .omitted, "must contain at least 1 address but no more than 100"))
            }
        }
        if !errs.isEmpty { throw APIError.invalid(resource, slice.metadata.name ?? "", errs) }
    }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) { try check(obj, strict: strict) }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        try check(obj, strict: strict)
    }
}

/// core/v1 Endpoints: typed, nothing more.
struct EndpointsStrategy: ResourceStrategy {
    let resource = Resources.endpoints

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        try validateMeta(obj)
        _ = try decodeTyped(Endpoints.self, obj, kind: "Endpoints", version: "v1", strict: strict)
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        try prepareCreate(&obj, strict: strict)
    }
}
