import ShoalAPI
import ShoalOS
import ShoalHTTP
import ShoalStore

extension APIServer {
    /// `?watch=true`: newline-delimited watch events. From resourceVersion "" or "0" the current
    /// objects come first as ADDED; from an older revision than the store keeps, one ERROR event
    /// with a 410 Status, as the API server sends it.
    func watch(_ request: APIRequest, _ t: Target) throws(APIError) -> APIResponse {
        let (labels, fields) = try selectors(request, t.resource)
        let r = t.resource
        let table = wantsTable(request)
        let include = includeObject(request)
        let prefix = Registry.prefix(r, namespace: t.namespace)
        let rv = request.query("resourceVersion") ?? ""
        let timeout = request.query("timeoutSeconds").flatMap(Int64.init)
        var initial: [JSONValue] = []
        var seen: [String] = []
        var after: Int64
        if rv.isEmpty || rv == "0" {
            let listed = try registry.list(r, namespace: t.namespace, labels: labels, fields: fields, limit: nil, continueToken: nil)
            initial = listed.items
            after = listed.revision
        } else {
            guard let n = Int64(rv) else { throw APIError.badRequest("invalid resource version \"\(rv)\"") }
            after = n
            // Which objects the client already holds under its selector: the ones matching now is
            // the closest the store can tell (events do not carry the previous object).
            if !labels.isEverything || !fields.isEverything {
                seen = try registry.list(r, namespace: t.namespace, labels: labels, fields: fields, limit: nil, continueToken: nil).items.map {
                    Registry.key(r, namespace: $0["metadata"]?["namespace"]?.stringValue, name: $0["metadata"]?["name"]?.stringValue ?? "")
                }
            }
        }
        let store = registry.store
        let stream: AsyncThrowingStream<StoreEvent, Error>?
        var expired: APIError?
        do {
            stream = try store.watch(prefix: prefix, after: after)
        } catch {
            stream = nil
            expired = Registry.mapStoreError(error)
        }
        let initialObjects = initial, expiredError = expired, seenKeys = seen
        let registry = self.registry
        return .stream(status: 200, contentType: "application/json") { writer in
            let work = Task {
                try await Self.pump(writer: writer, r: r, table: table, include: include, labels: labels, fields: fields,
                                    initial: initialObjects, seen: seenKeys, expired: expiredError, stream: stream, registry: registry)
            }
            // The stream ends when the client goes or the timeout passes, whichever is first.
            let stopper = timeout.map { seconds in
                Task {
                    try? await Task.sleep(for: .seconds(seconds))
                    work.cancel()
                }
            }
            let closer = Task {
                await writer.closed()
                work.cancel()
            }
            defer { stopper?.cancel(); closer.cancel() }
            try await work.value
        }
    }

    static func pump(writer: StreamWriter, r: ResourceInfo, table: Bool, include: Tables.IncludeObject,
                     labels: LabelQuery, fields: FieldSelector, initial: [JSONValue], seen: [String], expired: APIError?,
                     stream: AsyncThrowingStream<StoreEvent, Error>?, registry: Registry) async throws {
        var first = true
        func send(_ type: String, _ obj: JSONValue, revision: Int64? = nil) async throws {
            if !table, let revision {
                try await writer.write(registry.watchEncodings.line(revision, type, obj))
                return
            }
            var object = obj
            if table && type != "ERROR" && type != "BOOKMARK" {
                object = Tables.table(r, [obj], include: include, listMeta: ["resourceVersion": obj["metadata"]?["resourceVersion"] ?? ""], withColumns: first)
                first = false
            }
            let event: JSONValue = ["type": .string(type), "object": object]
            try await writer.write(event.serialized + [UInt8(ascii: "\n")])
        }
        if let expired {
            try await send("ERROR", try JSONValue.encoding(expired.status))
            return
        }
        // Keys this watcher has seen matching: a change out of the selector is a DELETED for it.
        var visible = Set<String>(seen)
        for obj in initial {
            visible.insert(Registry.key(r, namespace: obj["metadata"]?["namespace"]?.stringValue, name: obj["metadata"]?["name"]?.stringValue ?? ""))
            try await send("ADDED", obj)
        }
        guard let stream else { return }
        let everything = labels.isEverything && fields.isEverything
        do {
            for try await event in stream {
                guard let obj = registry.watchEncodings.object(event, registry) else { continue }
                let matches = labels.matches(obj) && fields.matches(obj)
                let wasVisible = visible.contains(event.key)
                switch event.kind {
                case .added where matches:
                    visible.insert(event.key)
                    try await send("ADDED", obj, revision: event.revision)
                case .modified where matches:
                    visible.insert(event.key)
                    try await send(wasVisible || everything ? "MODIFIED" : "ADDED", obj, revision: event.revision)
                case .modified where wasVisible:
                    visible.remove(event.key)
                    try await send("DELETED", obj, revision: event.revision)
                case .deleted where matches || wasVisible:
                    visible.remove(event.key)
                    try await send("DELETED", obj, revision: event.revision)
                default:
                    continue
                }
            }
        } catch StoreError.tooSlow {
            try await send("ERROR", try JSONValue.encoding(APIError.gone("the watcher fell too far behind; list again").status))
        }
    }
}

/// Each store event parsed, and each watch line encoded, once for all watchers (a hundred
/// watchers of one change would otherwise parse and serialize it a hundred times). One per
/// registry: revisions are a store's own, and a process may hold several masters.
final class WatchEncodings: Sendable {
    /// Events are unique by revision; the last few hundred cover every watcher that keeps up.
    static let kept: Int64 = 512
    let objects = Locked<[Int64: JSONValue]>([:])
    let lines = Locked<[String: [UInt8]]>([:])

    func object(_ event: StoreEvent, _ registry: Registry) -> JSONValue? {
        if let hit = objects.withLock({ $0[event.revision] }) { return hit }
        guard let obj = try? registry.decodeRecord(event.value) else { return nil }
        objects.withLock {
            $0[event.revision] = obj
            if $0.count > Int(Self.kept) * 2 { $0 = $0.filter { $0.key > event.revision - Self.kept } }
        }
        return obj
    }

    func line(_ revision: Int64, _ type: String, _ obj: JSONValue) -> [UInt8] {
        let key = "\(revision)/\(type)"
        if let hit = lines.withLock({ $0[key] }) { return hit }
        let event: JSONValue = ["type": .string(type), "object": obj]
        let bytes = event.serialized + [UInt8(ascii: "\n")]
        lines.withLock {
            $0[key] = bytes
            if $0.count > Int(Self.kept) * 2 {
                $0 = $0.filter { Int64($0.key.prefix { $0 != "/" }).map { $0 > revision - Self.kept } ?? false }
            }
        }
        return bytes
    }
}

extension Registry {
    /// The binding subresource's write: nodeName is set once, below the update rules.
    func setNodeName(namespace: String?, name: String, node: String) throws(APIError) {
        let key = Self.key(Resources.pods, namespace: namespace, name: name)
        do {
            _ = try store.update(key, expectedRevision: nil) { current, rev in
                var pod = try JSONValue.parse(current.value)
                pod["spec"]?["nodeName"] = .string(node)
                var conditions = pod["status"]?["conditions"]?.arrayValue ?? []
                conditions.removeAll { $0["type"]?.stringValue == "PodScheduled" }
                conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": nil, "lastTransitionTime": .string(Time.now().rfc3339)])
                pod["status"]?["conditions"] = .array(conditions)
                return Self.stamp(pod, rev).serialized
            }
        } catch {
            throw Self.mapStoreError(error)
        }
    }

    /// Removes an object at once, whatever its finalizers (the namespace controller, pod GC).
    func purge(_ r: ResourceInfo, namespace: String?, name: String) throws(APIError) {
        let key = Self.key(r, namespace: namespace, name: name)
        forget(key)
        do {
            _ = try store.delete(key, expectedRevision: nil) { current, rev in
                try sealed(key, Self.stamp((try? decodeRecord(current.value)) ?? .null, rev))
            }
        } catch StoreError.notFound {
            return
        } catch {
            throw Self.mapStoreError(error)
        }
    }
}
