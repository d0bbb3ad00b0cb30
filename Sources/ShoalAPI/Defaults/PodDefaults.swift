/// The API server's defaulting of a `v1 Pod` (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go
/// and the generated SetObjectDefaults_Pod), applied before validation, as Kubernetes does:
/// the validation messages assume these values (a container port without a protocol is TCP,
/// a volume without a source is an emptyDir, a probe's period is 10 s, …).
public enum PodDefaults {
    public static let terminationMessagePath = "/dev/termination-log"
    public static let schedulerName = "default-scheduler"
    public static let defaultFileMode: Int32 = 0o644
    public static let terminationGracePeriodSeconds: Int64 = 30

    /// `pod` with every default applied. Idempotent.
    public static func apply(_ pod: Pod) -> Pod {
        var p = pod
        apply(to: &p)
        return p
    }

    public static func apply(to pod: inout Pod) {
        // SetDefaults_Pod: requests default to limits (regular and init containers only).
        pod.spec.containers = pod.spec.containers.map(requestsFromLimits)
        pod.spec.initContainers = pod.spec.initContainers?.map(requestsFromLimits)
        if pod.spec.enableServiceLinks == nil { pod.spec.enableServiceLinks = true }
        if pod.spec.hostNetwork == true {
            pod.spec.containers = pod.spec.containers.map(hostNetworkPorts)
            pod.spec.initContainers = pod.spec.initContainers?.map(hostNetworkPorts)
        }

        // SetDefaults_PodSpec.
        if (pod.spec.dnsPolicy?.rawValue ?? "").isEmpty { pod.spec.dnsPolicy = .clusterFirst }
        if (pod.spec.restartPolicy?.rawValue ?? "").isEmpty { pod.spec.restartPolicy = .always }
        if pod.spec.securityContext == nil { pod.spec.securityContext = PodSecurityContext() }
        if pod.spec.terminationGracePeriodSeconds == nil {
            pod.spec.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        }
        if (pod.spec.schedulerName ?? "").isEmpty { pod.spec.schedulerName = schedulerName }

        pod.spec.volumes = pod.spec.volumes?.map(volume)
        pod.spec.initContainers = pod.spec.initContainers?.map(container)
        pod.spec.containers = pod.spec.containers.map(container)
        pod.spec.ephemeralContainers = pod.spec.ephemeralContainers?.map { e in
            var e = e
            e.container = container(e.container)
            return e
        }
        if let overhead = pod.spec.overhead { pod.spec.overhead = roundedUp(overhead) }
        if var resources = pod.spec.resources {
            resources.limits = resources.limits.map(roundedUp)
            resources.requests = resources.requests.map(roundedUp)
            pod.spec.resources = resources
        }
    }

    static func requestsFromLimits(_ c: Container) -> Container {
        guard var resources = c.resources, let limits = resources.limits else { return c }
        var requests = resources.requests ?? [:]
        for (name, limit) in limits where requests[name] == nil { requests[name] = limit }
        resources.requests = requests
        var c = c
        c.resources = resources
        return c
    }

    static func hostNetworkPorts(_ c: Container) -> Container {
        var c = c
        c.ports = c.ports?.map { port in
            var port = port
            if (port.hostPort ?? 0) == 0 { port.hostPort = port.containerPort }
            return port
        }
        return c
    }

    /// SetDefaults_ResourceList: quantities are rounded up to milli-units.
    static func roundedUp(_ list: [String: Quantity]) -> [String: Quantity] {
        list.mapValues { $0.roundedUp(toScale: -3) }
    }

    /// SetDefaults_Container (also for ephemeral containers) and what the generated defaulter
    /// applies below a container: ports, env field refs, resources, probes, lifecycle handlers.
    static func container(_ c: Container) -> Container {
        var c = c
        if (c.imagePullPolicy?.rawValue ?? "").isEmpty {
            c.imagePullPolicy = imageTag(c.image ?? "") == "latest" ? .always : .ifNotPresent
        }
        if (c.terminationMessagePath ?? "").isEmpty { c.terminationMessagePath = terminationMessagePath }
        if (c.terminationMessagePolicy?.rawValue ?? "").isEmpty { c.terminationMessagePolicy = .file }
        c.ports = c.ports?.map { port in
            var port = port
            if (port.protocol?.rawValue ?? "").isEmpty { port.protocol = .tcp }
            return port
        }
        c.env = c.env?.map { env in
            var env = env
            if var from = env.valueFrom, var ref = from.fieldRef {
                if (ref.apiVersion ?? "").isEmpty { ref.apiVersion = "v1" }
                from.fieldRef = ref
                env.valueFrom = from
            }
            return env
        }
        if var resources = c.resources {
            resources.limits = resources.limits.map(roundedUp)
            resources.requests = resources.requests.map(roundedUp)
            c.resources = resources
        }
        c.livenessProbe = c.livenessProbe.map(probe)
        c.readinessProbe = c.readinessProbe.map(probe)
        c.startupProbe = c.startupProbe.map(probe)
        if var lifecycle = c.lifecycle {
            lifecycle.postStart = lifecycle.postStart.map(handler)
            lifecycle.preStop = lifecycle.preStop.map(handler)
            c.lifecycle = lifecycle
        }
        return c
    }

    /// The tag parsers.ParseImageName finds: "latest" when the reference has neither tag nor
    /// digest, "" when it has only a digest.
    static func imageTag(_ image: String) -> String {
        guard !image.isEmpty else { return "" }
        var name = Substring(image)
        var hasDigest = false
        if let at = name.firstIndex(of: "@") {
            name = name[..<at]
            hasDigest = true
        }
        let lastComponent = name.split(separator: "/", omittingEmptySubsequences: false).last ?? name
        if let colon = lastComponent.lastIndex(of: ":") {
            return String(lastComponent[lastComponent.index(after: colon)...])
        }
        return hasDigest ? "" : "latest"
    }

    /// SetDefaults_Probe and SetDefaults_HTTPGetAction.
    static func probe(_ p: Probe) -> Probe {
        var p = p
        if (p.timeoutSeconds ?? 0) == 0 { p.timeoutSeconds = 1 }
        if (p.periodSeconds ?? 0) == 0 { p.periodSeconds = 10 }
        if (p.successThreshold ?? 0) == 0 { p.successThreshold = 1 }
        if (p.failureThreshold ?? 0) == 0 { p.failureThreshold = 3 }
        p.httpGet = p.httpGet.map(httpGet)
        return p
    }

    static func handler(_ h: LifecycleHandler) -> LifecycleHandler {
        var h = h
        h.httpGet = h.httpGet.map(httpGet)
        return h
    }

    static func httpGet(_ a: HTTPGetAction) -> HTTPGetAction {
        var a = a
        if (a.path ?? "").isEmpty { a.path = "/" }
        if (a.scheme?.rawValue ?? "").isEmpty { a.scheme = .http }
        return a
    }

    /// SetDefaults_Volume and the volume sources' defaults.
    static func volume(_ v: Volume) -> Volume {
        var v = v
        if v.sourceNames.isEmpty { v.emptyDir = EmptyDirVolumeSource() }
        if var hostPath = v.hostPath, hostPath.type == nil {
            hostPath.type = .unset
            v.hostPath = hostPath
        }
        if var secret = v.secret, secret.defaultMode == nil {
            secret.defaultMode = defaultFileMode
            v.secret = secret
        }
        if var configMap = v.configMap, configMap.defaultMode == nil {
            configMap.defaultMode = defaultFileMode
            v.configMap = configMap
        }
        if var downward = v.downwardAPI {
            if downward.defaultMode == nil { downward.defaultMode = defaultFileMode }
            downward.items = downward.items?.map(downwardFile)
            v.downwardAPI = downward
        }
        if var projected = v.projected {
            if projected.defaultMode == nil { projected.defaultMode = defaultFileMode }
            projected.sources = projected.sources?.map { source in
                var source = source
                if var downward = source.downwardAPI {
                    downward.items = downward.items?.map(downwardFile)
                    source.downwardAPI = downward
                }
                if var token = source.serviceAccountToken, token.expirationSeconds == nil {
                    token.expirationSeconds = 3600
                    source.serviceAccountToken = token
                }
                return source
            }
            v.projected = projected
        }
        return v
    }

    static func downwardFile(_ f: DownwardAPIVolumeFile) -> DownwardAPIVolumeFile {
        var f = f
        if var ref = f.fieldRef, (ref.apiVersion ?? "").isEmpty {
            ref.apiVersion = "v1"
            f.fieldRef = ref
        }
        return f
    }
}
