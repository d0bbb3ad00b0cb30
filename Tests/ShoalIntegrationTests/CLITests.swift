import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// The `shoal` binary as a user runs it: `shoal agent` in its own process, and the commands
/// beside it, asserting on what they print and exit with.
@Suite(.enabled(if: isRoot, "needs root"))
struct CLITests {
    @Test func anAgentAndItsCommandsEndToEnd() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }

        // A manifest naming an image not yet imported: one clear error, nothing started.
        try FileSystem.writeAtomically(cli.manifests + "/web.yaml", """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: server
            image: busybox
            command: ["sh", "-c", "echo started; exec httpd -f -p 8080 -h /etc"]
          - name: sidecar
            image: busybox
            command: ["sleep", "3600"]
        """)
        try FileSystem.writeAtomically(cli.manifests + "/broken.yaml", """
        apiVersion: v1
        kind: Pod
        metadata: {name: Bad_Name}
        spec:
          containers:
          - {name: c, image: busybox, resources: {limits: {memory: 12Q}}}
        """)
        try await cli.startAgent()
        try await waitUntil { try await cli.shoal("pods").err.contains("web.yaml: spec.containers[0].image: Not found: \"busybox\"") }
        let early = try await cli.shoal("pods")
        #expect(early.err.contains("broken.yaml: spec.containers[0].resources.limits[memory]: Invalid value: \"12Q\": quantities must match the regular expression"))
        #expect(HostMounts.mountPoints(under: cli.dataDir).isEmpty)

        // Importing the image is enough: the agent takes the rejected manifest up by itself.
        let imported = try await cli.shoal("image", "import", testImage)
        #expect(imported.code == 0 && imported.out.contains("imported busybox:latest"), "\(imported)")
        #expect(try await cli.shoal("image", "ls").out.contains("busybox"))
        try await waitUntil(timeout: 20) { try await cli.shoal("pods").out.contains("2/2     Running") }
        let table = try await cli.shoal("pods").out
        #expect(table.hasPrefix("NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE\n"), "\(table)")
        #expect(table.contains("default     web    2/2     Running   0          "))

        // describe, logs, exec (exit codes, stdin, a real terminal).
        let described = try await cli.shoal("describe", "web").out
        for pattern in [#"Name:\s+web\n"#, #"Namespace:\s+default\n"#, #"Status:\s+Running\n"#, #"\nContainers:\n  server:\n"#, #"\n  sidecar:\n"#, #"\nEvents:\n"#] {
            #expect(described.firstMatch(of: try Regex(pattern)) != nil, "describe lacks \(pattern)")
        }
        try await waitUntil { try await cli.shoal("logs", "web", "-c", "server").out == "started\n" }
        #expect(try await cli.shoal("exec", "web", "-c", "sidecar", "--", "wget", "-q", "-O-", "http://127.0.0.1:8080/hostname").out == "web\n")
        #expect(try await cli.shoal("exec", "web", "--", "sh", "-c", "exit 3").code == 3)
        #expect(try await cli.shoal("exec", "-i", "web", "--", "cat", stdin: "through stdin\n").out == "through stdin\n")
        let tty = try await cli.run("/usr/bin/script", ["-qec", "stty cols 101 rows 27; \(cli.binary) exec --data-dir \(cli.dataDir) -it web -c sidecar -- sh -c 'tty; stty size; exit 4'", "/dev/null"])
        #expect(tty.code == 4)
        #expect(tty.out.contains("/dev/pts/0") && tty.out.contains("27 101"), "\(tty.out)")
        let missing = try await cli.shoal("exec", "web", "-c", "nope", "--", "true")
        #expect(missing.code != 0 && missing.err.contains("container nope is not valid for pod web"))

        // SIGTERM with --cleanup: the pods stop, the agent exits 0, nothing of it stays.
        let code = try await cli.stopAgent()
        #expect(code == 0)
        #expect(TestAgent.leftovers(dataDir: cli.dataDir, cgroupParent: cli.cgroupParent).isEmpty)
        #expect(try await cli.shoal("image", "rm", "busybox").code == 0)
        #expect(try await cli.shoal("image", "ls").out.contains("busybox") == false)
    }
}

extension CLITests {
    @Test func podsSurviveAKilledAgentAndAreReadopted() async throws {
        let cli = try CLIHarness()
        let trigger = try scratchDirectory("adopt")
        defer {
            cli.removeEverything()
            try? FileSystem.removeTree(trigger)
        }
        _ = try await cli.shoal("image", "import", testImage)
        // Ends (once) when the test says so, and stays up after its restart.
        let waitForTrigger = "if [ -e /t/done ]; then exec sleep 3600; fi; while [ ! -e /t/go ]; do sleep 0.05; done; touch /t/done; exit 7"
        try FileSystem.writeAtomically(cli.manifests + "/pods.yaml", podYAML("calm", containers: [("c", "sleep 3600")]) + "\n---\n"
            + podYAML("busy", containers: [("steady", "trap 'exit 0' TERM; sleep 3600 & wait"), ("brief", waitForTrigger)],
                      volumes: "  - {name: t, hostPath: {path: \(trigger)}}", containerExtra: "    volumeMounts: [{name: t, mountPath: /t}]"))
        try await cli.startAgent()
        try await waitUntil(timeout: 20) {
            let calm = try await cli.pod("calm"), busy = try await cli.pod("busy")
            return calm?.status?.phase == .running && busy?.status?.phase == .running
        }
        let calmBefore = try #require(try await cli.pod("calm")?.status?.containerStatuses?.first)

        try await cli.killAgent()
        // While the agent is down, one container ends; the sandbox reaps it (no zombie).
        try FileSystem.writeAtomically(trigger + "/go", "")
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(processesInState("Z", cgroup: cli.cgroupParent).isEmpty)
        #expect(try await cli.shoal("exec", "calm", "--", "true").code != 0)  // no agent to answer

        try await cli.startAgent()
        // The calm pod is adopted as it was: same instance, not restarted.
        let calm = try await cli.waitPod("calm") { $0.status?.containerStatuses?.first?.state?.running != nil }
        let calmAfter = try #require(calm.status?.containerStatuses?.first)
        #expect(calmAfter.containerID == calmBefore.containerID && calmAfter.restartCount == 0)
        #expect(calmAfter.state?.running?.startedAt == calmBefore.state?.running?.startedAt)
        // The container that ended meanwhile has its exit recorded, then restart-together runs.
        let busy = try await cli.waitPod("busy") { p in
            p.status?.containerStatuses?.allSatisfy { $0.restartCount == 1 && $0.state?.running != nil } == true
        }
        let brief = try #require(busy.status?.containerStatuses?.first { $0.name == "brief" })
        #expect(brief.lastState?.terminated?.exitCode == 7)
        #expect(try await cli.shoal("exec", "calm", "--", "true").code == 0)
        #expect(try await cli.stopAgent() == 0)
        #expect(TestAgent.leftovers(dataDir: cli.dataDir, cgroupParent: cli.cgroupParent).isEmpty)
    }
}

/// Processes in a given state (`Z`: zombies) among those in cgroups under `cgroup`.
func processesInState(_ state: String, cgroup: String) -> [String] {
    var found: [String] = []
    for pid in (try? FileSystem.listDirectory("/proc")) ?? [] where Int(pid) != nil {
        guard let groups = try? FileSystem.readString("/proc/\(pid)/cgroup"), groups.contains("/" + cgroup + "/"),
              let stat = try? FileSystem.readString("/proc/\(pid)/stat") else { continue }
        // The state follows the command name's closing parenthesis.
        if let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].dropFirst().hasPrefix(state) { found.append(pid) }
    }
    return found
}

/// A data dir, a manifests dir and a cgroup parent of their own; the agent as a child process.
final class CLIHarness: @unchecked Sendable {
    let dataDir: String
    let manifests: String
    let cgroupParent: String
    let binary = FileSystem.executableDirectory() + "/shoal"
    /// The network namespace standing for the node of `startCluster`: the pod bridge, the NAT
    /// rules and the DNS server go there, never into the host's.
    let netns: String
    private var agent: Process?
    private var holdsSlot = false

    /// At most this many `shoal up` clusters run at once: each is a master, an agent, pods and
    /// kubectl processes, and with all of them started together on two cores the suite's
    /// timing-sensitive tests (store watch latency, grace periods) starve.
    static let clusterSlots = Slots(3)

    init() throws {
        let name = "shoal-it-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        netns = name
        dataDir = "/tmp/" + name
        manifests = dataDir + "/manifests"
        cgroupParent = name
        try FileSystem.createDirectory(manifests)
    }

    func startAgent() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["agent", "--data-dir", dataDir, "--manifests", manifests, "--cgroup-parent", cgroupParent, "--cleanup", "--max-backoff", "1s"]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: createLog()))
        try p.run()
        agent = p
        try await waitUntil { FileSystem.exists(self.dataDir + "/agent.sock") }
    }

    /// `shoal up`: master and agent in one process, on a free port; returns when the node is Ready.
    func startCluster(_ extra: [String] = []) async throws {
        await Self.clusterSlots.acquire()
        holdsSlot = true
        let made = try await runProcess("/usr/sbin/ip", ["netns", "add", netns])
        guard made.code == 0 else { throw TestFailure("ip netns add \(netns): \(made.err)") }
        _ = try await inNode("ip", "link", "set", "lo", "up")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["up", "--data-dir", dataDir, "--manifests", manifests, "--cgroup-parent", cgroupParent, "--cleanup",
                       "--max-backoff", "1s", "--bind-address", "127.0.0.1", "--secure-port", "0", "--node-name", "node-1",
                       "--network-namespace", netns] + extra
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: createLog()))
        try p.run()
        agent = p
        try await waitUntil(timeout: 30) { try await self.kubectl("get", "nodes").out.contains("node-1   Ready") }
    }

    func kubectl(_ args: String..., stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
        try await runProcess("/usr/bin/kubectl", ["--kubeconfig", dataDir + "/kubeconfig"] + args, stdin: stdin)
    }

    /// A given kubectl release (1.27 … 1.33, all installed beside the default one).
    func kubectl(version: String, _ args: String..., stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
        try await runProcess("/usr/lib/google-cloud-sdk/bin/kubectl.\(version)", ["--kubeconfig", dataDir + "/kubeconfig"] + args, stdin: stdin)
    }

    private func createLog() throws -> String {
        let path = dataDir + "/agent.log"
        try FileSystem.writeAtomically(path, "")
        return path
    }

    /// kill -9: the agent dies at once, its pods' sandboxes stay.
    func killAgent() async throws {
        guard let p = agent else { return }
        kill(p.processIdentifier, SIGKILL)
        try await offPool { p.waitUntilExit() }
        agent = nil
    }

    /// SIGTERM, then the agent's exit code.
    func stopAgent() async throws -> Int32 {
        guard let p = agent else { return -1 }
        p.terminate()
        return try await offPool {
            p.waitUntilExit()
            return p.terminationStatus
        }
    }

    /// The pod as `shoal pods -o json` shows it; nil when absent or the agent is not answering.
    func pod(_ name: String) async throws -> Pod? {
        let listed = try await shoal("pods", "-o", "json")
        guard listed.code == 0, let list = try? JSONDecoder().decode(List<Pod>.self, from: Data(listed.out.utf8)) else { return nil }
        return list.items.first { $0.metadata.name == name }
    }

    func waitPod(_ name: String, timeout: Double = 20, _ condition: (Pod) -> Bool) async throws -> Pod {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Pod?
        while Date() < deadline {
            if let p = try await pod(name) {
                last = p
                if condition(p) { return p }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestFailure("pod \(name): condition not met in \(timeout)s; last status: \(String(describing: last?.status))")
    }

    func shoal(_ args: String..., stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
        var full = args
        full.insert(contentsOf: ["--data-dir", dataDir], at: args.first == "image" ? 2 : 1)
        return try await run(binary, full, stdin: stdin)
    }

    func run(_ path: String, _ args: [String], stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
        try await runProcess(path, args, stdin: stdin)
    }

    /// Whatever happens in the test: the agent ends (its --cleanup removes the pods), then the data dir.
    /// A command run in the node's network namespace.
    func inNode(_ args: String...) async throws -> (code: Int32, out: String, err: String) {
        try await inNode(args)
    }

    func inNode(_ args: [String]) async throws -> (code: Int32, out: String, err: String) {
        try await runProcess("/usr/sbin/ip", ["netns", "exec", netns] + args)
    }

    /// Stops `shoal up` (SIGTERM: with --cleanup it stops the pods and removes its network).
    func stopCluster() async throws {
        guard let p = agent else { return }
        p.terminate()
        try await offPool { p.waitUntilExit() }
    }

    /// What is left in the node's namespace besides loopback: links, nftables tables.
    func networkLeftovers() async throws -> [String] {
        let links = try await inNode("ip", "-o", "link", "show").out.split(separator: "\n").compactMap { line -> String? in
            let name = line.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return name == "lo" ? nil : "link " + name
        }
        let tables = try await inNode("nft", "list", "tables").out.split(separator: "\n").map { "nft " + $0 }
        return links + tables
    }

    func removeEverything() {
        defer {
            if holdsSlot { Self.clusterSlots.release() }
            holdsSlot = false
        }
        if let p = agent, p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        let del = Process()
        del.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        del.arguments = ["netns", "del", netns]
        del.standardError = FileHandle(forWritingAtPath: "/dev/null")
        if (try? del.run()) != nil { del.waitUntilExit() }
        for mp in HostMounts.mountPoints(under: dataDir) { try? HostMounts.unmount(mp) }
        try? FileSystem.removeTree(dataDir)
    }
}

/// Runs a program to its end off the cooperative pool, with its output.
func runProcess(_ path: String, _ args: [String], stdin: String? = nil, environment: [String: String]? = nil) async throws -> (code: Int32, out: String, err: String) {
    try await offPool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data((stdin ?? "").utf8))
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// A counting semaphore for async tests.
final class Slots: @unchecked Sendable {
    private let lock = NSLock()
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if free > 0 {
                free -= 1
                lock.unlock()
                c.resume()
            } else {
                waiting.append(c)
                lock.unlock()
            }
        }
    }

    func release() {
        lock.lock()
        if waiting.isEmpty {
            free += 1
            lock.unlock()
        } else {
            let next = waiting.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}
