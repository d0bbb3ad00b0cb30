/// core/v1 LimitRange: per-namespace defaults and bounds for containers' and pods' resources.
public struct LimitRange: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: LimitRangeSpec

    public init(metadata: ObjectMeta = ObjectMeta(), spec: LimitRangeSpec = LimitRangeSpec()) {
        apiVersion = "v1"
        kind = "LimitRange"
        self.metadata = metadata
        self.spec = spec
    }
}

public struct LimitRangeSpec: Sendable, Hashable, Codable {
    public var limits: [LimitRangeItem]
    public init(limits: [LimitRangeItem] = []) { self.limits = limits }
}

public struct LimitRangeItem: Sendable, Hashable, Codable {
    /// Container or Pod (PersistentVolumeClaim is not enforced here).
    public var type: String
    public var max: [String: Quantity]?
    public var min: [String: Quantity]?
    /// Default limits.
    public var `default`: [String: Quantity]?
    public var defaultRequest: [String: Quantity]?
    public var maxLimitRequestRatio: [String: Quantity]?

    public init(type: String, max: [String: Quantity]? = nil, min: [String: Quantity]? = nil, default: [String: Quantity]? = nil,
                defaultRequest: [String: Quantity]? = nil) {
        self.type = type
        self.max = max
        self.min = min
        self.default = `default`
        self.defaultRequest = defaultRequest
    }
}

/// core/v1 ResourceQuota: per-namespace totals of objects and compute resources.
public struct ResourceQuota: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ResourceQuotaSpec
    public var status: ResourceQuotaStatus?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: ResourceQuotaSpec = ResourceQuotaSpec(), status: ResourceQuotaStatus? = nil) {
        apiVersion = "v1"
        kind = "ResourceQuota"
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct ResourceQuotaSpec: Sendable, Hashable, Codable {
    public var hard: [String: Quantity]?
    public var scopes: [String]?
    public init(hard: [String: Quantity]? = nil) { self.hard = hard }
}

public struct ResourceQuotaStatus: Sendable, Hashable, Codable {
    public var hard: [String: Quantity]?
    public var used: [String: Quantity]?
    public init(hard: [String: Quantity]? = nil, used: [String: Quantity]? = nil) {
        self.hard = hard
        self.used = used
    }
}
