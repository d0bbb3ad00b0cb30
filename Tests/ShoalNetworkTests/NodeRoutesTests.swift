import ShoalAPI
import Testing
@testable import ShoalNetwork

@Suite struct NodeRoutesTests {
    func node(_ name: String, cidr: String?, ip: String?) -> Node {
        var n = Node(metadata: ObjectMeta(name: name))
        n.spec.podCIDR = cidr
        if let ip { n.status = NodeStatus(addresses: [NodeAddress(type: .hostname, address: name), NodeAddress(type: .internalIP, address: ip)]) }
        return n
    }

    @Test func everyOtherRegisteredNodesCIDRViaItsInternalIP() {
        let nodes = [node("node1", cidr: "10.42.0.0/24", ip: "172.30.0.10"), node("node2", cidr: "10.42.1.0/24", ip: "172.30.0.11"),
                     node("node3", cidr: nil, ip: "172.30.0.12"), node("node4", cidr: "10.42.3.0/24", ip: nil),
                     node("node5", cidr: "10.42.1.0/24", ip: "172.30.0.14")]
        let routes = NodeRoute.desired(nodes: nodes, selfName: "node1")
        // node3 and node4 have not registered fully; node5 claims node2's CIDR, which node2 keeps.
        #expect(routes == [NodeRoute(destination: cidr("10.42.1.0/24"), gateway: IPv4Address("172.30.0.11")!)])
    }

    @Test func parsesOwnRoutesFromIP() {
        let out = """
            10.42.1.0/24 via 172.30.0.11 dev eth0 proto 77
            10.42.2.0/24 via 172.30.0.12 dev eth0 proto 77 onlink
            default via 172.30.0.1 dev eth0
            """
        #expect(NodeRoute.parse(out) == [NodeRoute(destination: cidr("10.42.1.0/24"), gateway: IPv4Address("172.30.0.11")!),
                                         NodeRoute(destination: cidr("10.42.2.0/24"), gateway: IPv4Address("172.30.0.12")!)])
    }

    @Test func theBridgeMACIsLocallyAdministeredAndPerGateway() {
        #expect(PodNetwork.bridgeMAC(gateway: IPv4Address("10.42.0.1")!) == "02:5a:0a:2a:00:01")
        #expect(PodNetwork.bridgeMAC(gateway: IPv4Address("10.42.1.1")!) == "02:5a:0a:2a:01:01")
    }
}
