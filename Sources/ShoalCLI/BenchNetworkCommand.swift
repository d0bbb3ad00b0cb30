import ArgumentParser
import Foundation
import Logging
import ShoalAPI
import ShoalNetwork
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// `shoal bench-network` (hidden), for scripts/bench/services, inside a network namespace the
/// script made (nothing here touches the host's):
///
/// - `pods`: N times, a pod's network through Shoal (CNI bridge + host-local ADD into a fresh
///   namespace, then DEL) beside the bare steps a hand-wired pod takes (`ip netns add` and
///   two `ip -b` batches: veth with its peer in the namespace, on the bridge, address, links up,
///   default route), with the same bridge. One line per run, milliseconds:
///   `run bare_up shoal_add shoal_del bare_down`.
/// - `sync`: the proxy's ruleset for S services with E endpoints each, built and written by
///   `nft -f` in one transaction, N times. One line per run: `run build_ms apply_ms bytes`.
struct BenchNetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-network",
        abstract: "Benchmark: pod network setup beside bare ip steps, and nftables sync of many services.",
        shouldDisplay: false)

    @Argument(help: "pods or sync")
    var what: String

    @Option(name: .customLong("network-namespace"), help: "The namespace standing for the node (a name under /run/netns).")
    var networkNamespace: String

    @Option(help: "Timed runs.")
    var runs: Int = 30

    @Option(help: "sync: services.")
    var services: Int = 1000

    @Option(help: "sync: endpoints per service.")
    var endpoints: Int = 2

    @Option(help: "Scratch directory for network state.")
    var work: String

    func run() async throws {
        guard getuid() == 0 else { fail("bench-network needs root") }
        let netns = "/run/netns/" + networkNamespace
        guard FileSystem.exists(netns) else { fail("no network namespace \(netns)") }
        var logger = Logger(label: "shoal.bench")
        logger.logLevel = .warning
        switch what {
        case "pods": try await pods(netns: netns, logger: logger)
        case "sync": try await sync(netns: netns, logger: logger)
        default: throw ValidationError("want pods or sync")
        }
    }

    func pods(netns: String, logger: Logger) async throws {
        let config = PodNetworkConfig(podCIDR: try IPv4CIDR(parsing: "10.42.7.0/24"), clusterCIDR: try IPv4CIDR(parsing: "10.42.0.0/16"),
                                      serviceCIDR: try IPv4CIDR(parsing: "10.43.0.0/16"), bridge: "shoalbench0", networkNamespace: netns,
                                      stateDirectory: work + "/network")
        let network = PodNetwork(config: config, logger: logger)
        try await network.prepare()
        func ip(_ args: [String], stdin: String = "") async throws {
            try await HostCommand("/usr/sbin/ip", args, networkNamespace: netns).check(stdin: Array(stdin.utf8))
        }
        func ms(_ t0: UInt64) -> Double { Double(monotonicNanos() - t0) / 1e6 }
        print("run bare_up shoal_add shoal_del bare_down")
        for i in 0..<runs {
            // Bare: what a hand-wired pod costs (the peer-bench's "pod network up" recipe).
            let bare = "shoal-bench-b\(i)", veth = "shoalbv\(i)"
            var t0 = monotonicNanos()
            try await ip(["netns", "add", bare])
            try await ip(["-b", "-"], stdin: """
                link add \(veth) type veth peer name eth0 netns \(bare)
                link set \(veth) master \(config.bridge) up

                """)
            try await ip(["-n", bare, "-b", "-"], stdin: """
                addr add 10.42.7.\(200 + i % 50)/24 dev eth0
                link set eth0 up
                link set lo up
                route add default via \(config.gateway)

                """)
            let bareUp = ms(t0)
            // Shoal: a pod namespace as the sandbox gives it (made untimed), then CNI ADD and DEL.
            let pod = "shoal-bench-p\(i)"
            try await ip(["netns", "add", pod])
            t0 = monotonicNanos()
            _ = try await network.attach(containerID: "bench-\(i)", namespace: "bench", name: "p\(i)", netns: "/run/netns/" + pod)
            let add = ms(t0)
            t0 = monotonicNanos()
            await network.detach(containerID: "bench-\(i)", namespace: "bench", name: "p\(i)")
            let del = ms(t0)
            try await ip(["netns", "del", pod])
            t0 = monotonicNanos()
            try await ip(["netns", "del", bare])
            let bareDown = ms(t0)
            print(String(format: "%d %.2f %.2f %.2f %.2f", i, bareUp, add, del, bareDown))
        }
        await network.removeAll()
    }

    func sync(netns: String, logger: Logger) async throws {
        var state = ProxyState(nodeName: "bench", podCIDR: try IPv4CIDR(parsing: "10.42.0.0/24"), clusterCIDR: try IPv4CIDR(parsing: "10.42.0.0/16"),
                               bridge: "shoalbench0")
        let serviceRange = try IPv4CIDR(parsing: "10.43.0.0/16"), podRange = try IPv4CIDR(parsing: "10.42.0.0/16")
        for s in 0..<services {
            let name = "svc-\(s)"
            var spec = ServiceSpec(type: .nodePort, selector: ["app": name], ports: [ServicePort(name: "http", protocol: "TCP", port: 80, nodePort: Int32(30000 + s % 2768))],
                                   clusterIP: serviceRange.address(UInt32(10 + s)).description)
            spec.clusterIPs = [spec.clusterIP!]
            state.services.append(Service(metadata: ObjectMeta(name: name, namespace: "bench"), spec: spec))
            var slice = EndpointSlice(metadata: ObjectMeta(name: name + "-x", namespace: "bench", labels: [EndpointSlice.serviceNameLabel: name]))
            slice.ports = [EndpointPort(name: "http", protocol: "TCP", port: 8080)]
            slice.endpoints = (0..<endpoints).map { e in
                Endpoint(addresses: [podRange.address(UInt32(2 + (s * endpoints + e) % 65000)).description], conditions: EndpointConditions(ready: true), nodeName: "bench")
            }
            state.slices.append(slice)
        }
        print("run build_ms apply_ms bytes")
        for i in 0..<runs {
            var t0 = monotonicNanos()
            let text = ProxyRules.ruleset(state)
            let build = Double(monotonicNanos() - t0) / 1e6
            t0 = monotonicNanos()
            try await HostCommand("/usr/sbin/nft", ["-f", "-"], networkNamespace: netns).check(stdin: Array(text.utf8))
            let apply = Double(monotonicNanos() - t0) / 1e6
            print(String(format: "%d %.2f %.2f %d", i, build, apply, text.utf8.count))
            fflush(nil)
        }
        try await HostCommand("/usr/sbin/nft", ["-f", "-"], networkNamespace: netns).check(stdin: Array(ProxyRules.removal.utf8))
    }
}
