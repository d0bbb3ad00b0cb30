import Foundation
import ShoalAPI
import ShoalHTTP
import ShoalMaster
import ShoalOS

/// How `lab up` starts a lab (the timing flags carry Kubernetes' names and defaults).
public struct LabOptions: Sendable {
    public var name = "lab"
    public var nodes = 3
    public var subnet = "172.30.0.0/24"
    public var nodeStatusUpdateFrequency = "10s"
    public var nodeMonitorGracePeriod = "40s"
    public var defaultUnreachableTolerationSeconds: Int64 = 300
    public var loadBalancerIPRange: String?
    public var logLevel = "info"
    /// How long `up` and `node start` wait for nodes to turn Ready.
    public var readyTimeout: Double = 120

    public init() {}
}

/// One lab: a master and N agents on this host, each node a network namespace of its own on the
/// lab's switch, joining over TLS with a token as a remote machine would. The processes are the
/// `shoal` executable itself (`shoal master`, `shoal agent`), started detached so that the lab
/// outlives the command; everything about them is in `LabPaths.statePath`.
public struct Lab: Sendable {
    public let paths: LabPaths
    /// Each step's outcome, as a line for the user.
    let progress: @Sendable (String) -> Void

    public init(dataDir: String, progress: @escaping @Sendable (String) -> Void) {
        paths = LabPaths(dataDir: dataDir)
        self.progress = progress
    }

    var master: HTTPClient { get throws { try HTTPClient(endpoint: .unix(path: paths.masterSocket)) } }

    // MARK: up

    /// Makes the network, starts the master, joins the nodes, waits until all are Ready. Any
    /// failure removes everything made so far.
    @discardableResult
    public func up(_ options: LabOptions) async throws -> LabState {
        let layout = try await checkFree(options)
        try FileSystem.createDirectory(paths.dataDir, mode: 0o711)
        try FileSystem.createDirectory(paths.labDir, mode: 0o700)
        try FileSystem.createDirectory(paths.nodesDir, mode: 0o711)
        var step = Step(progress)
        try await LabNetwork.create(layout)
        step.done("network: switch \(layout.switchNamespace), \(layout.nodeNames.count) node namespaces on \(layout.subnet)")
        do {
            var state = try await startMaster(layout, options)
            step.done("master: kubectl on \(try Self.server(inKubeconfig: paths.kubeconfig) ?? "?"), nodes on \(layout.serverURL)")
            let token = try Master.joinToken(dataDir: paths.dataDir, ttl: .seconds(3600))
            for node in layout.nodeNames {
                state.nodes.append(try await startAgent(node, layout: layout, options: options, executable: state.executable, token: token.description))
                // Saved as each starts: a failure at the next one still stops this one.
                try paths.save(state)
            }
            let progress = self.progress, count = layout.nodeNames.count
            try await waitReady(Set(layout.nodeNames), state: state, timeout: options.readyTimeout) { ready in
                progress("   nodes Ready: \(ready)/\(count)")
            }
            step.done("nodes joined over TLS with a token and Ready: \(layout.nodeNames.joined(separator: ", "))")
            return state
        } catch {
            progress("lab up failed: \(error); removing what was made")
            do { try await down() } catch { progress("removing the lab failed: \(error)") }
            await LabNetwork.remove(layout)
            throw error
        }
    }

    /// Refuses a lab whose names, addresses or data dir are taken, before anything is made.
    func checkFree(_ options: LabOptions) async throws -> LabLayout {
        let subnet: IPv4CIDR
        do { subnet = try IPv4CIDR(parsing: options.subnet) } catch { throw LabError("--subnet: \(error)") }
        let layout = try LabLayout(name: options.name, nodes: options.nodes, subnet: subnet)
        if let existing = try paths.load() {
            throw LabError(existing.master.isAlive
                ? "lab \"\(existing.name)\" is already up in \(paths.dataDir) (see `shoal lab status`)"
                : "lab \"\(existing.name)\" was left in \(paths.dataDir) and is not running: `shoal lab down` removes it")
        }
        if FileSystem.exists(paths.masterDir) {
            throw LabError("\(paths.masterDir) holds another cluster's state (from `shoal up` or `shoal master`): use another --data-dir")
        }
        let taken = layout.namespaces.filter(LabNetwork.namespaceExists)
        if !taken.isEmpty {
            throw LabError("network namespaces \(taken.joined(separator: ", ")) already exist: another lab named \"\(layout.name)\" runs from another data dir (use --name), or one was left behind (ip netns del)")
        }
        for (other, cidr) in await LabNetwork.otherLabSubnets(except: layout) where cidr.overlaps(subnet) {
            throw LabError("--subnet \(subnet) overlaps \(cidr), which the lab switch \(other) uses: choose another with --subnet")
        }
        return layout
    }

    func startMaster(_ layout: LabLayout, _ options: LabOptions) async throws -> LabState {
        let executable = FileSystem.executableDirectory() + "/shoal"
        var args = ["master", "--data-dir", paths.dataDir, "--bind-address", "127.0.0.1", "--secure-port", "0",
                    "--advertise-address", layout.masterAddress.description, "--advertise-network-namespace", layout.switchNamespace,
                    "--node-monitor-grace-period", options.nodeMonitorGracePeriod,
                    "--default-unreachable-toleration-seconds", String(options.defaultUnreachableTolerationSeconds),
                    "--log-level", options.logLevel]
        if let lb = options.loadBalancerIPRange { args += ["--load-balancer-ip-range", lb] }
        let pid = try await HostCommand(executable, args, environment: Self.environment).startDetached(logPath: paths.masterLog)
        guard let process = HostProcess.current(pid) else { throw LabError("the master exited at once: see \(paths.masterLog)") }
        var state = LabState(name: layout.name, subnet: layout.subnet.description, executable: executable, master: process,
                             masterArguments: args, nodeNames: layout.nodeNames, nodes: [], created: Date().timeIntervalSince1970)
        try paths.save(state)
        // Ready once its socket answers and the kubeconfig (written after the listeners open) is there.
        let deadline = monotonicNanos() + 30_000_000_000
        while true {
            if let r = try? await master.request("GET", "/readyz"), r.status == 200, FileSystem.exists(paths.kubeconfig) { break }
            guard process.isAlive else { throw LabError("the master exited: \(Self.tail(paths.masterLog))") }
            guard monotonicNanos() < deadline else { throw LabError("the master did not answer within 30 s: see \(paths.masterLog)") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        state.master = process
        return state
    }

    func startAgent(_ node: String, layout: LabLayout, options: LabOptions, executable: String, token: String) async throws -> LabState.NodeRecord {
        let cgroupParent = layout.cgroupParent(of: node)
        var args = ["agent", "--data-dir", paths.nodeDir(node), "--image-store", paths.dataDir, "--node-name", node,
                    "--node-ip", layout.address(of: node)!.description, "--cgroup-parent", cgroupParent,
                    "--server", layout.serverURL, "--cleanup",
                    "--node-status-update-frequency", options.nodeStatusUpdateFrequency, "--log-level", options.logLevel]
        if let lb = options.loadBalancerIPRange { args += ["--load-balancer-ip-range", lb] }
        var record = LabState.NodeRecord(name: node, process: nil, state: .running, arguments: args,
                                         cgroupDirectories: Cgroups.directories(parent: cgroupParent))
        // The token goes by environment: a command line is readable by every user of the host.
        record.process = try await spawnAgent(record, layout: layout, executable: executable, token: token)
        return record
    }

    func spawnAgent(_ record: LabState.NodeRecord, layout: LabLayout, executable: String, token: String?) async throws -> HostProcess {
        let env = Self.environment + (token.map { ["SHOAL_TOKEN=" + $0] } ?? [])
        let pid = try await HostCommand(executable, record.arguments, environment: env,
                                        networkNamespace: "/run/netns/" + layout.namespace(of: record.name))
            .startDetached(logPath: paths.agentLog(record.name), hostname: record.name)
        guard let process = HostProcess.current(pid) else {
            throw LabError("the agent of \(record.name) exited at once: \(Self.tail(paths.agentLog(record.name)))")
        }
        return process
    }

    static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"]

    // MARK: waiting for nodes

    /// Follows the nodes with a watch until every one of `names` is Ready.
    func waitReady(_ names: Set<String>, state: LabState, timeout: Double, onChange: @escaping @Sendable (Int) -> Void) async throws {
        let client = try master
        let ready = Locked<Set<String>>([])
        let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    guard let (status, lines) = try? await client.lines("/api/v1/nodes?watch=true"), status == 200 else {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        continue
                    }
                    do {
                        for try await line in lines {
                            guard let event = try? JSONValue.parse(line), let node = event["object"],
                                  let name = node["metadata"]?["name"]?.stringValue, names.contains(name) else { continue }
                            let isReady = event["type"]?.stringValue != "DELETED" && Self.isReady(node)
                            let (count, changed): (Int, Bool) = ready.withLock { set in
                                let changed = isReady ? set.insert(name).inserted : set.remove(name) != nil
                                return (set.count, changed)
                            }
                            if changed { onChange(count) }
                            if count == names.count { return true }
                        }
                    } catch {}
                }
                return false
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                return false
            }
            // An agent that exits will never turn Ready: no use waiting out the timeout.
            for record in state.nodes where names.contains(record.name) {
                guard let process = record.process else { continue }
                group.addTask {
                    while !Task.isCancelled, !(await process.waitExit(timeout: 3600)) {}
                    return false
                }
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard finished else {
            let missing = names.subtracting(ready.current).sorted()
            let dead = state.nodes.filter { missing.contains($0.name) && $0.process?.isAlive != true }.map { "\($0.name): \(Self.tail(paths.agentLog($0.name)))" }
            if !dead.isEmpty { throw LabError("agents exited before their nodes turned Ready: " + dead.joined(separator: "; ")) }
            throw LabError("nodes not Ready after \(Int(timeout)) s: \(missing.joined(separator: ", ")) (logs in \(paths.labDir))")
        }
    }

    static func isReady(_ node: JSONValue) -> Bool {
        (node["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }
    }

    // MARK: down

    /// Stops every node (their pods gracefully), then the master, and removes every namespace,
    /// mount, cgroup and file of the lab. The data dir's image store stays.
    public func down() async throws {
        guard let state = try paths.load() else { throw LabError("no lab in \(paths.dataDir)") }
        let layout = try state.layout()
        var step = Step(progress)
        await withTaskGroup(of: Void.self) { group in
            for record in state.nodes {
                group.addTask { await self.stopAgent(record, grace: 60) }
            }
        }
        for record in state.nodes { await removeLeftovers(record) }
        step.done("nodes stopped: \(state.nodes.map(\.name).joined(separator: ", "))")
        state.master.signal(SIGTERM)
        if !(await state.master.waitExit(timeout: 15)) {
            state.master.signal(SIGKILL)
            _ = await state.master.waitExit(timeout: 5)
        }
        step.done("master stopped")
        await LabNetwork.remove(layout)
        for path in [paths.nodesDir, paths.masterDir, paths.kubeconfig, paths.labDir] where FileSystem.exists(path) {
            try FileSystem.removeTree(path)
        }
        step.done("network namespaces and lab files removed")
    }

    /// SIGTERM (the agent, started with --cleanup, stops its pods and removes what it made),
    /// SIGKILL after `grace` seconds.
    func stopAgent(_ record: LabState.NodeRecord, grace: Double) async {
        guard let process = record.process, process.isAlive else { return }
        process.signal(SIGTERM)
        if await process.waitExit(timeout: grace) { return }
        process.signal(SIGKILL)
        _ = await process.waitExit(timeout: 5)
    }

    /// What a node's agent could not remove because it was killed: its processes, the mounts
    /// under its data dir, its cgroups.
    func removeLeftovers(_ record: LabState.NodeRecord) async {
        for dir in record.cgroupDirectories { await Cgroups.killTree(dir) }
        for mount in HostMounts.mountPoints(under: paths.nodeDir(record.name)) { try? HostMounts.unmount(mount) }
        for dir in record.cgroupDirectories {
            for left in Cgroups.removeTree(dir) { progress("warning: cgroup \(left) could not be removed") }
        }
    }

    // MARK: nodes

    public enum NodeAction: String, Sendable, CaseIterable { case stop, start, kill }

    /// `stop`: the agent stops its pods gracefully and exits, then the node's link goes down (a
    /// clean shutdown). `kill`: the agent and every pod process die at once and the link goes
    /// down (a power cut). `start`: the link comes up and the agent starts again, re-joining
    /// with the credentials it kept.
    public func node(_ action: NodeAction, _ name: String) async throws {
        guard var state = try paths.load() else { throw LabError("no lab in \(paths.dataDir)") }
        let layout = try state.layout()
        guard let i = state.nodes.firstIndex(where: { $0.name == name }) else {
            throw LabError("lab \"\(state.name)\" has no node \"\(name)\" (it has \(state.nodes.map(\.name).joined(separator: ", ")))")
        }
        var record = state.nodes[i]
        var step = Step(progress)
        switch action {
        case .stop:
            await stopAgent(record, grace: 90)
            try await LabNetwork.setLink(layout, node: name, up: false)
            record.state = .stopped
            step.done("\(name) stopped: its pods were stopped, its link is down")
        case .kill:
            record.process?.signal(SIGKILL)
            _ = await record.process?.waitExit(timeout: 5)
            for dir in record.cgroupDirectories { await Cgroups.killTree(dir) }
            try await LabNetwork.setLink(layout, node: name, up: false)
            record.state = .killed
            step.done("\(name) killed: its agent and pods are gone, its link is down")
        case .start:
            if record.state == .running, record.process?.isAlive == true { throw LabError("\(name) is already running") }
            guard state.master.isAlive else { throw LabError("the lab's master is not running: `shoal lab down` and `up` again") }
            try await LabNetwork.setLink(layout, node: name, up: true)
            record.process = try await spawnAgent(record, layout: layout, executable: state.executable, token: nil)
            record.state = .running
            state.nodes[i] = record
            try paths.save(state)
            try await waitReady([name], state: state, timeout: 120) { _ in }
            step.done("\(name) started and Ready")
        }
        state.nodes[i] = record
        try paths.save(state)
    }

    // MARK: status

    public struct NodeStatus: Sendable {
        public var name: String
        public var address: String
        public var namespace: String
        public var agent: String
        public var ready: String
        public var pods: Int
    }

    public struct Status: Sendable {
        public var name: String
        public var master: String
        public var server: String?
        public var kubeconfig: String
        public var nodes: [NodeStatus]
    }

    public func status() async throws -> Status {
        guard let state = try paths.load() else { throw LabError("no lab in \(paths.dataDir)") }
        let layout = try state.layout()
        let masterUp = state.master.isAlive
        var nodes: [String: JSONValue] = [:]
        var pods: [String: Int] = [:]
        if masterUp, let client = try? master {
            if let r = try? await client.request("GET", "/api/v1/nodes"), r.status == 200, let list = try? JSONValue.parse(r.body) {
                for n in list["items"]?.arrayValue ?? [] { if let name = n["metadata"]?["name"]?.stringValue { nodes[name] = n } }
            }
            if let r = try? await client.request("GET", "/api/v1/pods"), r.status == 200, let list = try? JSONValue.parse(r.body) {
                for p in list["items"]?.arrayValue ?? [] where p["metadata"]?["deletionTimestamp"] == nil {
                    if let node = p["spec"]?["nodeName"]?.stringValue { pods[node, default: 0] += 1 }
                }
            }
        }
        let rows = state.nodes.map { record -> NodeStatus in
            let agent: String
            if let p = record.process, p.isAlive { agent = "running (pid \(p.pid))" } else { agent = record.state == .running ? "exited" : record.state.rawValue }
            let ready: String
            if let n = nodes[record.name] {
                let condition = (n["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
                ready = condition?["status"]?.stringValue == "True" ? "Ready" : "NotReady"
            } else {
                ready = masterUp ? "not registered" : "unknown"
            }
            return NodeStatus(name: record.name, address: layout.address(of: record.name)?.description ?? "",
                              namespace: layout.namespace(of: record.name), agent: agent, ready: ready, pods: pods[record.name] ?? 0)
        }
        return Status(name: state.name, master: masterUp ? "running (pid \(state.master.pid))" : "not running",
                      server: try? Self.server(inKubeconfig: paths.kubeconfig), kubeconfig: paths.kubeconfig, nodes: rows)
    }

    // MARK: helpers

    static func server(inKubeconfig path: String) throws -> String? {
        let text = try FileSystem.readString(path)
        return text.split(separator: "\n").first { $0.contains("server:") }.map {
            ($0.split(separator: " ").last.map(String.init) ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
    }

    /// The last lines of a log, for an error message.
    static func tail(_ path: String, lines: Int = 5) -> String {
        guard let text = try? FileSystem.readString(path) else { return "(no log at \(path))" }
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ") + " (log: \(path))"
    }
}

/// A step's timing, for progress lines ("✓ master: … (0.4 s)").
struct Step {
    let progress: @Sendable (String) -> Void
    var started = monotonicNanos()

    init(_ progress: @escaping @Sendable (String) -> Void) { self.progress = progress }

    mutating func done(_ what: String) {
        let seconds = Double(monotonicNanos() - started) / 1e9
        progress(" ✓ \(what) (\(String(format: "%.1f", seconds)) s)")
        started = monotonicNanos()
    }
}
