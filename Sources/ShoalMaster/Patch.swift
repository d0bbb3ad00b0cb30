import ShoalAPI

/// The patch formats kubectl sends, applied to untyped objects.
enum Patch {
    enum Format: String, Sendable {
        case merge = "application/merge-patch+json"
        case strategic = "application/strategic-merge-patch+json"
        case json = "application/json-patch+json"
        case apply = "application/apply-patch+yaml"
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: JSON merge patch (RFC 7386)

    static func merge(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var out = target.objectValue ?? [:]
        for (k, v) in p {
            if v.isNull { out[k] = nil } else { out[k] = merge(out[k] ?? .null, v) }
        }
        return .object(out)
    }

    // MARK: strategic merge patch

    /// The merge key of a list of objects, by field name and where it sits, as the
    /// `patchMergeKey` tags of the core types give them. Lists without one are replaced whole.
    static func mergeKey(field: String, parent: [String]) -> String? {
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "volumes", "env", "imagePullSecrets",
             "resourceClaims":
            return "name"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "ports": return parent.contains(where: { $0 == "containers" || $0 == "initContainers" || $0 == "ephemeralContainers" }) ? "containerPort" : "port"
        case "conditions": return "type"
        case "addresses": return parent.last == "status" ? "type" : nil
        case "hostAliases": return "ip"
        case "podIPs", "hostIPs": return "ip"
        case "ownerReferences": return "uid"
        case "topologySpreadConstraints": return "topologyKey"
        default: return nil
        }
    }

    /// Primitive lists whose patch strategy is merge (union), not replace.
    static func mergesPrimitives(_ field: String) -> Bool { field == "finalizers" }

    static func strategic(_ target: JSONValue, _ patch: JSONValue, path: [String] = []) throws -> JSONValue {
        guard case .object(var p) = patch else { return patch }
        if let directive = p["$patch"]?.stringValue {
            p["$patch"] = nil
            switch directive {
            case "replace": return .object(p)
            case "delete": return .null
            default: throw Failure(description: "unknown patch type: \(directive)")
            }
        }
        var out = target.objectValue ?? [:]
        if let retain = p.removeValue(forKey: "$retainKeys")?.arrayValue {
            let keep = Set(retain.compactMap(\.stringValue))
            for k in out.keys where !keep.contains(k) { out[k] = nil }
        }
        var orders: [String: [JSONValue]] = [:]
        for key in p.keys where key.hasPrefix("$setElementOrder/") {
            orders[String(key.dropFirst("$setElementOrder/".count))] = p.removeValue(forKey: key)?.arrayValue
        }
        for key in p.keys where key.hasPrefix("$deleteFromPrimitiveList/") {
            let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
            let drop = Set(p.removeValue(forKey: key)?.arrayValue ?? [])
            if let list = out[field]?.arrayValue { out[field] = .array(list.filter { !drop.contains($0) }) }
        }
        for (k, v) in p {
            if v.isNull { out[k] = nil; continue }
            switch v {
            case .object:
                let merged = try strategic(out[k] ?? .null, v, path: path + [k])
                if merged.isNull { out[k] = nil } else { out[k] = merged }
            case .array(let items):
                out[k] = .array(try mergeList(out[k]?.arrayValue ?? [], items, field: k, parent: path))
            default:
                out[k] = v
            }
        }
        for (field, order) in orders {
            guard let list = out[field]?.arrayValue else { continue }
            out[field] = .array(reorder(list, by: order, key: mergeKey(field: field, parent: path)))
        }
        return .object(out)
    }

    static func mergeList(_ current: [JSONValue], _ patch: [JSONValue], field: String, parent: [String]) throws -> [JSONValue] {
        // A `$patch: replace` element means: the list is exactly the other elements.
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return patch.filter { $0["$patch"]?.stringValue != "replace" }
        }
        if mergesPrimitives(field) {
            var out = current
            for v in patch where !out.contains(v) { out.append(v) }
            return out
        }
        guard let key = mergeKey(field: field, parent: parent), patch.allSatisfy({ $0.objectValue != nil }) else {
            return patch
        }
        var out = current
        for element in patch {
            let id = element[key]
            let index = out.firstIndex { $0[key] == id }
            if element["$patch"]?.stringValue == "delete" {
                if let index { out.remove(at: index) }
                continue
            }
            if let index {
                out[index] = try strategic(out[index], element, path: parent + [field])
            } else {
                out.append(try strategic(.null, element, path: parent + [field]))
            }
        }
        return out
    }

    static func reorder(_ list: [JSONValue], by order: [JSONValue], key: String?) -> [JSONValue] {
        func id(_ v: JSONValue) -> JSONValue { key.flatMap { v[$0] } ?? v }
        let rank = Dictionary(order.enumerated().map { (id($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
        return list.enumerated().sorted { a, b in
            (rank[id(a.element)] ?? Int.max, a.offset) < (rank[id(b.element)] ?? Int.max, b.offset)
        }.map(\.element)
    }

    // MARK: JSON patch (RFC 6902)

    static func jsonPatch(_ target: JSONValue, _ operations: JSONValue) throws -> JSONValue {
        guard let ops = operations.arrayValue else { throw Failure(description: "json patch must be an array of operations") }
        var doc = target
        for op in ops {
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw Failure(description: "json patch operation needs \"op\" and \"path\"")
            }
            let pointer = try parsePointer(path)
            switch name {
            case "add": doc = try set(doc, pointer, op["value"] ?? .null, insert: true)
            case "replace":
                _ = try get(doc, pointer)
                doc = try set(doc, pointer, op["value"] ?? .null, insert: false)
            case "remove": doc = try remove(doc, pointer)
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw Failure(description: "\(name) operation needs \"from\"") }
                let source = try parsePointer(from)
                let value = try get(doc, source)
                if name == "move" { doc = try remove(doc, source) }
                doc = try set(doc, pointer, value, insert: true)
            case "test":
                guard try get(doc, pointer) == op["value"] ?? .null else { throw Failure(description: "testing value \(path) failed") }
            default: throw Failure(description: "unexpected operation \"\(name)\"")
            }
        }
        return doc
    }

    static func parsePointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw Failure(description: "invalid JSON pointer \"\(path)\"") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingAll("~1", "/").replacingAll("~0", "~")
        }
    }

    static func get(_ doc: JSONValue, _ pointer: [String]) throws -> JSONValue {
        var current = doc
        for token in pointer {
            switch current {
            case .object(let o):
                guard let next = o[token] else { throw Failure(description: "missing value at /\(pointer.joined(separator: "/"))") }
                current = next
            case .array(let a):
                guard let i = Int(token), a.indices.contains(i) else { throw Failure(description: "index out of range at /\(pointer.joined(separator: "/"))") }
                current = a[i]
            default: throw Failure(description: "no container at /\(pointer.joined(separator: "/"))")
            }
        }
        return current
    }

    static func set(_ doc: JSONValue, _ pointer: [String], _ value: JSONValue, insert: Bool) throws -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object(var o):
            if rest.isEmpty { o[token] = value } else {
                guard let child = o[token] else { throw Failure(description: "missing value at \(token)") }
                o[token] = try set(child, rest, value, insert: insert)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if token == "-" { a.append(value); return .array(a) }
                guard let i = Int(token), i >= 0, i <= a.count, insert || i < a.count else { throw Failure(description: "index \(token) out of range") }
                if insert { a.insert(value, at: i) } else { a[i] = value }
            } else {
                guard let i = Int(token), a.indices.contains(i) else { throw Failure(description: "index \(token) out of range") }
                a[i] = try set(a[i], rest, value, insert: insert)
            }
            return .array(a)
        default:
            throw Failure(description: "cannot set a member of a scalar at \(token)")
        }
    }

    static func remove(_ doc: JSONValue, _ pointer: [String]) throws -> JSONValue {
        guard let token = pointer.first else { throw Failure(description: "cannot remove the whole document") }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object(var o):
            guard let child = o[token] else { throw Failure(description: "missing value at \(token)") }
            if rest.isEmpty { o[token] = nil } else { o[token] = try remove(child, rest) }
            return .object(o)
        case .array(var a):
            guard let i = Int(token), a.indices.contains(i) else { throw Failure(description: "index \(token) out of range") }
            if rest.isEmpty { a.remove(at: i) } else { a[i] = try remove(a[i], rest) }
            return .array(a)
        default:
            throw Failure(description: "cannot remove a member of a scalar at \(token)")
        }
    }
}

extension Substring {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        String(self).replacingAll(target, replacement)
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
