import ShoalAPI

/// Field ownership (`metadata.managedFields`, FieldsV1), the bookkeeping server-side apply runs on.
/// A field path is a list of FieldsV1 keys: `f:name` for a member, `k:{"name":"app"}` for a list
/// element found by its merge key, `.` for such an element itself.
enum ManagedFields {
    typealias Path = [String]

    /// Leaf paths a (partial) object sets. Identity and server-owned fields are not managed.
    static func paths(of obj: JSONValue) -> Set<Path> {
        var out = Set<Path>()
        for (k, v) in obj.objectValue ?? [:] where !["apiVersion", "kind", "status"].contains(k) {
            if k == "metadata" {
                for (mk, mv) in v.objectValue ?? [:] where ["labels", "annotations", "finalizers", "ownerReferences"].contains(mk) {
                    collect(mv, ["f:metadata", "f:" + mk], field: mk, parents: ["metadata"], into: &out)
                }
            } else {
                collect(v, ["f:" + k], field: k, parents: [], into: &out)
            }
        }
        return out
    }

    static func collect(_ v: JSONValue, _ path: Path, field: String, parents: [String], into out: inout Set<Path>) {
        switch v {
        case .object(let members) where !members.isEmpty:
            for (k, child) in members { collect(child, path + ["f:" + k], field: k, parents: parents + [field], into: &out) }
        case .array(let items):
            if let key = Patch.mergeKey(field: field, parent: parents), !items.isEmpty, items.allSatisfy({ $0[key] != nil }) {
                for item in items {
                    let p = path + [elementKey(key, item)]
                    out.insert(p + ["."])
                    for (k, child) in item.objectValue ?? [:] {
                        collect(child, p + ["f:" + k], field: k, parents: parents + [field], into: &out)
                    }
                }
            } else {
                out.insert(path)
            }
        default:
            out.insert(path)
        }
    }

    static func elementKey(_ key: String, _ item: JSONValue) -> String {
        "k:" + JSONValue.object([key: item[key] ?? .null]).description
    }

    /// The value at a path, nil when absent.
    static func value(_ obj: JSONValue, _ path: Path) -> JSONValue? {
        var current: JSONValue = obj
        for step in path {
            if step == "." { return current }
            if step.hasPrefix("f:") {
                guard let next = current[String(step.dropFirst(2))] else { return nil }
                current = next
            } else if step.hasPrefix("k:"), let key = try? JSONValue.parse(Array(step.dropFirst(2).utf8)), let (k, v) = key.objectValue?.first {
                guard let next = current.arrayValue?.first(where: { $0[k] == v }) else { return nil }
                current = next
            } else {
                return nil
            }
        }
        return current
    }

    /// The object without the field at `path` (a `.` path removes the list element).
    static func removing(_ obj: JSONValue, _ path: Path) -> JSONValue {
        guard let step = path.first else { return obj }
        let rest = Array(path.dropFirst())
        if step.hasPrefix("f:") {
            let name = String(step.dropFirst(2))
            var o = obj.objectValue ?? [:]
            if rest.isEmpty { o[name] = nil } else if let child = o[name] { o[name] = removing(child, rest) }
            return .object(o)
        }
        if step.hasPrefix("k:"), let key = try? JSONValue.parse(Array(step.dropFirst(2).utf8)), let (k, v) = key.objectValue?.first,
           var items = obj.arrayValue, let i = items.firstIndex(where: { $0[k] == v }) {
            if rest == ["."] { items.remove(at: i) } else { items[i] = removing(items[i], rest) }
            return .array(items)
        }
        return obj
    }

    /// Human form of a path for conflict messages: `.spec.containers[name="app"].image`.
    static func describe(_ path: Path) -> String {
        var out = ""
        for step in path where step != "." {
            if step.hasPrefix("f:") { out += "." + step.dropFirst(2) }
            else if let key = try? JSONValue.parse(Array(step.dropFirst(2).utf8)), let (k, v) = key.objectValue?.first {
                out += "[\(k)=\(v.description)]"
            }
        }
        return out
    }

    // MARK: FieldsV1 <-> paths

    static func fieldsV1(_ paths: Set<Path>) -> JSONValue {
        var root: [String: JSONValue] = [:]
        func insert(_ path: ArraySlice<String>, into node: inout [String: JSONValue]) {
            guard let first = path.first else { return }
            var child = node[first]?.objectValue ?? [:]
            insert(path.dropFirst(), into: &child)
            node[first] = .object(child)
        }
        for p in paths { insert(p[...], into: &root) }
        return .object(root)
    }

    static func paths(fromFieldsV1 v: JSONValue) -> Set<Path> {
        var out = Set<Path>()
        func walk(_ node: JSONValue, _ path: Path) {
            let members = node.objectValue ?? [:]
            if members.isEmpty { if !path.isEmpty { out.insert(path) }; return }
            for (k, child) in members { walk(child, path + [k]) }
        }
        walk(v, [])
        return out
    }

    struct Entry {
        var manager: String
        var operation: String
        var apiVersion: String
        var time: String
        var subresource: String?
        var paths: Set<Path>

        init(manager: String, operation: String, apiVersion: String, subresource: String?, paths: Set<Path>) {
            self.manager = manager
            self.operation = operation
            self.apiVersion = apiVersion
            self.time = Time.now().rfc3339
            self.subresource = subresource
            self.paths = paths
        }

        init?(_ v: JSONValue) {
            guard let m = v["manager"]?.stringValue, let op = v["operation"]?.stringValue else { return nil }
            manager = m
            operation = op
            apiVersion = v["apiVersion"]?.stringValue ?? "v1"
            time = v["time"]?.stringValue ?? ""
            subresource = v["subresource"]?.stringValue
            paths = ManagedFields.paths(fromFieldsV1: v["fieldsV1"] ?? [:])
        }

        var json: JSONValue {
            var o: [String: JSONValue] = ["manager": .string(manager), "operation": .string(operation), "apiVersion": .string(apiVersion),
                                          "time": .string(time), "fieldsType": "FieldsV1", "fieldsV1": ManagedFields.fieldsV1(paths)]
            if let subresource { o["subresource"] = .string(subresource) }
            return .object(o)
        }
    }

    static func entries(_ obj: JSONValue) -> [Entry] {
        (obj["metadata"]?["managedFields"]?.arrayValue ?? []).compactMap(Entry.init)
    }

    static func setting(_ obj: JSONValue, _ entries: [Entry]) -> JSONValue {
        var obj = obj
        let kept = entries.filter { !$0.paths.isEmpty }
        if kept.isEmpty { obj["metadata"]?["managedFields"] = nil } else { obj["metadata"]?["managedFields"] = .array(kept.map(\.json)) }
        return obj
    }

    /// Records an Update by `manager`: it now owns every field whose value it changed.
    static func recordUpdate(old: JSONValue?, new: JSONValue, manager: String, apiVersion: String, subresource: String?) -> JSONValue {
        let newPaths = paths(of: new)
        let changed: Set<Path>
        if let old {
            changed = newPaths.filter { value(old, $0) != value(new, $0) }
        } else {
            changed = newPaths
        }
        var list = old.map(entries) ?? []
        if changed.isEmpty && old != nil { return setting(new, list) }
        for i in list.indices { list[i].paths.subtract(changed) }
        // Fields that are gone are owned by nobody.
        for i in list.indices { list[i].paths = list[i].paths.filter { newPaths.contains($0) } }
        if let i = list.firstIndex(where: { $0.manager == manager && $0.operation == "Update" && $0.subresource == subresource }) {
            list[i].paths.formUnion(changed)
            list[i].time = Time.now().rfc3339
        } else {
            list.append(Entry(manager: manager, operation: "Update", apiVersion: apiVersion, subresource: subresource, paths: changed))
        }
        return setting(new, list)
    }
}

/// Server-side apply: the applied configuration is merged into the live object; fields the
/// manager applied before and no longer applies are removed unless someone else owns them; a
/// field another manager owns with a different value is a conflict unless forced.
enum ServerSideApply {
    static func apply(_ registry: Registry, _ t: Target, name: String, config: JSONValue, manager: String, force: Bool,
                      strict: Bool, subresource: String?) throws(APIError) -> (object: JSONValue, created: Bool) {
        let r = t.resource
        if let n = config["metadata"]?["name"]?.stringValue, n != name {
            throw APIError.badRequest("the name of the object (\(n)) does not match the name on the URL (\(name))")
        }
        let applied = ManagedFields.paths(of: config)
        do {
            _ = try registry.get(r, namespace: t.namespace, name: name)
        } catch let e where e.code == 404 {
            var obj = config
            obj["metadata"]?["managedFields"] = nil
            obj = ManagedFields.setting(obj, [ManagedFields.Entry(manager: manager, operation: "Apply", apiVersion: r.groupVersion, subresource: subresource, paths: applied)])
            return (try registry.create(r, namespace: t.namespace, object: obj, strict: strict), true)
        }
        let updated = try registry.modify(r, namespace: t.namespace, name: name, subresource: subresource, strict: strict) { (current) throws(APIError) -> JSONValue in
            var entries = ManagedFields.entries(current)
            var conflicts: [(String, ManagedFields.Path)] = []
            for (i, e) in entries.enumerated() where e.manager != manager || e.operation != "Apply" {
                // An element's own marker (`.`) is shared ownership, never a conflict by itself.
                for p in e.paths.intersection(applied) where p.last != "." && ManagedFields.value(current, p) != ManagedFields.value(config, p) {
                    if force { entries[i].paths.remove(p) } else { conflicts.append((e.manager, p)) }
                }
            }
            if !conflicts.isEmpty { throw conflictError(r, name, conflicts) }
            var merged: JSONValue
            do { merged = try Patch.strategic(current, config) } catch { throw APIError.badRequest("\(error)") }
            let mine = entries.firstIndex { $0.manager == manager && $0.operation == "Apply" }
            let previouslyApplied = mine.map { entries[$0].paths } ?? []
            let ownedByOthers = entries.enumerated().filter { $0.offset != mine }.reduce(into: Set<ManagedFields.Path>()) { $0.formUnion($1.element.paths) }
            for p in previouslyApplied.subtracting(applied).subtracting(ownedByOthers).sorted(by: { $0.count > $1.count }) {
                merged = ManagedFields.removing(merged, p)
            }
            if let mine { entries[mine].paths = applied; entries[mine].time = Time.now().rfc3339 } else {
                entries.append(ManagedFields.Entry(manager: manager, operation: "Apply", apiVersion: r.groupVersion, subresource: subresource, paths: applied))
            }
            return ManagedFields.setting(merged, entries)
        }
        return (updated, false)
    }

    static func conflictError(_ r: ResourceInfo, _ name: String, _ conflicts: [(String, ManagedFields.Path)]) -> APIError {
        let lines = conflicts.map { "conflict with \(goQuote($0.0)) using \(r.groupVersion): \(ManagedFields.describe($0.1))" }
        let message = conflicts.count == 1 ? "Apply failed with 1 conflict: \(lines[0])"
            : "Apply failed with \(conflicts.count) conflicts: " + lines.joined(separator: "\n")
        var e = APIError(code: 409, reason: "Conflict", message: message,
                         details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
        e.status.details?.causes = conflicts.map {
            StatusCause(reason: "FieldManagerConflict", message: "conflict with \(goQuote($0.0)) using \(r.groupVersion)", field: ManagedFields.describe($0.1))
        }
        return e
    }
}
