import ShoalHTTP
import Foundation
import ShoalAPI
import ShoalOS
import Testing
@testable import ShoalAgent
@testable import ShoalCLI

/// Ephemeral containers added to running pods (`shoal attach-sidecar`, `kubectl debug`): the
/// pod's namespaces and volumes, `--target`'s PID namespace, never restarted, status, logs,
/// exec, attach, the CLI, refused requests, and removal with the pod.
@Suite(.enabled(if: isRoot, "needs root"))
struct EphemeralTests {
    static let volume = "  - {name: data, emptyDir: {}}"
    static let mount = "    volumeMounts: [{name: data, mountPath: /data}]"

    @Test func aSidecarUsesThePodsNamespacesAndVolumes() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("web", containers: [("app", "echo hello > /data/x; exec httpd -f -p 8080 -h /data")],
                                            volumes: EphemeralTests.volume, containerExtra: EphemeralTests.mount))
            let before = try await a.waitRunning("web")
            let appID = a.status(before, "app")?.containerID

            let rw = try await a.addEphemeral("web", ephemeral("dbg", "cat /data/x; echo from-dbg > /data/y; exec sleep 3600",
                                                               mounts: [("data", "/data", false)]))
            #expect(rw.code == 200, "\(rw.body)")
            let ro = try await a.addEphemeral("web", ephemeral("ro", "cat /data/x; echo no > /data/z || echo refused; exec sleep 3600",
                                                               mounts: [("data", "/data", true)]))
            #expect(ro.code == 200, "\(ro.body)")
            let p = try await a.wait("web", "both ephemeral containers running") { p in
                ["dbg", "ro"].allSatisfy { ephemeralStatus(p, $0)?.state?.running != nil }
            }
            // They show in ephemeralContainerStatuses only, and leave the app container alone.
            let dbg = try #require(ephemeralStatus(p, "dbg"))
            #expect(dbg.restartCount == 0 && dbg.ready == false && dbg.image == "busybox" && dbg.containerID != nil)
            #expect(p.status?.containerStatuses?.map(\.name) == ["app"])
            #expect(p.spec.ephemeralContainers?.map(\.container.name) == ["dbg", "ro"])
            #expect(a.status(p, "app")?.containerID == appID && a.status(p, "app")?.restartCount == 0)
            #expect(p.status?.phase == .running && p.status?.conditions?.first { $0.type == .ready }?.status == .true)

            // The volume: read what the app wrote, write where mounted read-write, not where read-only.
            try await waitFor("dbg's log", { try await a.logs("web", "dbg") }) { $0 == "hello\n" }
            // (stdout and stderr are separate pipes: their lines may interleave either way.)
            try await waitFor("ro's log", { try await a.logs("web", "ro") }) { $0.contains("refused\n") && $0.contains("Read-only file system") }
            #expect(try await a.logs("web", "ro").hasPrefix("hello\n"))
            #expect(try await a.sh("web", "app", "cat /data/y") == "from-dbg\n")
            #expect(try await a.sh("web", "app", "test -e /data/z && echo yes || echo no") == "no\n")

            // exec works in it like in any container; the network, IPC and UTS namespaces are the pod's.
            #expect(try await a.sh("web", "dbg", "wget -q -O- http://127.0.0.1:8080/x") == "hello\n")
            #expect(try await a.sh("web", "dbg", "hostname") == "web\n")
            for kind in ["net", "ipc", "uts"] {
                #expect(try await a.sh("web", "dbg", "readlink /proc/self/ns/\(kind)") == a.sh("web", "app", "readlink /proc/self/ns/\(kind)"))
            }
            #expect(try await a.sh("web", "dbg", "readlink /proc/self/ns/mnt") != a.sh("web", "app", "readlink /proc/self/ns/mnt"))
            let (code, _, _) = try await a.exec("web", "dbg", ["sh", "-c", "exit 3"])
            #expect(code == 3)
            let events = try await a.events("web")
            #expect(events.contains { $0.reason == "Started" && $0.involvedObject.fieldPath == "spec.ephemeralContainers{dbg}" })
        }
    }

    @Test func targetJoinsThatContainersProcessNamespace() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("app", containers: [("main", "exec sleep 3601")]))
            try await a.waitRunning("app")
            #expect(try await a.addEphemeral("app", ephemeral("peek", "exec sleep 3602", target: "main")).code == 200)
            #expect(try await a.addEphemeral("app", ephemeral("alone", "exec sleep 3603")).code == 200)
            try await a.wait("app", "ephemeral containers running") { p in
                ["peek", "alone"].allSatisfy { ephemeralStatus(p, $0)?.state?.running != nil }
            }
            let seen = try await a.sh("app", "peek", "ps -o args")
            #expect(seen.contains("sleep 3601") && seen.contains("sleep 3602"), "\(seen)")
            let own = try await a.sh("app", "alone", "ps -o args")
            #expect(!own.contains("sleep 3601") && own.contains("sleep 3603"), "\(own)")
            // The target is PID 1 of the namespace the ephemeral container joined.
            #expect(try await a.sh("app", "peek", "cat /proc/1/cmdline | tr '\\0' ' '") == "sleep 3601 ")
        }
    }

    @Test func itIsNeverRestartedAndNeverRestartsThePod() async throws {
        try await withAgent(maxBackoff: 0) { a in
            let app = "while [ ! -e /tmp/stop ]; do sleep 0.05; done; exit 1"
            try a.apply("pod.yaml", podYAML("steady", containers: [("app", app), ("other", "exec sleep 3600")]))
            let before = try await a.waitRunning("steady")
            #expect(try await a.addEphemeral("steady", ephemeral("oops", "echo failing; exit 1")).code == 200)
            let ended = try await a.wait("steady", "the ephemeral container ended") { ephemeralStatus($0, "oops")?.state?.terminated != nil }
            let t = try #require(ephemeralStatus(ended, "oops")?.state?.terminated)
            #expect(t.exitCode == 1 && t.reason == "Error")
            // Time for a restart (the back-off is 0 here) that must not come.
            try await Task.sleep(nanoseconds: 1_500_000_000)
            let p = try #require(try await a.pod("steady"))
            let oops = try #require(ephemeralStatus(p, "oops"))
            #expect(oops.restartCount == 0 && oops.state?.terminated?.exitCode == 1 && oops.containerID == ephemeralStatus(ended, "oops")?.containerID)
            for c in ["app", "other"] {
                #expect(a.status(p, c)?.restartCount == 0 && a.status(p, c)?.containerID == a.status(before, c)?.containerID)
                #expect(a.status(p, c)?.state?.running != nil)
            }
            #expect(p.status?.phase == .running)
            #expect(!(try await a.events("steady")).contains { $0.reason == "PodRestarted" })
            #expect(try await a.logs("steady", "oops") == "failing\n")
            // exec into an ended container is refused like for any container.
            let refused = try? await a.exec("steady", "oops", ["true"])
            #expect(refused == nil)

            // And when the app fails and the pod restarts together, a running ephemeral container is left alone.
            #expect(try await a.addEphemeral("steady", ephemeral("watch", "exec sleep 3600")).code == 200)
            let watching = try await a.wait("steady", "watch running") { ephemeralStatus($0, "watch")?.state?.running != nil }
            _ = try await a.sh("steady", "app", "touch /tmp/stop")
            let restarted = try await a.wait("steady", "restart-together done") { p in
                ["app", "other"].allSatisfy { a.status(p, $0)?.restartCount == 1 && a.status(p, $0)?.state?.running != nil }
            }
            #expect(ephemeralStatus(restarted, "watch")?.containerID == ephemeralStatus(watching, "watch")?.containerID)
            #expect(ephemeralStatus(restarted, "watch")?.state?.running != nil && ephemeralStatus(restarted, "watch")?.restartCount == 0)
            #expect(ephemeralStatus(restarted, "oops")?.restartCount == 0 && ephemeralStatus(restarted, "oops")?.state?.terminated?.exitCode == 1)
        }
    }

    @Test func kubectlShapedRequestsAndAttach() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("kd", containers: [("app", "exec sleep 3600")]))
            try await a.waitRunning("kd")
            // kubectl debug's strategic-merge patch of the subresource: a Pod with spec.ephemeralContainers.
            let patch = #"{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox","command":["sh","-c","read line; echo got $line; exit 4"],"stdin":true}]}}"#
            let first = try await a.addEphemeral("kd", patch, method: "PATCH")
            #expect(first.code == 200, "\(first.body)")
            let pod = try JSONDecoder().decode(Pod.self, from: Data(first.body.utf8))
            #expect(pod.kind == "Pod" && pod.spec.ephemeralContainers?.first?.container.name == "debugger")
            #expect(pod.spec.ephemeralContainers?.first?.container.terminationMessagePath == "/dev/termination-log")
            // The same again changes nothing; a changed one is refused.
            #expect(try await a.addEphemeral("kd", patch, method: "PATCH").code == 200)
            let changed = try await a.addEphemeral("kd", patch.replacingOccurrences(of: "exit 4", with: "exit 5"), method: "PATCH")
            #expect(changed.code == 422 && changed.body.contains(#"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be changed"#), "\(changed.body)")
            #expect(try await a.pod("kd")?.spec.ephemeralContainers?.count == 1)

            // attach: stdin reaches the container's stdin, its output and exit code come back.
            let client = a.client
            let (code, out) = try await offPool { () -> (Int32, String) in
                let (socket, leftover) = try client.upgrade("/pods/default/kd/attach?container=debugger&stdin=true")
                try socket.write(StreamProtocol.frame(StreamProtocol.stdin, Array("hello\n".utf8)))
                return try readStream(socket, leftover)
            }
            #expect(code == 4 && out == "got hello\n", "\(code) \(out)")
            let ended = try await a.wait("kd", "debugger terminated") { ephemeralStatus($0, "debugger")?.state?.terminated != nil }
            #expect(ephemeralStatus(ended, "debugger")?.state?.terminated?.exitCode == 4)
            // The subresource reads back as the pod; a terminal is refused where there is none.
            let got = try await offPool { try client.call("GET", "/pods/default/kd/ephemeralcontainers") }
            #expect(got.status == 200 && String(decoding: got.body, as: UTF8.self).contains("\"debugger\""))
            let noTTY = try await offPool { () -> String in
                do {
                    _ = try client.upgrade("/pods/default/kd/attach?container=app&tty=true")
                    return "attached"
                } catch {
                    return "\(error)"
                }
            }
            #expect(noTTY.contains("has no terminal to attach to"), "\(noTTY)")
        }
    }

    @Test func refusedRequestsLeaveThePodAndTheHostAsTheyWere() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("web", containers: [("app", "exec sleep 3600")], volumes: EphemeralTests.volume,
                                            containerExtra: EphemeralTests.mount))
            let before = try await a.waitRunning("web")
            let uid = before.metadata.uid ?? ""
            func refused(_ body: String, _ message: String, code: Int = 422) async throws {
                let r = try await a.addEphemeral("web", body)
                #expect(r.code == code && r.body.contains(message), "\(r.code) \(r.body)")
            }
            try await refused(ephemeral("app", "true"), #"Pod \"web\" is invalid: spec.ephemeralContainers[0].name: Duplicate value: \"app\""#)
            try await refused(#"{"name":"p","image":"busybox","ports":[{"containerPort":80}]}"#,
                              "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container")
            try await refused(#"{"name":"r","image":"busybox","resources":{"limits":{"memory":"10Mi"}}}"#,
                              "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container")
            try await refused(#"{"name":"q","image":"busybox","readinessProbe":{"exec":{"command":["true"]}}}"#,
                              "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container")
            try await refused(#"{"name":"l","image":"busybox","lifecycle":{"preStop":{"exec":{"command":["true"]}}}}"#,
                              "spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container")
            try await refused(ephemeral("m", "true", mounts: [("nope", "/x", false)]),
                              #"spec.ephemeralContainers[0].volumeMounts[0].name: Not found: \"nope\""#)
            try await refused(ephemeral("t", "true", target: "ghost"), #"spec.ephemeralContainers[0].targetContainerName: Not found: \"ghost\""#)
            try await refused(#"{"name":"i","image":"nginx:1.27"}"#, #"spec.ephemeralContainers[0].image: Not found: \"nginx:1.27\""#)
            try await refused(#"{"name":"u","image":"busybox","bogus":1}"#, #"unknown field \"spec.ephemeralContainers[0].bogus\""#, code: 400)
            try await refused(#"{"name": "#, "not JSON or YAML", code: 400)
            let missing = try await a.addEphemeral("nosuchpod", ephemeral("x", "true"))
            #expect(missing.code == 404 && missing.body.contains(#"pods \"nosuchpod\" not found"#))

            // Nothing of them anywhere: spec, status, instance directories, logs, cgroups.
            let after = try #require(try await a.pod("web"))
            #expect(after.spec.ephemeralContainers == nil && after.status?.ephemeralContainerStatuses == nil)
            #expect(a.status(after, "app")?.containerID == a.status(before, "app")?.containerID && after.status?.phase == .running)
            #expect(try FileSystem.listDirectory("\(a.dataDir)/pods/\(uid)/containers") == ["app.1"])
            let logDir = "\(a.dataDir)/logs/default_web_\(uid)"
            #expect(try FileSystem.listDirectory(logDir) == ["app"])
            #expect(cgroupChildren(a, uid).sorted() == ["ctr-app", "sandbox"])

            // A pod that is not running takes none.
            try a.apply("done.yaml", podYAML("done", containers: [("c", "true")], extra: "  restartPolicy: Never"))
            try await a.wait("done", "Succeeded") { $0.status?.phase == .succeeded }
            let late = try await a.addEphemeral("done", ephemeral("x", "true"))
            #expect(late.code == 400 && late.body.contains(#"pod \"done\" is not running (phase Succeeded)"#), "\(late.body)")
        }
    }

    @Test func removingThePodRemovesItsEphemeralContainers() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("gone", containers: [("app", "exec sleep 3600")], volumes: EphemeralTests.volume,
                                            containerExtra: EphemeralTests.mount))
            try await a.waitRunning("gone")
            #expect(try await a.addEphemeral("gone", ephemeral("d1", "exec sleep 3600", mounts: [("data", "/data", false)])).code == 200)
            #expect(try await a.addEphemeral("gone", #"{"name":"d2","image":"busybox","command":["sh"],"stdin":true,"tty":true}"#).code == 200)
            try await a.wait("gone", "running") { p in ["d1", "d2"].allSatisfy { ephemeralStatus(p, $0)?.state?.running != nil } }
            a.remove("pod.yaml")
            try await a.waitGone("gone")
            // Nothing but the agent's own (still running) cgroup parent.
            let left = TestAgent.leftovers(dataDir: a.dataDir, cgroupParent: a.cgroupParent).filter { !$0.hasSuffix("/" + a.cgroupParent) }
            #expect(left.isEmpty, "\(left)")
            #expect(((try? FileSystem.listDirectory(a.dataDir + "/pods")) ?? []).isEmpty)
        }
    }
}

extension CLITests {
    @Test func attachSidecarEndToEnd() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        _ = try await cli.shoal("image", "import", testImage)
        try FileSystem.writeAtomically(cli.manifests + "/web.yaml", podYAML(
            "web", containers: [("app", "echo hello > /data/x; exec sleep 3600")], volumes: EphemeralTests.volume,
            containerExtra: EphemeralTests.mount))
        try await cli.startAgent()
        _ = try await cli.waitPod("web") { $0.status?.phase == .running }

        // Without -it: prints nothing, returns once started; the output is in its log.
        let quiet = try await cli.shoal("attach-sidecar", "web", "--name", "reader", "--image", "busybox", "--mount", "data:/data:ro",
                                        "--env", "GREETING=hi there", "--", "sh", "-c", "cat /data/x; echo $GREETING")
        #expect(quiet.code == 0 && quiet.out.isEmpty && quiet.err.isEmpty, "\(quiet)")
        try await waitFor("reader's log", { try await cli.shoal("logs", "web", "-c", "reader") }) { $0.out == "hello\nhi there\n" }
        let described = try await cli.shoal("describe", "web").out
        #expect(described.contains("Ephemeral Containers:\n  reader:\n"), "\(described)")

        // -it through a real terminal: the container's own /dev/pts, the size of ours, its exit code.
        let tty = try await cli.run("/usr/bin/script", ["-qec", "stty cols 93 rows 21; \(cli.binary) attach-sidecar --data-dir \(cli.dataDir) web --name term --image busybox --target app -it -- sh -c 'tty; stty size; exit 5'", "/dev/null"])
        #expect(tty.code == 5, "\(tty)")
        #expect(tty.out.contains("/dev/pts/0") && tty.out.contains("21 93"), "\(tty.out)")
        // (What `script` sends when its own stdin ends may be echoed in between.)
        try await waitFor("term's log", { try await cli.shoal("logs", "web", "-c", "term") }) {
            $0.out.hasPrefix("/dev/pts/0\n") && $0.out.contains("21 93\n")
        }
        let term = try await cli.waitPod("web") { ephemeralStatus($0, "term")?.state?.terminated != nil }
        #expect(ephemeralStatus(term, "term")?.state?.terminated?.exitCode == 5)

        // -i without a terminal: stdin in, output and exit code out.
        let piped = try await cli.shoal("attach-sidecar", "web", "--name", "cat", "--image", "busybox", "-i", "--", "sh", "-c", "cat; exit 2",
                                        stdin: "through stdin\n")
        #expect(piped.code == 2 && piped.out == "through stdin\n", "\(piped)")

        // exec into a running one; refused requests.
        #expect(try await cli.shoal("attach-sidecar", "web", "--name", "shell", "--image", "busybox", "--", "sleep", "3600").code == 0)
        #expect(try await cli.shoal("exec", "web", "-c", "shell", "--", "cat", "/etc/hostname").out == "web\n")
        let duplicate = try await cli.shoal("attach-sidecar", "web", "--name", "reader", "--image", "busybox", "--", "true")
        #expect(duplicate.code == 1 && duplicate.err.contains(#"spec.ephemeralContainers[4].name: Duplicate value: "reader""#), "\(duplicate)")
        let badMount = try await cli.shoal("attach-sidecar", "web", "--name", "x", "--image", "busybox", "--mount", "nope:/x", "--", "true")
        #expect(badMount.code == 1 && badMount.err.contains(#"volumeMounts[0].name: Not found: "nope""#), "\(badMount)")
        let badTarget = try await cli.shoal("attach-sidecar", "web", "--name", "x", "--image", "busybox", "--target", "ghost", "--", "true")
        #expect(badTarget.code == 1 && badTarget.err.contains(#"targetContainerName: Not found: "ghost""#), "\(badTarget)")
        let badImage = try await cli.shoal("attach-sidecar", "web", "--name", "x", "--image", "nothere", "--", "true")
        #expect(badImage.code == 1 && badImage.err.contains(#"image: Not found: "nothere""#), "\(badImage)")
        let noPod = try await cli.shoal("attach-sidecar", "nope", "--name", "x", "--image", "busybox", "--", "true")
        #expect(noPod.code == 1 && noPod.err.contains(#"pods "nope" not found"#), "\(noPod)")

        // One with a terminal, running unattached: the sandbox holds its terminal for it.
        #expect(try await cli.shoal("attach-sidecar", "web", "--name", "console", "--image", "busybox", "-t", "--",
                                    "sh", "-c", "while true; do echo tick; sleep 0.1; done").code == 0)
        try await waitFor("console's log", { try await cli.shoal("logs", "web", "-c", "console") }) { $0.out.contains("tick") }

        // The agent dies and comes back: the ephemeral containers are part of the pod it re-adopts.
        let before = try #require(try await cli.pod("web"))
        try await cli.killAgent()
        try await Task.sleep(nanoseconds: 300_000_000)
        try await cli.startAgent()
        let after = try await cli.waitPod("web") { ephemeralStatus($0, "shell")?.state?.running != nil }
        #expect(after.spec.ephemeralContainers?.map(\.container.name) == ["reader", "term", "cat", "shell", "console"])
        // The terminal container lived through the outage (no SIGHUP) and its log goes on.
        #expect(ephemeralStatus(after, "console")?.containerID == ephemeralStatus(before, "console")?.containerID)
        #expect(ephemeralStatus(after, "console")?.state?.running != nil)
        let ticks = try await cli.shoal("logs", "web", "-c", "console").out.components(separatedBy: "tick").count
        try await waitFor("console's log to grow", { try await cli.shoal("logs", "web", "-c", "console") }) {
            $0.out.components(separatedBy: "tick").count > ticks + 2
        }
        #expect(ephemeralStatus(after, "shell")?.containerID == ephemeralStatus(before, "shell")?.containerID)
        #expect(ephemeralStatus(after, "reader")?.state?.terminated?.exitCode == 0)
        #expect(try await cli.shoal("exec", "web", "-c", "shell", "--", "echo", "still here").out == "still here\n")
        #expect(try await cli.shoal("logs", "web", "-c", "reader").out == "hello\nhi there\n")

        #expect(try await cli.stopAgent() == 0)
        #expect(TestAgent.leftovers(dataDir: cli.dataDir, cgroupParent: cli.cgroupParent).isEmpty)
    }
}

// MARK: helpers

extension TestAgent {
    /// POST (or PATCH/PUT) to the pod's ephemeralcontainers subresource: (HTTP status, body).
    func addEphemeral(_ pod: String, _ body: String, method: String = "POST") async throws -> (code: Int, body: String) {
        let client = client
        let r = try await offPool { try client.call(method, "/pods/default/\(pod)/ephemeralcontainers", body: Array(body.utf8)) }
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }
}

/// An EphemeralContainer as JSON, busybox running `script`.
func ephemeral(_ name: String, _ script: String, mounts: [(String, String, Bool)] = [], target: String? = nil) -> String {
    var c = Container(name: name, image: "busybox", command: ["sh", "-c", script])
    if !mounts.isEmpty { c.volumeMounts = mounts.map { VolumeMount(name: $0.0, mountPath: $0.1, readOnly: $0.2 ? true : nil) } }
    let data = (try? JSONEncoder().encode(EphemeralContainer(container: c, targetContainerName: target))) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// Like `waitUntil`, but the failure names what was awaited and the last value (or error) seen.
func waitFor<T>(_ what: String, timeout: Double = 15, _ probe: () async throws -> T, until condition: (T) -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    var last = "nothing yet"
    while Date() < deadline {
        do {
            let value = try await probe()
            if condition(value) { return }
            last = "\(value)"
        } catch {
            last = "error: \(error)"
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw TestFailure("\(what): not as expected within \(timeout)s; last: \(last)")
}

func ephemeralStatus(_ p: Pod, _ name: String) -> ContainerStatus? {
    p.status?.ephemeralContainerStatuses?.first { $0.name == name }
}

/// The stream of an exec/attach session to its end: (exit code, stdout and stderr).
func readStream(_ socket: FileDescriptor, _ leftover: [UInt8]) throws -> (Int32, String) {
    var decoder = StreamProtocol.Decoder()
    var frames = decoder.feed(leftover)
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        for (channel, payload) in frames {
            switch channel {
            case StreamProtocol.stdout, StreamProtocol.stderr: out += payload
            case StreamProtocol.status:
                let s = try JSONDecoder().decode(Status.self, from: Data(payload))
                return (s.status == "Success" ? 0 : Int32(s.details?.causes?.first?.message ?? "") ?? -1, String(decoding: out, as: UTF8.self))
            default: break
            }
        }
        let n = buf.withUnsafeMutableBytes { read(socket.raw, $0.baseAddress, $0.count) }
        if n <= 0 { throw TestFailure("stream closed without a status") }
        frames = decoder.feed(Array(buf[0..<n]))
    }
}

/// The pod cgroup's children (container cgroups and the sandbox's), in the memory hierarchy.
func cgroupChildren(_ a: TestAgent, _ uid: String) -> [String] {
    let own = ProcCgroup.parse((try? FileSystem.readString("/proc/self/cgroup")) ?? "")
    for entry in own where entry.controllers.contains("memory") {
        let dir = "/sys/fs/cgroup/memory\(entry.path == "/" ? "" : entry.path)/\(a.cgroupParent)/pod-\(uid)"
        if let children = try? FileSystem.listDirectory(dir) { return children.filter { FileSystem.isDirectory(dir + "/" + $0) } }
    }
    return ["no memory cgroup found"]
}
