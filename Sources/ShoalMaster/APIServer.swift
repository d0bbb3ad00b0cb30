import Foundation
import Logging
import ShoalAPI
import ShoalHTTP
import ShoalStore

/// Who sent a request, once authenticated.
public struct Identity: Sendable, Equatable {
    public enum Role: Sendable, Equatable { case admin, node(String), bootstrap }
    public var role: Role

    public init(role: Role) { self.role = role }

    public var userName: String {
        switch role {
        case .admin: return "system:admin"
        case .node(let n): return "system:node:\(n)"
        case .bootstrap: return "system:bootstrap"
        }
    }
}

/// A request's target, parsed from the URL path.
struct Target {
    var resource: ResourceInfo
    var namespace: String?
    var name: String?
    var subresource: String?
}

/// Node-local work the master hands to the agent running the pod (logs, exec, attach, port-forward).
public protocol NodeProxy: Sendable {
    func forward(_ request: APIRequest, node: String, pod: JSONValue, subresource: String) async throws(APIError) -> APIResponse
}

/// The Kubernetes-compatible API server: routing, authentication, authorization, content
/// negotiation, and the verbs over the `Registry`.
public final class APIServer: APIHandler {
    let registry: Registry
    let authenticate: @Sendable (String) -> Identity?
    let proxy: (any NodeProxy)?
    /// Trades a bootstrap token for a node's credentials (NodeJoin.swift); nil: joining is off.
    let join: (@Sendable (String) throws(APIError) -> JSONValue)?
    let logger: Logger

    init(registry: Registry, authenticate: @escaping @Sendable (String) -> Identity?, proxy: (any NodeProxy)?,
         join: (@Sendable (String) throws(APIError) -> JSONValue)? = nil, logger: Logger) {
        self.registry = registry
        self.authenticate = authenticate
        self.proxy = proxy
        self.join = join
        self.logger = logger
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        do {
            return try await route(request)
        } catch {
            return Self.failure(error)
        }
    }

    static func failure(_ error: APIError) -> APIResponse {
        .bytes(status: error.code, contentType: "application/json", body: (try? JSONValue.encoding(error.status))?.serialized ?? [])
    }

    static func json(_ value: JSONValue, status: Int = 200) -> APIResponse {
        .bytes(status: status, contentType: "application/json", body: value.serialized)
    }

    func identity(_ request: APIRequest) throws(APIError) -> Identity {
        if request.transport == .unix { return Identity(role: .admin) }
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer "),
              let identity = authenticate(String(header.dropFirst("Bearer ".count)).trimming(" "))
        else { throw APIError.unauthorized }
        return identity
    }

    func route(_ request: APIRequest) async throws(APIError) -> APIResponse {
        let s = request.segments
        // Probes answer without credentials, as the API server's do for its health endpoints.
        if let first = s.first, ["healthz", "livez", "readyz"].contains(first) {
            return .bytes(status: 200, contentType: "text/plain; charset=utf-8", body: Array("ok".utf8))
        }
        let who = try identity(request)
        if request.bodyTooLarge { throw APIError.tooLarge }
        if s == NodeJoin.path { return try joinRequest(request, who: who) }
        switch s.first {
        case "version" where s.count == 1:
            return Self.json(Discovery.version())
        case "openapi" where s.count >= 2 && s[1] == "v3":
            if s.count == 2 { return Self.json(OpenAPI.root()) }
            guard let doc = OpenAPI.document(s.dropFirst(2).joined(separator: "/")) else { throw APIError.unknownPath }
            return Self.json(doc)
        case "api":
            if s.count == 1 { return Self.json(Discovery.apiVersions()) }
            if s.count == 2, let list = Discovery.resources(groupVersion: s[1]) { return Self.json(list) }
            guard s.count >= 3, s[1] == "v1" else { throw APIError.unknownPath }
            return try await resourceRequest(request, groupVersion: "v1", rest: Array(s.dropFirst(2)), who: who)
        case "apis":
            if s.count == 1 { return Self.json(Discovery.groups()) }
            if s.count == 2, let g = Discovery.group(s[1]) { return Self.json(g) }
            if s.count == 3, let list = Discovery.resources(groupVersion: "\(s[1])/\(s[2])") { return Self.json(list) }
            guard s.count >= 4 else { throw APIError.unknownPath }
            return try await resourceRequest(request, groupVersion: "\(s[1])/\(s[2])", rest: Array(s.dropFirst(3)), who: who)
        default:
            throw APIError.unknownPath
        }
    }

    func parseTarget(groupVersion: String, rest: [String]) throws(APIError) -> Target {
        var rest = rest[...]
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3, let r = Resources.lookup(groupVersion: groupVersion, plural: rest[rest.startIndex + 2]), r.namespaced {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first, let r = Resources.lookup(groupVersion: groupVersion, plural: plural) else { throw APIError.unknownPath }
        rest = rest.dropFirst()
        let name = rest.first
        let sub = rest.dropFirst().first
        if rest.count > 2 { throw APIError.unknownPath }
        if let sub, !r.subresources.contains(sub) { throw APIError.unknownPath }
        return Target(resource: r, namespace: namespace, name: name, subresource: sub)
    }

    func resourceRequest(_ request: APIRequest, groupVersion: String, rest: [String], who: Identity) async throws(APIError) -> APIResponse {
        let t = try parseTarget(groupVersion: groupVersion, rest: rest)
        let r = t.resource
        let strict = request.query("fieldValidation") == "Strict"
        let dryRun = request.query("dryRun") == "All"
        switch (request.method, t.name, t.subresource) {
        case ("GET", nil, _):
            let verb = request.flag("watch") ? "watch" : "list"
            try authorize(who, verb: verb, t)
            return verb == "watch" ? try watch(request, t) : try list(request, t)
        case ("GET", let name?, nil), ("GET", let name?, "status"), ("GET", let name?, "ephemeralcontainers"):
            try authorize(who, verb: "get", t)
            let obj = try registry.get(r, namespace: t.namespace, name: name)
            return respond(request, r, obj)
        case (_, let name?, let sub?) where ["log", "exec", "attach", "portforward"].contains(sub):
            try authorize(who, verb: request.method == "GET" && sub == "log" ? "get" : "create", t)
            let pod = try registry.get(r, namespace: t.namespace, name: name)
            guard let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty else {
                throw APIError.badRequest("pod \(name) does not have a host assigned")
            }
            guard let proxy else { throw APIError.unavailable("no node proxy configured") }
            return try await proxy.forward(request, node: node, pod: pod, subresource: sub)
        case ("POST", nil, nil):
            var body = try decodeBody(request)
            try authorize(who, verb: "create", t, object: body)
            body["metadata"]?["managedFields"] = nil
            body = ManagedFields.recordUpdate(old: nil, new: body, manager: fieldManager(request), apiVersion: r.groupVersion, subresource: nil)
            let created = try registry.create(r, namespace: t.namespace, object: body, strict: strict, dryRun: dryRun)
            return respond(request, r, created, status: 201)
        case ("POST", let name?, "binding"):
            try authorize(who, verb: "create", t)
            let binding = try decodeBody(request)
            return Self.json(try bind(t, name: name, binding))
        case ("POST", let name?, "eviction"):
            try authorize(who, verb: "create", t)
            _ = try registry.delete(r, namespace: t.namespace, name: name, options: Registry.DeleteOptions())
            return Self.json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201)
        case ("GET", let name?, "scale"):
            try authorize(who, verb: "get", t)
            return Self.json(Self.scale(of: try registry.get(r, namespace: t.namespace, name: name), r))
        case ("PUT", let name?, "scale"), ("PATCH", let name?, "scale"):
            try authorize(who, verb: request.method == "PUT" ? "update" : "patch", t)
            return Self.json(try updateScale(request, t, name: name))
        case ("PUT", let name?, let sub):
            let body = try decodeBody(request)
            try authorize(who, verb: "update", t, object: body)
            let manager = fieldManager(request)
            let updated = try registry.modify(r, namespace: t.namespace, name: name, subresource: sub, strict: strict) { old in
                ManagedFields.recordUpdate(old: old, new: body, manager: manager, apiVersion: r.groupVersion, subresource: sub)
            }
            return respond(request, r, updated)
        case ("PATCH", let name?, let sub):
            try authorize(who, verb: "patch", t)
            let patched = try patch(request, t, name: name, subresource: sub, strict: strict, who: who)
            return respond(request, r, patched.object, status: patched.created ? 201 : 200)
        case ("DELETE", let name?, nil):
            try authorize(who, verb: "delete", t)
            let options = try deleteOptions(request)
            let result = try registry.delete(r, namespace: t.namespace, name: name, options: options)
            return respond(request, r, result.object)
        case ("DELETE", nil, nil):
            try authorize(who, verb: "deletecollection", t)
            return try deleteCollection(request, t)
        default:
            throw APIError.methodNotAllowed(request.method)
        }
    }

    // MARK: verbs

    func respond(_ request: APIRequest, _ r: ResourceInfo, _ obj: JSONValue, status: Int = 200) -> APIResponse {
        if wantsTable(request) {
            let meta: JSONValue = ["resourceVersion": obj["metadata"]?["resourceVersion"] ?? ""]
            return Self.json(Tables.table(r, [obj], include: includeObject(request), listMeta: meta), status: status)
        }
        return Self.json(obj, status: status)
    }

    func wantsTable(_ request: APIRequest) -> Bool {
        (request.header("Accept") ?? "").contains("as=Table")
    }

    func includeObject(_ request: APIRequest) -> Tables.IncludeObject {
        request.query("includeObject").flatMap(Tables.IncludeObject.init(rawValue:)) ?? .metadata
    }

    func selectors(_ request: APIRequest, _ r: ResourceInfo) throws(APIError) -> (LabelQuery, FieldSelector) {
        let labels = try request.query("labelSelector").map { (s) throws(APIError) in try LabelQuery(parsing: s) } ?? .everything
        let fields = try request.query("fieldSelector").map { (s) throws(APIError) in try FieldSelector(parsing: s, for: r) } ?? FieldSelector()
        return (labels, fields)
    }

    func list(_ request: APIRequest, _ t: Target) throws(APIError) -> APIResponse {
        let (labels, fields) = try selectors(request, t.resource)
        let limit = request.query("limit").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let result = try registry.list(t.resource, namespace: t.namespace, labels: labels, fields: fields,
                                       limit: limit, continueToken: request.query("continue"))
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(result.revision))]
        if let c = result.continueToken { meta["continue"] = .string(c) }
        let body = wantsTable(request)
            ? ListBytes.table(t.resource, result.items, include: includeObject(request), listMeta: .object(meta))
            : ListBytes.list(t.resource, result.items, listMeta: .object(meta))
        return .bytes(status: 200, contentType: "application/json", body: body)
    }

    func decodeBody(_ request: APIRequest) throws(APIError) -> JSONValue {
        let type = (request.header("Content-Type") ?? "application/json").split(separator: ";").first.map { String($0).trimming(" ") } ?? ""
        if type == Protobuf.mediaType {
            do { return try Protobuf.decode(request.body) } catch {
                if case .unknownKind = error { throw APIError.unsupportedMediaType(type, accepted: ["application/json", "application/yaml"]) }
                throw APIError.badRequest(error.description)
            }
        }
        guard ["application/json", "application/yaml", "*/*", ""].contains(type) else {
            throw APIError.unsupportedMediaType(type, accepted: ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])
        }
        return try Self.parseDocument(request.body)
    }

    static func parseDocument(_ body: [UInt8]) throws(APIError) -> JSONValue {
        let text = String(decoding: body, as: UTF8.self)
        do {
            let docs = try ManifestDecoder.documents(text)
            guard docs.count == 1, let doc = docs.first else {
                throw APIError.badRequest(docs.isEmpty ? "the request body is empty" : "the request body holds \(docs.count) objects; send one")
            }
            return doc.value
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.badRequest("error decoding the request body: \(error)")
        }
    }

    func deleteOptions(_ request: APIRequest) throws(APIError) -> Registry.DeleteOptions {
        var o = Registry.DeleteOptions()
        if !request.body.isEmpty {
            let body = try Self.parseDocument(request.body)
            if case .int(let g)? = body["gracePeriodSeconds"] { o.gracePeriodSeconds = g }
            o.preconditionUID = body["preconditions"]?["uid"]?.stringValue
            o.preconditionResourceVersion = body["preconditions"]?["resourceVersion"]?.stringValue
            o.propagationPolicy = body["propagationPolicy"]?.stringValue
        }
        if let g = request.query("gracePeriodSeconds").flatMap(Int64.init) { o.gracePeriodSeconds = g }
        if let p = request.query("propagationPolicy") { o.propagationPolicy = p }
        return o
    }

    func deleteCollection(_ request: APIRequest, _ t: Target) throws(APIError) -> APIResponse {
        let (labels, fields) = try selectors(request, t.resource)
        let options = try deleteOptions(request)
        let result = try registry.list(t.resource, namespace: t.namespace, labels: labels, fields: fields, limit: nil, continueToken: nil)
        var items: [JSONValue] = []
        for obj in result.items {
            let name = obj["metadata"]?["name"]?.stringValue ?? ""
            let ns = obj["metadata"]?["namespace"]?.stringValue
            if let gone = try? registry.delete(t.resource, namespace: ns, name: name, options: options) { items.append(gone.object) }
        }
        return Self.json(["kind": .string(t.resource.kind + "List"), "apiVersion": .string(t.resource.groupVersion),
                          "metadata": ["resourceVersion": .string(String(registry.store.revision))], "items": .array(items)])
    }

    func bind(_ t: Target, name: String, _ binding: JSONValue) throws(APIError) -> JSONValue {
        guard let node = binding["target"]?["name"]?.stringValue, !node.isEmpty else {
            throw APIError.invalid(Resources.pods, name, [.required(FieldPath("target", "name"))])
        }
        _ = try registry.modify(Resources.pods, namespace: t.namespace, name: name) { (pod) throws(APIError) -> JSONValue in
            if let current = pod["spec"]?["nodeName"]?.stringValue, !current.isEmpty {
                throw APIError.conflict(Resources.pods, name, "pod \(name) is already assigned to node \"\(current)\"")
            }
            if pod["metadata"]?["deletionTimestamp"] != nil {
                throw APIError.conflict(Resources.pods, name, "pod \(name) is being deleted, cannot be assigned to a host")
            }
            return pod
        }
        // nodeName is immutable through updates, so the binding writes it below the strategy.
        try registry.setNodeName(namespace: t.namespace, name: name, node: node)
        return ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201]
    }

    // MARK: scale

    /// The autoscaling/v1 Scale of a workload: its replicas wanted and had, and its selector.
    static func scale(of obj: JSONValue, _ r: ResourceInfo) -> JSONValue {
        var meta = obj["metadata"] ?? [:]
        for key in ["labels", "annotations", "ownerReferences", "finalizers", "managedFields", "generation", "generateName"] { meta[key] = nil }
        // A ReplicationController's selector is a plain map.
        let raw = obj["spec"]?["selector"] ?? [:]
        let selector = (try? raw.decode(ShoalAPI.LabelSelector.self))?.queryString
            ?? (try? raw.decode([String: String].self)).map { ShoalAPI.LabelSelector(matchLabels: $0).queryString } ?? ""
        return ["kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
                "spec": ["replicas": obj["spec"]?["replicas"] ?? 1],
                "status": ["replicas": obj["status"]?["replicas"] ?? 0, "selector": .string(selector)]]
    }

    /// PUT or PATCH of the scale subresource: the patch applies to the Scale, its spec.replicas
    /// to the workload (which its controller then follows).
    func updateScale(_ request: APIRequest, _ t: Target, name: String) throws(APIError) -> JSONValue {
        let body = try Self.parseDocument(request.body)
        let type = (request.header("Content-Type") ?? "").split(separator: ";").first.map { String($0).trimming(" ") } ?? ""
        let updated = try registry.modify(t.resource, namespace: t.namespace, name: name, subresource: nil, strict: false) { (obj) throws(APIError) -> JSONValue in
            let current = Self.scale(of: obj, t.resource)
            var wanted = body
            if request.method == "PATCH" {
                guard let format = Patch.Format(rawValue: type), format != .apply else {
                    throw APIError.unsupportedMediaType(type, accepted: [Patch.Format.json, .merge, .strategic].map(\.rawValue))
                }
                do {
                    switch format {
                    case .merge, .apply: wanted = Patch.merge(current, body)
                    case .strategic: wanted = try Patch.strategic(current, body)
                    case .json: wanted = try Patch.jsonPatch(current, body)
                    }
                } catch {
                    throw APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: \(error)")
                }
            } else if let rv = body["metadata"]?["resourceVersion"]?.stringValue, !rv.isEmpty, rv != obj["metadata"]?["resourceVersion"]?.stringValue {
                throw APIError.conflict(t.resource, name, "the object has been modified; please apply your changes to the latest version and try again")
            }
            guard case .int(let replicas)? = wanted["spec"]?["replicas"], replicas >= 0 else {
                throw APIError.invalid(t.resource, name, [.invalid(FieldPath("spec", "replicas"), .omitted, "must be greater than or equal to 0")])
            }
            var obj = obj
            obj["spec"]?["replicas"] = .int(replicas)
            return obj
        }
        return Self.scale(of: updated, t.resource)
    }

    // MARK: patch

    func patch(_ request: APIRequest, _ t: Target, name: String, subresource: String?, strict: Bool, who: Identity) throws(APIError) -> (object: JSONValue, created: Bool) {
        let type = (request.header("Content-Type") ?? "").split(separator: ";").first.map { String($0).trimming(" ") } ?? ""
        guard let format = Patch.Format(rawValue: type) else {
            throw APIError.unsupportedMediaType(type, accepted: [Patch.Format.json, .merge, .strategic, .apply].map(\.rawValue))
        }
        let body = try Self.parseDocument(request.body)
        if format == .apply {
            let manager = request.query("fieldManager") ?? ""
            if manager.isEmpty { throw APIError.badRequest("PATCH, application/apply-patch+yaml requests must have a fieldManager") }
            return try ServerSideApply.apply(registry, t, name: name, config: body, manager: manager,
                                             force: request.flag("force"), strict: strict, subresource: subresource)
        }
        let manager = fieldManager(request)
        let updated = try registry.modify(t.resource, namespace: t.namespace, name: name, subresource: subresource, strict: strict) { (obj) throws(APIError) -> JSONValue in
            let patched: JSONValue
            do {
                switch format {
                case .merge: patched = Patch.merge(obj, body)
                case .strategic: patched = try Patch.strategic(obj, body)
                case .json: patched = try Patch.jsonPatch(obj, body)
                case .apply: patched = obj
                }
            } catch {
                throw APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: \(error)")
            }
            return ManagedFields.recordUpdate(old: obj, new: patched, manager: manager, apiVersion: t.resource.groupVersion, subresource: subresource)
        }
        return (updated, false)
    }

    /// The manager an update is recorded under: the fieldManager parameter, else the client's
    /// program name from its User-Agent, as the API server defaults it.
    func fieldManager(_ request: APIRequest) -> String {
        if let m = request.query("fieldManager"), !m.isEmpty { return m }
        let agent = request.header("User-Agent") ?? "unknown"
        return String(agent.split(separator: "/").first ?? "unknown")
    }

    // MARK: authorization

    /// Admins may do anything; a node, like the NodeRestriction admission plugin allows: read,
    /// write its own Node and Lease, the status of pods bound to it, its mirror pods, events.
    func authorize(_ who: Identity, verb: String, _ t: Target, object: JSONValue? = nil) throws(APIError) {
        guard case .node(let node) = who.role else {
            if who.role == .admin { return }
            throw APIError.forbidden(user: who.userName, verb: verb, t.resource, subresource: t.subresource, namespace: t.namespace, name: t.name)
        }
        if ["get", "list", "watch"].contains(verb) { return }
        let r = t.resource
        let deny = { (why: String) -> APIError in
            APIError.forbidden(user: who.userName, verb: verb, r, subresource: t.subresource, namespace: t.namespace, name: t.name, why: why)
        }
        switch r.plural {
        case "nodes":
            let name = t.name ?? object?["metadata"]?["name"]?.stringValue
            guard name == node, verb != "delete" else { throw deny("a node may only modify its own Node object") }
        case "leases":
            let name = t.name ?? object?["metadata"]?["name"]?.stringValue
            guard t.namespace == "kube-node-lease", name == node else { throw deny("a node may only modify its own Lease") }
        case "events":
            return
        case "pods":
            if verb == "create", t.name == nil {
                let mirror = object?["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] != nil
                guard mirror, object?["spec"]?["nodeName"]?.stringValue == node else { throw deny("a node may only create mirror pods bound to itself") }
                return
            }
            guard let name = t.name else { throw deny("") }
            let pod = try registry.get(r, namespace: t.namespace, name: name)
            guard pod["spec"]?["nodeName"]?.stringValue == node else {
                throw deny("a node may only modify pods bound to it")
            }
            guard verb == "delete" || t.subresource == "status" || pod["metadata"]?["annotations"]?["kubernetes.io/config.mirror"] != nil else {
                throw deny("a node may only update the status of its pods")
            }
        default:
            throw deny("")
        }
    }
}
