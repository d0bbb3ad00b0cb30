/// meta/v1 LabelSelector: matchLabels and matchExpressions, all of which must hold. An empty
/// selector matches everything; a nil one (where allowed) nothing.
public struct LabelSelector: Sendable, Hashable, Codable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    public func matches(_ labels: [String: String]?) -> Bool {
        let labels = labels ?? [:]
        for (k, v) in matchLabels ?? [:] where labels[k] != v { return false }
        for e in matchExpressions ?? [] where !e.matches(labels) { return false }
        return true
    }

    /// The selector in the label-selector query syntax (`a=b,c in (d,e),!f`), for list calls.
    public var queryString: String {
        var parts = (matchLabels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for e in matchExpressions ?? [] {
            let values = (e.values ?? []).sorted().joined(separator: ",")
            switch e.operator {
            case "In": parts.append("\(e.key) in (\(values))")
            case "NotIn": parts.append("\(e.key) notin (\(values))")
            case "Exists": parts.append(e.key)
            case "DoesNotExist": parts.append("!\(e.key)")
            default: break
            }
        }
        return parts.joined(separator: ",")
    }
}

public struct LabelSelectorRequirement: Sendable, Hashable, Codable {
    public var key: String
    /// In, NotIn, Exists, DoesNotExist.
    public var `operator`: String
    public var values: [String]?

    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch `operator` {
        case "In": return labels[key].map { (values ?? []).contains($0) } ?? false
        case "NotIn": return labels[key].map { !(values ?? []).contains($0) } ?? true
        case "Exists": return labels[key] != nil
        case "DoesNotExist": return labels[key] == nil
        default: return false
        }
    }

    public static let operators = ["In", "NotIn", "Exists", "DoesNotExist"]
}

/// core/v1 PodTemplateSpec: the pods a controller makes.
public struct PodTemplateSpec: Sendable, Hashable, Codable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// apps/v1 ReplicaSet: keeps `replicas` pods matching its selector.
public struct ReplicaSet: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ReplicaSetSpec
    public var status: ReplicaSetStatus?

    public init(apiVersion: String? = "apps/v1", kind: String? = "ReplicaSet", metadata: ObjectMeta = ObjectMeta(),
                spec: ReplicaSetSpec = ReplicaSetSpec(), status: ReplicaSetStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct ReplicaSetSpec: Sendable, Hashable, Codable {
    public var replicas: Int32?
    public var minReadySeconds: Int32?
    public var selector: LabelSelector?
    public var template: PodTemplateSpec?

    public init(replicas: Int32? = nil, minReadySeconds: Int32? = nil, selector: LabelSelector? = nil, template: PodTemplateSpec? = nil) {
        self.replicas = replicas
        self.minReadySeconds = minReadySeconds
        self.selector = selector
        self.template = template
    }
}

public struct ReplicaSetStatus: Sendable, Hashable, Codable {
    public var replicas: Int32
    public var fullyLabeledReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var observedGeneration: Int64?
    public var conditions: [Condition]?

    public init(replicas: Int32 = 0, fullyLabeledReplicas: Int32? = nil, readyReplicas: Int32? = nil, availableReplicas: Int32? = nil,
                observedGeneration: Int64? = nil) {
        self.replicas = replicas
        self.fullyLabeledReplicas = fullyLabeledReplicas
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.observedGeneration = observedGeneration
    }
}

/// apps/v1 Deployment: a ReplicaSet per pod template, rolled from one to the next.
public struct Deployment: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec
    public var status: DeploymentStatus?

    public init(apiVersion: String? = "apps/v1", kind: String? = "Deployment", metadata: ObjectMeta = ObjectMeta(),
                spec: DeploymentSpec = DeploymentSpec(), status: DeploymentStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The annotation that numbers a Deployment's ReplicaSets (and the Deployment itself).
    public static let revisionAnnotation = "deployment.kubernetes.io/revision"
    /// The label (and ReplicaSet name suffix) that ties pods to one template.
    public static let templateHashLabel = "pod-template-hash"
}

public struct DeploymentSpec: Sendable, Hashable, Codable {
    public var replicas: Int32?
    public var selector: LabelSelector?
    public var template: PodTemplateSpec?
    public var strategy: DeploymentStrategy?
    public var minReadySeconds: Int32?
    public var revisionHistoryLimit: Int32?
    public var paused: Bool?
    public var progressDeadlineSeconds: Int32?

    public init(replicas: Int32? = nil, selector: LabelSelector? = nil, template: PodTemplateSpec? = nil, strategy: DeploymentStrategy? = nil) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
        self.strategy = strategy
    }
}

public struct DeploymentStrategy: Sendable, Hashable, Codable {
    /// RollingUpdate or Recreate.
    public var type: String?
    public var rollingUpdate: RollingUpdateDeployment?

    public init(type: String? = nil, rollingUpdate: RollingUpdateDeployment? = nil) {
        self.type = type
        self.rollingUpdate = rollingUpdate
    }
}

public struct RollingUpdateDeployment: Sendable, Hashable, Codable {
    public var maxUnavailable: IntOrString?
    public var maxSurge: IntOrString?

    public init(maxUnavailable: IntOrString? = nil, maxSurge: IntOrString? = nil) {
        self.maxUnavailable = maxUnavailable
        self.maxSurge = maxSurge
    }
}

public struct DeploymentStatus: Sendable, Hashable, Codable {
    public var observedGeneration: Int64?
    public var replicas: Int32?
    public var updatedReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var unavailableReplicas: Int32?
    public var conditions: [DeploymentCondition]?
    public var collisionCount: Int32?

    public init() {}
}

public struct DeploymentCondition: Sendable, Hashable, Codable {
    /// Available, Progressing, ReplicaFailure.
    public var type: String
    public var status: String
    public var lastUpdateTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, lastUpdateTime: Time? = nil, lastTransitionTime: Time? = nil, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.lastUpdateTime = lastUpdateTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// autoscaling/v1 Scale: what `kubectl scale` reads and writes through the scale subresource.
public struct Scale: Sendable, Hashable, Codable {
    public var apiVersion: String? = "autoscaling/v1"
    public var kind: String? = "Scale"
    public var metadata: ObjectMeta
    public var spec: ScaleSpec
    public var status: ScaleStatus?

    public init(metadata: ObjectMeta, spec: ScaleSpec, status: ScaleStatus?) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct ScaleSpec: Sendable, Hashable, Codable {
    public var replicas: Int32?
    public init(replicas: Int32?) { self.replicas = replicas }
}

public struct ScaleStatus: Sendable, Hashable, Codable {
    public var replicas: Int32
    public var selector: String?
    public init(replicas: Int32, selector: String?) {
        self.replicas = replicas
        self.selector = selector
    }
}

/// apps/v1 DaemonSet: one pod of its template on every node its template may run on.
public struct DaemonSet: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: DaemonSetSpec
    public var status: DaemonSetStatus?

    public init(apiVersion: String? = "apps/v1", kind: String? = "DaemonSet", metadata: ObjectMeta = ObjectMeta(),
                spec: DaemonSetSpec = DaemonSetSpec(), status: DaemonSetStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The label tying a DaemonSet's pods to one template (a ControllerRevision's hash).
    public static let revisionHashLabel = "controller-revision-hash"
}

public struct DaemonSetSpec: Sendable, Hashable, Codable {
    public var selector: LabelSelector?
    public var template: PodTemplateSpec?
    public var updateStrategy: DaemonSetUpdateStrategy?
    public var minReadySeconds: Int32?
    public var revisionHistoryLimit: Int32?

    public init(selector: LabelSelector? = nil, template: PodTemplateSpec? = nil) {
        self.selector = selector
        self.template = template
    }
}

public struct DaemonSetUpdateStrategy: Sendable, Hashable, Codable {
    /// RollingUpdate or OnDelete.
    public var type: String?
    public var rollingUpdate: RollingUpdateDaemonSet?

    public init(type: String? = nil, rollingUpdate: RollingUpdateDaemonSet? = nil) {
        self.type = type
        self.rollingUpdate = rollingUpdate
    }
}

public struct RollingUpdateDaemonSet: Sendable, Hashable, Codable {
    public var maxUnavailable: IntOrString?
    public var maxSurge: IntOrString?

    public init(maxUnavailable: IntOrString? = nil, maxSurge: IntOrString? = nil) {
        self.maxUnavailable = maxUnavailable
        self.maxSurge = maxSurge
    }
}

public struct DaemonSetStatus: Sendable, Hashable, Codable {
    public var currentNumberScheduled: Int32
    public var numberMisscheduled: Int32
    public var desiredNumberScheduled: Int32
    public var numberReady: Int32
    public var observedGeneration: Int64?
    public var updatedNumberScheduled: Int32?
    public var numberAvailable: Int32?
    public var numberUnavailable: Int32?

    public init(currentNumberScheduled: Int32 = 0, numberMisscheduled: Int32 = 0, desiredNumberScheduled: Int32 = 0, numberReady: Int32 = 0) {
        self.currentNumberScheduled = currentNumberScheduled
        self.numberMisscheduled = numberMisscheduled
        self.desiredNumberScheduled = desiredNumberScheduled
        self.numberReady = numberReady
    }
}

/// core/v1 ReplicationController: the ReplicaSet's predecessor, with a map selector.
public struct ReplicationController: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ReplicationControllerSpec
    public var status: ReplicaSetStatus?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: ReplicationControllerSpec = ReplicationControllerSpec(), status: ReplicaSetStatus? = nil) {
        apiVersion = "v1"
        kind = "ReplicationController"
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The same controller as a ReplicaSet: its selector as matchLabels.
    public var asReplicaSet: ReplicaSet {
        ReplicaSet(metadata: metadata, spec: ReplicaSetSpec(replicas: spec.replicas, minReadySeconds: spec.minReadySeconds,
                                                            selector: spec.selector.map { LabelSelector(matchLabels: $0) }, template: spec.template),
                   status: status)
    }
}

public struct ReplicationControllerSpec: Sendable, Hashable, Codable {
    public var replicas: Int32?
    public var minReadySeconds: Int32?
    public var selector: [String: String]?
    public var template: PodTemplateSpec?
    public init() {}
}
