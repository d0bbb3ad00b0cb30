import ShoalAPI
import Testing
@testable import ShoalLab

@Suite struct LabLayoutTests {
    let subnet = try! IPv4CIDR(parsing: "172.30.0.0/24")

    @Test func namesAndAddressesFollowFromNameCountAndSubnet() throws {
        let l = try LabLayout(name: "lab", nodes: 3, subnet: subnet)
        #expect(l.nodeNames == ["node1", "node2", "node3"])
        #expect(l.switchNamespace == "shoal-lab")
        #expect(l.namespaces == ["shoal-lab", "shoal-lab-node1", "shoal-lab-node2", "shoal-lab-node3"])
        #expect(l.masterAddress.description == "172.30.0.1")
        #expect(l.address(of: "node1")?.description == "172.30.0.10")
        #expect(l.address(of: "node3")?.description == "172.30.0.12")
        #expect(l.address(of: "node9") == nil)
        #expect(l.serverURL == "https://172.30.0.1:6443")
        #expect(l.cgroupParent(of: "node2") == "shoal-lab-node2")
        #expect(l.switchPort(of: "node2") == "sh-node2")
        #expect(try LabLayout(name: "lab", nodes: 50, subnet: subnet).switchPort(of: "node50").utf8.count <= 15)
    }

    @Test func badInputNamesTheFlag() {
        for (name, nodes, cidr, flag) in [("Lab", 3, "172.30.0.0/24", "--name"), ("-x", 3, "172.30.0.0/24", "--name"),
                                          ("averyveryverylongname", 3, "172.30.0.0/24", "--name"), ("lab", 0, "172.30.0.0/24", "--nodes"),
                                          ("lab", 51, "172.30.0.0/24", "--nodes"), ("lab", 10, "172.30.0.0/28", "--subnet")] {
            #expect(throws: LabError.self) { try LabLayout(name: name, nodes: nodes, subnet: try! IPv4CIDR(parsing: cidr)) }
            do { _ = try LabLayout(name: name, nodes: nodes, subnet: try! IPv4CIDR(parsing: cidr)) } catch {
                #expect(error.description.hasPrefix(flag), "\(error)")
            }
        }
    }

    @Test func otherLabsSubnetsAreReadMasked() {
        #expect(LabNetwork.maskedCIDR("172.30.0.1/24") == "172.30.0.0/24")
        #expect(LabNetwork.maskedCIDR("10.1.2.3/16") == "10.1.0.0/16")
    }
}
