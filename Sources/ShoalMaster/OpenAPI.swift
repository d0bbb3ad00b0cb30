import ShoalAPI

/// Just enough OpenAPI v3 for kubectl: the discovery root and, per group/version, the paths
/// whose PATCH operations declare the `fieldValidation` parameter, which is how kubectl learns
/// that the server validates fields itself (then it sends `fieldValidation=Strict` and needs
/// no client-side schema). Strategic merge falls back to kubectl's compiled-in types.
enum OpenAPI {
    static func path(_ gv: (group: String, version: String)) -> String {
        gv.group.isEmpty ? "api/\(gv.version)" : "apis/\(gv.group)/\(gv.version)"
    }

    static func root() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for gv in Resources.groupVersions {
            paths[path(gv)] = ["serverRelativeURL": .string("/openapi/v3/\(path(gv))?hash=shoal1")]
        }
        return ["paths": .object(paths)]
    }

    static func document(_ p: String) -> JSONValue? {
        guard let gv = Resources.groupVersions.first(where: { path($0) == p }) else { return nil }
        var paths: [String: JSONValue] = [:]
        let parameters: JSONValue = [
            ["name": "fieldValidation", "in": "query", "schema": ["type": "string"], "uniqueItems": true],
            ["name": "fieldManager", "in": "query", "schema": ["type": "string"], "uniqueItems": true],
            ["name": "dryRun", "in": "query", "schema": ["type": "string"], "uniqueItems": true],
        ]
        for r in Resources.all where r.group == gv.group && r.version == gv.version {
            let gvk: JSONValue = ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]
            let operation: JSONValue = ["parameters": parameters, "x-kubernetes-group-version-kind": gvk,
                                        "responses": ["200": ["description": "OK"]]]
            let base = "/" + p + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural
            paths[base] = ["post": operation]
            paths[base + "/{name}"] = ["patch": operation, "put": operation]
        }
        return ["openapi": "3.0.0", "info": ["title": "Shoal", "version": .string(Discovery.gitVersion)], "paths": .object(paths)]
    }
}
