import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// The multi-node lab end to end, as a user drives it: `shoal lab up` (nodes joining over TLS
/// with a token), pods spread over three nodes, traffic between them, a node killed and its
/// pods coming back elsewhere, `shoal lab down` leaving nothing. Every packet stays inside the
/// lab's own namespaces; the subnet and name are the test's own.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct LabTests {
    final class TestLab: @unchecked Sendable {
        let name = "it" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let subnet = "172.29.\(UInt8.random(in: 1...254)).0/24"
        let dataDir: String
        let binary = FileSystem.executableDirectory() + "/shoal"

        init() throws {
            dataDir = "/tmp/shoal-it-lab-\(getpid())-\(name)"
            try FileSystem.createDirectory(dataDir)
        }

        var prefix: String { subnet.split(separator: ".").prefix(3).joined(separator: ".") }
        var masterURL: String { "https://\(prefix).1:6443" }
        func address(_ n: Int) -> String { "\(prefix).\(9 + n)" }
        func namespace(_ node: String) -> String { "shoal-\(name)-\(node)" }

        func shoal(_ args: [String], dataDir: String? = nil) async throws -> (code: Int32, out: String, err: String) {
            var full = args
            let insertAt = args.first == "lab" || args.first == "token" || args.first == "image" ? 2 : 1
            full.insert(contentsOf: ["--data-dir", dataDir ?? self.dataDir], at: min(insertAt, full.count))
            return try await runProcess(binary, full)
        }

        func kubectl(_ args: String..., stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
            try await runProcess("/usr/bin/kubectl", ["--kubeconfig", dataDir + "/kubeconfig"] + args, stdin: stdin)
        }

        func inNode(_ node: String, _ args: String...) async throws -> (code: Int32, out: String, err: String) {
            try await runProcess("/usr/sbin/ip", ["netns", "exec", namespace(node)] + args)
        }

        /// `busybox wget` from a pod: the body, or nil when it failed.
        func fetch(from pod: String, _ url: String) async throws -> String? {
            let r = try await kubectl("exec", pod, "--", "timeout", "5", "wget", "-q", "-O", "-", url)
            return r.code == 0 ? r.out.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }

        /// Running pods of the web Deployment (not terminating), name → node.
        func webPods() async throws -> [String: String] {
            let out = try await kubectl("get", "pods", "-l", "app=web", "-o",
                                        "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{\"\\n\"}{end}").out
            var pods: [String: String] = [:]
            for line in out.split(separator: "\n") {
                let f = line.split(separator: " ").map(String.init)
                if f.count == 3, f[2] == "Running" { pods[f[0]] = f[1] }
            }
            return pods
        }

        /// Whatever happened: the lab goes, then anything of it still on the host, then the files.
        func removeEverything() {
            let down = Process()
            down.executableURL = URL(fileURLWithPath: binary)
            down.arguments = ["lab", "down", "--data-dir", dataDir]
            down.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            down.standardError = FileHandle(forWritingAtPath: "/dev/null")
            if (try? down.run()) != nil { down.waitUntilExit() }
            for ns in ((try? FileSystem.listDirectory("/run/netns")) ?? []) where ns == "shoal-\(name)" || ns.hasPrefix("shoal-\(name)-") {
                let del = Process()
                del.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                del.arguments = ["netns", "del", ns]
                if (try? del.run()) != nil { del.waitUntilExit() }
            }
            for mp in HostMounts.mountPoints(under: dataDir) { try? HostMounts.unmount(mp) }
            try? FileSystem.removeTree(dataDir)
        }

        /// What of the lab is still on the host: namespaces, processes started from its data dir,
        /// mounts, cgroups, files besides the image store.
        func leftovers() -> [String] {
            var found: [String] = []
            for ns in ((try? FileSystem.listDirectory("/run/netns")) ?? []) where ns == "shoal-\(name)" || ns.hasPrefix("shoal-\(name)-") {
                found.append("netns " + ns)
            }
            for pid in (try? FileSystem.listDirectory("/proc")) ?? [] where Int(pid) != nil {
                if let cmd = try? FileSystem.readString("/proc/\(pid)/cmdline"), cmd.contains(dataDir) { found.append("process \(pid)") }
            }
            found += HostMounts.mountPoints(under: dataDir).map { "mount " + $0 }
            for root in ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"] {
                found += findDirectories(named: "shoal-\(name)-", under: root, depth: 5).map { "cgroup " + $0 }
            }
            for entry in (try? FileSystem.listDirectory(dataDir)) ?? [] where entry != "images" {
                found.append("file " + entry)
            }
            return found
        }
    }

    static let web = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 6
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: httpd
                image: busybox
                command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
                ports: [{containerPort: 8080}]
                readinessProbe:
                  httpGet: {path: /, port: 8080}
                  periodSeconds: 1
        """

    @Test func threeNodesJoinSpreadServeSurviveANodeKillAndTearDown() async throws {
        await CLIHarness.clusterSlots.acquire()
        defer { CLIHarness.clusterSlots.release() }
        let lab = try TestLab()
        defer { lab.removeEverything() }

        let up = try await lab.shoal(["lab", "up", "--nodes", "3", "--name", lab.name, "--subnet", lab.subnet,
                                      "--node-status-update-frequency", "1s", "--node-monitor-grace-period", "4s",
                                      "--default-unreachable-toleration-seconds", "2"])
        try #require(up.code == 0, "lab up: \(up.err)")
        #expect(up.err.contains("nodes joined over TLS with a token and Ready"))
        let nodes = try await lab.kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.addresses[0].address} {end}").out
        #expect(nodes.split(separator: " ").sorted() == ["node1=\(lab.address(1))", "node2=\(lab.address(2))", "node3=\(lab.address(3))"])
        let ready = try await lab.kubectl("get", "nodes").out
        #expect(ready.components(separatedBy: " Ready ").count - 1 == 3, "\(ready)")

        try await refusesBadJoinsAndTakenNames(lab)

        // The image comes into the running lab once, and every node runs it.
        let load = try await lab.shoal(["lab", "load", "--quiet", testImage])
        #expect(load.code == 0 && load.out.contains("available on node1, node2, node3"), "\(load)")

        // Pods on every node.
        #expect(try await lab.kubectl("apply", "-f", "-", stdin: Self.web).code == 0)
        #expect(try await lab.kubectl("expose", "deployment", "web", "--port", "80", "--target-port", "8080", "--type", "NodePort").code == 0)
        #expect(try await lab.kubectl("rollout", "status", "deployment/web", "--timeout=90s").code == 0)
        var pods = try await lab.webPods()
        #expect(Set(pods.values) == ["node1", "node2", "node3"], "\(pods)")

        // Pod to pod across nodes, by IP; the Service by name; DNS from each node's pods.
        let ips = try await lab.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.podIP}={.spec.nodeName} {end}").out
            .split(separator: " ").map { $0.split(separator: "=").map(String.init) }
        let client = try #require(ips.first { $0[2] == "node1" })[0]
        for target in ips where target[2] != "node1" {
            #expect(try await lab.fetch(from: client, "http://\(target[1]):8080/") == target[0], "from node1 to \(target)")
        }
        var answers = Set<String>()
        for _ in 0..<8 { if let a = try await lab.fetch(from: client, "http://web.default.svc.cluster.local/") { answers.insert(a) } }
        #expect(answers.count >= 2 && answers.isSubset(of: Set(ips.map { $0[0] })), "\(answers)")
        let clusterIP = try await lab.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").out
        for node in ["node2", "node3"] {
            let p = try #require(ips.first { $0[2] == node })[0]
            let lookup = try await lab.kubectl("exec", p, "--", "nslookup", "web.default.svc.cluster.local")
            #expect(lookup.out.contains(clusterIP), "DNS from \(node): \(lookup.out) \(lookup.err)")
        }
        // NodePort on every node's address, from another node; a LoadBalancer on the nodes' addresses.
        let nodePort = try await lab.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].nodePort}").out
        for n in 1...3 {
            let r = try await lab.inNode(n == 1 ? "node2" : "node1", "timeout", "5", "busybox", "wget", "-q", "-O", "-", "http://\(lab.address(n)):\(nodePort)/")
            #expect(r.code == 0 && Set(ips.map { $0[0] }).contains(r.out.trimmingCharacters(in: .whitespacesAndNewlines)), "NodePort on node\(n): \(r)")
        }
        #expect(try await lab.kubectl("expose", "deployment", "web", "--name", "web-lb", "--port", "8081", "--target-port", "8080", "--type", "LoadBalancer").code == 0)
        try await waitUntil(timeout: 20) { try await lab.kubectl("get", "svc", "web-lb", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}").out.contains(lab.address(3)) }
        let lb = try await lab.inNode("node1", "timeout", "5", "busybox", "wget", "-q", "-O", "-", "http://\(lab.address(3)):8081/")
        #expect(lb.code == 0, "LoadBalancer: \(lb)")

        // A claim's volume is made on its first pod's node; the pod's next instances go there too.
        let claim = """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
            """
        #expect(try await lab.kubectl("apply", "-f", "-", stdin: claim + "\n---\n" + StorageTests.writer("data")).code == 0)
        #expect(try await lab.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=60s").code == 0)
        let volumeNode = try await lab.kubectl("get", "pv", "-o", "jsonpath={.items[0].spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}").out
        #expect(try await lab.kubectl("get", "pod", "writer", "-o", "jsonpath={.spec.nodeName}").out == volumeNode)
        for _ in 0..<2 {
            #expect(try await lab.kubectl("delete", "pod", "writer").code == 0)
            #expect(try await lab.kubectl("apply", "-f", "-", stdin: StorageTests.writer("data")).code == 0)
            #expect(try await lab.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=60s").code == 0)
            #expect(try await lab.kubectl("get", "pod", "writer", "-o", "jsonpath={.spec.nodeName}").out == volumeNode)
        }
        #expect(try await lab.kubectl("exec", "writer", "--", "cat", "/data/log").out == "hello\nhello\nhello\n")
        #expect(try await lab.kubectl("delete", "pod", "writer").code == 0)

        // A node dies: it turns NotReady, its pods come back on the others, the Service answers throughout.
        let onNode3 = Set(pods.filter { $0.value == "node3" }.keys)
        let kill = try await lab.shoal(["lab", "node", "kill", "node3"])
        #expect(kill.code == 0, "\(kill.err)")
        try await waitUntil(timeout: 30) { try await lab.kubectl("get", "node", "node3").out.contains("NotReady") }
        try await waitUntil(timeout: 60) {
            let now = try await lab.webPods()
            return now.count == 6 && !now.values.contains("node3") && onNode3.isDisjoint(with: now.keys)
        }
        pods = try await lab.webPods()
        #expect(Set(pods.values) == ["node1", "node2"], "\(pods)")
        var failures: [String] = []
        for _ in 0..<6 {
            let r = try await lab.kubectl("exec", client, "--", "timeout", "5", "wget", "-q", "-O", "-", "http://web/")
            if r.code != 0 { failures.append(r.err) }
        }
        #expect(failures.isEmpty, "the Service failed \(failures.count) of 6 requests after node3 died: \(failures)")
        let status = try await lab.shoal(["lab", "status"])
        #expect(status.out.contains("node3") && status.out.contains("killed") && status.out.contains("NotReady"), "\(status.out)")

        // The node comes back: it re-joins with the credentials it kept.
        #expect(try await lab.shoal(["lab", "node", "start", "node3"]).code == 0)
        #expect(try await lab.kubectl("get", "node", "node3").out.contains(" Ready "))

        let down = try await lab.shoal(["lab", "down"])
        #expect(down.code == 0, "\(down.err)")
        #expect(lab.leftovers().isEmpty, "\(lab.leftovers())")
    }

    /// Joins the master must refuse, and a lab whose names or subnet are taken: each a clear
    /// message, nothing registered or made.
    func refusesBadJoinsAndTakenNames(_ lab: TestLab) async throws {
        let scratch = lab.dataDir + "-join"
        defer { try? FileSystem.removeTree(scratch) }
        func join(_ node: String, _ token: String) async throws -> (code: Int32, out: String, err: String) {
            try await lab.inNode("node1", lab.binary, "agent", "--data-dir", scratch, "--node-name", node, "--server", lab.masterURL,
                                 "--token", token, "--cgroup-parent", "shoal-\(lab.name)-join")
        }
        let good = try await lab.shoal(["token", "create", "--ttl", "10m"])
        let token = good.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(good.code == 0 && token.hasPrefix("shoal1::sha256:"), "\(good)")
        let pin = token.components(separatedBy: "::")[1]

        let wrongSecret = try await join("intruder", "shoal1::\(pin)::abcdef.0123456789abcdef")
        #expect(wrongSecret.code != 0 && wrongSecret.err.contains("refused the join token"), "\(wrongSecret.err)")
        let other = try await lab.shoal(["token", "create"], dataDir: scratch + "-other")
        defer { try? FileSystem.removeTree(scratch + "-other") }
        let otherCA = try await join("intruder", other.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(otherCA.code != 0 && otherCA.err.contains("not the one the join token names"), "\(otherCA.err)")
        let taken = try await join("node2", token)
        #expect(taken.code != 0 && taken.err.contains("a live node already has this name"), "\(taken.err)")
        let malformed = try await join("intruder", "shoal1::nonsense")
        #expect(malformed.code != 0)
        #expect(try await lab.kubectl("get", "node", "intruder").code != 0)
        #expect(!FileSystem.exists(scratch + "/agent/credentials.json"))

        let sameName = try await lab.shoal(["lab", "up", "--nodes", "1", "--name", lab.name, "--subnet", "172.28.250.0/24"], dataDir: scratch + "-lab")
        defer { try? FileSystem.removeTree(scratch + "-lab") }
        #expect(sameName.code != 0 && sameName.err.contains("already exist"), "\(sameName.err)")
        let sameSubnet = try await lab.shoal(["lab", "up", "--nodes", "1", "--name", lab.name + "b", "--subnet", lab.subnet], dataDir: scratch + "-lab")
        #expect(sameSubnet.code != 0 && sameSubnet.err.contains("overlaps"), "\(sameSubnet.err)")
        #expect(!FileSystem.exists("/run/netns/shoal-\(lab.name)b"))
        let again = try await lab.shoal(["lab", "up", "--nodes", "1", "--name", lab.name + "c", "--subnet", "172.28.251.0/24"])
        #expect(again.code != 0 && again.err.contains("already up"), "\(again.err)")
    }
}

/// Directories whose name starts with `prefix`, at most `depth` levels below `root`.
func findDirectories(named prefix: String, under root: String, depth: Int) -> [String] {
    guard depth > 0, let entries = try? FileSystem.listDirectory(root) else { return [] }
    var out: [String] = []
    for e in entries where FileSystem.isDirectory(root + "/" + e) {
        if e.hasPrefix(prefix) { out.append(root + "/" + e) }
        out += findDirectories(named: prefix, under: root + "/" + e, depth: depth - 1)
    }
    return out
}
