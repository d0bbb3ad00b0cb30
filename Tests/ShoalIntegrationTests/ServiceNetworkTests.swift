import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// Pod networking and Services end to end: `shoal up` with its node in a network namespace the
/// test made, pods with httpd answering their own name, and traffic from the node, from pods
/// and to themselves. Every packet stays inside that namespace.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct ServiceNetworkTests {
    static func echoPod(_ name: String, extra: String = "", hostPort: Int? = nil) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
          labels: {app: echo}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: httpd
            image: busybox
            command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www"]
            ports: [{containerPort: 8080, name: http\(hostPort.map { ", hostPort: \($0)" } ?? "")}]
        \(extra)
        """
    }

    static let readiness = """
            readinessProbe:
              exec: {command: ["cat", "/tmp/ready"]}
              periodSeconds: 1
              failureThreshold: 1
        """

    /// `busybox wget` from the node's namespace: the body, or nil when it failed. (Its -T option
    /// crashes Debian's static busybox 1.35, hence `timeout`.)
    func fetch(_ cli: CLIHarness, _ url: String) async throws -> String? {
        let r = try await cli.inNode("timeout", "5", "busybox", "wget", "-q", "-O", "-", url)
        return r.code == 0 ? r.out.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func fetchMany(_ cli: CLIHarness, _ url: String, _ n: Int) async throws -> [String] {
        var out: [String] = []
        for _ in 0..<n { out.append(try await fetch(cli, url) ?? "FAILED") }
        return out
    }

    @Test func podIPsServicesRoundRobinNodePortsHostPortsAndCleanup() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        let podCIDR = try await cli.kubectl("get", "node", "node-1", "-o", "jsonpath={.spec.podCIDR}").out
        #expect(podCIDR == "10.42.0.0/24")

        let manifests = [ServiceNetworkTests.echoPod("echo-a", hostPort: 8088),
                         ServiceNetworkTests.echoPod("echo-b", extra: ServiceNetworkTests.readiness)].joined(separator: "\n---\n")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: manifests).code == 0)
        let run = try await cli.kubectl("run", "client", "--image=busybox", "--", "sleep", "3600")
        #expect(run.code == 0, "\(run)")
        var listed = ""
        do {
            try await waitUntil(timeout: 30) {
                listed = try await cli.kubectl("get", "pods", "--no-headers").out
                return listed.split(separator: "\n").filter { $0.split(separator: " ").prefix(3).joined(separator: " ").hasSuffix("1/1 Running") }.count == 3
            }
        } catch {
            Issue.record("pods not running: \(listed)")
            throw error
        }
        // Pod IPs from the node's CIDR, in status.podIP and podIPs, shown by get -o wide.
        var ips: [String: String] = [:]
        for pod in ["echo-a", "echo-b", "client"] {
            let ip = try await cli.kubectl("get", "pod", pod, "-o", "jsonpath={.status.podIP} {.status.podIPs[0].ip}").out
            let parts = ip.split(separator: " ").map(String.init)
            #expect(parts.count == 2 && parts[0] == parts[1] && parts[0].hasPrefix("10.42.0."), "\(pod): \(ip)")
            ips[pod] = parts.first ?? ""
        }
        #expect(Set(ips.values).count == 3)
        let wide = try await cli.kubectl("get", "pod", "echo-a", "-o", "wide").out
        #expect(wide.contains(ips["echo-a"]!), "\(wide)")

        // Pod to pod, node to pod, pod to node.
        #expect(try await cli.kubectl("exec", "client", "--", "wget", "-q", "-O", "-", "http://\(ips["echo-a"]!):8080/").out == "echo-a\n")
        #expect(try await fetch(cli, "http://\(ips["echo-b"]!):8080/") == "echo-b")
        #expect(try await cli.kubectl("exec", "client", "--", "ping", "-c", "1", "-W", "2", "10.42.0.1").code == 0)

        // A NodePort service by port name; successive requests alternate between the pods.
        let created = try await cli.kubectl("create", "service", "nodeport", "echo", "--tcp=80:http", "--node-port=30080")
        #expect(created.code == 0, "\(created)")
        let clusterIP = try await cli.kubectl("get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}").out
        try await waitUntil(timeout: 10) { Set(try await fetchMany(cli, "http://\(clusterIP)/", 2)) == ["echo-a", "echo-b"] }
        let answers = try await fetchMany(cli, "http://\(clusterIP)/", 6)
        #expect(Set(answers) == ["echo-a", "echo-b"], "\(answers)")
        #expect(zip(answers, answers.dropFirst()).allSatisfy { $0 != $1 }, "not round-robin: \(answers)")
        // On 127.0.0.1 and on the node's address.
        #expect(Set(try await fetchMany(cli, "http://127.0.0.1:30080/", 4)) == ["echo-a", "echo-b"])
        #expect(Set(try await fetchMany(cli, "http://10.42.0.1:30080/", 4)) == ["echo-a", "echo-b"])
        // From a pod, and from an endpoint to its own service (hairpin).
        let fromPod = try await cli.kubectl("exec", "client", "--", "sh", "-c", "for i in 1 2 3 4; do wget -q -O - http://\(clusterIP)/; done").out
        #expect(Set(fromPod.split(separator: "\n")) == ["echo-a", "echo-b"], "\(fromPod)")
        let hairpin = try await cli.kubectl("exec", "echo-a", "--", "sh", "-c", "for i in 1 2 3 4; do wget -q -O - http://\(clusterIP)/; done").out
        #expect(Set(hairpin.split(separator: "\n")) == ["echo-a", "echo-b"], "\(hairpin)")
        // hostPort, from the node's loopback.
        #expect(try await fetch(cli, "http://127.0.0.1:8088/") == "echo-a")

        // DNS from a pod: the kubelet's resolv.conf; the service by its full name and through
        // the search path; a headless service's pods and SRV records; names that do not exist.
        // (Only cluster names: others would be forwarded to the host's resolvers.)
        let resolv = try await cli.kubectl("exec", "client", "--", "cat", "/etc/resolv.conf").out
        #expect(resolv == "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.42.0.1\noptions ndots:5\n"
                || resolv.hasPrefix("search default.svc.cluster.local svc.cluster.local cluster.local "), "\(resolv)")
        let lookup = try await cli.kubectl("exec", "client", "--", "nslookup", "echo.default.svc.cluster.local.").out
        #expect(lookup.contains("Address: \(clusterIP)"), "\(lookup)")
        let byShortName = try await cli.kubectl("exec", "client", "--", "wget", "-q", "-O", "-", "http://echo/").out
        #expect(byShortName == "echo-a\n" || byShortName == "echo-b\n", "\(byShortName)")
        let headless = """
        apiVersion: v1
        kind: Service
        metadata: {name: peers}
        spec:
          clusterIP: None
          selector: {app: echo}
          ports: [{name: http, port: 8080}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: headless).code == 0)
        try await waitUntil(timeout: 10) {
            let a = try await cli.kubectl("exec", "client", "--", "nslookup", "peers.default.svc.cluster.local.").out
            return a.contains("Address: \(ips["echo-a"]!)") && a.contains("Address: \(ips["echo-b"]!)")
        }
        let srv = try await cli.kubectl("exec", "client", "--", "nslookup", "-type=SRV", "_http._tcp.peers.default.svc.cluster.local.").out
        #expect(srv.contains("8080 \(ips["echo-a"]!.replacingOccurrences(of: ".", with: "-")).peers.default.svc.cluster.local"), "\(srv)")
        // The same over TCP, from the node (what a resolver does after a truncated answer).
        let conn = try await TCPClient.connect(host: "10.42.0.1", port: 53, in: .path("/run/netns/" + cli.netns), timeout: 3)
        defer { conn.close() }
        let question: [UInt8] = [0xAB, 0xCD, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + "echo.default.svc.cluster.local".split(separator: ".").flatMap { [UInt8($0.count)] + Array($0.utf8) } + [0, 0, 1, 0, 1]
        let deadline = monotonicNanos() + 5_000_000_000
        try await SocketIO.send(conn, [0, UInt8(question.count)] + question, deadline: deadline)
        var framed: [UInt8] = []
        while framed.count < 2 || framed.count < 2 + (Int(framed[0]) << 8 | Int(framed[1])) {
            let more = try await SocketIO.receive(conn, deadline: deadline)
            if more.isEmpty { break }
            framed += more
        }
        let ipBytes = clusterIP.split(separator: ".").compactMap { UInt8($0) }
        #expect(framed.count > 14 && framed[2] == 0xAB && framed[3] == 0xCD && Array(framed.suffix(4)) == ipBytes, "\(framed)")
        let missing = try await cli.kubectl("exec", "client", "--", "nslookup", "nope.default.svc.cluster.local.")
        #expect(missing.code != 0 && missing.out.contains("NXDOMAIN"), "\(missing)")

        // UDP: a selector-less service whose slice (written by hand, as users do for outside
        // backends) points at the node's DNS server; a pod asks through the cluster IP.
        let udp = """
        apiVersion: v1
        kind: Service
        metadata: {name: dns-front}
        spec:
          ports: [{name: dns, port: 53, protocol: UDP}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: dns-front-manual
          labels: {kubernetes.io/service-name: dns-front}
        addressType: IPv4
        ports: [{name: dns, port: 53, protocol: UDP}]
        endpoints: [{addresses: ["10.42.0.1"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: udp).code == 0)
        let udpIP = try await cli.kubectl("get", "svc", "dns-front", "-o", "jsonpath={.spec.clusterIP}").out
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("exec", "client", "--", "nslookup", "echo.default.svc.cluster.local.", udpIP).out.contains("Address: \(clusterIP)")
        }

        // A pod that turns not-ready gets no more traffic; ready again, it does.
        _ = try await cli.kubectl("exec", "echo-b", "--", "rm", "/tmp/ready")
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=echo", "-o",
                                  "jsonpath={.items[0].endpoints[?(@.conditions.ready==false)].addresses[0]}").out == ips["echo-b"]
        }
        try await waitUntil(timeout: 5) { Set(try await fetchMany(cli, "http://\(clusterIP)/", 4)) == ["echo-a"] }
        _ = try await cli.kubectl("exec", "echo-b", "--", "touch", "/tmp/ready")
        try await waitUntil(timeout: 10) { Set(try await fetchMany(cli, "http://\(clusterIP)/", 4)) == ["echo-a", "echo-b"] }

        // A selector matching nothing: refused at once, not hung.
        #expect(try await cli.kubectl("create", "service", "clusterip", "nothing", "--tcp=80:8080").code == 0)
        let nothingIP = try await cli.kubectl("get", "svc", "nothing", "-o", "jsonpath={.spec.clusterIP}").out
        try await waitUntil(timeout: 5) { try await cli.inNode("nft", "list", "map", "ip", "shoal", "no_endpoint_services").out.contains(nothingIP) }
        let began = Date()
        do {
            let fd = try await TCPClient.connect(host: nothingIP, port: 80, in: .path("/run/netns/" + cli.netns), timeout: 3)
            fd.close()
            Issue.record("a service without endpoints accepted a connection")
        } catch {
            #expect(error.errno == ECONNREFUSED, "\(error)")
        }
        #expect(Date().timeIntervalSince(began) < 0.5)

        // Deleting the service removes its rules.
        #expect(try await cli.kubectl("delete", "svc", "echo").code == 0)
        try await waitUntil(timeout: 5) { !(try await cli.inNode("nft", "list", "table", "ip", "shoal").out.contains(clusterIP)) }
        #expect(try await fetch(cli, "http://127.0.0.1:30080/") == nil)

        // Deleting a pod releases its address.
        let ipamFile = cli.dataDir + "/network/ipam/shoal/" + ips["client"]!
        #expect(FileSystem.exists(ipamFile))
        #expect(try await cli.kubectl("delete", "pod", "client", "--grace-period=1").code == 0)
        #expect(!FileSystem.exists(ipamFile))

        // --cleanup: no table, bridge or veth is left.
        try await cli.stopCluster()
        let left = try await cli.networkLeftovers()
        #expect(left.isEmpty, "\(left)")
        #expect(HostMounts.mountPoints(under: cli.dataDir).isEmpty)
    }

    @Test func aPodKeepsItsAddressAcrossRestartTogether() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        // The first run fails after a while (the emptyDir remembers), the pod restarts together.
        let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: flaky}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: busybox
            command: ["sh", "-c", "if [ -f /data/once ]; then exec sleep 3600; fi; touch /data/once; sleep 2; exit 1"]
            volumeMounts: [{name: data, mountPath: /data}]
          volumes: [{name: data, emptyDir: {}}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: pod).code == 0)
        var before = ""
        try await waitUntil(timeout: 30) {
            before = try await cli.kubectl("get", "pod", "flaky", "-o", "jsonpath={.status.podIP}").out
            return !before.isEmpty
        }
        try await waitUntil(timeout: 30) {
            try await cli.kubectl("get", "pod", "flaky", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.phase}").out == "1 Running"
        }
        #expect(try await cli.kubectl("get", "pod", "flaky", "-o", "jsonpath={.status.podIP}").out == before)
    }

    @Test func loadBalancerAddressesClientIPAffinityAndPortForwardToAService() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster(["--load-balancer-ip-range", "10.44.0.0/29"])
        let manifests = [ServiceNetworkTests.echoPod("echo-a"), ServiceNetworkTests.echoPod("echo-b")].joined(separator: "\n---\n")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: manifests).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/echo-a", "pod/echo-b", "--timeout=30s").code == 0)

        // A LoadBalancer gets the pool's first address, shown by kubectl, and balances like a NodePort.
        let first = """
        apiVersion: v1
        kind: Service
        metadata: {name: lb}
        spec: {type: LoadBalancer, selector: {app: echo}, ports: [{port: 80, targetPort: 8080}]}
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: first).code == 0)
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("get", "svc", "lb", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").out == "10.44.0.1"
        }
        let row = try await cli.kubectl("get", "svc", "lb").out
        #expect(row.contains("LoadBalancer   10.43.") && row.contains("10.44.0.1     80:3"), "\(row)")
        try await waitUntil(timeout: 10) { Set(try await fetchMany(cli, "http://10.44.0.1/", 4)) == ["echo-a", "echo-b"] }
        // A second one asking for an address gets it.
        let second = """
        apiVersion: v1
        kind: Service
        metadata: {name: lb2}
        spec: {type: LoadBalancer, loadBalancerIP: 10.44.0.5, selector: {app: echo}, ports: [{port: 81, targetPort: 8080}]}
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: second).code == 0)
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("get", "svc", "lb2", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").out == "10.44.0.5"
        }

        // ClientIP affinity: one client keeps landing on one pod.
        let sticky = """
        apiVersion: v1
        kind: Service
        metadata: {name: sticky}
        spec: {selector: {app: echo}, sessionAffinity: ClientIP, ports: [{port: 80, targetPort: http}]}
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: sticky).code == 0)
        let stickyIP = try await cli.kubectl("get", "svc", "sticky", "-o", "jsonpath={.spec.clusterIP}").out
        try await waitUntil(timeout: 10) { try await fetch(cli, "http://\(stickyIP)/") != nil }
        let answers = try await fetchMany(cli, "http://\(stickyIP)/", 6)
        #expect(Set(answers).count == 1 && answers.first != "FAILED", "\(answers)")

        // kubectl port-forward svc/NAME picks a pod behind the service and its target port.
        let forward = try PortForward(kubectl: "/usr/bin/kubectl", kubeconfig: cli.dataDir + "/kubeconfig", target: "svc/lb", ports: ":80")
        defer { forward.stop() }
        let port = try await forward.localPort()
        let answer = try await httpGet(port: port)
        #expect(answer.hasSuffix("echo-a\n") || answer.hasSuffix("echo-b\n"), "\(answer)")
    }

    /// An outside client: a namespace of the test's own, wired to the node by a veth pair
    /// (192.168.251.0/30, inside the two namespaces only). Under the Cluster policy the pod sees
    /// the node's address (masqueraded); under Local, the client's own.
    @Test func externalTrafficPolicyLocalKeepsTheClientAddress() async throws {
        let cli = try CLIHarness()
        let outside = cli.netns + "-x"
        defer {
            cli.removeEverything()
            let del = Process()
            del.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            del.arguments = ["netns", "del", outside]
            if (try? del.run()) != nil { del.waitUntilExit() }
        }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        #expect(try await runProcess("/usr/sbin/ip", ["netns", "add", outside]).code == 0)
        for step in [["link", "add", "shoalx0", "type", "veth", "peer", "name", "eth0", "netns", outside],
                     ["addr", "add", "192.168.251.1/30", "dev", "shoalx0"], ["link", "set", "shoalx0", "up"]] {
            let r = try await cli.inNode(["ip"] + step)
            #expect(r.code == 0, "\(step): \(r.err)")
        }
        for step in [["addr", "add", "192.168.251.2/30", "dev", "eth0"], ["link", "set", "eth0", "up"], ["link", "set", "lo", "up"]] {
            #expect(try await runProcess("/usr/sbin/ip", ["-n", outside] + step).code == 0)
        }
        let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: who, labels: {app: who}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: httpd
            image: busybox
            command: ["sh", "-c", "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cluster-policy}
        spec: {type: NodePort, selector: {app: who}, ports: [{port: 80, targetPort: 8080, nodePort: 30090}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: local-policy}
        spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: who}, ports: [{port: 80, targetPort: 8080, nodePort: 30091}]}
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: pod).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/who", "--timeout=30s").code == 0)
        func remoteAddress(_ port: Int) async throws -> String {
            let r = try await runProcess("/usr/sbin/ip", ["netns", "exec", outside, "timeout", "5", "busybox", "wget", "-q", "-O", "-",
                                                          "http://192.168.251.1:\(port)/cgi-bin/ip"])
            return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var cluster = ""
        try await waitUntil(timeout: 10) {
            cluster = try await remoteAddress(30090)
            return !cluster.isEmpty
        }
        #expect(cluster == "[::ffff:10.42.0.1]", "Cluster policy: \(cluster)")  // httpd listens on IPv6, v4-mapped
        #expect(try await remoteAddress(30091) == "[::ffff:192.168.251.2]")
    }
}
