import ShoalAPI

/// ConfigMaps and Secrets: typed, validated in the API server's words, immutable once
/// `immutable` is set; a Secret's stringData is folded into data.
struct ConfigMapStrategy: ResourceStrategy {
    let resource = Resources.configMaps

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        let c = try decodeTyped(ConfigMap.self, obj, kind: "ConfigMap", version: "v1", strict: strict)
        let errs = ConfigValidation.validate(c)
        if !errs.isEmpty { throw APIError.invalid(resource, c.metadata.name ?? "", errs) }
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        try prepareCreate(&obj, strict: strict)
        let errs = ConfigValidation.validateImmutable(newData: obj["data"], oldData: old["data"], newImmutable: obj["immutable"] == .bool(true) ? true : nil,
                                                      oldImmutable: old["immutable"] == .bool(true) ? true : nil)
            + ConfigValidation.validateImmutable(newData: obj["binaryData"], oldData: old["binaryData"], newImmutable: true,
                                                 oldImmutable: old["immutable"] == .bool(true) ? true : nil).filter { $0.field != "immutable" }
        if !errs.isEmpty { throw APIError.invalid(resource, obj["metadata"]?["name"]?.stringValue ?? "", errs) }
    }
}

struct SecretStrategy: ResourceStrategy {
    let resource = Resources.secrets

    func prepare(_ obj: inout JSONValue, strict: Bool) throws(APIError) -> Secret {
        var s = try decodeTyped(Secret.self, obj, kind: "Secret", version: "v1", strict: strict)
        ConfigValidation.applyDefaults(&s)
        let errs = ConfigValidation.validate(s)
        if !errs.isEmpty { throw APIError.invalid(resource, s.metadata.name ?? "", errs) }
        obj["data"] = s.data.map { .object($0.mapValues(JSONValue.string)) } ?? nil
        obj["stringData"] = nil
        obj["type"] = .string(s.type ?? "Opaque")
        return s
    }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) { _ = try prepare(&obj, strict: strict) }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        _ = try prepare(&obj, strict: strict)
        var errs = ConfigValidation.validateImmutable(newData: obj["data"], oldData: old["data"], newImmutable: obj["immutable"] == .bool(true) ? true : nil,
                                                      oldImmutable: old["immutable"] == .bool(true) ? true : nil)
        if obj["type"] != old["type"] { errs.append(.invalid(FieldPath("type"), .string(obj["type"]?.stringValue ?? ""), "field is immutable")) }
        if !errs.isEmpty { throw APIError.invalid(resource, obj["metadata"]?["name"]?.stringValue ?? "", errs) }
    }
}
