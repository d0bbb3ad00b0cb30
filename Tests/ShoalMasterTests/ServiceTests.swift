import ShoalAPI
@testable import ShoalMaster
import Testing

@Suite struct ServiceAllocatorTests {
    let allocator = ServiceAllocator(serviceCIDR: try! IPv4CIDR(parsing: "10.43.0.0/24"), nodePorts: 30000...30003)

    func service(_ name: String, type: ServiceType = .clusterIP, clusterIP: String? = nil, nodePorts: [Int32?] = []) -> Service {
        let ports = nodePorts.isEmpty ? [ServicePort(port: 80)]
            : nodePorts.enumerated().map { ServicePort(name: "p\($0.offset)", port: 80 + Int32($0.offset), nodePort: $0.element) }
        return Service(metadata: ObjectMeta(name: name, namespace: "default"), spec: ServiceSpec(type: type, ports: ports, clusterIP: clusterIP))
    }

    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return (error as? APIError)?.description ?? "\(error)" }
        return nil
    }

    @Test func handsOutFreeAddressesInRangeAndRefusesTakenOnes() throws {
        var a = service("a")
        try allocator.assign(&a)
        let ip = try #require(a.spec.clusterIP.flatMap(IPv4Address.init))
        #expect(allocator.serviceCIDR.contains(ip) && ip != allocator.serviceCIDR.network && ip != allocator.serviceCIDR.last)
        #expect(a.spec.clusterIPs == [a.spec.clusterIP!])

        var b = service("b", clusterIP: a.spec.clusterIP)
        #expect(message { try allocator.assign(&b) } ==
            "Service \"b\" is invalid: spec.clusterIPs: Invalid value: []string{\"\(ip)\"}: failed to allocate IP \(ip): provided IP is already allocated")
        var c = service("c", clusterIP: "10.44.0.5")
        #expect(message { try allocator.assign(&c) } ==
            "Service \"c\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.44.0.5\"}: failed to allocate IP 10.44.0.5: the provided IP (10.44.0.5) is not in the valid range. The range of valid IPs is 10.43.0.0/24")

        // Released with its service, the address may be asked for again.
        allocator.release(a, keeping: nil)
        try allocator.assign(&b)
        #expect(b.spec.clusterIP == ip.description)
        // The same service asking again for what it holds (an update) is fine.
        try allocator.assign(&b)
    }

    @Test func nodePortsAreAllOrNothing() throws {
        var a = service("a", type: .nodePort, nodePorts: [30001])
        try allocator.assign(&a)
        var b = service("b", type: .nodePort, nodePorts: [nil, 30001])
        #expect(message { try allocator.assign(&b) } ==
            "Service \"b\" is invalid: spec.ports[1].nodePort: Invalid value: 30001: provided port is already allocated")
        var c = service("c", type: .nodePort, nodePorts: [80])
        #expect(message { try allocator.assign(&c) } ==
            "Service \"c\" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-30003")
        // b's failure took nothing: three ports are still free for three asks.
        var d = service("d", type: .nodePort, nodePorts: [nil, nil, nil])
        try allocator.assign(&d)
        #expect(Set(d.spec.ports!.compactMap(\.nodePort)) == [30000, 30002, 30003])
        var e = service("e", type: .nodePort, nodePorts: [nil])
        #expect(message { try allocator.assign(&e) } == "Internal error occurred: failed to allocate a nodePort: range is full")
    }

    @Test func loadedServicesKeepWhatTheyHold() throws {
        var held = service("held", type: .nodePort, clusterIP: "10.43.0.9", nodePorts: [30002])
        held.spec.clusterIPs = ["10.43.0.9"]
        allocator.load([held])
        var other = service("other", type: .nodePort, clusterIP: "10.43.0.9", nodePorts: [30002])
        #expect(message { try allocator.assign(&other) }?.contains("provided IP is already allocated") == true)
    }

    @Test func updatesKeepOmittedAllocationsAndDropUnusedNodePorts() {
        var old = service("a", type: .nodePort, clusterIP: "10.43.0.7", nodePorts: [30001])
        old.spec.clusterIPs = ["10.43.0.7"]
        var sent = service("a", type: .nodePort, nodePorts: [nil])
        ServiceStrategy.keepAllocations(&sent, from: old)
        #expect(sent.spec.clusterIP == "10.43.0.7")
        #expect(sent.spec.ports?.first?.nodePort == 30001)
        var toClusterIP = old
        toClusterIP.spec.type = .clusterIP
        ServiceStrategy.keepAllocations(&toClusterIP, from: old)
        #expect(toClusterIP.spec.ports?.first?.nodePort == nil)
    }
}

@Suite struct EndpointsBuilderTests {
    func pod(_ name: String, ip: String?, ready: Bool = true, labels: [String: String] = ["app": "web"],
             ports: [ContainerPort]? = nil, deleting: Bool = false) -> Pod {
        var p = Pod(metadata: ObjectMeta(name: name, namespace: "default", uid: "uid-" + name, labels: labels),
                    spec: PodSpec(containers: [Container(name: "c", image: "busybox", ports: ports)], nodeName: "n1"))
        p.status = PodStatus(phase: .running, conditions: [PodCondition(type: .ready, status: ready ? .true : .false)], podIP: ip)
        if deleting { p.metadata.deletionTimestamp = Time.now() }
        return p
    }

    func service(_ target: IntOrString = .int(8080), publishNotReady: Bool = false) -> Service {
        var s = Service(metadata: ObjectMeta(name: "web", namespace: "default", uid: "svc-uid"),
                        spec: ServiceSpec(selector: ["app": "web"], ports: [ServicePort(name: "http", protocol: "TCP", port: 80, targetPort: target)]))
        s.spec.publishNotReadyAddresses = publishNotReady
        return s
    }

    @Test func readyNotReadyAndTerminatingPods() throws {
        let pods = [pod("a", ip: "10.42.0.5"), pod("b", ip: "10.42.0.6", ready: false), pod("c", ip: "10.42.0.7", deleting: true),
                    pod("d", ip: nil), pod("e", ip: "10.42.0.9", labels: ["app": "db"])]
        let groups = EndpointsBuilder.groups(for: service(), pods: pods)
        let g = try #require(groups.first)
        #expect(groups.count == 1)
        #expect(g.ports == [EndpointPort(name: "http", protocol: "TCP", port: 8080)])
        #expect(g.endpoints.map(\.addresses) == [["10.42.0.5"], ["10.42.0.6"], ["10.42.0.7"]])
        #expect(g.endpoints.map { $0.conditions?.ready } == [true, false, false])
        #expect(g.endpoints.map { $0.conditions?.terminating } == [false, false, true])
        #expect(g.endpoints[0].targetRef?.name == "a" && g.endpoints[0].nodeName == "n1")

        let subsets = EndpointsBuilder.subsets(groups)
        #expect(subsets.first?.addresses?.map(\.ip) == ["10.42.0.5"])
        #expect(subsets.first?.notReadyAddresses?.map(\.ip) == ["10.42.0.6", "10.42.0.7"])
        #expect(ServicePrinter.endpoints(subsets) == "10.42.0.5:8080")

        let published = EndpointsBuilder.groups(for: service(publishNotReady: true), pods: pods)
        #expect(published.first?.endpoints.map { $0.conditions?.ready } == [true, true, false])
    }

    @Test func namedTargetPortsResolvePerPod() {
        let pods = [pod("a", ip: "10.42.0.5", ports: [ContainerPort(name: "web", containerPort: 8080)]),
                    pod("b", ip: "10.42.0.6", ports: [ContainerPort(name: "web", containerPort: 9090)]),
                    pod("c", ip: "10.42.0.7", ports: [ContainerPort(name: "other", containerPort: 7070)])]
        let groups = EndpointsBuilder.groups(for: service(.string("web")), pods: pods)
        #expect(groups.map { $0.ports.map(\.port) } == [[8080], [9090]])
        #expect(groups.map { $0.endpoints.map(\.addresses) } == [[["10.42.0.5"]], [["10.42.0.6"]]])
        #expect(EndpointsBuilder.groups(for: service(), pods: []).isEmpty)
    }
}

@Suite struct ServicePrinterTests {
    @Test func columnsAsKubectlShowsThem() {
        var s = Service(metadata: ObjectMeta(name: "web"), spec: ServiceSpec(type: .loadBalancer, selector: ["tier": "front", "app": "web"],
                        ports: [ServicePort(protocol: "TCP", port: 80, nodePort: 31000), ServicePort(protocol: "UDP", port: 53)], clusterIP: "10.43.0.12"))
        s.spec.clusterIPs = ["10.43.0.12"]
        var row = ServicePrinter.row(s)
        #expect([row.type, row.clusterIP, row.externalIP, row.ports, row.selector] ==
            ["LoadBalancer", "10.43.0.12", "<pending>", "80:31000/TCP,53/UDP", "app=web,tier=front"])
        s.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: "192.168.77.10")]))
        #expect(ServicePrinter.row(s).externalIP == "192.168.77.10")
        s.spec = ServiceSpec(type: .externalName)
        s.spec.externalName = "db.example.org"
        row = ServicePrinter.row(s)
        #expect(row.clusterIP == "<none>" && row.externalIP == "db.example.org" && row.ports == "<none>" && row.selector == "<none>")

        let many = [EndpointSubset(addresses: (1...5).map { EndpointAddress(ip: "10.42.0.\($0)") }, ports: [EndpointPort(port: 80)])]
        #expect(ServicePrinter.endpoints(many) == "10.42.0.1:80,10.42.0.2:80,10.42.0.3:80 + 2 more...")
        #expect(ServicePrinter.endpoints([]) == "<none>")
        #expect(ServicePrinter.slicePorts([]) == "<unset>")
        #expect(ServicePrinter.sliceEndpoints([Endpoint(addresses: ["10.42.0.1"])]) == "10.42.0.1")
    }
}

@Suite struct NetworkConfigTests {
    func error(_ configure: (inout MasterConfig) -> Void) -> String? {
        var c = MasterConfig(dataDir: "/nonexistent")
        configure(&c)
        do { _ = try c.networks() } catch { return error.description }
        return nil
    }

    @Test func rangesAreCheckedAtStart() {
        #expect(error { _ in } == nil)
        #expect(error { $0.serviceCIDR = "10.42.128.0/20" } == "invalid --service-cluster-ip-range: 10.42.128.0/20 overlaps --cluster-cidr 10.42.0.0/16")
        #expect(error { $0.serviceCIDR = "10.43.0.0" } == "invalid --service-cluster-ip-range: invalid CIDR address: 10.43.0.0 (want an IPv4 network such as 10.43.0.0/16)")
        #expect(error { $0.clusterCIDR = "10.42.0.1/16" } == "invalid --cluster-cidr: 10.42.0.1/16 has host bits set: did you mean 10.42.0.0/16?")
        #expect(error { $0.serviceCIDR = "10.43.0.0/30" } == "invalid --service-cluster-ip-range: 10.43.0.0/30 is too small: it needs room for at least 8 addresses")
        #expect(error { $0.nodeCIDRMaskSize = 8 } == "invalid --node-cidr-mask-size: 8 must be between the cluster CIDR's prefix length (16) and 30")
        #expect(error { $0.nodePortRange = 0...10 } == "invalid --service-node-port-range: 0-10 must lie within 1-65535")
    }
}

@Suite struct ProtobufTests {
    /// A protobuf writer just big enough for the test: tags, varints, length-delimited fields.
    struct Writer {
        var bytes: [UInt8] = []
        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func int(_ field: Int, _ v: Int64) { varint(UInt64(field << 3)); varint(UInt64(bitPattern: v)) }
        mutating func bytes(_ field: Int, _ b: [UInt8]) { varint(UInt64(field << 3 | 2)); varint(UInt64(b.count)); bytes += b }
        mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }
        mutating func message(_ field: Int, _ build: (inout Writer) -> Void) {
            var w = Writer()
            build(&w)
            bytes(field, w.bytes)
        }
        mutating func entry(_ field: Int, _ k: String, _ v: String) { message(field) { $0.string(1, k); $0.string(2, v) } }
    }

    /// What `kubectl create service nodeport web --tcp=80:http` sends: every non-pointer
    /// field present, most of them empty.
    @Test func decodesAServiceAsKubectlSendsIt() throws {
        var raw = Writer()
        raw.message(1) { m in
            m.string(1, "web"); m.string(2, ""); m.string(3, ""); m.int(7, 0); m.message(8) { _ in }
            m.entry(11, "app", "web")
        }
        raw.message(2) { s in
            s.message(1) { p in
                p.string(1, "80-http"); p.string(2, "TCP"); p.int(3, 80)
                p.message(4) { $0.int(1, 1); $0.int(2, 0); $0.string(3, "http") }
                p.int(5, 0)
            }
            s.entry(2, "app", "web"); s.string(3, ""); s.string(4, "NodePort"); s.string(7, ""); s.string(11, ""); s.int(12, 0); s.int(13, 0)
        }
        raw.message(3) { $0.message(1) { _ in } }
        var unknown = Writer()
        unknown.message(1) { $0.string(1, "v1"); $0.string(2, "Service") }
        unknown.bytes(2, raw.bytes)
        unknown.string(3, ""); unknown.string(4, "")
        let obj = try Protobuf.decode(Protobuf.magic + unknown.bytes)
        #expect(obj == [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": "web", "labels": ["app": "web"]],
            "spec": ["ports": [["name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http"]],
                     "selector": ["app": "web"], "type": "NodePort"],
        ])
        let service = try obj.decode(Service.self, strict: true)
        #expect(service.spec.ports?.first?.targetPort == .string("http"))
    }

    @Test func refusesWhatItCannotRead() {
        #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode([1, 2, 3, 4]) }
        var unknown = Writer()
        unknown.message(1) { $0.string(1, "apps/v1"); $0.string(2, "Gadget") }
        let refused = #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(Protobuf.magic + unknown.bytes) }
        #expect(refused?.description == "objects of kind Gadget cannot be sent as protobuf to this server; send JSON")
        #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(Protobuf.magic + [0x0A, 0x05, 0x01]) }
    }
}

@Suite struct LoadBalancerAllocatorTests {
    func lb(_ name: String, requested: String? = nil, has: String? = nil, lbClass: String? = nil) -> Service {
        var s = Service(metadata: ObjectMeta(name: name, namespace: "default"), spec: ServiceSpec(type: .loadBalancer))
        s.spec.loadBalancerIP = requested
        s.spec.loadBalancerClass = lbClass
        if let has { s.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: has)])) }
        return s
    }

    @Test func poolAddressesAreKeptRequestedOrTheLowestFree() throws {
        let pool = try IPv4CIDR(parsing: "10.44.0.0/30")  // .1 and .2 usable
        let got = LoadBalancerAllocator.ingress([lb("a"), lb("b", has: "10.44.0.1"), lb("c"), lb("d", requested: "10.44.0.9")], pool: pool, nodeIPs: [])
        #expect(got["default/b"] == ["10.44.0.1"])
        #expect(got["default/a"] == ["10.44.0.2"])
        // The pool is used up: c waits; a request outside the pool is not honoured.
        #expect(got["default/c"] == nil)
        #expect(got["default/d"] == nil)
        #expect(LoadBalancerAllocator.ingress([lb("x", requested: "10.44.0.2")], pool: pool, nodeIPs: [])["default/x"] == ["10.44.0.2"])
    }

    @Test func withoutAPoolTheNodesAddressesAndOtherClassesAreLeftAlone() {
        let got = LoadBalancerAllocator.ingress([lb("a"), lb("m", lbClass: "metallb")], pool: nil, nodeIPs: ["192.0.2.10", "192.0.2.11"])
        #expect(got["default/a"] == ["192.0.2.10", "192.0.2.11"])
        #expect(got["default/m"] == nil)
    }
}
