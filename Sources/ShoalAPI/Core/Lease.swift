/// coordination.k8s.io/v1 Lease: a named lock with a holder and a renew time. Each node's agent
/// renews one in `kube-node-lease` as its heartbeat; leader election uses them too.
public struct Lease: Sendable, Hashable, Codable {
    /// The namespace node heartbeats live in.
    public static let nodeLeaseNamespace = "kube-node-lease"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: LeaseSpec

    public init(
        apiVersion: String? = "coordination.k8s.io/v1",
        kind: String? = "Lease",
        metadata: ObjectMeta = ObjectMeta(),
        spec: LeaseSpec = LeaseSpec()
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// coordination.k8s.io/v1 LeaseSpec.
public struct LeaseSpec: Sendable, Hashable, Codable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int32?
    public var acquireTime: MicroTime?
    public var renewTime: MicroTime?
    public var leaseTransitions: Int32?
    /// Coordinated leader election: the strategy for picking a holder.
    public var strategy: String?
    /// Coordinated leader election: who should hold it next.
    public var preferredHolder: String?

    public init(
        holderIdentity: String? = nil,
        leaseDurationSeconds: Int32? = nil,
        acquireTime: MicroTime? = nil,
        renewTime: MicroTime? = nil,
        leaseTransitions: Int32? = nil,
        strategy: String? = nil,
        preferredHolder: String? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
        self.strategy = strategy
        self.preferredHolder = preferredHolder
    }
}
