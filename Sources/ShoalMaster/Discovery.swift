import ShoalAPI

/// Legacy discovery (`/api`, `/apis`, `/api/v1`, …) and `/version`. kubectl asks for aggregated
/// discovery first and falls back to these when the server answers with plain JSON.
enum Discovery {
    static let gitVersion = "v1.32.0-shoal"

    static func version() -> JSONValue {
        ["major": "1", "minor": "32", "gitVersion": .string(gitVersion), "gitCommit": "shoal", "gitTreeState": "clean",
         "buildDate": "2026-12-01T00:00:00Z", "goVersion": "swift6.3", "compiler": "swiftc", "platform": "linux/amd64"]
    }

    static func apiVersions() -> JSONValue {
        ["kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": ""]]]
    }

    static func groups() -> JSONValue {
        let groups = Resources.groupVersions.filter { !$0.group.isEmpty }.map { gv -> JSONValue in
            let v: JSONValue = ["groupVersion": .string("\(gv.group)/\(gv.version)"), "version": .string(gv.version)]
            return ["name": .string(gv.group), "versions": [v], "preferredVersion": v]
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]
    }

    static func group(_ name: String) -> JSONValue? {
        guard let gv = Resources.groupVersions.first(where: { $0.group == name }) else { return nil }
        let v: JSONValue = ["groupVersion": .string("\(gv.group)/\(gv.version)"), "version": .string(gv.version)]
        return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": [v], "preferredVersion": v]
    }

    static func resources(groupVersion: String) -> JSONValue? {
        let rs = Resources.all.filter { $0.groupVersion == groupVersion }
        guard !rs.isEmpty else { return nil }
        var list: [JSONValue] = []
        for r in rs {
            var entry: [String: JSONValue] = [
                "name": .string(r.plural), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                "kind": .string(r.kind), "verbs": .array(ResourceInfo.verbs.map(JSONValue.string)),
            ]
            if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map(JSONValue.string)) }
            if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map(JSONValue.string)) }
            list.append(.object(entry))
            for sub in r.subresources {
                let verbs: [String]
                switch sub {
                case "status", "ephemeralcontainers": verbs = ["get", "patch", "update"]
                case "binding", "eviction": verbs = ["create"]
                case "log": verbs = ["get"]
                case "finalize": verbs = ["update"]
                default: verbs = ["create", "get"]
                }
                list.append(["name": .string("\(r.plural)/\(sub)"), "singularName": "", "namespaced": .bool(r.namespaced),
                             "kind": .string(subresourceKind(sub, of: r)),
                             "verbs": .array(verbs.map(JSONValue.string))])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(list)]
    }

    /// The kind a subresource takes or returns, as the API server's discovery lists it.
    static func subresourceKind(_ sub: String, of r: ResourceInfo) -> String {
        switch sub {
        case "binding": return "Binding"
        case "eviction": return "Eviction"
        case "exec": return "PodExecOptions"
        case "attach": return "PodAttachOptions"
        case "portforward": return "PodPortForwardOptions"
        default: return r.kind
        }
    }
}
