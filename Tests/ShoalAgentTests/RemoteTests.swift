import Foundation
import Logging
import ShoalAPI
import ShoalHTTP
import ShoalImage
import Testing
@testable import ShoalAgent

// MARK: - pure pieces

@Suite struct RemoteTests {
    static func pod(_ name: String, uid: String, ns: String = "default", file: Bool = false, mirrorOf: String? = nil) -> Pod {
        var annotations: [String: String] = [:]
        if file { annotations[PodSourceAnnotation.source] = "file" }
        if let mirrorOf { annotations[PodSourceAnnotation.mirror] = mirrorOf }
        return Pod(metadata: ObjectMeta(name: name, namespace: ns, uid: uid, annotations: annotations.isEmpty ? nil : annotations),
                   spec: PodSpec(containers: [Container(name: "c", image: "busybox")]))
    }

    // MARK: merging the sources

    @Test func desiredIsStaticUnionAPIPodsWithoutDeletedOnes() {
        var s = PodSources(staticEnabled: true, adopted: true)
        s.staticPods = [Self.pod("s", uid: "S", file: true)]
        var deleted = Self.pod("d", uid: "D")
        deleted.metadata.deletionTimestamp = Time.now()
        deleted.metadata.deletionGracePeriodSeconds = 7
        s.apiPods = ["A": Self.pod("a", uid: "A"), "D": deleted]
        let plan = s.plan(workers: ["S": .init(origin: .file, dying: false), "D": .init(origin: .api, dying: false)], currentPods: [:])
        #expect(Set(plan.desired.compactMap(\.metadata.uid)) == ["S", "A"])
        // The deleted pod is killed with the API's grace period.
        #expect(plan.kills.map(\.uid) == ["D"])
        #expect(plan.kills.first?.gracePeriod == 7)
    }

    @Test func aSourceThatHasNotDeliveredKeepsItsPodsRunning() {
        // After a restart the manifest directory is read before the API's first list: the
        // re-adopted API pod must survive.
        var s = PodSources(staticEnabled: true, adopted: true)
        s.staticPods = []
        let adopted = Self.pod("a", uid: "A")
        let plan = s.plan(workers: ["A": .init(origin: .api, dying: false)], currentPods: ["A": adopted])
        #expect(plan.desired.compactMap(\.metadata.uid) == ["A"])
        #expect(plan.keptUnready == ["A"])

        // Once the API has listed (without it), it goes.
        s.apiPods = [:]
        let after = s.plan(workers: ["A": .init(origin: .api, dying: false)], currentPods: ["A": adopted])
        #expect(after.desired.isEmpty)
        #expect(after.keptUnready.isEmpty)

        // And the other way round: the API lists first, the static pod stays.
        var t = PodSources(staticEnabled: true, adopted: true)
        t.apiPods = [:]
        let staticPod = Self.pod("s", uid: "S", file: true)
        let plan2 = t.plan(workers: ["S": .init(origin: .file, dying: false)], currentPods: ["S": staticPod])
        #expect(plan2.desired.compactMap(\.metadata.uid) == ["S"])
    }

    @Test func withoutAMasterTheManifestSourceStopsOnlyItsOwnPods() {
        var s = PodSources(staticEnabled: true, adopted: true)
        s.staticPods = []
        let workers: [String: PodSources.WorkerInfo] = ["A": .init(origin: .api, dying: false), "S": .init(origin: .file, dying: false)]
        let plan = s.plan(workers: workers, currentPods: ["A": Self.pod("a", uid: "A"), "S": Self.pod("s", uid: "S", file: true)])
        // The static pod that left the directory goes; the API's pod waits for the API.
        #expect(plan.desired.compactMap(\.metadata.uid) == ["A"])
        #expect(plan.keptUnready == ["A"])
    }

    @Test func terminalAPIPodsAreNotStartedAgainButKeptWhileTheirWorkerExists() {
        var s = PodSources(staticEnabled: false, adopted: true)
        var done = Self.pod("done", uid: "T")
        done.status = PodStatus(phase: .succeeded)
        s.apiPods = ["T": done]
        #expect(s.plan(workers: [:], currentPods: [:]).desired.isEmpty)
        #expect(s.plan(workers: ["T": .init(origin: .api, dying: false)], currentPods: [:]).desired.count == 1)
    }

    @Test func aPodDeletedOutrightIsKilledWithTheGraceItLastHad() {
        var s = PodSources(staticEnabled: false, adopted: true)
        s.apiPods = [:]
        s.removedGrace = ["X": 0]
        let plan = s.plan(workers: ["X": .init(origin: .api, dying: false)], currentPods: [:])
        #expect(plan.desired.isEmpty)
        #expect(plan.kills.map(\.uid) == ["X"])
        #expect(plan.kills.first?.gracePeriod == 0)
        // A dying worker is left to finish.
        #expect(s.plan(workers: ["X": .init(origin: .api, dying: true)], currentPods: [:]).kills.isEmpty)
    }

    // MARK: status patches

    @Test func mergePatchDiffTurnsOldIntoNew() throws {
        let old: JSONValue = ["a": 1, "b": ["c": "x", "d": [1, 2]], "gone": true]
        let new: JSONValue = ["a": 1, "b": ["c": "y", "d": [1, 2]], "added": "z"]
        let patch = try #require(MergePatch.diff(from: old, to: new))
        #expect(patch == ["b": ["c": "y"], "added": "z", "gone": .null])
        #expect(MergePatch.apply(patch, to: old) == new)
        #expect(MergePatch.diff(from: new, to: new) == nil)
    }

    @Test func statusPatchCarriesOnlyOwnedChangesAndKeepsForeignConditions() throws {
        let now = Time(secondsSinceEpoch: 1_700_000_000)
        var api = PodStatus(phase: .pending, conditions: [
            PodCondition(type: .podScheduled, status: .true, lastTransitionTime: now),
            PodCondition(type: "DisruptionTarget", status: .true, lastTransitionTime: now),
        ])
        api.nominatedNodeName = "elsewhere"
        let ours = PodStatus(phase: .running, conditions: [PodCondition(type: .ready, status: .true, lastTransitionTime: now)],
                             hostIP: "10.0.0.1", podIP: "10.1.0.5")
        let merged = PodStatusReport.merged(ours, api: api)
        #expect(merged.conditions?.map(\.type) == [.ready, "DisruptionTarget"])
        let patch = try #require(PodStatusReport.patch(from: api, to: merged))
        let status = try #require(patch["status"])
        #expect(status["phase"] == "Running")
        #expect(status["podIP"] == "10.1.0.5")
        // Someone else's field is never touched (not even nulled).
        #expect(status.objectValue?.keys.contains("nominatedNodeName") == false)
        #expect(status["conditions"]?.arrayValue?.count == 2)
        // Nothing changed: nothing to send.
        #expect(PodStatusReport.patch(from: merged, to: merged) == nil)
        // A field the agent no longer reports is removed.
        var later = merged
        later.podIP = nil
        let removal = try #require(PodStatusReport.patch(from: merged, to: later))
        #expect(removal["status"]?["podIP"] == .null)
    }

    // MARK: the node

    @Test func hostFactsAreParsed() {
        let meminfo = "MemTotal:       16318908 kB\nMemFree:         1234 kB\nMemAvailable:    8000000 kB\nHugePages_Total:       0\n"
        let m = NodeFacts.parseMeminfo(meminfo)
        #expect(m["MemTotal"] == 16_318_908)
        #expect(m["MemAvailable"] == 8_000_000)
        #expect(m["HugePages_Total"] == 0)
        #expect(NodeFacts.parseLoadavgTasks("0.52 0.58 0.59 3/1234 56789\n") == 1234)
        #expect(NodeFacts.parseOSRelease("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n") == "Debian GNU/Linux 12 (bookworm)")
        #expect(NodeFacts.goArch("x86_64") == "amd64")
        #expect(NodeFacts.goArch("aarch64") == "arm64")
    }

    static func facts(memAvailKiB: Int64 = 8 << 20, diskAvail: Int64 = 50 << 30, tasks: Int64 = 500) -> NodeFacts {
        NodeFacts(cpus: 2, memoryTotalKiB: 16_318_908, memoryAvailableKiB: memAvailKiB, diskTotalBytes: 100 << 30,
                  diskAvailableBytes: diskAvail, pidMax: 4_194_304, tasks: tasks, machineID: "m", bootID: "b",
                  kernelVersion: "6.1.0", osImage: "Debian GNU/Linux 12 (bookworm)", architecture: "amd64")
    }

    @Test func pressureFollowsTheKubeletsThresholds() {
        #expect(!Self.facts().memoryPressure)
        #expect(Self.facts(memAvailKiB: 99 * 1024).memoryPressure)
        #expect(!Self.facts(memAvailKiB: 100 * 1024).memoryPressure)
        #expect(!Self.facts(diskAvail: 11 << 30).diskPressure)
        #expect(Self.facts(diskAvail: 9 << 30).diskPressure)
        #expect(!Self.facts(tasks: 3_900_000).pidPressure)  // 7% free
        #expect(Self.facts(tasks: 4_000_000).pidPressure)  // under 5% free
    }

    @Test func conditionsKeepTheirTransitionTimeWhileUnchanged() {
        let t0 = Time(secondsSinceEpoch: 1000), t1 = Time(secondsSinceEpoch: 1010)
        let first = NodeBuilder.conditions(Self.facts(), previous: [], now: t0)
        #expect(first.map(\.type) == [.memoryPressure, .diskPressure, .pidPressure, .ready])
        #expect(first.first { $0.type == .ready }?.reason == "KubeletReady")
        #expect(first.first { $0.type == .ready }?.message == "shoal agent is posting ready status")
        #expect(first.first { $0.type == .memoryPressure }?.reason == "KubeletHasSufficientMemory")
        #expect(first.first { $0.type == .diskPressure }?.reason == "KubeletHasNoDiskPressure")
        #expect(first.first { $0.type == .pidPressure }?.reason == "KubeletHasSufficientPID")
        let second = NodeBuilder.conditions(Self.facts(memAvailKiB: 10), previous: first, now: t1)
        let ready = second.first { $0.type == .ready }!
        #expect(ready.lastHeartbeatTime == t1 && ready.lastTransitionTime == t0)
        let memory = second.first { $0.type == .memoryPressure }!
        #expect(memory.status == .true && memory.reason == "KubeletHasInsufficientMemory" && memory.lastTransitionTime == t1)
    }

    @Test func theNodeObjectHasTheKubeletsShape() throws {
        let id = NodeBuilder.Identity(nodeName: "n1", hostname: "n1", internalIP: "10.0.0.7", nodeAPIURL: "https://10.0.0.7:10250")
        let node = NodeBuilder.node(id, facts: Self.facts(), conditions: [])
        let json = try JSONValue.encoding(node)
        #expect(json["metadata"]?["name"] == "n1")
        #expect(json["metadata"]?["labels"] == ["kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"])
        #expect(json["metadata"]?["annotations"]?["shoal.io/node-api"] == "https://10.0.0.7:10250")
        let status = try #require(json["status"])
        #expect(status["capacity"]?["cpu"] == "2")
        #expect(status["capacity"]?["memory"] == "16318908Ki")
        #expect(status["capacity"]?["pods"] == "110")
        #expect(status["capacity"]?["ephemeral-storage"] == "100Gi")
        #expect(status["allocatable"] == status["capacity"])
        #expect(status["daemonEndpoints"] == ["kubeletEndpoint": ["Port": 0]])
        #expect(status["addresses"] == [["type": "InternalIP", "address": "10.0.0.7"], ["type": "Hostname", "address": "n1"]])
        #expect(status["nodeInfo"]?["kubeletVersion"] == "v1.32.0-shoal")
        #expect(status["nodeInfo"]?["containerRuntimeVersion"] == "shoal://0.1")
        #expect(status["nodeInfo"]?["operatingSystem"] == "linux")
        #expect(status["nodeInfo"]?["kubeProxyVersion"] == "")
    }

    @Test func theRunningHostIsReadable() {
        let f = NodeFacts.read(dataDir: "/")
        #expect(f.cpus >= 1)
        #expect(f.memoryTotalKiB > 0)
        #expect(f.diskTotalBytes > 0)
        #expect(!f.kernelVersion.isEmpty)
        #expect(!f.architecture.isEmpty)
    }

    @Test func aMirrorPodPointsAtItsStaticPod() {
        var s = Self.pod("etcd", uid: "S1", ns: "kube-system", file: true)
        s.metadata.labels = ["tier": "control-plane"]
        s.metadata.resourceVersion = "9"
        let m = MasterSession.mirrorPod(of: s, staticUID: "S1", nodeName: "n1", nodeUID: "N-UID")
        #expect(m.metadata.uid == nil && m.metadata.resourceVersion == nil)
        #expect(m.metadata.annotations?[PodSourceAnnotation.mirror] == "S1")
        #expect(m.metadata.annotations?[PodSourceAnnotation.source] == "file")
        #expect(m.metadata.labels == ["tier": "control-plane"])
        #expect(m.spec.nodeName == "n1")
        #expect(m.metadata.ownerReferences?.first?.kind == "Node")
        #expect(m.metadata.ownerReferences?.first?.uid == "N-UID")
    }

    @Test func pathsAreEscaped() {
        #expect(MasterAPI.boundPods("n1") == "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
        #expect(MasterAPI.lease("n1") == "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1")
        #expect(MasterAPI.finalDelete(uid: "u")["preconditions"]?["uid"] == "u")
        #expect(MasterAPI.finalDelete(uid: "u")["gracePeriodSeconds"] == 0)
    }
}

// MARK: - against a fake master

/// Just enough of the Kubernetes API for the session: nodes, leases, pods bound to a node (list
/// and watch), pod status patches, deletes, events. Records every request.
actor FakeMaster {
    struct Request: Sendable {
        var method: String
        var path: String
        var query: [String: [String]]
        var body: JSONValue?
    }

    var requests: [Request] = []
    var nodes: [String: JSONValue] = [:]
    var leases: [String: JSONValue] = [:]
    var pods: [String: JSONValue] = [:]  // ns/name
    var revision = 10
    /// Fail this many lease PUTs with 409 first.
    var leaseConflicts = 0
    /// Answer watches with an ERROR 410 this many times first.
    var goneWatches = 0
    var watchers: [AsyncStream<[UInt8]>.Continuation] = []

    func setLeaseConflicts(_ n: Int) { leaseConflicts = n }
    func setGoneWatches(_ n: Int) { goneWatches = n }
    func put(pod: JSONValue) {
        let key = "\(pod["metadata"]?["namespace"]?.stringValue ?? "default")/\(pod["metadata"]?["name"]?.stringValue ?? "")"
        pods[key] = stamped(pod)
    }
    /// What `kubectl delete --grace-period` does: the pod gets a deletionTimestamp.
    func markDeleted(_ key: String, grace: Int64) {
        guard var pod = pods[key] else { return }
        pod["metadata"]?["deletionTimestamp"] = .string(Time.now().rfc3339)
        pod["metadata"]?["deletionGracePeriodSeconds"] = .int(grace)
        pods[key] = stamped(pod)
        notify("MODIFIED", pods[key]!)
    }
    func pod(_ key: String) -> JSONValue? { pods[key] }
    func has(_ key: String) -> Bool { pods.keys.contains(key) }
    func requests(_ method: String, prefix: String) -> [Request] {
        requests.filter { $0.method == method && $0.path.hasPrefix(prefix) }
    }

    private func stamped(_ object: JSONValue) -> JSONValue {
        revision += 1
        var o = object
        o["metadata"]?["resourceVersion"] = .string(String(revision))
        return o
    }

    private func notify(_ type: String, _ object: JSONValue) {
        let line = JSONValue.object(["type": .string(type), "object": object]).serialized + [10]
        for w in watchers { w.yield(line) }
    }

    static func status(_ code: Int, _ reason: String) -> APIResponse {
        let s: JSONValue = ["kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": .string(reason), "code": .int(Int64(code)),
                            "message": .string(reason)]
        return .bytes(status: code, contentType: "application/json", body: s.serialized)
    }

    static func ok(_ v: JSONValue, _ code: Int = 200) -> APIResponse { .bytes(status: code, contentType: "application/json", body: v.serialized) }

    func handle(_ r: APIRequest) -> APIResponse {
        let body = r.body.isEmpty ? nil : try? JSONValue.parse(r.body)
        requests.append(Request(method: r.method, path: r.path, query: r.query, body: body))
        let s = r.segments
        switch (r.method, s) {
        case ("POST", ["api", "v1", "nodes"]):
            let name = body?["metadata"]?["name"]?.stringValue ?? ""
            if nodes.keys.contains(name) { return Self.status(409, "AlreadyExists") }
            var n = body ?? [:]
            n["metadata"]?["uid"] = .string("node-uid-\(name)")
            nodes[name] = stamped(n)
            return Self.ok(nodes[name]!, 201)
        case ("GET", let p) where p.count == 4 && p[2] == "nodes":
            return nodes[p[3]].map { Self.ok($0) } ?? Self.status(404, "NotFound")
        case ("PATCH", let p) where p.count >= 4 && p[2] == "nodes":
            guard let n = nodes[p[3]], let body else { return Self.status(404, "NotFound") }
            nodes[p[3]] = stamped(MergePatch.apply(body, to: n))
            return Self.ok(nodes[p[3]]!)
        case ("GET", let p) where p.count == 7 && p[5] == "leases":
            return leases[p[6]].map { Self.ok($0) } ?? Self.status(404, "NotFound")
        case ("POST", let p) where p.count == 6 && p[5] == "leases":
            let name = body?["metadata"]?["name"]?.stringValue ?? ""
            if leases.keys.contains(name) { return Self.status(409, "AlreadyExists") }
            leases[name] = stamped(body ?? [:])
            return Self.ok(leases[name]!, 201)
        case ("PUT", let p) where p.count == 7 && p[5] == "leases":
            guard let existing = leases[p[6]], let body else { return Self.status(404, "NotFound") }
            if leaseConflicts > 0 {
                leaseConflicts -= 1
                leases[p[6]] = stamped(existing)  // someone else wrote it
                return Self.status(409, "Conflict")
            }
            guard body["metadata"]?["resourceVersion"] == existing["metadata"]?["resourceVersion"] else { return Self.status(409, "Conflict") }
            leases[p[6]] = stamped(body)
            return Self.ok(leases[p[6]]!)
        case ("GET", ["api", "v1", "pods"]):
            let node = (r.query("fieldSelector") ?? "").replacingOccurrences(of: "spec.nodeName=", with: "")
            let mine = pods.values.filter { $0["spec"]?["nodeName"]?.stringValue == node }
            if r.flag("watch") {
                if goneWatches > 0 {
                    goneWatches -= 1
                    let e: JSONValue = ["type": "ERROR", "object": ["kind": "Status", "code": 410, "reason": "Expired"]]
                    return .bytes(status: 200, contentType: "application/json", body: e.serialized + [10])
                }
                let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
                watchers.append(continuation)
                return .stream(status: 200, contentType: "application/json") { writer in
                    for await line in stream { try await writer.write(line) }
                }
            }
            return Self.ok(["kind": "PodList", "apiVersion": "v1", "metadata": ["resourceVersion": .string(String(revision))],
                            "items": .array(mine)])
        case ("POST", let p) where p.count == 5 && p[4] == "pods":
            var pod = body ?? [:]
            let key = "\(p[3])/\(pod["metadata"]?["name"]?.stringValue ?? "")"
            if pods.keys.contains(key) { return Self.status(409, "AlreadyExists") }
            pod["metadata"]?["uid"] = .string("mirror-uid-\(pods.count)")
            pods[key] = stamped(pod)
            notify("ADDED", pods[key]!)
            return Self.ok(pods[key]!, 201)
        case ("PATCH", let p) where p.count == 7 && p[4] == "pods" && p[6] == "status":
            let key = "\(p[3])/\(p[5])"
            guard let pod = pods[key], let body else { return Self.status(404, "NotFound") }
            pods[key] = stamped(MergePatch.apply(body, to: pod))
            notify("MODIFIED", pods[key]!)
            return Self.ok(pods[key]!)
        case ("DELETE", let p) where p.count == 6 && p[4] == "pods":
            let key = "\(p[3])/\(p[5])"
            guard let pod = pods[key] else { return Self.status(404, "NotFound") }
            if let want = body?["preconditions"]?["uid"], want != pod["metadata"]?["uid"] { return Self.status(409, "Conflict") }
            pods[key] = nil
            notify("DELETED", pod)
            return Self.ok(pod)
        case ("POST", let p) where p.count == 5 && p[4] == "events":
            return Self.ok(body ?? [:], 201)
        default:
            return Self.status(404, "NotFound")
        }
    }
}

struct FakeMasterHandler: APIHandler {
    let master: FakeMaster
    func handle(_ request: APIRequest) async -> APIResponse { await master.handle(request) }
}

/// Polls a condition (the session works in the background) for up to `seconds`.
func eventually(_ seconds: Double = 5, _ check: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await check() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return await check()
}

@Suite(.serialized) struct RemoteSessionTests {
    static func withMaster(_ body: (FakeMaster, MasterConnection, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-remote-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let master = FakeMaster()
        let logger = Logger(label: "test")
        let server = try await HTTPServer(path: dir + "/api.sock", handler: FakeMasterHandler(master: master), logger: logger)
        let client = try HTTPClient(endpoint: .unix(path: dir + "/api.sock"))
        do {
            try await body(master, MasterConnection(client: client, nodeName: "n1", nodeAPIURL: "https://10.0.0.7:10250"), dir)
        } catch {
            await server.close()
            throw error
        }
        await server.close()
    }

    static func session(_ c: MasterConnection, _ dir: String, agent: Agent? = nil) -> MasterSession {
        MasterSession(agent: agent, connection: c, options: NodeReportOptions(requestTimeout: 5), hostIP: "10.0.0.7", dataDir: dir,
                      logger: Logger(label: "test"))
    }

    @Test func registersTheNodeAndTakesItOverAfterARestart() async throws {
        try await Self.withMaster { master, c, dir in
            let first = Self.session(c, dir)
            try await first.register()
            let node = try #require(await master.nodes["n1"])
            #expect(node["metadata"]?["labels"]?["kubernetes.io/os"] == "linux")
            #expect(node["metadata"]?["annotations"]?["shoal.io/node-api"] == "https://10.0.0.7:10250")
            #expect(node["status"]?["conditions"]?.arrayValue?.count == 4)
            #expect(await first.nodeUID == "node-uid-n1")

            // A second agent run: 409, then the object is taken over and its status refreshed.
            var moved = c
            moved.nodeAPIURL = nil
            let second = Self.session(moved, dir)
            try await second.register()
            #expect(await second.nodeUID == "node-uid-n1")
            #expect(await second.registered)
            let patches = await master.requests("PATCH", prefix: "/api/v1/nodes/n1")
            #expect(patches.contains { $0.path == "/api/v1/nodes/n1/status" })
            let after = try #require(await master.nodes["n1"])
            // The stale node-API annotation is gone.
            #expect(after["metadata"]?["annotations"]?.objectValue?.keys.contains("shoal.io/node-api") != true)
            #expect(after["status"]?["nodeInfo"]?["kubeletVersion"] == "v1.32.0-shoal")
        }
    }

    @Test func theLeaseIsCreatedThenRenewedThroughConflicts() async throws {
        try await Self.withMaster { master, c, dir in
            let s = Self.session(c, dir)
            try await s.renewLease()
            let created = try #require(await master.leases["n1"])
            #expect(created["spec"]?["holderIdentity"] == "n1")
            #expect(created["spec"]?["leaseDurationSeconds"] == 40)
            #expect(await master.requests("POST", prefix: "/apis/coordination.k8s.io").count == 1)

            try await s.renewLease()
            #expect(await master.requests("PUT", prefix: "/apis/coordination.k8s.io").count == 1)

            // Someone else wrote it: re-read and renew.
            await master.setLeaseConflicts(1)
            try await s.renewLease()
            #expect(await master.requests("PUT", prefix: "/apis/coordination.k8s.io").count == 3)
            #expect(await master.requests("GET", prefix: "/apis/coordination.k8s.io").count == 2)  // the first lookup, the re-read
            let renewed = try #require(await master.leases["n1"])
            #expect(renewed["spec"]?["renewTime"]?.stringValue?.contains(".") == true)  // MicroTime
        }
    }

    @Test func listsThenWatchesTheBoundPodsAndRelistsOnGone() async throws {
        try await Self.withMaster { master, c, dir in
            await master.put(pod: try JSONValue.encoding(Self.boundPod("web", uid: "U1")))
            var other = Self.boundPod("elsewhere", uid: "U2")
            other.spec.nodeName = "n2"
            await master.put(pod: try JSONValue.encoding(other))
            await master.setGoneWatches(1)
            let s = Self.session(c, dir)
            await s.start()
            // One list, a 410, a second list, then a watch that stays open.
            #expect(await eventually { await master.requests("GET", prefix: "/api/v1/pods").filter { $0.query["watch"] == nil }.count >= 2 })
            #expect(await s.pods.keys.sorted() == ["U1"])
            #expect(await eventually { await master.watchers.count == 1 })
            let watch = try #require(await master.requests("GET", prefix: "/api/v1/pods").last { $0.query["watch"] != nil })
            #expect(watch.query["fieldSelector"] == ["spec.nodeName=n1"])
            #expect(watch.query["resourceVersion"]?.isEmpty == false)

            // A watch event arrives: a mirror pod (the session keeps it, the agent never runs it).
            let mirror = Self.boundPod("static-n1", uid: "M1", mirrorOf: "S1")
            _ = await master.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/default/pods",
                                               body: try JSONValue.encoding(mirror).serialized))
            #expect(await eventually { await s.pods.count == 2 })
            // The node registers and the lease exists too.
            #expect(await eventually { await master.nodes.keys.contains("n1") })
            #expect(await eventually { await master.leases.keys.contains("n1") })
            await s.stop()
        }
    }

    static func boundPod(_ name: String, uid: String, mirrorOf: String? = nil) -> Pod {
        var p = RemoteTests.pod(name, uid: uid, mirrorOf: mirrorOf)
        p.spec.nodeName = "n1"
        return p
    }

    /// The busybox test image (built once by scripts/make-test-image).
    static let testImage: String? = {
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
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static func sleeper(_ name: String, uid: String?) -> Pod {
        Pod(metadata: ObjectMeta(name: name, namespace: "default", uid: uid),
            spec: PodSpec(containers: [Container(name: "main", image: "busybox", command: ["sleep", "3600"])],
                          restartPolicy: .always, terminationGracePeriodSeconds: 1, nodeName: "n1"))
    }

    /// A real agent against the fake master: an API pod runs and its status is reported; a pod
    /// deleted in the API is stopped and then deleted for good; a static pod gets a mirror pod;
    /// a mirror pod without a static pod goes.
    @Test(.enabled(if: getuid() == 0 && testImage != nil)) func anAgentRunsReportsAndDeletesBoundPods() async throws {
        try await Self.withMaster { master, c, dir in
            let dataDir = dir + "/data", manifests = dir + "/manifests"
            try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
            let store = try ImageStore(dataDir: dataDir)
            _ = try store.import(archive: Self.testImage!)
            var logger = Logger(label: "shoal.test.remote")
            logger.logLevel = ProcessInfo.processInfo.environment["SHOAL_TEST_LOG"] == nil ? .critical : .debug
            let config = AgentConfig(dataDir: dataDir, nodeName: "n1", maxBackoff: 0, cgroupParent: "shoal-rt-\(getpid())-\(UInt16.random(in: 0...UInt16.max))",
                                     hostIP: "127.0.0.1", cleanupOnExit: true)
            let agent = try Agent(config: config, images: StoreImageResolver(store: store), logger: logger)

            await master.put(pod: try JSONValue.encoding(Self.sleeper("web", uid: "uid-web")))
            var gone = Self.sleeper("gone", uid: "uid-gone")
            gone.metadata.deletionTimestamp = Time.now()
            gone.metadata.deletionGracePeriodSeconds = 30
            await master.put(pod: try JSONValue.encoding(gone))
            var orphan = Self.sleeper("orphan", uid: "uid-orphan")
            orphan.metadata.annotations = [PodSourceAnnotation.mirror: "static-that-went", PodSourceAnnotation.source: "file"]
            await master.put(pod: try JSONValue.encoding(orphan))
            try """
                apiVersion: v1
                kind: Pod
                metadata: {name: st}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
                """.write(toFile: manifests + "/st.yaml", atomically: true, encoding: .utf8)

            try await agent.connect(to: c, options: NodeReportOptions(requestTimeout: 5))
            try await agent.start(manifestsDir: manifests)
            do {
                try #require(true)
                // The API pod runs here and the API hears of it.
                #expect(await eventually(30) { await master.pod("default/web")?["status"]?["phase"] == "Running" })
                let web = await master.pod("default/web")
                #expect(web?["status"]?["containerStatuses"]?.arrayValue?.first?["ready"] == true)
                #expect(web?["status"]?["hostIP"] == "127.0.0.1")
                // A deleted pod that never ran here is deleted for good, with its UID as precondition.
                #expect(await eventually { await !master.has("default/gone") })
                let deletes = await master.requests("DELETE", prefix: "/api/v1/namespaces/default/pods/gone")
                #expect(deletes.first?.body?["preconditions"]?["uid"] == "uid-gone")
                #expect(deletes.first?.body?["gracePeriodSeconds"] == 0)
                // The orphaned mirror pod goes; the static pod gets its mirror, with its status.
                #expect(await eventually { await !master.has("default/orphan") })
                #expect(await eventually(30) { await master.pod("default/st")?["status"]?["phase"] == "Running" })
                let mirror = await master.pod("default/st")
                #expect(mirror?["metadata"]?["annotations"]?[PodSourceAnnotation.mirror]?.stringValue?.isEmpty == false)
                #expect(mirror?["spec"]?["nodeName"] == "n1")
                #expect(mirror?["metadata"]?["ownerReferences"]?.arrayValue?.first?["kind"] == "Node")
                // The node and its lease.
                #expect(await master.nodes["n1"]?["status"]?["conditions"]?.arrayValue?.count == 4)
                #expect(await eventually { await master.leases.keys.contains("n1") })

                // kubectl delete: the agent stops the pod, then deletes it for good.
                await master.markDeleted("default/web", grace: 1)
                #expect(await eventually(20) { await !master.has("default/web") })
                let finals = await master.requests("DELETE", prefix: "/api/v1/namespaces/default/pods/web")
                #expect(finals.first?.body?["preconditions"]?["uid"] == "uid-web")
                #expect(await agent.allWorkers().count == 1)  // the static pod only
                if ProcessInfo.processInfo.environment["SHOAL_TEST_LOG"] != nil {
                    for r in await master.requests { print("REQ", r.method, r.path, r.query) }
                }
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }

    @Test func aMasterThatIsDownIsRetriedQuietlyAndStopIsPrompt() async throws {
        let s = MasterSession(agent: nil, connection: MasterConnection(client: try HTTPClient(endpoint: .unix(path: "/nonexistent/api.sock")),
                                                                       nodeName: "n1"),
                              options: NodeReportOptions(requestTimeout: 2), hostIP: "", dataDir: "/", logger: Logger(label: "test"))
        await s.start()
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(await !s.registered)
        let began = Date()
        await s.stop()
        #expect(Date().timeIntervalSince(began) < 3)
    }
}
