import ShoalAPI

/// Request bodies in Kubernetes' protobuf encoding, turned into the JSON form every strategy
/// works on. kubectl's typed clients (`kubectl create service …`) send protobuf and have no
/// fallback, so the API server must read it; answers stay JSON, which those clients also take.
///
/// The wire format is protobuf's; the envelope is `k8s\0` followed by a runtime.Unknown
/// message whose TypeMeta names the kind and whose `raw` holds the object. Field numbers come
/// from k8s.io/api's generated.proto; a kind without a schema here is refused with 415.
enum Protobuf {
    static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    enum DecodeError: Error, CustomStringConvertible {
        case malformed(String)
        case unknownKind(String)

        var description: String {
            switch self {
            case .malformed(let why): return "the protobuf body is malformed: \(why)"
            case .unknownKind(let kind): return "objects of kind \(kind) cannot be sent as protobuf to this server; send JSON"
            }
        }
    }

    static func decode(_ body: [UInt8]) throws(DecodeError) -> JSONValue {
        guard body.count >= 4, Array(body.prefix(4)) == magic else { throw .malformed("no k8s envelope") }
        let unknown = try fields(body[4...])
        var apiVersion = "", kind = "", raw: ArraySlice<UInt8> = []
        for f in unknown {
            switch (f.number, f.value) {
            case (1, .bytes(let typeMeta)):
                for t in try fields(typeMeta) {
                    if case .bytes(let b) = t.value, t.number == 1 { apiVersion = String(decoding: b, as: UTF8.self) }
                    if case .bytes(let b) = t.value, t.number == 2 { kind = String(decoding: b, as: UTF8.self) }
                }
            case (2, .bytes(let b)): raw = b
            default: break
            }
        }
        guard let schema = Schemas.byKind[kind] else { throw .unknownKind(kind.isEmpty ? "(none)" : kind) }
        var obj = try message(raw, schema)
        obj["apiVersion"] = .string(apiVersion)
        obj["kind"] = .string(kind)
        return obj
    }

    // MARK: wire format

    enum WireValue {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed64(UInt64)
        case fixed32(UInt32)
    }

    static func fields(_ data: ArraySlice<UInt8>) throws(DecodeError) -> [(number: Int, value: WireValue)] {
        var out: [(Int, WireValue)] = []
        var i = data.startIndex
        func varint() throws(DecodeError) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < data.endIndex, shift < 64 else { throw .malformed("truncated varint") }
                let b = data[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }
        func take(_ n: Int) throws(DecodeError) -> ArraySlice<UInt8> {
            guard n >= 0, data.endIndex - i >= n else { throw .malformed("truncated field") }
            defer { i += n }
            return data[i..<(i + n)]
        }
        while i < data.endIndex {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: out.append((number, .varint(try varint())))
            case 1: out.append((number, .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) })))
            case 2: out.append((number, .bytes(try take(Int(try varint())))))
            case 5: out.append((number, .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) })))
            default: throw .malformed("wire type \(key & 7) of field \(number)")
            }
        }
        return out
    }

    // MARK: schemas

    /// How one field reads. `keepZero`: a pointer field in Go, sent only when set, so its zero
    /// value means something; other fields are always sent, and their zero is "not set".
    struct Field {
        var name: String
        var kind: Kind
        var repeated = false
        var keepZero = false
    }

    indirect enum Kind {
        var isMap: Bool {
            switch self {
            case .stringMap, .quantityMap, .bytesMap: return true
            default: return false
            }
        }

        case string, int, bool, stringMap, time, intOrString
        /// map<string, resource.Quantity>: entries whose value is a message of one string.
        case quantityMap
        /// map<string, bytes>: JSON carries the bytes base64-encoded.
        case bytesMap
        case message(Message)
    }

    struct Message {
        var fields: [Int: Field]
    }

    static func message(_ data: ArraySlice<UInt8>, _ schema: Message) throws(DecodeError) -> JSONValue {
        var obj: [String: JSONValue] = [:]
        for (number, value) in try fields(data) {
            guard let field = schema.fields[number], let v = try convert(value, field) else { continue }
            if field.repeated {
                obj[field.name] = .array((obj[field.name]?.arrayValue ?? []) + [v])
            } else if field.kind.isMap, case .object(let entry) = v {
                obj[field.name] = .object((obj[field.name]?.objectValue ?? [:]).merging(entry) { $1 })
            } else {
                obj[field.name] = v
            }
        }
        return .object(obj)
    }

    /// One field's value as JSON; nil for the zero value of a field that is always sent.
    static func convert(_ value: WireValue, _ field: Field) throws(DecodeError) -> JSONValue? {
        let keep = field.keepZero || field.repeated
        switch (field.kind, value) {
        case (.string, .bytes(let b)):
            return b.isEmpty && !keep ? nil : .string(String(decoding: b, as: UTF8.self))
        case (.int, .varint(let v)):
            return v == 0 && !keep ? nil : .int(Int64(bitPattern: v))
        case (.bool, .varint(let v)):
            return v == 0 && !keep ? nil : .bool(v != 0)
        case (.stringMap, .bytes(let b)):
            var key = "", val = ""
            for f in try fields(b) {
                guard case .bytes(let s) = f.value else { continue }
                if f.number == 1 { key = String(decoding: s, as: UTF8.self) } else if f.number == 2 { val = String(decoding: s, as: UTF8.self) }
            }
            return [key: .string(val)]
        case (.bytesMap, .bytes(let b)):
            var key = "", val: [UInt8] = []
            for f in try fields(b) {
                guard case .bytes(let s) = f.value else { continue }
                if f.number == 1 { key = String(decoding: s, as: UTF8.self) } else if f.number == 2 { val = Array(s) }
            }
            return [key: .string(Base64.encode(val))]
        case (.quantityMap, .bytes(let b)):
            var key = "", val = ""
            for f in try fields(b) {
                guard case .bytes(let s) = f.value else { continue }
                if f.number == 1 { key = String(decoding: s, as: UTF8.self) }
                if f.number == 2 {
                    for q in try fields(s) where q.number == 1 { if case .bytes(let t) = q.value { val = String(decoding: t, as: UTF8.self) } }
                }
            }
            return [key: .string(val)]
        case (.time, .bytes(let b)):
            var seconds: Int64 = 0
            for f in try fields(b) where f.number == 1 { if case .varint(let v) = f.value { seconds = Int64(bitPattern: v) } }
            return seconds == 0 && !keep ? nil : .string(Time(secondsSinceEpoch: seconds).rfc3339)
        case (.intOrString, .bytes(let b)):
            var type: UInt64 = 0, int: Int64 = 0, str = ""
            for f in try fields(b) {
                switch (f.number, f.value) {
                case (1, .varint(let v)): type = v
                case (2, .varint(let v)): int = Int64(Int32(truncatingIfNeeded: v))
                case (3, .bytes(let s)): str = String(decoding: s, as: UTF8.self)
                default: break
                }
            }
            return type == 1 ? .string(str) : .int(int)
        case (.message(let schema), .bytes(let b)):
            return try message(b, schema)
        default:
            throw .malformed("field \(field.name) has an unexpected wire type")
        }
    }
}

/// Field numbers of the kinds kubectl sends as protobuf, from k8s.io/api and apimachinery's
/// generated.proto files.
enum Schemas {
    typealias F = Protobuf.Field

    static let ownerReference = Protobuf.Message(fields: [
        1: F(name: "kind", kind: .string), 3: F(name: "name", kind: .string), 4: F(name: "uid", kind: .string),
        5: F(name: "apiVersion", kind: .string), 6: F(name: "controller", kind: .bool, keepZero: true),
        7: F(name: "blockOwnerDeletion", kind: .bool, keepZero: true),
    ])

    static let objectMeta = Protobuf.Message(fields: [
        1: F(name: "name", kind: .string), 2: F(name: "generateName", kind: .string), 3: F(name: "namespace", kind: .string),
        5: F(name: "uid", kind: .string), 6: F(name: "resourceVersion", kind: .string), 7: F(name: "generation", kind: .int),
        8: F(name: "creationTimestamp", kind: .time), 9: F(name: "deletionTimestamp", kind: .time, keepZero: true),
        10: F(name: "deletionGracePeriodSeconds", kind: .int, keepZero: true), 11: F(name: "labels", kind: .stringMap),
        12: F(name: "annotations", kind: .stringMap), 13: F(name: "ownerReferences", kind: .message(ownerReference), repeated: true),
        14: F(name: "finalizers", kind: .string, repeated: true),
    ])

    static let servicePort = Protobuf.Message(fields: [
        1: F(name: "name", kind: .string), 2: F(name: "protocol", kind: .string), 3: F(name: "port", kind: .int),
        4: F(name: "targetPort", kind: .intOrString), 5: F(name: "nodePort", kind: .int), 6: F(name: "appProtocol", kind: .string, keepZero: true),
    ])

    static let serviceSpec = Protobuf.Message(fields: [
        1: F(name: "ports", kind: .message(servicePort), repeated: true), 2: F(name: "selector", kind: .stringMap),
        3: F(name: "clusterIP", kind: .string), 4: F(name: "type", kind: .string), 5: F(name: "externalIPs", kind: .string, repeated: true),
        7: F(name: "sessionAffinity", kind: .string), 8: F(name: "loadBalancerIP", kind: .string),
        9: F(name: "loadBalancerSourceRanges", kind: .string, repeated: true), 10: F(name: "externalName", kind: .string),
        11: F(name: "externalTrafficPolicy", kind: .string), 12: F(name: "healthCheckNodePort", kind: .int),
        13: F(name: "publishNotReadyAddresses", kind: .bool),
        14: F(name: "sessionAffinityConfig", kind: .message(Protobuf.Message(fields: [
            1: F(name: "clientIP", kind: .message(Protobuf.Message(fields: [1: F(name: "timeoutSeconds", kind: .int, keepZero: true)]))),
        ]))),
        17: F(name: "ipFamilyPolicy", kind: .string, keepZero: true), 18: F(name: "clusterIPs", kind: .string, repeated: true),
        19: F(name: "ipFamilies", kind: .string, repeated: true), 20: F(name: "allocateLoadBalancerNodePorts", kind: .bool, keepZero: true),
        21: F(name: "loadBalancerClass", kind: .string, keepZero: true), 22: F(name: "internalTrafficPolicy", kind: .string, keepZero: true),
        23: F(name: "trafficDistribution", kind: .string, keepZero: true),
    ])

    static let service = Protobuf.Message(fields: [
        1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "spec", kind: .message(serviceSpec)),
    ])

    // meta/v1 LabelSelector and core/v1 pod templates, for apps/v1 Deployment (what
    // `kubectl create deployment` sends).
    static let labelSelector = Protobuf.Message(fields: [
        1: F(name: "matchLabels", kind: .stringMap),
        2: F(name: "matchExpressions", kind: .message(Protobuf.Message(fields: [
            1: F(name: "key", kind: .string), 2: F(name: "operator", kind: .string), 3: F(name: "values", kind: .string, repeated: true),
        ])), repeated: true),
    ])

    /// resource.Quantity is a message holding its string form.
    static let quantityMap = Protobuf.Kind.quantityMap

    static let container = Protobuf.Message(fields: [
        1: F(name: "name", kind: .string), 2: F(name: "image", kind: .string), 3: F(name: "command", kind: .string, repeated: true),
        4: F(name: "args", kind: .string, repeated: true), 5: F(name: "workingDir", kind: .string),
        6: F(name: "ports", kind: .message(Protobuf.Message(fields: [
            1: F(name: "name", kind: .string), 2: F(name: "hostPort", kind: .int), 3: F(name: "containerPort", kind: .int),
            4: F(name: "protocol", kind: .string), 5: F(name: "hostIP", kind: .string),
        ])), repeated: true),
        7: F(name: "env", kind: .message(Protobuf.Message(fields: [1: F(name: "name", kind: .string), 2: F(name: "value", kind: .string)])), repeated: true),
        8: F(name: "resources", kind: .message(Protobuf.Message(fields: [1: F(name: "limits", kind: quantityMap), 2: F(name: "requests", kind: quantityMap)]))),
        13: F(name: "terminationMessagePath", kind: .string), 14: F(name: "imagePullPolicy", kind: .string),
        16: F(name: "stdin", kind: .bool), 17: F(name: "stdinOnce", kind: .bool), 18: F(name: "tty", kind: .bool),
        20: F(name: "terminationMessagePolicy", kind: .string),
    ])

    static let podSpec = Protobuf.Message(fields: [
        2: F(name: "containers", kind: .message(container), repeated: true), 3: F(name: "restartPolicy", kind: .string),
        4: F(name: "terminationGracePeriodSeconds", kind: .int, keepZero: true), 5: F(name: "activeDeadlineSeconds", kind: .int, keepZero: true),
        6: F(name: "dnsPolicy", kind: .string), 7: F(name: "nodeSelector", kind: .stringMap), 8: F(name: "serviceAccountName", kind: .string),
        10: F(name: "nodeName", kind: .string), 11: F(name: "hostNetwork", kind: .bool), 16: F(name: "hostname", kind: .string),
        17: F(name: "subdomain", kind: .string), 19: F(name: "schedulerName", kind: .string),
        20: F(name: "initContainers", kind: .message(container), repeated: true),
    ])

    static let podTemplateSpec = Protobuf.Message(fields: [1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "spec", kind: .message(podSpec))])

    static let deploymentSpec = Protobuf.Message(fields: [
        1: F(name: "replicas", kind: .int, keepZero: true), 2: F(name: "selector", kind: .message(labelSelector)),
        3: F(name: "template", kind: .message(podTemplateSpec)),
        4: F(name: "strategy", kind: .message(Protobuf.Message(fields: [
            1: F(name: "type", kind: .string),
            2: F(name: "rollingUpdate", kind: .message(Protobuf.Message(fields: [
                1: F(name: "maxUnavailable", kind: .intOrString), 2: F(name: "maxSurge", kind: .intOrString),
            ]))),
        ]))),
        5: F(name: "minReadySeconds", kind: .int), 6: F(name: "revisionHistoryLimit", kind: .int, keepZero: true),
        7: F(name: "paused", kind: .bool), 9: F(name: "progressDeadlineSeconds", kind: .int, keepZero: true),
    ])

    static let deployment = Protobuf.Message(fields: [
        1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "spec", kind: .message(deploymentSpec)),
    ])

    static let jobSpec = Protobuf.Message(fields: [
        1: F(name: "parallelism", kind: .int, keepZero: true), 2: F(name: "completions", kind: .int, keepZero: true),
        3: F(name: "activeDeadlineSeconds", kind: .int, keepZero: true), 4: F(name: "selector", kind: .message(labelSelector)),
        5: F(name: "manualSelector", kind: .bool, keepZero: true), 6: F(name: "template", kind: .message(podTemplateSpec)),
        7: F(name: "backoffLimit", kind: .int, keepZero: true), 8: F(name: "ttlSecondsAfterFinished", kind: .int, keepZero: true),
        9: F(name: "completionMode", kind: .string), 10: F(name: "suspend", kind: .bool, keepZero: true),
    ])

    static let job = Protobuf.Message(fields: [1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "spec", kind: .message(jobSpec))])

    /// `kubectl create namespace` sends only the name (its spec and status are empty).
    static let namespace = Protobuf.Message(fields: [1: F(name: "metadata", kind: .message(objectMeta))])

    static let configMap = Protobuf.Message(fields: [
        1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "data", kind: .stringMap),
        3: F(name: "binaryData", kind: .bytesMap), 4: F(name: "immutable", kind: .bool, keepZero: true),
    ])

    static let secret = Protobuf.Message(fields: [
        1: F(name: "metadata", kind: .message(objectMeta)), 2: F(name: "data", kind: .bytesMap), 3: F(name: "type", kind: .string),
        4: F(name: "stringData", kind: .stringMap), 5: F(name: "immutable", kind: .bool, keepZero: true),
    ])

    /// `kubectl create serviceaccount` sends the name only.
    static let serviceAccount = Protobuf.Message(fields: [
        1: F(name: "metadata", kind: .message(objectMeta)), 3: F(name: "automountServiceAccountToken", kind: .bool, keepZero: true),
    ])

    static let byKind: [String: Protobuf.Message] = ["Service": service, "Deployment": deployment, "Job": job, "Namespace": namespace,
                                                     "ConfigMap": configMap, "Secret": secret, "ServiceAccount": serviceAccount]
}
