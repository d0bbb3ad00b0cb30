import ShoalHTTP
import Foundation
import Logging
import ShoalAPI
import ShoalImage
import ShoalOS
import Testing
@testable import ShoalAgent
@testable import ShoalCLI

/// Integration tests need root (namespaces, mounts, cgroups).
let isRoot = getuid() == 0

/// The busybox test image: `$SHOAL_TEST_IMAGE` (set by scripts/test), or built once here.
let testImage: String = {
    if let path = ProcessInfo.processInfo.environment["SHOAL_TEST_IMAGE"], FileManager.default.fileExists(atPath: path) { return path }
    let path = "/tmp/shoal-test-busybox.tar"
    if !FileManager.default.fileExists(atPath: path) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/make-test-image")
        p.arguments = [path]
        try? p.run()
        p.waitUntilExit()
    }
    return path
}()

/// The agent's actors run on Swift's cooperative pool, one thread per core. A test blocking a
/// pool thread on a socket read would starve the very agent it waits for (with two cores, two
/// such reads deadlock), so blocking client calls run on a queue of their own: custom queues
/// target libdispatch's overcommitting pool, which always finds a thread.
/// (A *serial* queue, one per call: libdispatch puts concurrent queues on the same
/// non-overcommitting root queue as Swift's executor, where blocked readers starved it.)
private func blockingIO() -> DispatchQueue { DispatchQueue(label: "shoal.test.blocking-io") }

func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        blockingIO().async { c.resume(with: Result { try body() }) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// An agent of its own for one test: a data dir, a manifests dir and a cgroup parent named
/// `shoal-it-…`, the busybox image imported. `finish()` removes every pod, checks that the
/// host holds nothing of the agent's, and removes the data dir; call it in a `defer`-like way
/// through `withAgent`, which does so even when the test fails.
final class TestAgent: @unchecked Sendable {
    let name: String
    let dataDir: String
    let manifests: String
    let agent: Agent
    let client: NodeClient
    let cgroupParent: String

    init(maxBackoff: Double = 0, logMaxSize: UInt64 = 10 << 20, logMaxFiles: UInt32 = 5) async throws {
        name = "shoal-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        dataDir = "/tmp/" + name
        manifests = dataDir + "/manifests"
        cgroupParent = name
        try FileSystem.createDirectory(manifests)
        let store = try ImageStore(dataDir: dataDir)
        _ = try store.import(archive: testImage)
        var logger = Logger(label: "shoal.test")
        logger.logLevel = ProcessInfo.processInfo.environment["SHOAL_TEST_LOG"] == nil ? .critical : .debug
        let config = AgentConfig(dataDir: dataDir, nodeName: "testnode", maxBackoff: maxBackoff, containerLogMaxSize: logMaxSize,
                                 containerLogMaxFiles: logMaxFiles, cgroupParent: cgroupParent, hostIP: "127.0.0.1")
        agent = try Agent(config: config, images: StoreImageResolver(store: store), logger: logger)
        try await agent.start(manifestsDir: manifests)
        client = NodeClient(socketPath: config.socketPath)
    }

    /// Writes a manifest file (atomically, as an editor's rename would).
    func apply(_ file: String, _ yaml: String) throws {
        try FileSystem.writeAtomically(manifests + "/" + file, yaml)
    }

    func remove(_ file: String) { unlink(manifests + "/" + file) }

    func pods() async throws -> [Pod] {
        let client = client
        return try await offPool { try fetch(client, "/pods", as: List<Pod>.self).items }
    }

    func pod(_ name: String, namespace: String = "default") async throws -> Pod? {
        let client = client
        let response = try await offPool { try client.call("GET", "/pods/\(namespace)/\(name)") }
        if response.status == 404 { return nil }
        return try JSONDecoder().decode(Pod.self, from: Data(response.body))
    }

    func events(_ name: String) async throws -> [Event] {
        let client = client
        return try await offPool { try fetch(client, "/pods/default/\(name)/events", as: List<Event>.self).items }
    }

    func manifestErrors() async throws -> [ManifestError] {
        let client = client
        return try await offPool { try fetch(client, "/manifests/errors", as: [ManifestError].self) }
    }

    /// Waits (up to `timeout` seconds) until `condition` holds for the pod; returns it.
    @discardableResult
    func wait(_ name: String, namespace: String = "default", timeout: Double = 20, _ what: String = "condition",
              _ condition: (Pod) -> Bool) async throws -> Pod {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Pod?
        while Date() < deadline {
            if let p = try await pod(name, namespace: namespace) {
                last = p
                if condition(p) { return p }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TestFailure("pod \(name): timed out waiting for \(what); last status: \(String(describing: last?.status))")
    }

    @discardableResult
    func waitRunning(_ name: String, namespace: String = "default", timeout: Double = 20) async throws -> Pod {
        try await wait(name, namespace: namespace, timeout: timeout, "all containers running") { p in
            let statuses = p.status?.containerStatuses ?? []
            return !statuses.isEmpty && statuses.allSatisfy { $0.state?.running != nil }
        }
    }

    func waitGone(_ name: String, timeout: Double = 40) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await pod(name) == nil { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TestFailure("pod \(name) still exists after \(timeout)s")
    }

    func status(_ p: Pod, _ container: String) -> ContainerStatus? {
        ((p.status?.containerStatuses ?? []) + (p.status?.initContainerStatuses ?? [])).first { $0.name == container }
    }

    /// `shoal exec` through the node API: (exit code, stdout, stderr).
    func exec(_ pod: String, _ container: String? = nil, _ command: [String], stdin: [UInt8]? = nil,
              namespace: String = "default") async throws -> (Int32, String, String) {
        let client = client
        return try await offPool { try TestAgent.execBlocking(client, namespace, pod, container, command, stdin: stdin) }
    }

    static func execBlocking(_ client: NodeClient, _ namespace: String, _ pod: String, _ container: String?, _ command: [String],
                             stdin: [UInt8]?) throws -> (Int32, String, String) {
        var query = command.map { "command=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) }
        query.append("stdin=\(stdin != nil)")
        if let container { query.append("container=\(container)") }
        let (socket, leftover) = try client.upgrade("/pods/\(namespace)/\(pod)/exec?" + query.joined(separator: "&"))
        if let stdin {
            try socket.write(StreamProtocol.frame(StreamProtocol.stdin, stdin))
            try socket.write(StreamProtocol.frame(StreamProtocol.close, [StreamProtocol.stdin]))
        }
        var decoder = StreamProtocol.Decoder()
        var frames = decoder.feed(leftover)
        var out: [UInt8] = [], err: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            for (channel, payload) in frames {
                switch channel {
                case StreamProtocol.stdout: out += payload
                case StreamProtocol.stderr: err += payload
                case StreamProtocol.status:
                    let s = try JSONDecoder().decode(Status.self, from: Data(payload))
                    let code = s.status == "Success" ? 0 : Int32(s.details?.causes?.first?.message ?? "") ?? -1
                    return (code, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
                default: break
                }
            }
            let n = buf.withUnsafeMutableBytes { read(socket.raw, $0.baseAddress, $0.count) }
            if n <= 0 { throw TestFailure("exec stream closed without a status") }
            frames = decoder.feed(Array(buf[0..<n]))
        }
    }

    /// Runs a command in a container and returns its stdout, requiring exit 0.
    func sh(_ pod: String, _ container: String? = nil, _ script: String, namespace: String = "default") async throws -> String {
        let (code, out, err) = try await exec(pod, container, ["sh", "-c", script], namespace: namespace)
        guard code == 0 else { throw TestFailure("`\(script)` in \(pod)/\(container ?? "-") exited \(code): \(err)") }
        return out
    }

    func logs(_ pod: String, _ container: String? = nil, query: String = "") async throws -> String {
        var q = query
        if let container { q += (q.isEmpty ? "" : "&") + "container=\(container)" }
        let client = client, path = "/pods/default/\(pod)/log?" + q
        let r = try await offPool { try client.call("GET", path) }
        guard r.status == 200 else { throw TestFailure("logs: \(r.status) \(NodeClient.errorMessage(r.body))") }
        return String(decoding: r.body, as: UTF8.self)
    }

    /// Removes every manifest, waits for every pod to go, stops the agent and checks the host.
    func finish() async throws {
        for f in (try? FileSystem.listDirectory(manifests)) ?? [] { remove(f) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? await pods()) ?? []).isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
        await agent.stop()
        let leftovers = TestAgent.leftovers(dataDir: dataDir, cgroupParent: cgroupParent)
        try? FileSystem.removeTree(dataDir)
        if !leftovers.isEmpty { throw TestFailure("left on the host: \(leftovers.joined(separator: "; "))") }
    }

    /// Mounts under the data dir, cgroups of this agent, and sandbox processes of its pods.
    static func leftovers(dataDir: String, cgroupParent: String) -> [String] {
        var found = HostMounts.mountPoints(under: dataDir).map { "mount \($0)" }
        let mounts = (try? FileSystem.readString("/proc/self/mountinfo")) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(" cgroup ") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let root = String(fields[4])
            if let out = try? FileSystem.listDirectory(root), out.contains(cgroupParent) { found.append("cgroup \(root)/\(cgroupParent)") }
        }
        let own = ProcCgroup.parse((try? FileSystem.readString("/proc/self/cgroup")) ?? "")
        for entry in own where !entry.controllers.isEmpty {
            for controller in entry.controllers where ["memory", "cpu", "pids"].contains(controller) {
                let dir = "/sys/fs/cgroup/\(controller)\(entry.path == "/" ? "" : entry.path)/\(cgroupParent)"
                if FileSystem.exists(dir) { found.append("cgroup \(dir)") }
            }
        }
        // Any process still in one of this agent's cgroups (sandboxes, containers).
        for pid in (try? FileSystem.listDirectory("/proc")) ?? [] where Int(pid) != nil {
            if let groups = try? FileSystem.readString("/proc/\(pid)/cgroup"), groups.contains("/" + cgroupParent + "/") {
                found.append("process \(pid) (\(((try? FileSystem.readString("/proc/\(pid)/comm")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
        }
        return Array(Set(found)).sorted()
    }
}

/// Runs `body` with a fresh agent and always tears it down, failing the test on leftovers.
func withAgent(maxBackoff: Double = 0, logMaxSize: UInt64 = 10 << 20, logMaxFiles: UInt32 = 5,
               _ body: (TestAgent) async throws -> Void) async throws {
    let agent = try await TestAgent(maxBackoff: maxBackoff, logMaxSize: logMaxSize, logMaxFiles: logMaxFiles)
    var failure: Error?
    do {
        try await body(agent)
    } catch {
        failure = error
    }
    do {
        try await agent.finish()
    } catch {
        if failure == nil { failure = error } else { Issue.record(error) }
    }
    if let failure { throw failure }
}

/// A pod manifest with busybox containers.
func podYAML(_ name: String, containers: [(String, String)], extra: String = "", volumes: String = "", containerExtra: String = "") -> String {
    var y = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: \(name)
    spec:
      terminationGracePeriodSeconds: 2

    """
    if !extra.isEmpty { y += extra + "\n" }
    if !volumes.isEmpty { y += "  volumes:\n\(volumes)\n" }
    y += "  containers:\n"
    for (n, script) in containers {
        y += """
          - name: \(n)
            image: busybox
            command: ["sh", "-c", \(jsonString(script))]
        \(containerExtra)

        """
    }
    return y
}

func jsonString(_ s: String) -> String {
    let data = try? JSONEncoder().encode(s)
    return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
}
