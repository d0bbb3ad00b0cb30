import Foundation
import ShoalAPI
import ShoalOS
import ShoalStore

/// Kubernetes REST semantics over the revisioned store: names, UIDs, resourceVersions,
/// optimistic concurrency, graceful deletion and finalizers, for any resource; what is
/// particular to a kind lives in its `ResourceStrategy`.
public final class Registry: Sendable {
    let store: Store
    let strategies: [String: any ResourceStrategy]
    /// Parsed objects by key, valid while the stored revision matches: lists and watches then
    /// parse each stored object once per change, not once per request.
    let parsed = Locked<[String: (revision: Int64, object: JSONValue)]>([:])

    /// Seals Secrets before they reach the store.
    let sealer: SecretSealer?
    /// Each store event parsed, and each watch line encoded, once for all of this registry's watchers.
    let watchEncodings = WatchEncodings()

    init(store: Store, defaultTolerationSeconds: Int64 = 300, services: ServiceAllocator, sealer: SecretSealer? = nil) {
        self.store = store
        self.sealer = sealer
        var s: [String: any ResourceStrategy] = [:]
        for r in Resources.all { s[r.qualifiedName] = GenericStrategy(resource: r) }
        s[Resources.pods.qualifiedName] = PodStrategy(defaultTolerationSeconds: defaultTolerationSeconds)
        s[Resources.namespaces.qualifiedName] = NamespaceStrategy()
        s[Resources.services.qualifiedName] = ServiceStrategy(allocator: services)
        s[Resources.endpoints.qualifiedName] = EndpointsStrategy()
        s[Resources.endpointSlices.qualifiedName] = EndpointSliceStrategy()
        s[Resources.replicaSets.qualifiedName] = WorkloadStrategy<ReplicaSet>.replicaSets
        s[Resources.deployments.qualifiedName] = WorkloadStrategy<Deployment>.deployments
        s[Resources.jobs.qualifiedName] = WorkloadStrategy<Job>.jobs
        s[Resources.daemonSets.qualifiedName] = WorkloadStrategy<DaemonSet>.daemonSets
        s[Resources.replicationControllers.qualifiedName] = WorkloadStrategy<ReplicationController>.replicationControllers
        s[Resources.configMaps.qualifiedName] = ConfigMapStrategy()
        s[Resources.secrets.qualifiedName] = SecretStrategy()
        s[Resources.limitRanges.qualifiedName] = TypedStrategy<LimitRange>.limitRanges
        s[Resources.resourceQuotas.qualifiedName] = TypedStrategy<ResourceQuota>.resourceQuotas
        s[Resources.persistentVolumes.qualifiedName] = TypedStrategy<PersistentVolume>.persistentVolumes
        s[Resources.persistentVolumeClaims.qualifiedName] = TypedStrategy<PersistentVolumeClaim>.persistentVolumeClaims
        s[Resources.storageClasses.qualifiedName] = TypedStrategy<StorageClass>.storageClasses
        strategies = s
        // What the stored services hold, before the first request can ask for more.
        let stored = (try? store.list(prefix: Self.prefix(Resources.services, namespace: nil)).records) ?? []
        services.load(stored.compactMap { try? JSONValue.parse($0.value).decode(Service.self) })
    }

    func strategy(_ r: ResourceInfo) -> any ResourceStrategy { strategies[r.qualifiedName] ?? GenericStrategy(resource: r) }

    // MARK: keys

    static func prefix(_ r: ResourceInfo, namespace: String?) -> String {
        if r.namespaced, let namespace, !namespace.isEmpty { return "/registry/\(r.qualifiedName)/\(namespace)/" }
        return "/registry/\(r.qualifiedName)/"
    }

    static func key(_ r: ResourceInfo, namespace: String?, name: String) -> String {
        prefix(r, namespace: r.namespaced ? (namespace ?? "default") : nil) + name
    }

    // MARK: reads

    func get(_ r: ResourceInfo, namespace: String?, name: String) throws(APIError) -> JSONValue {
        guard let record = try storeCall({ try store.get(Self.key(r, namespace: namespace, name: name)) }) else {
            throw APIError.notFound(r, name)
        }
        return try decode(record)
    }

    struct ListResult {
        var items: [JSONValue]
        var revision: Int64
        var continueToken: String?
    }

    func list(_ r: ResourceInfo, namespace: String?, labels: LabelQuery, fields: FieldSelector,
              limit: Int?, continueToken: String?) throws(APIError) -> ListResult {
        let prefix = Self.prefix(r, namespace: namespace)
        var startAfter: String?
        if let token = continueToken, !token.isEmpty {
            guard let decoded = ContinueToken(parsing: token) else {
                throw APIError.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            }
            if decoded.revision < store.compactedRevision {
                throw APIError.gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
            }
            startAfter = prefix + decoded.start
        }
        var items: [JSONValue] = []
        var cursor = startAfter
        var revision: Int64 = 0
        // Selectors filter after the read, so one page may need several reads to fill.
        while true {
            let want = limit.map { max($0 - items.count, 1) }
            let page = try storeCall { try store.list(prefix: prefix, startAfter: cursor, limit: want) }
            if revision == 0 { revision = page.revision }
            for record in page.records {
                let obj = try decode(record)
                if labels.matches(obj) && fields.matches(obj) { items.append(obj) }
                cursor = record.key
            }
            if !page.more { return ListResult(items: items, revision: revision) }
            if let limit, items.count >= limit {
                // remainingItemCount is optional in the API; counting it would re-read the whole prefix per page.
                let start = String(cursor!.dropFirst(prefix.count))
                return ListResult(items: items, revision: revision,
                                  continueToken: ContinueToken(revision: revision, start: start).encoded)
            }
        }
    }

    // MARK: writes

    func create(_ r: ResourceInfo, namespace: String?, object input: JSONValue, strict: Bool, dryRun: Bool = false) throws(APIError) -> JSONValue {
        var obj = input
        guard obj.objectValue != nil else { throw APIError.badRequest("the body must be a JSON object") }
        var meta = obj["metadata"]?.objectValue ?? [:]
        if r.namespaced {
            let ns = namespace ?? meta["namespace"]?.stringValue ?? "default"
            if let given = meta["namespace"]?.stringValue, !given.isEmpty, given != ns {
                throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            meta["namespace"] = .string(ns)
            if r.plural != "namespaces", try storeCall({ try store.get(Self.key(Resources.namespaces, namespace: nil, name: ns)) }) == nil {
                throw APIError.notFound(Resources.namespaces, ns)
            }
        }
        if (meta["name"]?.stringValue ?? "").isEmpty, let base = meta["generateName"]?.stringValue, !base.isEmpty {
            meta["name"] = .string(base + Self.randomSuffix())
        }
        meta["uid"] = .string(UUID().uuidString.lowercased())
        meta["creationTimestamp"] = .string(Time.now().rfc3339)
        meta["resourceVersion"] = nil
        meta["deletionTimestamp"] = nil
        meta["deletionGracePeriodSeconds"] = nil
        obj["metadata"] = .object(meta)
        obj["apiVersion"] = .string(r.groupVersion)
        obj["kind"] = .string(r.kind)
        let strategy = strategy(r)
        let ns = obj["metadata"]?["namespace"]?.stringValue ?? ""
        if r.namespaced {
            try admitServiceAccount(r, &obj, namespace: ns)
            try admitLimits(r, &obj, namespace: ns)
        }
        try strategy.prepareCreate(&obj, strict: strict)
        if r.namespaced { try admitQuota(r, obj, namespace: ns) }
        var committed = false
        defer { strategy.settle(old: nil, new: obj, committed: committed) }
        let name = obj["metadata"]?["name"]?.stringValue ?? ""
        if dryRun { return obj }
        let key = Self.key(r, namespace: obj["metadata"]?["namespace"]?.stringValue, name: name)
        do {
            let record = try store.create(key) { rev in try sealed(key, Self.stamp(obj, rev)) }
            committed = true
            return try decode(record)
        } catch StoreError.alreadyExists {
            throw APIError.alreadyExists(r, name)
        } catch {
            throw Self.mapStoreError(error)
        }
    }

    /// Read-modify-write of one object. `mutate` gets the stored object and returns the wanted one;
    /// the strategy then checks the transition. `expectedVersion` (from the body) gives 409 when stale.
    func modify(_ r: ResourceInfo, namespace: String?, name: String, subresource: String? = nil, strict: Bool = false,
                deleting: Bool = false, _ mutate: (JSONValue) throws(APIError) -> JSONValue) throws(APIError) -> JSONValue {
        let key = Self.key(r, namespace: namespace, name: name)
        let strategy = strategy(r)
        var finalized = false
        // What the strategy prepared, settled once the store has taken or refused it.
        var prepared: (old: JSONValue, new: JSONValue)?
        var committed = false
        defer { if let prepared { strategy.settle(old: prepared.old, new: prepared.new, committed: committed) } }
        // Read before the store's update begins: a claim's resize is checked against its class.
        let classes = r == Resources.persistentVolumeClaims && subresource == nil
            ? (try? list(Resources.storageClasses, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil))?.items
                .compactMap { try? $0.decode(StorageClass.self) }
            : nil
        do {
            let record = try store.update(key, expectedRevision: nil) { current, rev in
                let old = try decode(current)
                var new = try mutate(old)
                if let wanted = new["metadata"]?["resourceVersion"]?.stringValue, !wanted.isEmpty,
                   wanted != old["metadata"]?["resourceVersion"]?.stringValue {
                    throw APIError.conflict(r, name)
                }
                // Only a delete may set deletionTimestamp; every other write keeps the stored one.
                try Self.keepSystemFields(&new, from: deleting ? new : old, resource: r, name: old["metadata"]?["name"]?.stringValue ?? "")
                try strategy.prepareUpdate(&new, old: old, subresource: subresource, strict: strict)
                if let classes, let claim = try? new.decode(PersistentVolumeClaim.self), let was = try? old.decode(PersistentVolumeClaim.self),
                   let why = StorageValidation.resizeRefusal(claim, old: was, classes: classes) {
                    throw Self.forbidden(r, new, why)
                }
                prepared = (old, new)
                if Self.sameContent(new, old) { return nil }
                // A deleted object whose last finalizer went is removed now.
                if new["metadata"]?["deletionTimestamp"] != nil, !(old["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty,
                   (new["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty, strategy.removesWhenFinalized {
                    finalized = true
                }
                return try sealed(key, Self.stamp(new, rev))
            }
            committed = true
            let obj = try decode(record)
            if finalized { return try remove(r, key: key, name: name) }
            return obj
        } catch let e as APIError {
            throw e
        } catch StoreError.notFound {
            throw APIError.notFound(r, name)
        } catch {
            throw Self.mapStoreError(error)
        }
    }

    struct DeleteOptions {
        var gracePeriodSeconds: Int64?
        var preconditionUID: String?
        var preconditionResourceVersion: String?
        var propagationPolicy: String?
    }

    /// Deletes, or starts a graceful deletion (pods on a node, finalizers, namespaces): then the
    /// object stays with its deletionTimestamp and `removed` is false.
    func delete(_ r: ResourceInfo, namespace: String?, name: String, options: DeleteOptions) throws(APIError) -> (object: JSONValue, removed: Bool) {
        let key = Self.key(r, namespace: namespace, name: name)
        let current = try get(r, namespace: namespace, name: name)
        if let uid = options.preconditionUID, uid != current["metadata"]?["uid"]?.stringValue {
            throw APIError.conflict(r, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current["metadata"]?["uid"]?.stringValue ?? "")")
        }
        if let rv = options.preconditionResourceVersion, rv != current["metadata"]?["resourceVersion"]?.stringValue {
            throw APIError.conflict(r, name, "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(current["metadata"]?["resourceVersion"]?.stringValue ?? "")")
        }
        let grace = strategy(r).gracePeriod(current, requested: options.gracePeriodSeconds)
        var finalizers = current["metadata"]?["finalizers"]?.arrayValue ?? []
        // Orphan and Foreground cascades go through the garbage collector's finalizers.
        let cascade: String? = switch options.propagationPolicy {
        case "Orphan": Master.orphanFinalizer
        case "Foreground": Master.foregroundFinalizer
        default: nil
        }
        if let cascade, !finalizers.contains(.string(cascade)), Master.owners.contains(r) { finalizers.append(.string(cascade)) }
        if grace > 0 || !finalizers.isEmpty {
            let updated = try modify(r, namespace: namespace, name: name, deleting: true) { (obj) throws(APIError) -> JSONValue in
                var obj = obj
                var meta = obj["metadata"]?.objectValue ?? [:]
                let previous = meta["deletionGracePeriodSeconds"].flatMap { if case .int(let i) = $0 { return i } else { return nil } }
                if meta["deletionTimestamp"] == nil || (previous ?? Int64.max) > grace {
                    meta["deletionTimestamp"] = .string(Time(secondsSinceEpoch: Time.now().secondsSinceEpoch + grace).rfc3339)
                    meta["deletionGracePeriodSeconds"] = .int(grace)
                }
                meta["finalizers"] = finalizers.isEmpty ? nil : .array(finalizers)
                obj["metadata"] = .object(meta)
                strategy(r).beginDeletion(&obj)
                return obj
            }
            return (updated, false)
        }
        return (try remove(r, key: key, name: name), true)
    }

    private func remove(_ r: ResourceInfo, key: String, name: String) throws(APIError) -> JSONValue {
        forget(key)
        do {
            let record = try store.delete(key, expectedRevision: nil) { current, rev in
                try sealed(key, Self.stamp((try? decodeRecord(current.value)) ?? .null, rev))
            }
            let last = try decodeRecord(record.value)
            strategy(r).settle(old: last, new: nil, committed: true)
            return last
        } catch StoreError.notFound {
            throw APIError.notFound(r, name)
        } catch {
            throw Self.mapStoreError(error)
        }
    }

    // MARK: helpers

    static func stamp(_ obj: JSONValue, _ rev: Int64) -> JSONValue {
        var obj = obj
        var meta = obj["metadata"]?.objectValue ?? [:]
        meta["resourceVersion"] = .string(String(rev))
        obj["metadata"] = .object(meta)
        return obj
    }

    /// Fields clients cannot change with an update: identity and the server's own bookkeeping.
    static func keepSystemFields(_ new: inout JSONValue, from old: JSONValue, resource r: ResourceInfo, name: String) throws(APIError) {
        var meta = new["metadata"]?.objectValue ?? [:]
        let oldMeta = old["metadata"]?.objectValue ?? [:]
        if let n = meta["name"]?.stringValue, !n.isEmpty, n != name {
            throw APIError.badRequest("the name of the object (\(n)) does not match the name on the URL (\(name))")
        }
        for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"] {
            meta[field] = oldMeta[field]
        }
        meta["resourceVersion"] = nil
        new["metadata"] = .object(meta)
        new["apiVersion"] = .string(r.groupVersion)
        new["kind"] = .string(r.kind)
    }

    static func sameContent(_ a: JSONValue, _ b: JSONValue) -> Bool {
        var a = a, b = b
        a["metadata"]?["resourceVersion"] = nil
        b["metadata"]?["resourceVersion"] = nil
        return a == b
    }

    func decode(_ record: StoreRecord) throws(APIError) -> JSONValue {
        if let hit = parsed.withLock({ $0[record.key] }), hit.revision == record.modRevision { return hit.object }
        let obj = try decodeRecord(record.value)
        parsed.withLock { $0[record.key] = (record.modRevision, obj) }
        return obj
    }

    func forget(_ key: String) {
        _ = parsed.withLock { $0.removeValue(forKey: key) }
    }

    func decodeRecord(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
        do { return try JSONValue.parse(try sealer?.open(bytes) ?? bytes) } catch { throw APIError.internalError("stored object does not parse: \(error)") }
    }

    /// The bytes stored for an object: sealed when it is a Secret.
    func sealed(_ key: String, _ obj: JSONValue) throws -> [UInt8] {
        try sealer?.seal(key, obj.serialized) ?? obj.serialized
    }

    func storeCall<T>(_ body: () throws -> T) throws(APIError) -> T {
        do { return try body() } catch { throw Self.mapStoreError(error) }
    }

    static func mapStoreError(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? StoreError {
            switch e {
            case .compacted(let requested, let compacted):
                return APIError.gone("too old resource version: \(requested) (\(compacted))")
            default:
                return APIError.internalError("\(e)")
            }
        }
        return APIError.internalError("\(error)")
    }

    /// apimachinery's generateName suffix alphabet: no vowels, no look-alike digits.
    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }
}

/// The opaque `continue` of a paged list: the revision of the first page and the last key returned.
struct ContinueToken {
    var revision: Int64
    var start: String

    init(revision: Int64, start: String) {
        self.revision = revision
        self.start = start
    }

    init?(parsing text: String) {
        guard let data = Data(base64Encoded: text),
              let value = try? JSONValue.parse(Array(data)),
              case .int(let rv)? = value["rv"], let start = value["start"]?.stringValue else { return nil }
        revision = rv
        self.start = start
    }

    var encoded: String {
        let value: JSONValue = ["v": "meta.k8s.io/v1", "rv": .int(revision), "start": .string(start)]
        return Data(value.serialized).base64EncodedString()
    }
}
