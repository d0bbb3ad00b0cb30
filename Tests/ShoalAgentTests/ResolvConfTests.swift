import ShoalAPI
import Testing
@testable import ShoalAgent

/// The pod's resolv.conf per dnsPolicy, as the kubelet writes it.
@Suite struct ResolvConfTests {
    let host = "search corp.example\nnameserver 192.0.2.53\noptions edns0\n"

    func pod(_ policy: DNSPolicy?, hostNetwork: Bool = false, config: PodDNSConfig? = nil) -> Pod {
        var p = Pod(metadata: ObjectMeta(name: "p", namespace: "shop"))
        p.spec.dnsPolicy = policy
        p.spec.hostNetwork = hostNetwork
        p.spec.dnsConfig = config
        return p
    }

    @Test func clusterFirstUsesTheNodesServerAndTheKubernetesSearchPath() {
        let text = PodFiles.resolvConf(pod(nil), clusterDNS: "10.42.0.1", host: host)
        #expect(text == "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.42.0.1\noptions ndots:5\n")
    }

    @Test func defaultAndHostNetworkGetTheHostsUnlessClusterFirstWithHostNet() {
        let hostsOwn = "search corp.example\nnameserver 192.0.2.53\noptions edns0\n"
        #expect(PodFiles.resolvConf(pod(.default), clusterDNS: "10.42.0.1", host: host) == hostsOwn)
        #expect(PodFiles.resolvConf(pod(.clusterFirst, hostNetwork: true), clusterDNS: "10.42.0.1", host: host) == hostsOwn)
        #expect(PodFiles.resolvConf(pod(.clusterFirstWithHostNet, hostNetwork: true), clusterDNS: "10.42.0.1", host: host).contains("nameserver 10.42.0.1\n"))
        // Without a cluster DNS server (a standalone agent), ClusterFirst falls back to the host's.
        #expect(PodFiles.resolvConf(pod(nil), clusterDNS: nil, host: host) == hostsOwn)
    }

    @Test func noneTakesOnlyDNSConfigWhichMergesIntoTheOthers() {
        let config = PodDNSConfig(nameservers: ["192.0.2.1"], searches: ["x.test"], options: [PodDNSConfigOption(name: "ndots", value: "2")])
        #expect(PodFiles.resolvConf(pod(DNSPolicy.none, config: config), clusterDNS: "10.42.0.1", host: host) == "search x.test\nnameserver 192.0.2.1\noptions ndots:2\n")
        let merged = PodFiles.resolvConf(pod(nil, config: config), clusterDNS: "10.42.0.1", host: host)
        #expect(merged == "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example x.test\nnameserver 10.42.0.1\nnameserver 192.0.2.1\noptions ndots:2\n")
    }
}
