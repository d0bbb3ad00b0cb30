import ArgumentParser
import Dispatch
import Foundation
import Logging
import ShoalAgent
import ShoalHTTP
import ShoalMaster
import ShoalPKI
import ShoalImage
import ShoalOS
import ShoalRuntime

/// The agent's flags, shared by `shoal agent` and `shoal up`.
struct AgentOptions: ParsableArguments {
    @Option(help: "A directory of v1 Pod manifests (*.yaml, *.yml, *.json; several documents per file).")
    var manifests: String?

    @Option(name: .customLong("node-name"), help: "The node's name (default: the host name).")
    var nodeName: String?

    @Option(name: .customLong("max-backoff"), help: "The longest crash-loop back-off, e.g. 0s, 2s, 5m (the kubelet's is 300s).")
    var maxBackoff: String = "300s"

    @Option(name: .customLong("cgroup-parent"), help: "The cgroup, below the agent's own, that holds every pod's cgroup.")
    var cgroupParent: String = "shoal"

    @Option(name: .customLong("container-log-max-size"), help: "Rotate a container's log file at this size (bytes, or with Ki/Mi suffix).")
    var logMaxSize: String = "10Mi"

    @Option(name: .customLong("container-log-max-files"), help: "How many log files to keep per container.")
    var logMaxFiles: UInt32 = 5

    @Option(name: .customLong("node-status-update-frequency"), help: "How often the agent posts its node status to the master.")
    var nodeStatusUpdateFrequency: String = "10s"

    @Flag(help: "On exit, stop every pod and remove what the agent made (else pods keep running and the next agent re-adopts them).")
    var cleanup = false

    @Option(name: .customLong("pod-cidr"), help: "This node's pod CIDR, for an agent without a master (with one, the master assigns it). Without either, pods get loopback only.")
    var podCIDR: String?

    @Option(name: .customLong("network-namespace"), help: "A network namespace (a name under /run/netns, or a path) standing for the node: the pod bridge, the NAT rules and the DNS server go there instead of into the agent's own.")
    var networkNamespace: String?

    @Option(name: .customLong("node-ip"), help: "The node's address (its InternalIP; default: the first address of the first interface that is up).")
    var nodeIP: String?

    @Option(name: .customLong("image-store"), help: "A data dir whose image store the agent uses instead of its own (a lab's nodes share the lab's).")
    var imageStore: String?

    var node: String { nodeName ?? hostName() }

    /// The pod network, networked when a pod CIDR is given or a master will assign one.
    func network(withMaster: Bool, clusterCIDR: String, serviceCIDR: String, loadBalancerCIDR: String?) throws -> NodeNetworkOptions? {
        guard withMaster || podCIDR != nil else { return nil }
        for (flag, value) in [("--pod-cidr", podCIDR), ("--cluster-cidr", clusterCIDR), ("--service-cluster-ip-range", serviceCIDR),
                              ("--load-balancer-ip-range", loadBalancerCIDR)] {
            guard let value else { continue }
            do { _ = try IPv4CIDR(parsing: value) } catch { throw ValidationError("\(flag): \(error)") }
        }
        var netns = networkNamespace
        if let name = netns, !name.contains("/") { netns = "/run/netns/" + name }
        if let path = netns, !FileSystem.exists(path) { throw ValidationError("--network-namespace: \(path) does not exist") }
        return NodeNetworkOptions(podCIDR: podCIDR, clusterCIDR: clusterCIDR, serviceCIDR: serviceCIDR, loadBalancerCIDR: loadBalancerCIDR,
                                  networkNamespace: netns)
    }

    func makeAgent(dataDir: String, network: NodeNetworkOptions?, logger: Logger) throws -> Agent {
        guard getuid() == 0 else { fail("the agent runs pods with namespaces and cgroups, which needs root") }
        let store = try ImageStore(dataDir: imageStore.map(absolute) ?? dataDir, logger: logger)
        let config = AgentConfig(
            dataDir: dataDir, nodeName: node, maxBackoff: try parseDuration(maxBackoff),
            containerLogMaxSize: UInt64(try parseSize(logMaxSize)), containerLogMaxFiles: logMaxFiles, cgroupParent: cgroupParent,
            hostIP: nodeIP ?? HostAddress.primaryIPv4() ?? "127.0.0.1", cleanupOnExit: cleanup, network: network)
        return try Agent(config: config, images: StoreImageResolver(store: store), logger: logger)
    }

    func reportOptions() throws -> NodeReportOptions {
        let frequency = try parseDuration(nodeStatusUpdateFrequency)
        // The lease is renewed as often as the status, at most every 10 s (the kubelet's default).
        return NodeReportOptions(nodeStatusUpdateFrequency: frequency, leaseRenewInterval: min(frequency, 10))
    }

    func parseSize(_ text: String) throws -> Int64 {
        guard let q = try? ShoalAPI.Quantity(text) else { throw ValidationError("invalid size \"\(text)\"") }
        return q.value()
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: static pods from a directory and, with --server, the pods a master binds to this node.")

    @OptionGroup var data: DataDirOption
    @OptionGroup var options: AgentOptions

    @Option(help: "The master to report to: unix:///path/to/api.sock or https://HOST:PORT.")
    var server: String?

    @Option(help: "A join token from `shoal token create` (shoal1::sha256:…), or the node's own bearer token for the master.")
    var token: String?

    @Option(name: .customLong("certificate-authority"), help: "The master's CA certificate (PEM), for an https server.")
    var certificateAuthority: String?

    @Option(name: .customLong("cluster-cidr"), help: "The whole cluster's pod range (traffic within it is not masqueraded).")
    var clusterCIDR: String = "10.42.0.0/16"

    @Option(name: .customLong("service-cluster-ip-range"), help: "The range cluster IPs come from (routed to the node's NAT rules).")
    var serviceCIDR: String = "10.43.0.0/16"

    @Option(name: .customLong("load-balancer-ip-range"), help: "The master's LoadBalancer range, if it has one (routed to the node's NAT rules).")
    var loadBalancerCIDR: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        let logger = makeLogger("shoal.agent", level: logLevel)
        // Joined before anything is made on the host: a refused token leaves nothing behind.
        var client: HTTPClient?
        if let server { client = try await masterClient(server: server) }
        let network = try options.network(withMaster: server != nil, clusterCIDR: clusterCIDR, serviceCIDR: serviceCIDR, loadBalancerCIDR: loadBalancerCIDR)
        let agent = try options.makeAgent(dataDir: data.path, network: network, logger: logger)
        try await agent.start(manifestsDir: options.manifests.map(absolute))
        let socket = await agent.config.socketPath
        if let server, let client {
            let connection = MasterConnection(client: client, nodeName: options.node, nodeAPIURL: "unix://" + socket)
            try await agent.connect(to: connection, options: try options.reportOptions())
            print("shoal agent running: node \(options.node), reporting to \(server)")
        } else {
            print("shoal agent running: node \(options.node), data dir \(data.path), API \(socket)")
        }
        fflush(nil)
        await waitForTermination()
        await agent.stop()
    }

    /// The client for the master: with a join token (`shoal token create`), the credentials the
    /// join gave (kept in the data dir from the first start on); else the given token and CA.
    func masterClient(server: String) async throws -> HTTPClient {
        // SHOAL_TOKEN keeps the token off the command line, which every user of the host can read.
        let token = self.token ?? ProcessInfo.processInfo.environment["SHOAL_TOKEN"]
        let isJoinToken = token?.hasPrefix(JoinToken.prefix + "::") ?? false
        if token == nil || isJoinToken, let stored = NodeCredentials.load(dataDir: data.path, server: server, nodeName: options.node) {
            // Kept credentials serve until a join token names another CA (a new master there).
            let pin = isJoinToken ? (try? JoinToken(parsing: token!))?.caPin : nil
            if pin == nil || pin == stored.caPin { return try stored.client() }
        }
        guard let token else { throw ValidationError("--server needs --token (or SHOAL_TOKEN in the environment)") }
        if isJoinToken {
            guard server.hasPrefix("https://") else { throw ValidationError("a join token is for an https:// server") }
            let join = try JoinToken(parsing: token)
            do {
                return try await NodeJoinClient.join(server: server, token: join, nodeName: options.node, dataDir: data.path).client()
            } catch let error as JoinError {
                fail(error.description)
            }
        }
        let endpoint = try HTTPEndpoint.parse(server) {
            guard let ca = certificateAuthority else { throw ValidationError("an https server needs --certificate-authority (the master's CA), or a join token") }
            return try TLSConfigs.client(trustingCA: String(contentsOfFile: ca, encoding: .utf8))
        }
        return try HTTPClient(endpoint: endpoint, token: token)
    }
}

/// `shoal up`: a master and this host's agent in one process, the agent reporting over the
/// master's unix socket with its own node credentials.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a one-node cluster: the master and a local agent; prints how to point kubectl at it.")

    @OptionGroup var data: DataDirOption
    @OptionGroup var master: MasterOptions
    @OptionGroup var agentOptions: AgentOptions

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        let logger = makeLogger("shoal", level: logLevel)
        let m = try Master(config: try master.config(dataDir: data.path), logger: logger)
        try await m.start()
        let network = try agentOptions.network(withMaster: true, clusterCIDR: m.config.clusterCIDR, serviceCIDR: m.config.serviceCIDR,
                                                loadBalancerCIDR: m.config.loadBalancerCIDR)
        let agent = try agentOptions.makeAgent(dataDir: data.path, network: network, logger: logger)
        try await agent.start(manifestsDir: agentOptions.manifests.map(absolute))
        let token = try m.nodeToken(for: agentOptions.node)
        let socket = await agent.config.socketPath
        let connection = MasterConnection(client: try HTTPClient(endpoint: .unix(path: m.config.socketPath), token: token),
                                          nodeName: agentOptions.node, nodeAPIURL: "unix://" + socket)
        try await agent.connect(to: connection, options: try agentOptions.reportOptions())
        print("shoal is up: master \(m.serverURL), node \(agentOptions.node)")
        print("point kubectl at it: export KUBECONFIG=\(m.config.kubeconfigPath)")
        fflush(nil)
        await waitForTermination()
        await agent.stop()
        await m.stop()
    }
}

/// Waits for SIGTERM or SIGINT (event-driven, through dispatch signal sources).
func waitForTermination() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let once = Locked(false)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let first = once.withLock { fired -> Bool in
                    defer { fired = true }
                    return !fired
                }
                if first { c.resume() }
            }
            source.resume()
            sources.append(source)
        }
        // Keep the sources alive for the process' lifetime.
        SignalSources.keep(sources)
    }
}

enum SignalSources {
    nonisolated(unsafe) static var kept: [DispatchSourceSignal] = []
    static func keep(_ s: [DispatchSourceSignal]) { kept += s }
}

func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, buf.count)
    return string(fromCBuffer: buf).lowercased()
}

import ShoalAPI
