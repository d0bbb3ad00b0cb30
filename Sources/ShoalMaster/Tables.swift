import ShoalAPI
import ShoalOS

/// The `meta.k8s.io/v1 Table` form kubectl asks for (`Accept: application/json;as=Table`):
/// the server computes the columns, as the API server's table convertors do.
enum Tables {
    struct Column {
        var name: String
        var type: String = "string"
        var format: String = ""
        var description: String = ""
        var priority: Int64 = 0
    }

    static func columns(_ r: ResourceInfo) -> [Column] {
        switch r.plural {
        case "pods":
            return [Column(name: "Name", format: "name", description: "Name must be unique within a namespace."),
                    Column(name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                    Column(name: "Status", description: "The aggregate status of the containers in this pod."),
                    Column(name: "Restarts", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                    Column(name: "Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created."),
                    Column(name: "IP", description: "IP address allocated to the pod. Routable at least within the cluster.", priority: 1),
                    Column(name: "Node", description: "NodeName is a request to schedule this pod onto a specific node.", priority: 1),
                    Column(name: "Nominated Node", description: "nominatedNodeName is set only when this pod preempts other pods on the node.", priority: 1),
                    Column(name: "Readiness Gates", description: "If specified, all readiness gates will be evaluated for pod readiness.", priority: 1)]
        case "nodes":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Roles"), Column(name: "Age"),
                    Column(name: "Version"), Column(name: "Internal-IP", priority: 1), Column(name: "External-IP", priority: 1),
                    Column(name: "OS-Image", priority: 1), Column(name: "Kernel-Version", priority: 1),
                    Column(name: "Container-Runtime", priority: 1)]
        case "namespaces":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Age")]
        case "events":
            return [Column(name: "Last Seen"), Column(name: "Type"), Column(name: "Reason"), Column(name: "Object"),
                    Column(name: "Subobject", priority: 1), Column(name: "Source", priority: 1), Column(name: "Message"),
                    Column(name: "First Seen", priority: 1), Column(name: "Count", priority: 1), Column(name: "Name", priority: 1)]
        case "leases":
            return [Column(name: "Name", format: "name"), Column(name: "Holder"), Column(name: "Age")]
        case "services":
            return [Column(name: "Name", format: "name"), Column(name: "Type"), Column(name: "Cluster-IP"), Column(name: "External-IP"),
                    Column(name: "Port(s)"), Column(name: "Age"), Column(name: "Selector", priority: 1)]
        case "endpoints":
            return [Column(name: "Name", format: "name"), Column(name: "Endpoints"), Column(name: "Age")]
        case "endpointslices":
            return [Column(name: "Name", format: "name"), Column(name: "AddressType"), Column(name: "Ports"), Column(name: "Endpoints"), Column(name: "Age")]
        case "deployments":
            return [Column(name: "Name", format: "name"), Column(name: "Ready"), Column(name: "Up-to-date", type: "integer"),
                    Column(name: "Available", type: "integer"), Column(name: "Age"), Column(name: "Containers", priority: 1),
                    Column(name: "Images", priority: 1), Column(name: "Selector", priority: 1)]
        case "replicasets", "replicationcontrollers":
            return [Column(name: "Name", format: "name"), Column(name: "Desired", type: "integer"), Column(name: "Current", type: "integer"),
                    Column(name: "Ready", type: "integer"), Column(name: "Age"), Column(name: "Containers", priority: 1),
                    Column(name: "Images", priority: 1), Column(name: "Selector", priority: 1)]
        case "configmaps":
            return [Column(name: "Name", format: "name"), Column(name: "Data", type: "integer"), Column(name: "Age")]
        case "serviceaccounts":
            return [Column(name: "Name", format: "name"), Column(name: "Secrets", type: "integer"), Column(name: "Age")]
        case "secrets":
            return [Column(name: "Name", format: "name"), Column(name: "Type"), Column(name: "Data", type: "integer"), Column(name: "Age")]
        case "resourcequotas":
            return [Column(name: "Name", format: "name"), Column(name: "Age"), Column(name: "Request"), Column(name: "Limit")]
        case "daemonsets":
            return [Column(name: "Name", format: "name"), Column(name: "Desired", type: "integer"), Column(name: "Current", type: "integer"),
                    Column(name: "Ready", type: "integer"), Column(name: "Up-to-date", type: "integer"), Column(name: "Available", type: "integer"),
                    Column(name: "Node Selector"), Column(name: "Age"), Column(name: "Containers", priority: 1), Column(name: "Images", priority: 1),
                    Column(name: "Selector", priority: 1)]
        case "jobs":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Completions"), Column(name: "Duration"),
                    Column(name: "Age"), Column(name: "Containers", priority: 1), Column(name: "Images", priority: 1),
                    Column(name: "Selector", priority: 1)]
        case "persistentvolumes":
            return [Column(name: "Name", format: "name"), Column(name: "Capacity"), Column(name: "Access Modes"), Column(name: "Reclaim Policy"),
                    Column(name: "Status"), Column(name: "Claim"), Column(name: "StorageClass"), Column(name: "VolumeAttributesClass"),
                    Column(name: "Reason"), Column(name: "Age"), Column(name: "VolumeMode", priority: 1)]
        case "persistentvolumeclaims":
            return [Column(name: "Name", format: "name"), Column(name: "Status"), Column(name: "Volume"), Column(name: "Capacity"),
                    Column(name: "Access Modes"), Column(name: "StorageClass"), Column(name: "VolumeAttributesClass"), Column(name: "Age"),
                    Column(name: "VolumeMode", priority: 1)]
        case "storageclasses":
            return [Column(name: "Name", format: "name"), Column(name: "Provisioner"), Column(name: "ReclaimPolicy"),
                    Column(name: "VolumeBindingMode"), Column(name: "AllowVolumeExpansion"), Column(name: "Age")]
        default:
            return [Column(name: "Name", format: "name"), Column(name: "Age")]
        }
    }

    /// kubectl's short access modes: RWO, ROX, RWX, RWOP.
    static func accessModes(_ modes: [String]?) -> String {
        let short = ["ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"]
        return (modes ?? []).map { short[$0] ?? $0 }.joined(separator: ",")
    }

    /// CONTAINERS, IMAGES and SELECTOR of a workload's wide row.
    static func templateCells(_ template: PodTemplateSpec?, _ selector: ShoalAPI.LabelSelector?) -> [JSONValue] {
        let containers = template?.spec?.containers ?? []
        return [.string(containers.map(\.name).joined(separator: ",")), .string(containers.map { $0.image ?? "" }.joined(separator: ",")),
                .string(selector.map(\.queryString) ?? "<none>")]
    }

    static func cells(_ r: ResourceInfo, _ obj: JSONValue, now: Int64) -> [JSONValue] {
        let age = ageOf(obj["metadata"]?["creationTimestamp"]?.stringValue, now: now)
        let name = JSONValue.string(obj["metadata"]?["name"]?.stringValue ?? "")
        switch r.plural {
        case "pods":
            guard let pod = TypedPods.decode(obj) else { return [name, "", "Unknown", "0", .string(age), "<none>", "<none>", "<none>", "<none>"] }
            let row = PodPrinter.row(pod, now: now)
            let gates = pod.spec.readinessGates.map { gs -> String in
                let conditions = pod.status?.conditions ?? []
                let ready = gs.filter { g in conditions.contains { $0.type == g.conditionType && $0.status == .true } }.count
                return "\(ready)/\(gs.count)"
            } ?? "<none>"
            return [.string(row.name), .string(row.ready), .string(row.status), .string(row.restarts), .string(row.age),
                    .string(row.ip), .string(row.node), .string(pod.status?.nominatedNodeName ?? "<none>"), .string(gates)]
        case "nodes":
            return nodeCells(obj, name: name, age: age)
        case "namespaces":
            return [name, .string(obj["status"]?["phase"]?.stringValue ?? ""), .string(age)]
        case "events":
            let last = obj["lastTimestamp"]?.stringValue ?? obj["eventTime"]?.stringValue ?? obj["metadata"]?["creationTimestamp"]?.stringValue
            let first = obj["firstTimestamp"]?.stringValue ?? obj["eventTime"]?.stringValue
            let involved = obj["involvedObject"]
            let object = "\((involved?["kind"]?.stringValue ?? "").lowercased())/\(involved?["name"]?.stringValue ?? "")"
            var source = obj["source"]?["component"]?.stringValue ?? obj["reportingComponent"]?.stringValue ?? ""
            if let host = obj["source"]?["host"]?.stringValue, !host.isEmpty { source += ", " + host }
            let count: Int64 = { if case .int(let c)? = obj["count"] { return c } else { return 1 } }()
            return [.string(ageOf(last, now: now)), .string(obj["type"]?.stringValue ?? ""), .string(obj["reason"]?.stringValue ?? ""),
                    .string(object), .string(involved?["fieldPath"]?.stringValue ?? ""), .string(source),
                    .string(obj["message"]?.stringValue ?? ""), .string(ageOf(first, now: now)), .int(count), name]
        case "leases":
            return [name, .string(obj["spec"]?["holderIdentity"]?.stringValue ?? ""), .string(age)]
        case "services":
            guard let s = try? obj.decode(Service.self) else { return [name, "", "", "", "", .string(age), ""] }
            let row = ServicePrinter.row(s)
            return [name, .string(row.type), .string(row.clusterIP), .string(row.externalIP), .string(row.ports), .string(age), .string(row.selector)]
        case "endpoints":
            let e = try? obj.decode(Endpoints.self)
            return [name, .string(ServicePrinter.endpoints(e?.subsets ?? [])), .string(age)]
        case "endpointslices":
            guard let slice = try? obj.decode(EndpointSlice.self) else { return [name, "", "", "", .string(age)] }
            return [name, .string(slice.addressType), .string(ServicePrinter.slicePorts(slice.ports ?? [])),
                    .string(ServicePrinter.sliceEndpoints(slice.endpoints ?? [])), .string(age)]
        case "deployments":
            guard let d = try? obj.decode(Deployment.self) else { return [name, "", 0, 0, .string(age), "", "", ""] }
            let st = d.status
            return [name, .string("\(st?.readyReplicas ?? 0)/\(d.spec.replicas ?? 1)"), .int(Int64(st?.updatedReplicas ?? 0)),
                    .int(Int64(st?.availableReplicas ?? 0)), .string(age)] + templateCells(d.spec.template, d.spec.selector)
        case "replicationcontrollers":
            guard let rs = (try? obj.decode(ReplicationController.self))?.asReplicaSet else { return [name, 0, 0, 0, .string(age), "", "", ""] }
            return [name, .int(Int64(rs.spec.replicas ?? 1)), .int(Int64(rs.status?.replicas ?? 0)), .int(Int64(rs.status?.readyReplicas ?? 0)),
                    .string(age)] + templateCells(rs.spec.template, rs.spec.selector)
        case "replicasets":
            guard let rs = try? obj.decode(ReplicaSet.self) else { return [name, 0, 0, 0, .string(age), "", "", ""] }
            return [name, .int(Int64(rs.spec.replicas ?? 1)), .int(Int64(rs.status?.replicas ?? 0)), .int(Int64(rs.status?.readyReplicas ?? 0)),
                    .string(age)] + templateCells(rs.spec.template, rs.spec.selector)
        case "configmaps":
            let count = (obj["data"]?.objectValue?.count ?? 0) + (obj["binaryData"]?.objectValue?.count ?? 0)
            return [name, .int(Int64(count)), .string(age)]
        case "secrets":
            return [name, .string(obj["type"]?.stringValue ?? ""), .int(Int64(obj["data"]?.objectValue?.count ?? 0)), .string(age)]
        case "serviceaccounts":
            return [name, .int(Int64(obj["secrets"]?.arrayValue?.count ?? 0)), .string(age)]
        case "resourcequotas":
            // `pods: 1/10, requests.cpu: 0/1`, limits apart, as the API server's printer.
            let q = try? obj.decode(ResourceQuota.self)
            let hard = q?.status?.hard ?? q?.spec.hard ?? [:], used = q?.status?.used ?? [:]
            func cells(_ keys: [String]) -> String { keys.sorted().map { "\($0): \(used[$0] ?? .zero)/\(hard[$0]!)" }.joined(separator: ", ") }
            return [name, .string(age), .string(cells(hard.keys.filter { !$0.hasPrefix("limits.") })), .string(cells(hard.keys.filter { $0.hasPrefix("limits.") }))]
        case "daemonsets":
            guard let d = try? obj.decode(DaemonSet.self) else { return [name, 0, 0, 0, 0, 0, "", .string(age), "", "", ""] }
            let st = d.status
            let selector = (d.spec.template?.spec?.nodeSelector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return [name, .int(Int64(st?.desiredNumberScheduled ?? 0)), .int(Int64(st?.currentNumberScheduled ?? 0)), .int(Int64(st?.numberReady ?? 0)),
                    .int(Int64(st?.updatedNumberScheduled ?? 0)), .int(Int64(st?.numberAvailable ?? 0)), .string(selector.isEmpty ? "<none>" : selector),
                    .string(age)] + templateCells(d.spec.template, d.spec.selector)
        case "jobs":
            guard let j = try? obj.decode(Job.self) else { return [name, "", "", "", .string(age), "", "", ""] }
            return [name, .string(JobPrinter.status(j)), .string(JobPrinter.completions(j)), .string(JobPrinter.duration(j, now: now)),
                    .string(age)] + templateCells(j.spec.template, j.spec.selector)
        case "persistentvolumes":
            guard let pv = try? obj.decode(PersistentVolume.self) else { return [name] + Array(repeating: "", count: 8) + [.string(age), ""] }
            let claim = pv.spec.claimRef.map { "\($0.namespace ?? "")/\($0.name ?? "")" } ?? ""
            return [name, .string(pv.spec.capacity?["storage"]?.description ?? ""), .string(accessModes(pv.spec.accessModes)),
                    .string(pv.spec.persistentVolumeReclaimPolicy ?? "Retain"),
                    .string(pv.metadata.deletionTimestamp != nil ? "Terminating" : (pv.status?.phase ?? "")), .string(claim),
                    .string(pv.spec.storageClassName ?? ""), "<unset>", .string(pv.status?.reason ?? ""), .string(age), .string(pv.spec.volumeMode ?? "Filesystem")]
        case "persistentvolumeclaims":
            guard let c = try? obj.decode(PersistentVolumeClaim.self) else { return [name] + Array(repeating: "", count: 6) + [.string(age), ""] }
            // kubectl's printer shows a claim being deleted (held by pvc-protection) as Terminating.
            let phase = c.metadata.deletionTimestamp != nil ? "Terminating" : (c.status?.phase ?? "")
            return [name, .string(phase), .string(c.spec.volumeName ?? ""), .string(c.status?.capacity?["storage"]?.description ?? ""),
                    .string(accessModes(c.status?.accessModes)), .string(c.spec.storageClassName ?? ""), "<unset>", .string(age),
                    .string(c.spec.volumeMode ?? "Filesystem")]
        case "storageclasses":
            let sc = try? obj.decode(StorageClass.self)
            let display = (sc?.isDefault ?? false) ? (obj["metadata"]?["name"]?.stringValue ?? "") + " (default)" : (obj["metadata"]?["name"]?.stringValue ?? "")
            return [.string(display), .string(sc?.provisioner ?? ""), .string(sc?.reclaimPolicy ?? "Delete"),
                    .string(sc?.volumeBindingMode ?? "Immediate"), .string((sc?.allowVolumeExpansion ?? false) ? "true" : "false"), .string(age)]
        default:
            return [name, .string(age)]
        }
    }

    static func nodeCells(_ obj: JSONValue, name: JSONValue, age: String) -> [JSONValue] {
        let conditions = obj["status"]?["conditions"]?.arrayValue ?? []
        var status = "Unknown"
        if let ready = conditions.first(where: { $0["type"]?.stringValue == "Ready" }) {
            status = ready["status"]?.stringValue == "True" ? "Ready" : "NotReady"
        }
        if obj["spec"]?["unschedulable"] == .bool(true) { status += ",SchedulingDisabled" }
        let labels = obj["metadata"]?["labels"]?.objectValue ?? [:]
        var roles: [String] = []
        for key in labels.keys.sorted() {
            if key.hasPrefix("node-role.kubernetes.io/") { roles.append(String(key.dropFirst("node-role.kubernetes.io/".count))) }
        }
        if let role = labels["kubernetes.io/role"]?.stringValue, !role.isEmpty { roles.append(role) }
        let addresses = obj["status"]?["addresses"]?.arrayValue ?? []
        func address(_ type: String) -> String {
            addresses.first { $0["type"]?.stringValue == type }?["address"]?.stringValue ?? "<none>"
        }
        let info = obj["status"]?["nodeInfo"]
        return [name, .string(status), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")), .string(age),
                .string(info?["kubeletVersion"]?.stringValue ?? ""), .string(address("InternalIP")), .string(address("ExternalIP")),
                .string(info?["osImage"]?.stringValue ?? "<unknown>"), .string(info?["kernelVersion"]?.stringValue ?? "<unknown>"),
                .string(info?["containerRuntimeVersion"]?.stringValue ?? "<unknown>")]
    }

    static func ageOf(_ timestamp: String?, now: Int64) -> String {
        guard let timestamp, let t = try? Time(rfc3339: timestamp) else { return "<unknown>" }
        return PodPrinter.humanDuration(seconds: max(now - t.secondsSinceEpoch, 0))
    }

    enum IncludeObject: String { case none = "None", metadata = "Metadata", object = "Object" }

    static func row(_ r: ResourceInfo, _ obj: JSONValue, include: IncludeObject, now: Int64) -> JSONValue {
        var row: [String: JSONValue] = ["cells": .array(cells(r, obj, now: now))]
        switch include {
        case .none: break
        case .object: row["object"] = obj
        case .metadata:
            row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"] ?? [:]]
        }
        return .object(row)
    }

    static func columnDefinitions(_ r: ResourceInfo) -> JSONValue {
        .array(columns(r).map {
            ["name": .string($0.name), "type": .string($0.type), "format": .string($0.format),
             "description": .string($0.description), "priority": .int($0.priority)]
        })
    }

    static func table(_ r: ResourceInfo, _ objects: [JSONValue], include: IncludeObject, listMeta: JSONValue, withColumns: Bool = true) -> JSONValue {
        let now = Time.now().secondsSinceEpoch
        var out: [String: JSONValue] = [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": listMeta,
            "rows": .array(objects.map { row(r, $0, include: include, now: now) }),
        ]
        if withColumns { out["columnDefinitions"] = columnDefinitions(r) }
        return .object(out)
    }
}

/// Lists as bytes: the serialized form of each object (whole, or as PartialObjectMetadata) is
/// kept per uid and resourceVersion, so a list of many objects serializes only what changed
/// since the last one and the rest is concatenation. Rows' cells are made afresh (Age moves).
enum ListBytes {
    static func table(_ r: ResourceInfo, _ objects: [JSONValue], include: Tables.IncludeObject, listMeta: JSONValue) -> [UInt8] {
        let now = Time.now().secondsSinceEpoch
        var out = Array(#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":"#.utf8)
        out += listMeta.serialized
        out += Array(#","columnDefinitions":"#.utf8)
        out += Tables.columnDefinitions(r).serialized
        out += Array(#","rows":["#.utf8)
        for (i, obj) in objects.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"cells":"#.utf8)
            out += JSONValue.array(Tables.cells(r, obj, now: now)).serialized
            if include != .none {
                out += Array(#","object":"#.utf8)
                out += serialized(obj, include)
            }
            out.append(UInt8(ascii: "}"))
        }
        out += Array("]}".utf8)
        return out
    }

    static func list(_ r: ResourceInfo, _ objects: [JSONValue], listMeta: JSONValue) -> [UInt8] {
        var out = Array(#"{"kind":"#.utf8) + JSONValue.string(r.kind + "List").serialized
        out += Array(#","apiVersion":"#.utf8) + JSONValue.string(r.groupVersion).serialized
        out += Array(#","metadata":"#.utf8) + listMeta.serialized
        out += Array(#","items":["#.utf8)
        for (i, obj) in objects.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += serialized(obj, .object)
        }
        out += Array("]}".utf8)
        return out
    }

    struct Key: Hashable {
        var uid: String
        var metadataOnly: Bool
    }

    static let cache = Locked<[Key: (version: String, bytes: [UInt8])]>([:])
    static let limit = 10_000

    static func serialized(_ obj: JSONValue, _ include: Tables.IncludeObject) -> [UInt8] {
        let metadata = obj["metadata"]
        let key = Key(uid: metadata?["uid"]?.stringValue ?? "", metadataOnly: include == .metadata)
        let version = metadata?["resourceVersion"]?.stringValue ?? ""
        if !key.uid.isEmpty, let hit = cache.withLock({ $0[key] }), hit.version == version { return hit.bytes }
        let value: JSONValue = include == .metadata
            ? ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata ?? [:]]
            : obj
        let bytes = value.serialized
        guard !key.uid.isEmpty else { return bytes }
        cache.withLock {
            if $0.count >= limit { $0.removeAll() }
            $0[key] = (version, bytes)
        }
        return bytes
    }
}

/// Typed pods by uid, with the resourceVersion they were decoded at, so a Table of many pods
/// decodes each pod once per change. Bounded: cleared when it outgrows a large node pool's pods.
enum TypedPods {
    static let cache = Locked<[String: (version: String, pod: Pod)]>([:])
    static let limit = 5_000

    static func decode(_ obj: JSONValue) -> Pod? {
        let uid = obj["metadata"]?["uid"]?.stringValue ?? ""
        let version = obj["metadata"]?["resourceVersion"]?.stringValue ?? ""
        if let hit = cache.withLock({ $0[uid] }), hit.version == version { return hit.pod }
        guard let pod = try? obj.decode(Pod.self) else { return nil }
        cache.withLock {
            if $0.count >= limit { $0.removeAll() }
            $0[uid] = (version, pod)
        }
        return pod
    }
}
