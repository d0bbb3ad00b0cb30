import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// `shoal up` as a user runs it, driven by the real kubectl: the node registers, a pod made
/// with kubectl runs on it, its status and logs come back through the master, and a delete
/// stops it on the node before the API object goes.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct UpTests {
    @Test func kubectlRunsAPodThroughMasterAndAgent() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()

        let nodes = try await cli.kubectl("get", "nodes", "-o", "wide").out
        #expect(nodes.contains("node-1   Ready    <none>   "), "\(nodes)")
        let capacity = try await cli.kubectl("get", "node", "node-1", "-o", "jsonpath={.status.capacity.pods} {.status.nodeInfo.operatingSystem}").out
        #expect(capacity == "110 linux", "\(capacity)")
        #expect(try await cli.kubectl("get", "lease", "-n", "kube-node-lease", "node-1", "-o", "jsonpath={.spec.holderIdentity}").out == "node-1")

        let run = try await cli.kubectl("run", "hello", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hello from shoal; sleep 3600")
        #expect(run.out == "pod/hello created\n", "\(run)")
        try await waitUntil(timeout: 30) {
            try await cli.kubectl("get", "pods").out.contains("hello   1/1     Running   0          ")
        }
        let wide = try await cli.kubectl("get", "pod", "hello", "-o", "wide").out
        #expect(wide.contains("node-1"), "\(wide)")
        try await waitUntil { try await cli.kubectl("logs", "hello").out == "hello from shoal\n" }
        #expect(try await cli.kubectl("get", "pod", "hello", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}").out == "True")
        let waited = try await cli.kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=20s")
        #expect(waited.out == "pod/hello condition met\n", "\(waited)")

        // The rest of a user's first session: every namespace, YAML, a watch that sees an
        // annotation land, describe with events, the event list.
        let all = try await cli.kubectl("get", "pods", "-A").out
        #expect(all.hasPrefix("NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE\ndefault     hello   1/1     Running   0          "), "\(all)")
        let yaml = try await cli.kubectl("get", "pod", "hello", "-o", "yaml").out
        #expect(yaml.hasPrefix("apiVersion: v1\nkind: Pod\n") && yaml.contains("  name: hello\n") && yaml.contains("  phase: Running\n"), "\(yaml)")
        let watcher = try BackgroundKubectl(kubeconfig: cli.dataDir + "/kubeconfig", ["get", "pods", "-w", "--output-watch-events"])
        defer { watcher.stop() }
        func watched(_ event: String) -> Bool {
            watcher.output().split(separator: "\n").contains { $0.hasPrefix(event) && $0.contains(" hello ") }
        }
        try await waitUntil(timeout: 10) { watched("ADDED") }
        #expect(try await cli.kubectl("annotate", "pod", "hello", "note=hi").out == "pod/hello annotated\n")
        try await waitUntil(timeout: 10) { watched("MODIFIED") }
        watcher.stop()
        #expect(try await cli.kubectl("get", "pod", "hello", "-o", "jsonpath={.metadata.annotations.note}").out == "hi")
        let node = try await cli.kubectl("describe", "node", "node-1").out
        #expect(node.contains("Ready            True") && node.contains("KubeletReady") && node.contains("default                     hello"), "\(node)")
        let described = try await cli.kubectl("describe", "pod", "hello").out
        let statusLine = described.split(separator: "\n").first { $0.hasPrefix("Status:") }
        #expect(statusLine?.hasSuffix(" Running") == true && described.contains("Started container hello"), "\(described)")
        let events = try await cli.kubectl("get", "events", "--field-selector", "involvedObject.name=hello").out
        #expect(events.contains("Normal   Scheduled   pod/hello   Successfully assigned default/hello to node-1"), "\(events)")

        // Graceful deletion: the agent stops the pod (sleep ignores SIGTERM as pid 1: the grace
        // period ends it), then removes the API object; the sandbox is gone from the host.
        let deleted = try await cli.kubectl("delete", "pod", "hello", "--grace-period=1")
        #expect(deleted.out == "pod \"hello\" deleted\n", "\(deleted)")
        #expect(try await cli.kubectl("get", "pods", "-o", "name").out == "")
        #expect(processesInState("", cgroup: cli.cgroupParent).isEmpty)

        // A static pod from the manifests directory appears as a mirror pod.
        try FileSystem.writeAtomically(cli.manifests + "/static.yaml", podYAML("static", containers: [("c", "sleep 3600")]))
        try await waitUntil(timeout: 30) {
            try await cli.kubectl("get", "pods").out.split(separator: "\n").contains { $0.hasPrefix("static") && $0.contains("1/1     Running") }
        }
        #expect(try await cli.stopAgent() == 0)
    }

    /// exec, attach and debug as kubectl streams them through the master to the agent:
    /// WebSocket (v5.channel.k8s.io) for kubectl 1.30 and later, SPDY/3.1 for older ones.
    @Test func kubectlExecAttachAndDebugStreamThroughTheMaster() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        _ = try await cli.kubectl("run", "web", "--image=busybox", "--", "sh", "-c", "sleep 3600")
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=30s").code == 0)

        // Output on both streams and the exit code; stdin to its end; a terminal.
        let failing = try await cli.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
        #expect(failing.code == 3 && failing.out == "out\n", "\(failing)")
        #expect(failing.err.contains("err\n") && failing.err.contains("command terminated with exit code 3"), "\(failing)")
        let piped = try await cli.kubectl("exec", "-i", "web", "--", "sh", "-c", "cat; echo done", stdin: "hi\nthere\n")
        #expect(piped.code == 0 && piped.out == "hi\nthere\ndone\n", "\(piped)")
        let kubeconfig = cli.dataDir + "/kubeconfig"
        let tty = try await runProcess("/usr/bin/script", ["-qec", "kubectl --kubeconfig \(kubeconfig) exec -it web -- tty", "/dev/null"])
        #expect(tty.code == 0 && tty.out.contains("/dev/pts/"), "\(tty)")
        let missing = try await cli.kubectl("exec", "web", "-c", "nope", "--", "true")
        #expect(missing.code != 0 && missing.err.contains("nope"), "\(missing)")

        // Every installed kubectl release.
        for version in ["1.27", "1.28", "1.29", "1.30", "1.31", "1.33"] {
            let r = try await cli.kubectl(version: version, "exec", "web", "--", "echo", "from", version)
            #expect(r.code == 0 && r.out == "from \(version)\n", "kubectl \(version): \(r)")
        }

        // attach: kubectl run -i starts a pod with stdin open and attaches to it.
        let attached = try await cli.kubectl("run", "reader", "--image=busybox", "-i", "--restart=Never", "--", "sh", "-c", "read x; echo got $x",
                                             stdin: "ping\n")
        #expect(attached.code == 0 && attached.out.contains("got ping"), "\(attached)")

        // debug: an ephemeral container added through the API starts in the running pod, and
        // kubectl attaches to it.
        let debugged = try await cli.kubectl("debug", "web", "--image=busybox", "-c", "dbg", "-i", "--", "sh", "-c", "read x; echo debug $x",
                                             stdin: "line\n")
        #expect(debugged.code == 0 && debugged.out.contains("debug line"), "\(debugged)")
        #expect(try await cli.kubectl("get", "pod", "web", "-o", "jsonpath={.status.ephemeralContainerStatuses[0].name}").out == "dbg")
        #expect(try await cli.stopAgent() == 0)
    }

    /// `kubectl port-forward` through the master: each local connection becomes a connection to
    /// the port inside the pod's network namespace (SPDY, tunnelled in a WebSocket by kubectl
    /// 1.31+, plain SPDY before); a closed port is reported in the kubelet's words.
    /// kubectl logs through the master: a container's two runs (restart-together after an
    /// exit), `--previous`, `-c`, `--tail`, `--since`, and `-f` that sees later lines; empty
    /// lines are the container's and stay.
    @Test func kubectlLogsFollowPreviousTailAndSince() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        // The first run ends with 3 (both end on SIGTERM at once, so neither the restart nor the
        // final stop waits out a grace period); the second waits for /data/go, then writes two more lines.
        let manifest = """
            apiVersion: v1
            kind: Pod
            metadata: {name: talker}
            spec:
              volumes: [{name: data, emptyDir: {}}]
              containers:
              - name: count
                image: busybox
                volumeMounts: [{name: data, mountPath: /data}]
                command:
                - sh
                - -c
                - |
                  n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n
                  echo run $n; echo; echo after blank
                  [ $n = 1 ] && exit 3
                  trap 'exit 0' TERM; while [ ! -e /data/go ]; do sleep 0.1; done; echo; echo late; sleep 3600 & wait
              - name: side
                image: busybox
                volumeMounts: [{name: data, mountPath: /data}]
                command: [sh, -c, "trap 'exit 0' TERM; echo side; sleep 3600 & wait"]
            """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: manifest).code == 0)
        try await waitUntil(timeout: 30) { try await cli.kubectl("logs", "talker", "-c", "count").out == "run 2\n\nafter blank\n" }
        #expect(try await cli.kubectl("logs", "talker", "-c", "count", "--previous").out == "run 1\n\nafter blank\n")
        #expect(try await cli.kubectl("logs", "talker", "-c", "side").out == "side\n")
        #expect(try await cli.kubectl("logs", "talker", "-c", "count", "--tail=2").out == "\nafter blank\n")
        #expect(try await cli.kubectl("logs", "talker", "-c", "count", "--since=1h").out == "run 2\n\nafter blank\n")
        let noName = try await cli.kubectl("logs", "talker")
        #expect(noName.out == "run 2\n\nafter blank\n", "the first container by default (kubectl names it): \(noName)")

        let follower = try BackgroundKubectl(kubeconfig: cli.dataDir + "/kubeconfig", ["logs", "-f", "talker", "-c", "count"])
        defer { follower.stop() }
        try await waitUntil(timeout: 10) { follower.output() == "run 2\n\nafter blank\n" }
        #expect(try await cli.kubectl("exec", "talker", "-c", "side", "--", "touch", "/data/go").code == 0)
        try await waitUntil(timeout: 10) { follower.output() == "run 2\n\nafter blank\n\nlate\n" }
        try await Task.sleep(for: .seconds(2))
        #expect(try await cli.kubectl("logs", "talker", "-c", "count", "--since=1s").out == "")
        follower.stop()
        #expect(try await cli.stopAgent() == 0)
    }

    @Test func kubectlPortForwardReachesThePodsPort() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        _ = try await cli.kubectl("run", "web", "--image=busybox", "--", "sh", "-c",
                                  "mkdir /www && echo hello through port-forward > /www/index.html && exec httpd -f -p 8080 -h /www")
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=30s").code == 0)

        for version in ["1.29", "1.32"] {
            let forward = try PortForward(kubectl: "/usr/lib/google-cloud-sdk/bin/kubectl.\(version)", kubeconfig: cli.dataDir + "/kubeconfig",
                                          target: "pod/web", ports: ":8080")
            defer { forward.stop() }
            let port = try await forward.localPort()
            // Two connections in turn, each its own stream pair.
            for _ in 0..<2 {
                let answer = try await httpGet(port: port)
                #expect(answer.hasPrefix("HTTP/1.") && answer.hasSuffix("hello through port-forward\n"), "kubectl \(version): \(answer)")
            }
        }
        // Nothing listens on 9999: the connection ends and kubectl reports the kubelet's error.
        let closed = try PortForward(kubectl: "/usr/bin/kubectl", kubeconfig: cli.dataDir + "/kubeconfig", target: "pod/web", ports: ":9999")
        let port = try await closed.localPort()
        _ = try? await httpGet(port: port)
        try await waitUntil(timeout: 10) { closed.output().contains("connection refused") }
        closed.stop()
        #expect(try await cli.stopAgent() == 0)
    }
}

/// A kubectl that keeps running (`port-forward`, `logs -f`), its output collected.
class BackgroundKubectl: @unchecked Sendable {
    let process = Process()
    let pipe = Pipe()
    let collected = Locked<String>("")

    init(kubectl: String = "/usr/bin/kubectl", kubeconfig: String, _ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: kubectl)
        process.arguments = ["--kubeconfig", kubeconfig] + args
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = self.collected
        pipe.fileHandleForReading.readabilityHandler = { h in
            let data = h.availableData
            collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    func output() -> String { collected.withLock { $0 } }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// `kubectl port-forward TARGET PORTS` in the background.
final class PortForward: BackgroundKubectl, @unchecked Sendable {
    init(kubectl: String, kubeconfig: String, target: String, ports: String) throws {
        try super.init(kubectl: kubectl, kubeconfig: kubeconfig, ["port-forward", target, ports])
    }

    /// The local port from "Forwarding from 127.0.0.1:PORT -> …".
    func localPort() async throws -> UInt16 {
        var port: UInt16?
        try await waitUntil(timeout: 20) {
            let text = self.output()
            guard let range = text.range(of: "Forwarding from 127.0.0.1:") else { return false }
            port = UInt16(text[range.upperBound...].prefix { $0.isNumber })
            return port != nil
        }
        return port ?? 0
    }
}

/// One HTTP/1.0 GET to 127.0.0.1:port; the whole answer (the server closes).
func httpGet(port: UInt16) async throws -> String {
    let fd = try await TCPClient.connect(host: "127.0.0.1", port: port, in: .host, timeout: 5)
    defer { fd.close() }
    let deadline = monotonicNanos() + 10_000_000_000
    try await SocketIO.send(fd, Array("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8), deadline: deadline)
    var answer: [UInt8] = []
    while true {
        let bytes = try await SocketIO.receive(fd, deadline: deadline)
        if bytes.isEmpty { break }
        answer += bytes
    }
    return String(decoding: answer, as: UTF8.self)
}
