import ShoalAPI

/// One REST resource the API server serves: what discovery advertises and how it is stored.
public struct ResourceInfo: Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    public var plural: String
    public var singular: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var subresources: [String]
    public var categories: [String]
    /// The field selectors this resource accepts besides metadata.name and metadata.namespace.
    public var fieldSelectors: [String]

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The name in messages and in Status details: `pods`, `leases.coordination.k8s.io`.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    static let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
}

/// The resources Shoal serves, the single source for routing and discovery.
public enum Resources {
    public static let pods = ResourceInfo(
        group: "", version: "v1", kind: "Pod", plural: "pods", singular: "pod", namespaced: true,
        shortNames: ["po"], subresources: ["status", "log", "exec", "attach", "portforward", "ephemeralcontainers", "binding", "eviction"],
        categories: ["all"], fieldSelectors: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"])
    public static let nodes = ResourceInfo(
        group: "", version: "v1", kind: "Node", plural: "nodes", singular: "node", namespaced: false,
        shortNames: ["no"], subresources: ["status"], categories: [], fieldSelectors: ["spec.unschedulable"])
    public static let namespaces = ResourceInfo(
        group: "", version: "v1", kind: "Namespace", plural: "namespaces", singular: "namespace", namespaced: false,
        shortNames: ["ns"], subresources: ["status", "finalize"], categories: [], fieldSelectors: ["status.phase"])
    public static let events = ResourceInfo(
        group: "", version: "v1", kind: "Event", plural: "events", singular: "event", namespaced: true,
        shortNames: ["ev"], subresources: [], categories: [],
        fieldSelectors: ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                         "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                         "reason", "reportingComponent", "source", "type"])
    public static let leases = ResourceInfo(
        group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", singular: "lease", namespaced: true,
        shortNames: [], subresources: [], categories: [], fieldSelectors: [])

    public static let services = ResourceInfo(
        group: "", version: "v1", kind: "Service", plural: "services", singular: "service", namespaced: true,
        shortNames: ["svc"], subresources: ["status"], categories: ["all"], fieldSelectors: ["spec.clusterIP", "spec.type"])
    public static let endpoints = ResourceInfo(
        group: "", version: "v1", kind: "Endpoints", plural: "endpoints", singular: "endpoints", namespaced: true,
        shortNames: ["ep"], subresources: [], categories: [], fieldSelectors: [])
    public static let endpointSlices = ResourceInfo(
        group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", singular: "endpointslice", namespaced: true,
        shortNames: [], subresources: [], categories: [], fieldSelectors: ["addressType"])

    public static let replicaSets = ResourceInfo(
        group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", singular: "replicaset", namespaced: true,
        shortNames: ["rs"], subresources: ["status", "scale"], categories: ["all"], fieldSelectors: [])
    public static let deployments = ResourceInfo(
        group: "apps", version: "v1", kind: "Deployment", plural: "deployments", singular: "deployment", namespaced: true,
        shortNames: ["deploy"], subresources: ["status", "scale"], categories: ["all"], fieldSelectors: [])

    public static let configMaps = ResourceInfo(
        group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", singular: "configmap", namespaced: true,
        shortNames: ["cm"], subresources: [], categories: [], fieldSelectors: [])
    public static let secrets = ResourceInfo(
        group: "", version: "v1", kind: "Secret", plural: "secrets", singular: "secret", namespaced: true,
        shortNames: [], subresources: [], categories: [], fieldSelectors: ["type"])
    public static let limitRanges = ResourceInfo(
        group: "", version: "v1", kind: "LimitRange", plural: "limitranges", singular: "limitrange", namespaced: true,
        shortNames: ["limits"], subresources: [], categories: [], fieldSelectors: [])
    public static let resourceQuotas = ResourceInfo(
        group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", singular: "resourcequota", namespaced: true,
        shortNames: ["quota"], subresources: ["status"], categories: [], fieldSelectors: [])
    public static let replicationControllers = ResourceInfo(
        group: "", version: "v1", kind: "ReplicationController", plural: "replicationcontrollers", singular: "replicationcontroller",
        namespaced: true, shortNames: ["rc"], subresources: ["status", "scale"], categories: ["all"], fieldSelectors: [])
    public static let daemonSets = ResourceInfo(
        group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", singular: "daemonset", namespaced: true,
        shortNames: ["ds"], subresources: ["status"], categories: ["all"], fieldSelectors: [])
    public static let jobs = ResourceInfo(
        group: "batch", version: "v1", kind: "Job", plural: "jobs", singular: "job", namespaced: true,
        shortNames: [], subresources: ["status"], categories: ["all"], fieldSelectors: ["status.successful"])

    public static let persistentVolumes = ResourceInfo(
        group: "", version: "v1", kind: "PersistentVolume", plural: "persistentvolumes", singular: "persistentvolume", namespaced: false,
        shortNames: ["pv"], subresources: ["status"], categories: [], fieldSelectors: [])
    public static let persistentVolumeClaims = ResourceInfo(
        group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", singular: "persistentvolumeclaim",
        namespaced: true, shortNames: ["pvc"], subresources: ["status"], categories: [], fieldSelectors: [])
    public static let storageClasses = ResourceInfo(
        group: "storage.k8s.io", version: "v1", kind: "StorageClass", plural: "storageclasses", singular: "storageclass", namespaced: false,
        shortNames: ["sc"], subresources: [], categories: [], fieldSelectors: [])

    public static let serviceAccounts = ResourceInfo(
        group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", singular: "serviceaccount", namespaced: true,
        shortNames: ["sa"], subresources: [], categories: [], fieldSelectors: [])

    public static let all: [ResourceInfo] = [pods, nodes, namespaces, events, services, endpoints, leases, endpointSlices, replicaSets, deployments, daemonSets, jobs, limitRanges, resourceQuotas, replicationControllers, configMaps, secrets, persistentVolumes, persistentVolumeClaims, storageClasses, serviceAccounts]

    /// The resource a request path names under a group/version, nil when unknown.
    static func lookup(groupVersion: String, plural: String) -> ResourceInfo? {
        all.first { $0.groupVersion == groupVersion && $0.plural == plural }
    }

    /// Group/versions served, in discovery order.
    static var groupVersions: [(group: String, version: String)] {
        var seen: [(String, String)] = []
        for r in all where !seen.contains(where: { $0 == (r.group, r.version) }) { seen.append((r.group, r.version)) }
        return seen
    }
}
