import Foundation
import Logging
import ShoalAPI
import ShoalHTTP
import ShoalOS
import ShoalPKI
import ShoalStore

/// How a master runs: where it keeps state, where it listens, and the node lifecycle timings
/// (flags with Kubernetes' names).
public struct MasterConfig: Sendable {
    public var dataDir: String
    public var bindAddress = "0.0.0.0"
    public var port = 6443
    /// Extra names and addresses for the serving certificate (k3s's --tls-san).
    public var tlsSANs: [String] = []
    /// --node-monitor-grace-period: a node whose Lease is older turns NotReady (Unknown).
    public var nodeMonitorGracePeriod: Duration = .seconds(40)
    /// --default-unreachable-toleration-seconds and --default-not-ready-toleration-seconds.
    public var defaultTolerationSeconds: Int64 = 300
    public var store = StoreOptions()
    /// --service-cluster-ip-range: where cluster IPs come from (k3s's default).
    public var serviceCIDR = "10.43.0.0/16"
    /// --service-node-port-range.
    public var nodePortRange: ClosedRange<Int32> = 30000...32767
    /// --cluster-cidr: the pod network, cut into one --node-cidr-mask-size block per node.
    public var clusterCIDR = "10.42.0.0/16"
    public var nodeCIDRMaskSize = 24
    /// --load-balancer-ip-range: LoadBalancer addresses; nil: the nodes' own addresses.
    public var loadBalancerCIDR: String?
    /// --advertise-address: the address nodes and pods reach the API on (the `kubernetes`
    /// service's endpoint); nil: the bind address or this host's primary one.
    public var advertiseAddress: String?
    /// The network namespace the advertise address lives in (a lab's switch): the API listens
    /// there too, on `advertisePort`, beside its listener in this process' own namespace.
    public var advertiseNetworkNamespace: String?
    public var advertisePort = 6443

    public init(dataDir: String) { self.dataDir = dataDir }

    /// The address ranges, checked: each a network, none overlapping, room for nodes.
    public func networks() throws(MasterConfigError) -> (services: IPv4CIDR, cluster: IPv4CIDR) {
        let services: IPv4CIDR, cluster: IPv4CIDR
        do { services = try IPv4CIDR(parsing: serviceCIDR) } catch { throw .invalid("--service-cluster-ip-range", "\(error)") }
        do { cluster = try IPv4CIDR(parsing: clusterCIDR) } catch { throw .invalid("--cluster-cidr", "\(error)") }
        if services.prefixLength > 29 { throw .invalid("--service-cluster-ip-range", "\(services) is too small: it needs room for at least 8 addresses") }
        if services.prefixLength < 12 { throw .invalid("--service-cluster-ip-range", "\(services) is too large: at most a /12 (2^20 addresses)") }
        if services.overlaps(cluster) { throw .invalid("--service-cluster-ip-range", "\(services) overlaps --cluster-cidr \(cluster)") }
        if let text = loadBalancerCIDR {
            let pool: IPv4CIDR
            do { pool = try IPv4CIDR(parsing: text) } catch { throw .invalid("--load-balancer-ip-range", "\(error)") }
            for (flag, other) in [("--service-cluster-ip-range", services), ("--cluster-cidr", cluster)] where pool.overlaps(other) {
                throw .invalid("--load-balancer-ip-range", "\(pool) overlaps \(flag) \(other)")
            }
        }
        guard (cluster.prefixLength...30).contains(nodeCIDRMaskSize) else {
            throw .invalid("--node-cidr-mask-size", "\(nodeCIDRMaskSize) must be between the cluster CIDR's prefix length (\(cluster.prefixLength)) and 30")
        }
        guard nodePortRange.lowerBound >= 1, nodePortRange.upperBound <= 65535, nodePortRange.count >= 2 else {
            throw .invalid("--service-node-port-range", "\(nodePortRange.lowerBound)-\(nodePortRange.upperBound) must lie within 1-65535")
        }
        return (services, cluster)
    }

    public var masterDir: String { dataDir + "/master" }
    public var socketPath: String { masterDir + "/api.sock" }
    public var kubeconfigPath: String { dataDir + "/kubeconfig" }
}

public enum MasterConfigError: Error, CustomStringConvertible {
    case invalid(String, String)

    public var description: String {
        switch self {
        case .invalid(let flag, let why): return "invalid \(flag): \(why)"
        }
    }
}

/// The master: the API server on a unix socket and on TLS, the scheduler, and the node and
/// namespace controllers, over one SQLite store.
public final class Master: Sendable {
    public let config: MasterConfig
    let store: Store
    let registry: Registry
    let services: ServiceAllocator
    let clusterCIDR: IPv4CIDR
    let loadBalancerPool: IPv4CIDR?
    let tokens: TokenStore
    let ca: CertificateAuthority
    let logger: Logger
    let servers = Locked<[HTTPServer]>([])
    let controllers = Locked<[Task<Void, Never>]>([])
    let boundPort = Locked<Int>(0)

    public init(config: MasterConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        try FileSystem.createDirectory(config.dataDir, mode: 0o711)
        try FileSystem.createDirectory(config.masterDir, mode: 0o700)
        let networks = try config.networks()
        services = ServiceAllocator(serviceCIDR: networks.services, nodePorts: config.nodePortRange)
        clusterCIDR = networks.cluster
        loadBalancerPool = try? config.loadBalancerCIDR.map { try IPv4CIDR(parsing: $0) }
        store = try Store(path: config.masterDir + "/state.db", options: config.store, logger: logger)
        registry = Registry(store: store, defaultTolerationSeconds: config.defaultTolerationSeconds, services: services,
                            sealer: try SecretSealer.loadOrCreate(config.masterDir + "/secrets.key"))
        ca = try CertificateAuthority.loadOrCreate(directory: config.masterDir + "/pki")
        tokens = try TokenStore(path: config.masterDir + "/pki/tokens", adminKubeconfig: config.kubeconfigPath)
    }

    /// The https URL clients on this host use.
    public var serverURL: String { "https://127.0.0.1:\(boundPort.withLock { $0 })" }
    public var caPEM: String { ca.certificatePEM }

    /// Opens the listeners, writes the admin kubeconfig, starts the controllers.
    public func start() async throws {
        try bootstrapNamespaces()
        let hosts = Self.serviceHosts(bindAddress: config.bindAddress) + config.tlsSANs + (config.advertiseAddress.map { [$0] } ?? [])
        let serving = try ca.servingCertificate(name: "serving", hosts: hosts, directory: config.masterDir + "/pki")
        let tokens = self.tokens
        let api = APIServer(registry: registry, authenticate: { token in
            guard let id = tokens.authenticate(token) else { return nil }
            switch id.role {
            case .admin: return Identity(role: .admin)
            case .node(let name): return Identity(role: .node(name))
            case .bootstrap: return Identity(role: .bootstrap)
            }
        }, proxy: AgentProxy(registry: registry), join: { [weak self] (name: String) throws(APIError) -> JSONValue in
            guard let self else { throw APIError.unknownPath }
            return try self.join(nodeName: name)
        }, logger: logger)
        let unix = try await HTTPServer(listener: .unix(path: config.socketPath), handler: api, logger: logger)
        let tls = try await HTTPServer(listener: .tls(host: config.bindAddress, port: config.port, configuration: try TLSConfigs.server(serving)),
                                       handler: api, threads: 2, logger: logger)
        var listeners = [unix, tls]
        if let namespace = config.advertiseNetworkNamespace {
            listeners.append(try await HTTPServer(
                listener: .tlsInNamespace(namespace: namespace, host: config.advertiseAddress ?? "0.0.0.0", port: config.advertisePort,
                                          configuration: try TLSConfigs.server(serving)),
                handler: api, threads: 2, logger: logger))
        }
        servers.withLock { $0 = listeners }
        boundPort.withLock { $0 = tls.port ?? config.port }
        let kubeconfig = Kubeconfig.render(server: serverURL, caPEM: ca.certificatePEM, token: try self.tokens.adminToken())
        try Kubeconfig.write(kubeconfig, to: config.kubeconfigPath)
        try ensureKubernetesService()
        try ensureDefaultStorageClass()
        startControllers()
        logger.info("master started", metadata: ["https": "\(serverURL)", "socket": "\(config.socketPath)", "kubeconfig": "\(config.kubeconfigPath)"])
    }

    public func stop() async {
        for t in controllers.withLock({ $0 }) { t.cancel() }
        for s in servers.withLock({ $0 }) { await s.close() }
        store.close()
    }

    /// A node's own credentials: what an agent on this host presents (NodeRestriction applies).
    public func nodeToken(for node: String) throws -> String {
        try tokens.create(role: .node(name: node), ttl: nil)
    }

    /// A join token for agents on other machines: pins this master's CA.
    public func joinToken(ttl: Duration?) throws -> JoinToken {
        JoinToken(caPin: ca.publicKeyPin, secret: try tokens.create(role: .bootstrap, ttl: ttl))
    }

    /// The same, from beside a running master (`shoal token create`): the CA and the token
    /// file are shared with it, the token file under its lock.
    public static func joinToken(dataDir: String, ttl: Duration?) throws -> JoinToken {
        let config = MasterConfig(dataDir: dataDir)
        try FileSystem.createDirectory(config.masterDir, mode: 0o700)
        let ca = try CertificateAuthority.loadOrCreate(directory: config.masterDir + "/pki")
        let tokens = try TokenStore(path: config.masterDir + "/pki/tokens", adminKubeconfig: config.kubeconfigPath)
        return JoinToken(caPin: ca.publicKeyPin, secret: try tokens.create(role: .bootstrap, ttl: ttl))
    }

    func bootstrapNamespaces() throws {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if (try? registry.get(Resources.namespaces, namespace: nil, name: ns)) != nil { continue }
            _ = try registry.create(Resources.namespaces, namespace: nil, object: ["metadata": ["name": .string(ns)]], strict: false)
        }
    }

    /// Names the serving certificate must carry: loopback, this host's name and addresses.
    static func serviceHosts(bindAddress: String) -> [String] {
        var hosts = ["localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
        var name = [CChar](repeating: 0, count: 256)
        if gethostname(&name, name.count) == 0 {
            let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !host.isEmpty { hosts.append(host) }
        }
        if let ip = HostAddress.primaryIPv4() { hosts.append(ip) }
        if bindAddress != "0.0.0.0" && bindAddress != "::" && !hosts.contains(bindAddress) { hosts.append(bindAddress) }
        return hosts
    }
}
