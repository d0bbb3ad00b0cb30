import ShoalAPI
import Testing
@testable import ShoalNetwork

func cidr(_ s: String) -> IPv4CIDR { try! IPv4CIDR(parsing: s) }

func service(_ name: String, ip: String, ports: [(String?, Int32, Int32?)], type: ServiceType = .clusterIP,
             configure: (inout ServiceSpec) -> Void = { _ in }) -> Service {
    var spec = ServiceSpec(type: type, selector: ["app": name], ports: ports.map { p in
        var sp = ServicePort(port: p.1)
        sp.name = p.0
        sp.protocol = "TCP"
        sp.nodePort = p.2
        return sp
    }, clusterIP: ip)
    spec.clusterIPs = [ip]
    configure(&spec)
    return Service(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
}

func slice(_ service: String, port: (String?, Int32), endpoints: [(String, Bool, String)]) -> EndpointSlice {
    var s = EndpointSlice(metadata: ObjectMeta(name: service + "-abc", namespace: "default"), addressType: "IPv4")
    s.metadata.labels = [EndpointSlice.serviceNameLabel: service]
    s.ports = [EndpointPort(name: port.0, protocol: "TCP", port: port.1)]
    s.endpoints = endpoints.map { e in
        var ep = Endpoint(addresses: [e.0])
        ep.conditions = EndpointConditions(ready: e.1)
        ep.nodeName = e.2
        return ep
    }
    return s
}

@Suite struct ProxyRulesTests {
    func state() -> ProxyState {
        ProxyState(nodeName: "n1", podCIDR: cidr("10.42.0.0/24"), clusterCIDR: cidr("10.42.0.0/16"), bridge: "shoal0")
    }

    @Test func readyEndpointsOnlyRoundRobinWithTheTargetPort() {
        var s = state()
        s.services = [service("web", ip: "10.43.0.10", ports: [("http", 80, nil)])]
        s.slices = [slice("web", port: ("http", 8080), endpoints: [("10.42.0.5", true, "n1"), ("10.42.0.6", true, "n1"), ("10.42.0.7", false, "n1")])]
        let t = ProxyRules.serviceTargets(s)
        #expect(t.count == 1)
        #expect(t.first?.endpoints.map(\.ip) == ["10.42.0.5", "10.42.0.6"])
        #expect(t.first?.endpoints.map(\.port) == [8080, 8080])
        let rules = ProxyRules.ruleset(s)
        let id = ProxyRules.chainID("default/web:http/tcp")
        #expect(rules.contains("add element ip shoal service_ips { 10.43.0.10 . tcp . 80 : goto svc_\(id) }"))
        #expect(rules.contains("numgen inc mod 2 vmap { 0 : goto ep_\(id)_0, 1 : goto ep_\(id)_1 }"))
        #expect(rules.contains("meta l4proto tcp dnat to 10.42.0.6:8080"))
        #expect(!rules.contains("10.42.0.7"))
        // Hairpin: an endpoint reaching its own service is masqueraded.
        #expect(rules.contains("ip saddr 10.42.0.5 jump mark_for_masquerade"))
        // It replaces the whole table in one transaction.
        #expect(rules.hasPrefix("add table ip shoal\ndelete table ip shoal\ntable ip shoal {"))
    }

    @Test func aServiceWithoutReadyEndpointsIsRejectedNotDropped() {
        var s = state()
        s.services = [service("empty", ip: "10.43.0.11", ports: [(nil, 80, 30080)], type: .nodePort)]
        let rules = ProxyRules.ruleset(s)
        #expect(rules.contains("add element ip shoal no_endpoint_services { 10.43.0.11 . tcp . 80 : goto reject_chain }"))
        #expect(rules.contains("add element ip shoal no_endpoint_nodeports { tcp . 30080 : goto reject_chain }"))
        #expect(!rules.contains("add element ip shoal service_ips"))
    }

    @Test func nodePortsLoadBalancerIPsAndTheLocalPolicy() {
        var s = state()
        s.services = [service("lb", ip: "10.43.0.12", ports: [("web", 80, 30081)], type: .loadBalancer) { spec in
            spec.externalTrafficPolicy = "Local"
        }]
        s.services[0].status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: "192.168.77.10")]))
        s.slices = [slice("lb", port: ("web", 80), endpoints: [("10.42.0.5", true, "n1"), ("10.42.1.5", true, "n2")])]
        let rules = ProxyRules.ruleset(s)
        let id = ProxyRules.chainID("default/lb:web/tcp")
        #expect(rules.contains("tcp . 30081 : goto ext_\(id)"))
        #expect(rules.contains("192.168.77.10 . tcp . 80 : goto ext_\(id)"))
        // Local: external traffic goes to this node's endpoint only.
        #expect(rules.contains("chain local_\(id) {\n        numgen inc mod 1 vmap { 0 : goto ep_\(id)_0 }"))
    }

    @Test func clientIPAffinityRemembersTheEndpoint() {
        var s = state()
        s.services = [service("sticky", ip: "10.43.0.13", ports: [(nil, 80, nil)]) { spec in spec.sessionAffinity = "ClientIP" }]
        s.slices = [slice("sticky", port: (nil, 80), endpoints: [("10.42.0.5", true, "n1"), ("10.42.0.6", true, "n1")])]
        let rules = ProxyRules.ruleset(s)
        let id = ProxyRules.chainID("default/sticky:80/tcp")
        #expect(rules.contains("set aff_\(id)_1 { type ipv4_addr; flags dynamic,timeout; timeout 10800s; }"))
        #expect(rules.contains("ip saddr @aff_\(id)_0 goto ep_\(id)_0"))
        #expect(rules.contains("update @aff_\(id)_1 { ip saddr }"))
    }

    @Test func headlessAndExternalNameServicesGetNoRules() {
        var s = state()
        s.services = [service("headless", ip: "None", ports: [(nil, 80, nil)]),
                      service("ext", ip: "", ports: [(nil, 80, nil)], type: .externalName)]
        #expect(ProxyRules.serviceTargets(s).isEmpty)
    }

    @Test func hostPortsGoToThePod() {
        var s = state()
        s.hostPorts = [HostPort(podIP: "10.42.0.9", hostPort: 8081, containerPort: 80, proto: "TCP")]
        let rules = ProxyRules.ruleset(s)
        #expect(rules.contains("fib daddr type local meta l4proto tcp th dport 8081 goto hostport_0"))
        #expect(rules.contains("meta l4proto tcp dnat to 10.42.0.9:80"))
    }
}

@Suite struct CNITests {
    @Test func eachPluginGetsTheListsNameVersionAndThePreviousResult() {
        let config = PodNetworkConfig(podCIDR: cidr("10.42.3.0/24"), clusterCIDR: cidr("10.42.0.0/16"), serviceCIDR: cidr("10.43.0.0/16"),
                                      stateDirectory: "/var/lib/shoal/network")
        let runner = CNIRunner(list: config.conflist)
        let a = CNIAttachment(containerID: "uid-1", netnsPath: "/x", podNamespace: "default", podName: "web")
        let bridge = runner.pluginConfig(runner.plugins[0], a, previous: ["ips": []])
        #expect(bridge["cniVersion"] == "1.0.0")
        #expect(bridge["name"] == "shoal")
        #expect(bridge["prevResult"] == ["ips": []])
        #expect(bridge["ipam"]?["ranges"]?[0]?[0]?["subnet"] == "10.42.3.0/24")
        #expect(bridge["ipam"]?["ranges"]?[0]?[0]?["gateway"] == "10.42.3.1")
        #expect(bridge["ipMasq"] == false)
        #expect(a.cniArgs.contains("K8S_POD_NAME=web"))
    }

    @Test func theFirstIPv4OfAResult() {
        let result: JSONValue = ["ips": [["address": "fd00::5/64"], ["address": "10.42.3.7/24", "gateway": "10.42.3.1"]]]
        #expect(CNIRunner.firstIPv4(result) == "10.42.3.7")
        #expect(CNIRunner.firstIPv4(["ips": []]) == nil)
    }
}

@Suite struct DNSTests {
    func query(_ name: String, type: UInt16) -> DNSMessage {
        // What a stub resolver sends: id, RD, one question.
        let bytes: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + DNSMessage.encodeName(name) + DNSMessage.be16(type) + [0, 1]
        return DNSMessage.parse(bytes)!
    }

    func zone() -> ClusterDNS {
        var headless = service("peers", ip: "None", ports: [("http", 8080, nil)])
        headless.spec.clusterIPs = nil
        var ext = service("ext", ip: "", ports: [])
        ext.spec.type = .externalName
        ext.spec.externalName = "example.test"
        var peersSlice = slice("peers", port: ("http", 8080), endpoints: [("10.42.0.5", true, "n1"), ("10.42.0.6", false, "n1")])
        peersSlice.endpoints?[0].hostname = "db-0"
        return ClusterDNS(services: [service("web", ip: "10.43.0.10", ports: [("http", 80, nil)]), headless, ext], slices: [peersSlice])
    }

    @Test func aQueryRoundTripsWithTheIdQuestionAndFlags() throws {
        let q = query("Web.Default.svc.cluster.local", type: DNSType.a)
        #expect(q.id == 0x1234 && q.recursionDesired && !q.isResponse)
        #expect(q.question == DNSMessage.Question(name: "web.default.svc.cluster.local", type: 1, qclass: 1))
        let (rcode, records) = zone().answer(try #require(q.question))
        #expect(rcode == DNSMessage.rcodeNoError)
        #expect(records.map(\.data) == [[10, 43, 0, 10]])
        let reply = DNSMessage.response(to: q, rcode: rcode, answers: records, authoritative: true)
        let parsed = try #require(DNSMessage.parse(reply))
        #expect(parsed.id == 0x1234 && parsed.isResponse && parsed.flags & 0x0400 != 0 && parsed.flags & 0xF == 0)
        #expect(Array(reply[6..<8]) == [0, 1])  // one answer
        #expect(Array(reply.suffix(4)) == [10, 43, 0, 10])
    }

    @Test func headlessServicesAnswerWithReadyPodsHostnamesAndSRV() {
        let z = zone()
        #expect(z.answer(.init(name: "peers.default.svc.cluster.local", type: DNSType.a, qclass: 1)).records.map(\.data) == [[10, 42, 0, 5]])
        #expect(z.answer(.init(name: "db-0.peers.default.svc.cluster.local", type: DNSType.a, qclass: 1)).records.count == 1)
        let srv = z.answer(.init(name: "_http._tcp.peers.default.svc.cluster.local", type: DNSType.srv, qclass: 1)).records
        #expect(srv.count == 1)
        #expect(srv.first?.data.prefix(6) == [0, 0, 0, 100, 0x1F, 0x90])  // port 8080
        #expect(srv.first.map { $0.data.dropFirst(6) == ArraySlice(DNSMessage.encodeName("db-0.peers.default.svc.cluster.local")) } == true)
    }

    @Test func missingNamesAreNXDOMAINAndOtherTypesNODATA() {
        let z = zone()
        #expect(z.answer(.init(name: "nope.default.svc.cluster.local", type: DNSType.a, qclass: 1)).rcode == DNSMessage.rcodeNameError)
        let aaaa = z.answer(.init(name: "web.default.svc.cluster.local", type: DNSType.aaaa, qclass: 1))
        #expect(aaaa.rcode == DNSMessage.rcodeNoError && aaaa.records.isEmpty)
        #expect(z.answer(.init(name: "default.svc.cluster.local", type: DNSType.a, qclass: 1)).rcode == DNSMessage.rcodeNoError)
        #expect(z.answer(.init(name: "ext.default.svc.cluster.local", type: DNSType.a, qclass: 1)).records.map(\.type) == [DNSType.cname])
        #expect(z.answer(.init(name: "10-42-0-9.default.pod.cluster.local", type: DNSType.a, qclass: 1)).records.map(\.data) == [[10, 42, 0, 9]])
        #expect(!z.owns("example.com") && z.owns("x.cluster.local"))
    }

    @Test func compressedNamesAreRead() {
        // A name pointing back at offset 12 (the question's name).
        var b: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0] + DNSMessage.encodeName("a.b") + [0, 1, 0, 1]
        b += [0xC0, 12]
        var i = b.count - 2
        #expect(DNSMessage.readName(b, &i) == "a.b")
        #expect(i == b.count)
        #expect(DNSMessage.parse([1, 2, 3]) == nil)
    }
}

@Suite struct DNSTruncationTests {
    @Test func anAnswerTooLargeForUDPIsTruncated() throws {
        let q = try #require(DNSMessage.parse([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + DNSMessage.encodeName("big.default.svc.cluster.local") + [0, 1, 0, 1]))
        let records = (0..<60).map { DNSMessage.Record.a("big.default.svc.cluster.local", IPv4Bytes("10.42.0.\($0)")!, ttl: 5) }
        let udp = DNSMessage.response(to: q, rcode: 0, answers: records, authoritative: true, limit: 512)
        #expect(udp.count <= 512)
        #expect(udp[2] & 0x02 != 0)  // TC
        let tcp = DNSMessage.response(to: q, rcode: 0, answers: records, authoritative: true)
        #expect(tcp[2] & 0x02 == 0 && Int(tcp[6]) << 8 | Int(tcp[7]) == 60)
    }
}
