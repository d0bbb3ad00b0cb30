import Testing
@testable import ShoalAPI

@Suite struct IPv4CIDRTests {
    @Test func parsesCountsAndCuts() throws {
        let c = try IPv4CIDR(parsing: "10.42.0.0/16")
        #expect(c.size == 65536)
        #expect(c.last.description == "10.42.255.255")
        #expect(c.contains(IPv4Address("10.42.7.1")!))
        #expect(!c.contains(IPv4Address("10.43.0.1")!))
        #expect(c.subnet(0, length: 24)?.description == "10.42.0.0/24")
        #expect(c.subnet(255, length: 24)?.description == "10.42.255.0/24")
        #expect(c.subnet(256, length: 24) == nil)
        #expect(c.overlaps(try IPv4CIDR(parsing: "10.0.0.0/8")))
        #expect(!c.overlaps(try IPv4CIDR(parsing: "10.43.0.0/16")))
    }

    @Test(arguments: [
        ("10.43.0.0", "invalid CIDR address: 10.43.0.0 (want an IPv4 network such as 10.43.0.0/16)"),
        ("10.43.0.0/33", "invalid CIDR address: 10.43.0.0/33 (want an IPv4 network such as 10.43.0.0/16)"),
        ("10.043.0.0/16", "invalid CIDR address: 10.043.0.0/16 (want an IPv4 network such as 10.43.0.0/16)"),
        ("10.43.0.1/16", "10.43.0.1/16 has host bits set: did you mean 10.43.0.0/16?"),
    ])
    func refusesWhatIsNotANetwork(text: String, message: String) {
        #expect(throws: CIDRError.self) { try IPv4CIDR(parsing: text) }
        do { _ = try IPv4CIDR(parsing: text) } catch { #expect(error.description == message) }
    }
}

@Suite struct ServiceValidationTests {
    func service(_ name: String = "web", type: ServiceType? = nil, ports: [ServicePort]? = [ServicePort(port: 80)],
                 clusterIP: String? = nil) -> Service {
        var s = Service(metadata: ObjectMeta(name: name, namespace: "default"),
                        spec: ServiceSpec(type: type, selector: ["app": "web"], ports: ports, clusterIP: clusterIP))
        ServiceValidation.applyDefaults(&s)
        return s
    }

    func problems(_ s: Service) -> [String] { ServiceValidation.validate(s).map(\.description) }

    @Test func defaultsAreThoseOfTheAPIServer() {
        let s = service(type: .nodePort, ports: [ServicePort(port: 80, targetPort: nil)])
        #expect(s.spec.sessionAffinity == "None")
        #expect(s.spec.externalTrafficPolicy == "Cluster")
        #expect(s.spec.internalTrafficPolicy == "Cluster")
        #expect(s.spec.ports?.first?.protocol == "TCP")
        #expect(s.spec.ports?.first?.targetPort == .int(80))
        #expect(s.spec.ipFamilies == ["IPv4"])
        #expect(s.spec.ipFamilyPolicy == "SingleStack")
        #expect(service().spec.type == .clusterIP)
        #expect(service().spec.externalTrafficPolicy == nil)
        var affinity = service()
        affinity.spec.sessionAffinity = "ClientIP"
        ServiceValidation.applyDefaults(&affinity)
        #expect(affinity.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == 10800)
        #expect(problems(service()).isEmpty)
    }

    @Test func messagesNameTheField() {
        #expect(problems(service("Web")) == [
            "metadata.name: Invalid value: \"Web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ])
        #expect(problems(service(ports: [])) == ["spec.ports: Required value"])
        #expect(problems(service(ports: [ServicePort(port: 80), ServicePort(port: 81)])) == [
            "spec.ports[0].name: Required value", "spec.ports[1].name: Required value",
        ])
        // The defaulted targetPort is the port, so both are wrong, as kube-apiserver says.
        #expect(problems(service(ports: [ServicePort(port: 0)])) == ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                                                                      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"])
        #expect(problems(service(ports: [ServicePort(protocol: "HTTP", port: 80)])) == [
            "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ])
        #expect(problems(service(ports: [ServicePort(port: 80, nodePort: 30080)])) == [
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        ])
        #expect(problems(service(type: "Foo")) == [
            "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ])
        #expect(problems(service(ports: [ServicePort(port: 80, targetPort: .string("Not_A_Name"))])).first?
            .hasPrefix("spec.ports[0].targetPort: Invalid value: \"Not_A_Name\": ") == true)
        #expect(problems(service(type: .nodePort, clusterIP: "None")) == [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
        ])
        #expect(problems(service(clusterIP: "10.43.0.300")) == [
            "spec.clusterIPs[0]: Invalid value: \"10.43.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ])
        var dup = service(ports: [ServicePort(name: "a", port: 80), ServicePort(name: "b", port: 80)])
        ServiceValidation.applyDefaults(&dup)
        #expect(problems(dup) == ["spec.ports[1]: Duplicate value: core.ServicePort{Name:\"b\", Protocol:\"TCP\", Port:80}"])
    }

    @Test func headlessAndExternalNameNeedNoPorts() {
        #expect(problems(service(ports: nil, clusterIP: "None")).isEmpty)
        var external = Service(metadata: ObjectMeta(name: "db", namespace: "default"), spec: ServiceSpec(type: .externalName))
        #expect(problems(external) == ["spec.externalName: Required value"])
        external.spec.externalName = "db.example.org"
        #expect(problems(external).isEmpty)
    }

    @Test func theClusterIPMayNotChange() {
        let old = service(clusterIP: "10.43.0.10")
        let new = service(clusterIP: "10.43.0.11")
        #expect(ServiceValidation.validateUpdate(new, old: old).map(\.description) == [
            "spec.clusterIPs[0]: Invalid value: []string{\"10.43.0.11\"}: may not change once set",
        ])
        #expect(ServiceValidation.validateUpdate(old, old: old).isEmpty)
    }
}
