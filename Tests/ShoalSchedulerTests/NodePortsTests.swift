import Testing
import ShoalAPI
import ShoalScheduler

/// Host port conflicts, as kube's HostPortInfo.CheckConflict sees them.
@Suite struct NodePortsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var existing: ContainerPort
        var wanted: ContainerPort
        var conflict: Bool
        var testDescription: String { name }
    }

    static func port(_ host: Int32, _ proto: PortProtocol? = nil, ip: String? = nil) -> ContainerPort {
        ContainerPort(hostPort: host, containerPort: 8080, protocol: proto, hostIP: ip)
    }

    static let cases: [Case] = [
        Case(name: "same port, both on all addresses", existing: port(80), wanted: port(80), conflict: true),
        Case(name: "empty protocol is TCP", existing: port(80, .tcp), wanted: port(80), conflict: true),
        Case(name: "empty IP is 0.0.0.0", existing: port(80, ip: "0.0.0.0"), wanted: port(80), conflict: true),
        Case(name: "TCP and UDP do not conflict", existing: port(53, .tcp), wanted: port(53, .udp), conflict: false),
        Case(name: "another port", existing: port(80), wanted: port(81), conflict: false),
        Case(name: "wildcard wanted against a specific IP", existing: port(80, ip: "127.0.0.1"), wanted: port(80), conflict: true),
        Case(name: "specific IP wanted against the wildcard", existing: port(80), wanted: port(80, ip: "10.0.0.1"), conflict: true),
        Case(name: "same specific IP", existing: port(80, ip: "10.0.0.1"), wanted: port(80, ip: "10.0.0.1"), conflict: true),
        Case(name: "different specific IPs", existing: port(80, ip: "127.0.0.1"), wanted: port(80, ip: "10.0.0.1"), conflict: false),
        Case(name: "different protocol on the wildcard", existing: port(80, .sctp, ip: "127.0.0.1"), wanted: port(80, .tcp), conflict: false),
    ]

    @Test(arguments: cases)
    func conflicts(_ c: Case) {
        let existing = makePod("old") { $0.containers[0].ports = [c.existing] }
        let wanted = makePod("new") { $0.containers[0].ports = [c.wanted] }
        let reasons = Scheduler().filterReasons(wanted, node: makeNode("node-a"), bound: [existing])
        #expect(reasons == (c.conflict ? [FitReason.nodePorts] : []))
    }

    @Test func containerPortsWithoutHostPortsNeverConflict() {
        let plain = makePod("a") { $0.containers[0].ports = [ContainerPort(containerPort: 80)] }
        #expect(Scheduler().filterReasons(plain, node: makeNode("node-a"), bound: [plain]).isEmpty)
    }

    @Test func hostNetworkPodsTakeTheirContainerPorts() {
        let host = makePod("dns") {
            $0.hostNetwork = true
            $0.containers[0].ports = [ContainerPort(containerPort: 53, protocol: .udp)]
        }
        let wanted = makePod("other") { $0.containers[0].ports = [ContainerPort(hostPort: 53, containerPort: 5353, protocol: .udp)] }
        #expect(Scheduler().filterReasons(wanted, node: makeNode("node-a"), bound: [host]) == [FitReason.nodePorts])
        #expect(Scheduler().filterReasons(host, node: makeNode("node-a"), bound: [wanted]) == [FitReason.nodePorts])
    }

    @Test func sidecarPortsCount() {
        let withSidecar = makePod("mesh") {
            $0.initContainers = [Container(name: "proxy", ports: [ContainerPort(hostPort: 15001, containerPort: 15001)], restartPolicy: .always)]
        }
        let wanted = makePod("new") { $0.containers[0].ports = [ContainerPort(hostPort: 15001, containerPort: 80)] }
        #expect(Scheduler().filterReasons(wanted, node: makeNode("node-a"), bound: [withSidecar]) == [FitReason.nodePorts])
        // A regular init container's port is gone once it has finished.
        let withInit = makePod("setup") {
            $0.initContainers = [Container(name: "init", ports: [ContainerPort(hostPort: 15001, containerPort: 15001)])]
        }
        #expect(Scheduler().filterReasons(wanted, node: makeNode("node-a"), bound: [withInit]).isEmpty)
    }

    @Test func anyConflictingPortOfSeveralFails() {
        let existing = makePod("old") { $0.containers[0].ports = [Self.port(8443)] }
        let wanted = makePod("new") {
            $0.containers[0].ports = [Self.port(80)]
            $0.containers.append(Container(name: "tls", ports: [Self.port(8443)]))
        }
        #expect(Scheduler().filterReasons(wanted, node: makeNode("node-a"), bound: [existing]) == [FitReason.nodePorts])
    }
}
