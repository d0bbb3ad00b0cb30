/// Compute resources: limits and requests keyed by resource name (`cpu`, `memory`, `hugepages-2Mi`, …).
public struct ResourceRequirements: Sendable, Hashable, Codable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public var claims: JSONValue?

    public init(
        limits: [String: Quantity]? = nil,
        requests: [String: Quantity]? = nil,
        claims: JSONValue? = nil
    ) {
        self.limits = limits
        self.requests = requests
        self.claims = claims
    }
}
