import Foundation
import ShoalAPI
import ShoalOS
import Testing
@testable import ShoalAgent

/// Probes and lifecycle hooks on real pods: every probe kind passing and failing, readiness
/// driving `ready` and the Ready condition, startup probes holding back liveness, liveness
/// restarts, postStart and preStop hooks, termination messages.
@Suite(.enabled(if: isRoot, "needs root"))
struct ProbeTests {
    /// A container that exits at once on SIGTERM (quick teardown).
    static let idle = "trap 'exit 0' TERM; sleep 3600 & wait"
    /// Copies an HTTP request's head to stdout: its lines up to the blank one (a lone "\r").
    /// `read` takes a byte at a time; sed would wait for the line after, to know the last.
    static let requestHead = #"while read -r l; do echo "$l"; [ ${#l} -le 1 ] && break; done"#

    /// A pod manifest; `containers` is the YAML under `containers:` (indented by two).
    func pod(_ name: String, spec: String = "", _ containers: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name)}
        spec:
          terminationGracePeriodSeconds: 1
        \(spec)
          containers:
        \(containers)
        """
    }

    func container(_ name: String, _ script: String = ProbeTests.idle, _ extra: String = "") -> String {
        "  - name: \(name)\n    image: busybox\n    command: [sh, -c, \(jsonString(script))]\n" + extra
    }

    func event(_ a: TestAgent, _ pod: String, reason: String, _ message: String, container: String? = nil) async throws -> Bool {
        try await a.events(pod).contains { e in
            e.reason == reason && e.message == message && (container == nil || e.involvedObject.fieldPath == "spec.containers{\(container!)}")
        }
    }

    /// Waits until the pod has an event like that.
    func waitEvent(_ a: TestAgent, _ pod: String, reason: String, _ message: String, container: String? = nil, timeout: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // The agent may not have read the manifest yet: its pod is then unknown (404).
            if (try? await event(a, pod, reason: reason, message, container: container)) == true { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let seen = try await a.events(pod).map { "\($0.reason ?? ""): \($0.message ?? "")" }
        throw TestFailure("pod \(pod): no \(reason) event \"\(message)\"; events: \(seen)")
    }

    /// Waits until the containers are ready; the failure names the pod's events.
    @discardableResult
    func waitReady(_ a: TestAgent, _ pod: String, _ containers: [String], timeout: Double = 15) async throws -> Pod {
        do {
            return try await a.wait(pod, timeout: timeout, "\(containers) ready") { p in containers.allSatisfy { a.status(p, $0)?.ready == true } }
        } catch {
            let seen = try await a.events(pod).map { "\($0.involvedObject.fieldPath ?? "") \($0.reason ?? ""): \($0.message ?? "")" }
            throw TestFailure("pod \(pod): \(containers) not ready; events: \(seen)")
        }
    }

    func condition(_ p: Pod, _ type: PodConditionType) -> PodCondition? { p.status?.conditions?.first { $0.type == type } }

    // MARK: probe kinds

    @Test func execProbesPassFailAndTimeOut() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", pod("exec", """
            \(container("ok", ProbeTests.idle, "    readinessProbe: {exec: {command: [sh, -c, 'echo fine']}, periodSeconds: 1}\n"))
            \(container("bad", ProbeTests.idle, "    readinessProbe: {exec: {command: [sh, -c, 'echo not-yet; exit 1']}, periodSeconds: 1}\n"))
            \(container("slow", ProbeTests.idle, "    readinessProbe: {exec: {command: [sleep, '5']}, periodSeconds: 1, timeoutSeconds: 1}\n"))
            """))
            try await waitReady(a, "exec", ["ok"])
            try await waitEvent(a, "exec", reason: "Unhealthy", "Readiness probe failed: not-yet\n", container: "bad")
            try await waitEvent(a, "exec", reason: "Unhealthy", "Readiness probe failed: command \"sleep 5\" timed out", container: "slow")
            let p = try #require(try await a.pod("exec"))
            #expect(a.status(p, "bad")?.ready == false && a.status(p, "slow")?.ready == false)
            #expect(a.status(p, "bad")?.started == true && a.status(p, "bad")?.state?.running != nil)
            #expect(condition(p, .ready)?.status == .false)
            #expect(condition(p, .ready)?.message == "containers with unready status: [bad slow]")
            #expect(p.status?.phase == .running)
        }
    }

    @Test func httpGetProbesByNumberAndByNameWithHeaders() async throws {
        try await withAgent { a in
            let echo = #"exec nc -ll -p 8090 -e sh -c '\#(ProbeTests.requestHead) >> /tmp/req; printf "HTTP/1.0 200 OK\r\n\r\n"'"#
            let broken = #"exec nc -ll -p 8091 -e sh -c '\#(ProbeTests.requestHead) > /dev/null; printf "HTTP/1.0 500 Internal Server Error\r\n\r\n"'"#
            try a.apply("pod.yaml", pod("http", """
            \(container("web", "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www",
                        "    ports: [{name: http, containerPort: 8080}]\n    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}\n"))
            \(container("missing", ProbeTests.idle, "    readinessProbe: {httpGet: {path: /nope, port: 8080}, periodSeconds: 1}\n"))
            \(container("refused", ProbeTests.idle, "    readinessProbe: {httpGet: {port: 8081}, periodSeconds: 1}\n"))
            \(container("echo", echo, "    readinessProbe: {httpGet: {path: /hdr, port: 8090, httpHeaders: [{name: X-Probe, value: shoal}]}, periodSeconds: 1}\n"))
            \(container("broken", broken, "    readinessProbe: {httpGet: {path: /, port: 8091}, periodSeconds: 1}\n"))
            """))
            try await waitReady(a, "http", ["web", "echo"])
            try await waitEvent(a, "http", reason: "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404", container: "missing")
            try await waitEvent(a, "http", reason: "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", container: "broken")
            try await waitEvent(a, "http", reason: "Unhealthy",
                                "Readiness probe failed: Get \"http://127.0.0.1:8081/\": dial tcp 127.0.0.1:8081: connect: connection refused",
                                container: "refused")
            let p = try #require(try await a.pod("http"))
            #expect(["missing", "refused", "broken"].allSatisfy { a.status(p, $0)?.ready == false })
            // What the probe sent, as the echo server saw it.
            let request = try await a.sh("http", "echo", "cat /tmp/req")
            #expect(request.hasPrefix("GET /hdr HTTP/1.1\r\nHost: 127.0.0.1:8090\r\nUser-Agent: kube-probe/\(KubeletVersion.majorMinor)\r\nAccept: */*\r\nX-Probe: shoal\r\nConnection: close\r\n\r\n"))
        }
    }

    @Test func tcpSocketProbesInThePodAndOnTheHost() async throws {
        try await withAgent { a in
            // A listener on the host's loopback: a hostNetwork pod reaches it, and so does an
            // explicit `host:` (the kubelet dials those from the node).
            let listener = try await TCPListener.listen(port: 0, in: .host)
            defer { listener.close() }
            let port = try #require(TCPListener.port(of: listener))
            let acceptor = Task {
                while let conn = try? await TCPListener.accept(listener) { conn.close() }
            }
            defer { acceptor.cancel() }
            try a.apply("pod.yaml", pod("tcp", """
            \(container("listener", "exec nc -ll -p 9000 -e true",
                        "    ports: [{name: tcp, containerPort: 9000}]\n    readinessProbe: {tcpSocket: {port: tcp}, periodSeconds: 1}\n"))
            \(container("closed", ProbeTests.idle, "    readinessProbe: {tcpSocket: {port: 9001}, periodSeconds: 1}\n"))
            \(container("node", ProbeTests.idle, "    readinessProbe: {tcpSocket: {port: \(port), host: 127.0.0.1}, periodSeconds: 1}\n"))
            """))
            try a.apply("host.yaml", pod("tcphost", spec: "  hostNetwork: true", container("c", ProbeTests.idle,
                "    readinessProbe: {tcpSocket: {port: \(port)}, periodSeconds: 1}\n")))
            try await waitReady(a, "tcp", ["listener", "node"])
            try await a.wait("tcphost", "ready") { a.status($0, "c")?.ready == true && self.condition($0, .ready)?.status == .true }
            try await waitEvent(a, "tcp", reason: "Unhealthy", "Readiness probe failed: dial tcp 127.0.0.1:9001: connect: connection refused",
                                container: "closed")
            #expect(try await a.pod("tcp").map { a.status($0, "closed")?.ready } == false)
        }
    }

    @Test func grpcProbesAgainstAHealthServerInThePod() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", pod("grpc", """
            \(container("serving", ProbeTests.idle, "    readinessProbe: {grpc: {port: 9090}, periodSeconds: 1}\n"))
            \(container("down", ProbeTests.idle, "    readinessProbe: {grpc: {port: 9090, service: down}, periodSeconds: 1}\n"))
            \(container("unknown", ProbeTests.idle, "    readinessProbe: {grpc: {port: 9090, service: nope}, periodSeconds: 1}\n"))
            \(container("closed", ProbeTests.idle, "    readinessProbe: {grpc: {port: 9091}, periodSeconds: 1}\n"))
            """))
            try await a.waitRunning("grpc")
            // busybox serves no gRPC: this test process does, on a socket made inside the pod's
            // network namespace (the same setns path the prober uses).
            let worker = try #require(await a.agent.worker(namespace: "default", name: "grpc"))
            let pid = try #require(await worker.sandbox?.pid)
            let listener = try await TCPListener.listen(port: 9090, in: .process(pid))
            defer { listener.close() }
            let server = Task { await HealthServer.serve(listener) }
            defer { server.cancel() }
            try await waitReady(a, "grpc", ["serving"])
            try await waitEvent(a, "grpc", reason: "Unhealthy", "Readiness probe failed: service unhealthy (responded with \"NOT_SERVING\")",
                                container: "down")
            try await waitEvent(a, "grpc", reason: "Unhealthy",
                                "Readiness probe failed: error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
                                container: "unknown")
            try await waitEvent(a, "grpc", reason: "Unhealthy",
                                "Readiness probe failed: timeout: failed to connect service \"127.0.0.1:9091\" within 1s: context deadline exceeded",
                                container: "closed")
            let p = try #require(try await a.pod("grpc"))
            #expect(["down", "unknown", "closed"].allSatisfy { a.status(p, $0)?.ready == false })
        }
    }

    // MARK: semantics

    @Test func readinessFlipsReadyAndTheReadyConditionBothWays() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", pod("flip", container("c", ProbeTests.idle,
                "    readinessProbe: {exec: {command: [test, -e, /tmp/ready]}, periodSeconds: 1, failureThreshold: 1}\n")))
            let first = try await a.waitRunning("flip")
            // With a readinessProbe the container starts unready.
            #expect(a.status(first, "c")?.ready == false && a.status(first, "c")?.started == true)
            #expect(condition(first, .ready)?.status == .false && condition(first, .containersReady)?.status == .false)
            #expect(condition(first, .ready)?.message == "containers with unready status: [c]")
            _ = try await a.sh("flip", "c", "touch /tmp/ready")
            let ready = try await a.wait("flip", "ready") { self.condition($0, .ready)?.status == .true }
            #expect(a.status(ready, "c")?.ready == true && condition(ready, .containersReady)?.status == .true)
            _ = try await a.sh("flip", "c", "rm /tmp/ready")
            let unready = try await a.wait("flip", "unready again") { self.condition($0, .ready)?.status == .false }
            #expect(a.status(unready, "c")?.ready == false && condition(unready, .containersReady)?.status == .false)
            #expect(a.status(unready, "c")?.restartCount == 0, "readiness never restarts")
            #expect(try await event(a, "flip", reason: "Unhealthy", "Readiness probe failed: ", container: "c"))
        }
    }

    @Test func startupProbeHoldsBackLivenessAndFailingItRestarts() async throws {
        try await withAgent { a in
            try a.apply("slow.yaml", pod("slowstart", container("c", ProbeTests.idle, """
                startupProbe: {exec: {command: [test, -e, /tmp/started]}, periodSeconds: 1, failureThreshold: 60}
                livenessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 1}

            """)))
            try a.apply("never.yaml", pod("nostart", container("c", ProbeTests.idle,
                "    startupProbe: {exec: {command: [\"false\"]}, periodSeconds: 1, failureThreshold: 2}\n")))
            try await a.waitRunning("slowstart")
            try await waitEvent(a, "slowstart", reason: "Unhealthy", "Startup probe failed: ")
            try await Task.sleep(nanoseconds: 2_500_000_000)
            let held = try #require(try await a.pod("slowstart"))
            #expect(a.status(held, "c")?.started == false && a.status(held, "c")?.ready == false)
            #expect(a.status(held, "c")?.restartCount == 0)
            #expect(try await a.events("slowstart").allSatisfy { !($0.message ?? "").hasPrefix("Liveness") }, "liveness ran before startup passed")
            // Startup passes: liveness begins, fails at once, and the container is restarted.
            _ = try await a.sh("slowstart", "c", "touch /tmp/started")
            let restarted = try await a.wait("slowstart", "restarted by liveness") { (a.status($0, "c")?.restartCount ?? 0) >= 1 }
            #expect(a.status(restarted, "c")?.lastState?.terminated != nil)
            #expect(try await event(a, "slowstart", reason: "Unhealthy", "Liveness probe failed: "))
            #expect(try await event(a, "slowstart", reason: "Killing", "Container c failed liveness probe, will be restarted", container: "c"))
            // The failing startup probe kills its container too.
            try await waitEvent(a, "nostart", reason: "Killing", "Container c failed startup probe, will be restarted", container: "c")
            try await a.wait("nostart", "restarted by startup") { (a.status($0, "c")?.restartCount ?? 0) >= 1 }
        }
    }

    @Test func livenessFailureRestartsTheContainer() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", pod("live", container("c", "touch /tmp/healthy; " + ProbeTests.idle,
                "    livenessProbe: {exec: {command: [test, -e, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}\n")))
            try a.apply("never.yaml", pod("livenever", spec: "  restartPolicy: Never", container("c", "exec sleep 3600",
                "    livenessProbe: {tcpSocket: {port: 1}, periodSeconds: 1, failureThreshold: 1}\n")))
            let running = try await a.waitRunning("live")
            #expect(a.status(running, "c")?.ready == true && a.status(running, "c")?.started == true)
            _ = try await a.sh("live", "c", "rm /tmp/healthy")
            let p = try await a.wait("live", "restarted once") { a.status($0, "c")?.restartCount == 1 && a.status($0, "c")?.state?.running != nil }
            // Stopped gracefully (its TERM trap exits 0), then started again with a fresh /tmp.
            #expect(a.status(p, "c")?.lastState?.terminated?.exitCode == 0)
            try await waitEvent(a, "live", reason: "Unhealthy", "Liveness probe failed: ", container: "c")
            let unhealthy = try await a.events("live").first { $0.reason == "Unhealthy" }
            #expect((unhealthy?.count ?? 0) >= 2, "one Unhealthy event per failed run, aggregated")
            #expect(try await event(a, "live", reason: "Killing", "Container c failed liveness probe, will be restarted", container: "c"))
            try await Task.sleep(nanoseconds: 2_500_000_000)
            #expect(try await a.pod("live").map { a.status($0, "c")?.restartCount } == 1, "the new instance is healthy")
            // restartPolicy Never: killed (SIGKILL after the grace period: it ignores TERM), not restarted.
            try await waitEvent(a, "livenever", reason: "Killing", "Container c failed liveness probe", container: "c")
            let failed = try await a.wait("livenever", "Failed") { $0.status?.phase == .failed }
            #expect(a.status(failed, "c")?.state?.terminated?.exitCode == 137 && a.status(failed, "c")?.restartCount == 0)
            try await waitEvent(a, "livenever", reason: "Unhealthy", "Liveness probe failed: dial tcp 127.0.0.1:1: connect: connection refused")
        }
    }

    @Test func nativeSidecarCountsAsStartedOnlyAfterItsStartupProbe() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: side}
            spec:
              terminationGracePeriodSeconds: 1
              initContainers:
              - name: proxy
                image: busybox
                restartPolicy: Always
                command: [sh, -c, \(jsonString(ProbeTests.idle))]
                startupProbe: {exec: {command: [test, -e, /tmp/up]}, periodSeconds: 1, failureThreshold: 60}
              containers:
              - name: app
                image: busybox
                command: [sh, -c, \(jsonString(ProbeTests.idle))]
            """)
            try await a.wait("side", "sidecar running") { a.status($0, "proxy")?.state?.running != nil }
            try await Task.sleep(nanoseconds: 2_000_000_000)
            let held = try #require(try await a.pod("side"))
            #expect(a.status(held, "app")?.state?.running == nil, "the app started before the sidecar's startup probe passed")
            #expect(a.status(held, "proxy")?.started == false)
            #expect(condition(held, .initialized)?.status == .false)
            _ = try await a.sh("side", "proxy", "touch /tmp/up")
            let p = try await a.waitRunning("side")
            #expect(a.status(p, "proxy")?.started == true && a.status(p, "proxy")?.ready == true)
            #expect(condition(p, .initialized)?.status == .true)
            try await a.wait("side", "Ready") { self.condition($0, .ready)?.status == .true }
        }
    }

    /// After an agent restart the re-adopted container is probed again (the kubelet's probe
    /// workers start over too): a liveness failure then still restarts it.
    @Test func probesResumeOnAReadoptedPod() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        _ = try await cli.shoal("image", "import", testImage)
        try FileSystem.writeAtomically(cli.manifests + "/pod.yaml", pod("kept", container("c", "touch /tmp/ok; " + ProbeTests.idle, """
                readinessProbe: {exec: {command: [test, -e, /tmp/ok]}, periodSeconds: 1}
                livenessProbe: {exec: {command: [test, -e, /tmp/ok]}, periodSeconds: 1, failureThreshold: 1}

            """)))
        try await cli.startAgent()
        let before = try await cli.waitPod("kept") { $0.status?.containerStatuses?.first?.ready == true }
        try await cli.killAgent()
        try await cli.startAgent()
        let after = try await cli.waitPod("kept") { $0.status?.containerStatuses?.first?.ready == true }
        #expect(after.status?.containerStatuses?.first?.containerID == before.status?.containerStatuses?.first?.containerID)
        #expect(try await cli.shoal("exec", "kept", "--", "rm", "/tmp/ok").code == 0)
        try await cli.waitPod("kept") { p in
            p.status?.containerStatuses?.first.map { $0.restartCount == 1 && $0.state?.running != nil && $0.ready == true } == true
        }
        #expect(try await cli.stopAgent() == 0)
        #expect(TestAgent.leftovers(dataDir: cli.dataDir, cgroupParent: cli.cgroupParent).isEmpty)
    }

    // MARK: hooks

    @Test func postStartRunsBeforeTheContainerCountsAsRunning() async throws {
        try await withAgent { a in
            let data = "    volumeMounts: [{name: data, mountPath: /data}]\n"
            try a.apply("pod.yaml", pod("hooked", spec: "  volumes: [{name: data, emptyDir: {}}]", container("c", ProbeTests.idle, data + """
                lifecycle:
                  postStart: {exec: {command: [sh, -c, "sleep 2; echo hook-ran > /data/hook"]}}

            """)))
            try a.apply("bad.yaml", pod("badhook", spec: "  restartPolicy: Never", container("c", "exec sleep 3600", """
                lifecycle:
                  postStart: {exec: {command: [sh, -c, "echo nope; exit 3"]}}

            """)))
            // While the hook runs the container is not Running (ContainerCreating), not started.
            try await waitEvent(a, "hooked", reason: "Started", "Started container c", container: "c")
            let during = try #require(try await a.pod("hooked"))
            #expect(a.status(during, "c")?.state?.waiting?.reason == "ContainerCreating")
            #expect(a.status(during, "c")?.started != true && a.status(during, "c")?.ready == false)
            let p = try await a.waitRunning("hooked")
            #expect(a.status(p, "c")?.started == true && a.status(p, "c")?.ready == true)
            // Running only after the hook: its output is already there.
            #expect(try await a.sh("hooked", "c", "cat /data/hook") == "hook-ran\n")
            // A failing hook kills the container (restartPolicy Never: the pod fails).
            try await waitEvent(a, "badhook", reason: "FailedPostStartHook", "PostStartHook failed", container: "c")
            let failed = try await a.wait("badhook", "Failed") { $0.status?.phase == .failed }
            #expect(a.status(failed, "c")?.state?.terminated?.exitCode == 137)
            #expect(try await event(a, "badhook", reason: "Killing", "FailedPostStartHook", container: "c"))
        }
    }

    @Test func preStopRunsBeforeSIGTERMWithinTheGracePeriod() async throws {
        let dir = "/tmp/shoal-it-prestop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileSystem.removeTree(dir) }
        try await withAgent { a in
            let host = "    volumeMounts: [{name: host, mountPath: /host}]\n"
            let server = #"exec nc -ll -p 8095 -e sh -c '\#(ProbeTests.requestHead) >> /host/requests; printf "HTTP/1.0 204 No Content\r\n\r\n"'"#
            try a.apply("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: stopper}
            spec:
              terminationGracePeriodSeconds: 4
              volumes: [{name: host, hostPath: {path: \(dir), type: DirectoryOrCreate}}]
              containers:
            \(container("c", "trap 'echo term >> /host/order; exit 0' TERM; sleep 3600 & wait", host + """
                lifecycle:
                  preStop: {exec: {command: [sh, -c, "echo prestop-start >> /host/order; sleep 1; echo prestop-end >> /host/order"]}}

            """))
            \(container("srv", server, host))
            \(container("h", ProbeTests.idle, "    lifecycle: {preStop: {httpGet: {path: /stopping, port: 8095}}}\n"))
            \(container("fails", ProbeTests.idle, "    lifecycle: {preStop: {exec: {command: [sh, -c, 'exit 1']}}}\n"))
            """)
            try await a.waitRunning("stopper")
            a.remove("pod.yaml")
            // The pod stays (Terminating) until srv, which ignores TERM, is killed at the deadline.
            try await waitEvent(a, "stopper", reason: "FailedPreStopHook", "PreStopHook failed", container: "fails")
            // Events go with the pod: the last ones seen while it was Terminating.
            var last: [Event] = []
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, try await a.pod("stopper") != nil {
                if let events = try? await a.events("stopper"), !events.isEmpty { last = events }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            try await a.waitGone("stopper", timeout: 1)
            #expect(last.filter { $0.reason == "FailedPreStopHook" }.map(\.involvedObject.fieldPath) == ["spec.containers{fails}"])
            #expect(try FileSystem.readString(dir + "/order") == "prestop-start\nprestop-end\nterm\n")
            let requests = try FileSystem.readString(dir + "/requests")
            #expect(requests.hasPrefix("GET /stopping HTTP/1.1\r\nHost: 127.0.0.1:8095\r\nUser-Agent: kube-lifecycle/"))
        }
    }

    @Test func terminationMessagesFromTheFileOrTheLogs() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", pod("msgs", spec: "  restartPolicy: Never", """
            \(container("file", "printf 'bye from file' > /dev/termination-log; exit 3"))
            \(container("custom", "echo custom > /tmp/msg", "    terminationMessagePath: /tmp/msg\n"))
            \(container("logs", "echo line1; echo line2; exit 4", "    terminationMessagePolicy: FallbackToLogsOnError\n"))
            \(container("logsok", "echo fine", "    terminationMessagePolicy: FallbackToLogsOnError\n"))
            """))
            let p = try await a.wait("msgs", "all ended") { p in
                ["file", "custom", "logs", "logsok"].allSatisfy { a.status(p, $0)?.state?.terminated != nil }
            }
            #expect(a.status(p, "file")?.state?.terminated?.message == "bye from file")
            #expect(a.status(p, "file")?.state?.terminated?.exitCode == 3)
            #expect(a.status(p, "custom")?.state?.terminated?.message == "custom\n")
            #expect(a.status(p, "logs")?.state?.terminated?.message == "line1\nline2")
            #expect(a.status(p, "logsok")?.state?.terminated?.message == nil)
        }
    }
}

/// A grpc.health.v1 server for the tests, HTTP/2 by hand: "" is SERVING, "down" NOT_SERVING,
/// anything else NotFound (trailers-only), as grpc-go's health server answers.
enum HealthServer {
    static func serve(_ listener: FileDescriptor) async {
        await withTaskGroup(of: Void.self) { group in
            while let conn = try? await TCPListener.accept(listener) {
                group.addTask {
                    defer { conn.close() }
                    try? await handle(conn)
                }
            }
            group.cancelAll()
        }
    }

    static func handle(_ fd: FileDescriptor) async throws {
        let deadline = monotonicNanos() + 5_000_000_000
        var buffer: [UInt8] = []
        while buffer.count < GRPCHealthCheck.preface.count {
            let b = try await SocketIO.receive(fd, deadline: deadline)
            if b.isEmpty { return }
            buffer += b
        }
        guard Array(buffer.prefix(24)) == GRPCHealthCheck.preface else { return }
        buffer.removeFirst(24)
        try await SocketIO.send(fd, GRPCHealthCheck.frame(.settings), deadline: deadline)
        var decoder = HPACK.Decoder()
        var path = "", data: [UInt8] = []
        var ended = false
        while !ended {
            while buffer.count >= 9, buffer.count >= 9 + (Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])) {
                let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
                let type = buffer[3], flags = buffer[4]
                let payload = Array(buffer[9..<(9 + length)])
                buffer.removeFirst(9 + length)
                switch type {
                case GRPCHealthCheck.FrameType.settings.rawValue where flags & 1 == 0:
                    try await SocketIO.send(fd, GRPCHealthCheck.frame(.settings, flags: 1), deadline: deadline)
                case GRPCHealthCheck.FrameType.headers.rawValue:
                    for (n, v) in try decoder.decode(payload) where n == ":path" { path = v }
                    if flags & 1 != 0 { ended = true }
                case GRPCHealthCheck.FrameType.data.rawValue:
                    data += payload
                    if flags & 1 != 0 { ended = true }
                default: break
                }
            }
            if ended { break }
            let b = try await SocketIO.receive(fd, deadline: deadline)
            if b.isEmpty { return }
            buffer += b
        }
        guard path == "/grpc.health.v1.Health/Check" else { return }
        // HealthCheckRequest after the 5-byte prefix: field 1 is the service.
        let message = Array(data.dropFirst(5))
        let service = message.count >= 2 && message[0] == 0x0a ? String(decoding: message.dropFirst(2).prefix(Int(message[1])), as: UTF8.self) : ""
        // :status 200 from the static table, content-type with incremental indexing (name index 31).
        var head: [UInt8] = [0x88, 0x5f, 0x10] + Array("application/grpc".utf8)
        var out: [UInt8] = []
        switch service {
        case "", "down":
            out += GRPCHealthCheck.frame(.headers, flags: GRPCHealthCheck.flagEndHeaders, stream: 1, head)
            out += GRPCHealthCheck.frame(.data, stream: 1, [0, 0, 0, 0, 2, 0x08, service == "" ? 1 : 2])
            out += GRPCHealthCheck.frame(.headers, flags: GRPCHealthCheck.flagEndHeaders | GRPCHealthCheck.flagEndStream, stream: 1,
                                         HPACK.encode([("grpc-status", "0")]))
        default:
            head += HPACK.encode([("grpc-status", "5"), ("grpc-message", "unknown service")])
            out += GRPCHealthCheck.frame(.headers, flags: GRPCHealthCheck.flagEndHeaders | GRPCHealthCheck.flagEndStream, stream: 1, head)
        }
        try await SocketIO.send(fd, out, deadline: deadline)
        // Until the client's GOAWAY or close.
        _ = try? await SocketIO.receive(fd, deadline: deadline)
    }
}
