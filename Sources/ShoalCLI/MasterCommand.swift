import ArgumentParser
import Foundation
import Logging
import ShoalMaster
import ShoalOS

/// The master's flags, shared by `shoal master` and `shoal up`, with Kubernetes' names.
struct MasterOptions: ParsableArguments {
    @Option(name: .customLong("bind-address"), help: "The address the HTTPS API listens on.")
    var bindAddress: String = "0.0.0.0"

    @Option(name: .customLong("secure-port"), help: "The HTTPS API's port (0 picks a free one).")
    var port: Int = 6443

    @Option(name: .customLong("tls-san"), help: "An extra host name or IP for the serving certificate (repeatable).")
    var tlsSANs: [String] = []

    @Option(name: .customLong("node-monitor-grace-period"), help: "How long a node may go without renewing its Lease before it is NotReady.")
    var nodeMonitorGracePeriod: String = "40s"

    @Option(name: .customLong("default-unreachable-toleration-seconds"), help: "How long pods stay on an unreachable or not-ready node before eviction.")
    var defaultTolerationSeconds: Int64 = 300

    @Option(name: .customLong("service-cluster-ip-range"), help: "The IPv4 range cluster IPs come from.")
    var serviceCIDR: String = "10.43.0.0/16"

    @Option(name: .customLong("service-node-port-range"), help: "The port range node ports come from, as FIRST-LAST.")
    var nodePortRange: String = "30000-32767"

    @Option(name: .customLong("cluster-cidr"), help: "The IPv4 range of pod addresses, cut into one pod CIDR per node.")
    var clusterCIDR: String = "10.42.0.0/16"

    @Option(name: .customLong("node-cidr-mask-size"), help: "The prefix length of each node's pod CIDR.")
    var nodeCIDRMaskSize: Int = 24

    @Option(name: .customLong("load-balancer-ip-range"), help: "The IPv4 range LoadBalancer services' addresses come from (default: the nodes' own addresses, as k3s's service load balancer).")
    var loadBalancerCIDR: String?

    @Option(name: .customLong("advertise-address"), help: "The address nodes and pods reach the API on (the kubernetes service's endpoint).")
    var advertiseAddress: String?

    @Option(name: .customLong("advertise-network-namespace"), help: "A network namespace (a name under /run/netns, or a path) holding the advertise address: the API listens there too, on port 6443 (a lab's switch).")
    var advertiseNetworkNamespace: String?

    func config(dataDir: String) throws -> MasterConfig {
        var c = MasterConfig(dataDir: dataDir)
        c.bindAddress = bindAddress
        c.port = port
        c.tlsSANs = tlsSANs
        c.nodeMonitorGracePeriod = .nanoseconds(Int64(try parseDuration(nodeMonitorGracePeriod) * 1e9))
        c.defaultTolerationSeconds = defaultTolerationSeconds
        c.serviceCIDR = serviceCIDR
        c.clusterCIDR = clusterCIDR
        c.nodeCIDRMaskSize = nodeCIDRMaskSize
        c.loadBalancerCIDR = loadBalancerCIDR
        c.advertiseAddress = advertiseAddress
        if let ns = advertiseNetworkNamespace {
            guard advertiseAddress != nil else { throw ValidationError("--advertise-network-namespace needs --advertise-address") }
            let path = ns.contains("/") ? ns : "/run/netns/" + ns
            guard FileSystem.exists(path) else { throw ValidationError("--advertise-network-namespace: \(path) does not exist") }
            c.advertiseNetworkNamespace = path
        }
        let bounds = nodePortRange.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let lo = Int32(bounds[0]), let hi = Int32(bounds[1]), lo <= hi else {
            throw ValidationError("invalid --service-node-port-range \(nodePortRange): want FIRST-LAST, such as 30000-32767")
        }
        c.nodePortRange = lo...hi
        _ = try c.networks()
        return c
    }
}

struct MasterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master",
        abstract: "Run the master: a Kubernetes-compatible API server (HTTPS and a unix socket), the scheduler and the node controllers.")

    @OptionGroup var data: DataDirOption
    @OptionGroup var options: MasterOptions

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        let logger = makeLogger("shoal.master", level: logLevel)
        let master = try Master(config: try options.config(dataDir: data.path), logger: logger)
        try await master.start()
        print("shoal master running: \(master.serverURL), socket \(master.config.socketPath)")
        print("point kubectl at it: export KUBECONFIG=\(master.config.kubeconfigPath)")
        fflush(nil)
        await waitForTermination()
        await master.stop()
    }
}
