/// batch/v1 Job: pods run to completion, retried up to a limit.
public struct Job: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JobSpec
    public var status: JobStatus?

    public init(apiVersion: String? = "batch/v1", kind: String? = "Job", metadata: ObjectMeta = ObjectMeta(), spec: JobSpec = JobSpec(), status: JobStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The labels the API server puts on a Job's pods and in its selector.
    public static let controllerUIDLabel = "batch.kubernetes.io/controller-uid"
    public static let jobNameLabel = "batch.kubernetes.io/job-name"
    public static let legacyControllerUIDLabel = "controller-uid"
    public static let legacyJobNameLabel = "job-name"
}

public struct JobSpec: Sendable, Hashable, Codable {
    public var parallelism: Int32?
    public var completions: Int32?
    public var activeDeadlineSeconds: Int64?
    public var backoffLimit: Int32?
    public var selector: LabelSelector?
    public var manualSelector: Bool?
    public var template: PodTemplateSpec?
    public var ttlSecondsAfterFinished: Int32?
    public var completionMode: String?
    public var suspend: Bool?
    public var podReplacementPolicy: String?

    public init(parallelism: Int32? = nil, completions: Int32? = nil, backoffLimit: Int32? = nil, template: PodTemplateSpec? = nil) {
        self.parallelism = parallelism
        self.completions = completions
        self.backoffLimit = backoffLimit
        self.template = template
    }
}

public struct JobStatus: Sendable, Hashable, Codable {
    public var conditions: [JobCondition]?
    public var startTime: Time?
    public var completionTime: Time?
    public var active: Int32?
    public var succeeded: Int32?
    public var failed: Int32?
    public var ready: Int32?
    public var terminating: Int32?

    public init() {}
}

public struct JobCondition: Sendable, Hashable, Codable {
    /// Complete, Failed, Suspended, FailureTarget, SuccessCriteriaMet.
    public var type: String
    public var status: String
    public var lastProbeTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, lastProbeTime: Time? = nil, lastTransitionTime: Time? = nil, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.lastProbeTime = lastProbeTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}
