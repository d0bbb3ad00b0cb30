import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// The pod as one unit: restart-together, restart policies, back-off, init containers and
/// native sidecars, the phases and the STATUS column they give.
@Suite(.enabled(if: isRoot, "needs root"))
struct LifecycleTests {
    @Test func oneContainerFailsAndTheWholePodRestartsInItsSandbox() async throws {
        try await withAgent { a in
            // `a` fails once (its marker lives in the emptyDir, which must survive), then runs.
            // It lasts 2 s first, so the exec below reaches `b` before the restart stops it
            // even when the suite loads the machine.
            let script = "if [ -e /data/ran ]; then exec sleep 3600; fi; echo kept > /data/ran; sleep 2; exit 1"
            try a.apply("pod.yaml", podYAML("duo", containers: [("a", script), ("b", "trap 'exit 0' TERM; sleep 3600 & wait")],
                                            volumes: "  - {name: data, emptyDir: {}}",
                                            containerExtra: "    volumeMounts: [{name: data, mountPath: /data}]"))
            try await a.waitRunning("duo")
            let netnsBefore = try await a.sh("duo", "b", "readlink /proc/self/ns/net")
            let p = try await a.wait("duo", "both restarted once") { p in
                ["a", "b"].allSatisfy { a.status(p, $0)?.restartCount == 1 && a.status(p, $0)?.state?.running != nil }
            }
            let aLast = try #require(a.status(p, "a")?.lastState?.terminated)
            #expect(aLast.exitCode == 1 && aLast.reason == "Error" && aLast.finishedAt != nil && aLast.startedAt != nil)
            // The healthy one was stopped gracefully (its TERM trap exits 0).
            #expect(a.status(p, "b")?.lastState?.terminated?.exitCode == 0)
            #expect(try await a.sh("duo", "b", "cat /data/ran") == "kept\n")
            #expect(try await a.sh("duo", "b", "readlink /proc/self/ns/net") == netnsBefore)
            let events = try await a.events("duo")
            #expect(events.contains { $0.reason == "PodRestarted" && ($0.message ?? "").contains("Container a exited with code 1") })
            #expect(p.status?.phase == .running)
        }
    }

    @Test func restartPoliciesDecideWhatEndsThePod() async throws {
        try await withAgent(maxBackoff: 0) { a in
            try a.apply("ok.yaml", podYAML("onfailure-ok", containers: [("c", "exit 0")], extra: "  restartPolicy: OnFailure"))
            try a.apply("bad.yaml", podYAML("onfailure-bad", containers: [("c", "exit 2")], extra: "  restartPolicy: OnFailure"))
            try a.apply("never.yaml", podYAML("never-bad", containers: [("c", "exit 2")], extra: "  restartPolicy: Never"))
            let ok = try await a.wait("onfailure-ok", "Succeeded") { $0.status?.phase == .succeeded }
            #expect(a.status(ok, "c")?.restartCount == 0 && a.status(ok, "c")?.state?.terminated?.reason == "Completed")
            let never = try await a.wait("never-bad", "Failed") { $0.status?.phase == .failed }
            #expect(a.status(never, "c")?.restartCount == 0 && a.status(never, "c")?.state?.terminated?.exitCode == 2)
            #expect(PodPrinter.row(never, now: 0).status == "Error")
            try await a.wait("onfailure-bad", "restarts") { (a.status($0, "c")?.restartCount ?? 0) >= 2 }
        }
    }

    @Test func containerScopeAndRestartRules() async throws {
        let host = try scratchDirectory("rules")
        defer { try? FileSystem.removeTree(host) }
        try await withAgent { a in
            let once = { (tag: String, code: Int) in "if [ -e /t/\(tag) ]; then exec sleep 3600; fi; touch /t/\(tag); exit \(code)" }
            let steady = "trap 'exit 0' TERM; sleep 3600 & wait"
            let vol = "  - {name: t, hostPath: {path: \(host)}}"
            let mount = "    volumeMounts: [{name: t, mountPath: /t}]"
            // The kubelet's per-container restarts, by annotation: only the failed one restarts.
            try a.apply("scoped.yaml", podYAML("scoped", containers: [("a", once("scoped", 1)), ("b", steady)],
                                               extra: "  restartPolicy: Always", volumes: vol, containerExtra: mount)
                .replacingOccurrences(of: "metadata:\n  name: scoped", with: "metadata:\n  name: scoped\n  annotations: {shoal.dev/restart-scope: container}"))
            let scoped = try await a.wait("scoped", "a restarted alone") { a.status($0, "a")?.restartCount == 1 && a.status($0, "a")?.state?.running != nil }
            #expect(a.status(scoped, "b")?.restartCount == 0)
            // KEP-5532: exit code 42 restarts every container although the policy says Never.
            try a.apply("rules.yaml", """
            apiVersion: v1
            kind: Pod
            metadata:
              name: rules
              annotations: {shoal.dev/restart-scope: container}
            spec:
              terminationGracePeriodSeconds: 1
              restartPolicy: Never
              volumes: [{name: t, hostPath: {path: \(host)}}]
              containers:
              - name: worker
                image: busybox
                restartPolicy: Never
                restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]
                command: ["sh", "-c", \(jsonString(once("rules", 42)))]
                volumeMounts: [{name: t, mountPath: /t}]
              - name: helper
                image: busybox
                command: ["sh", "-c", \(jsonString(steady))]
            """)
            let rules = try await a.wait("rules", "both restarted") { p in
                ["worker", "helper"].allSatisfy { a.status(p, $0)?.restartCount == 1 && a.status(p, $0)?.state?.running != nil }
            }
            #expect(a.status(rules, "worker")?.lastState?.terminated?.exitCode == 42)
        }
    }

    @Test func backOffShowsAsCrashLoopBackOff() async throws {
        try await withAgent(maxBackoff: 3) { a in
            try a.apply("pod.yaml", podYAML("crashy", containers: [("c", "exit 1")]))
            let p = try await a.wait("crashy", "CrashLoopBackOff") { a.status($0, "c")?.state?.waiting?.reason == "CrashLoopBackOff" }
            #expect(a.status(p, "c")?.state?.waiting?.message?.hasPrefix("back-off ") == true)
            #expect(PodPrinter.row(p, now: 0).status == "CrashLoopBackOff")
            #expect(try await a.events("crashy").contains { $0.reason == "BackOff" })
        }
    }

    @Test func initContainersRunInOrderBeforeTheApp() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: inits}
            spec:
              terminationGracePeriodSeconds: 1
              volumes: [{name: data, emptyDir: {}}]
              initContainers:
              - {name: first, image: busybox, command: ["sh", "-c", "echo 1 >> /data/order"], volumeMounts: [{name: data, mountPath: /data}]}
              - {name: second, image: busybox, command: ["sh", "-c", "sleep 0.3; echo 2 >> /data/order"], volumeMounts: [{name: data, mountPath: /data}]}
              containers:
              - {name: app, image: busybox, command: ["sh", "-c", "echo app >> /data/order; exec sleep 3600"], volumeMounts: [{name: data, mountPath: /data}]}
            """
            try a.apply("pod.yaml", yaml)
            let p = try await a.waitRunning("inits")
            try await waitUntil { try await a.sh("inits", "app", "cat /data/order") == "1\n2\napp\n" }
            for name in ["first", "second"] { #expect(a.status(p, name)?.state?.terminated?.reason == "Completed") }
            #expect(p.status?.conditions?.contains { $0.type == .initialized && $0.status == .true } == true)

            // A failing init container with restartPolicy Never fails the pod; the app never runs.
            try a.apply("fail.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: init-fails}
            spec:
              restartPolicy: Never
              initContainers:
              - {name: setup, image: busybox, command: ["sh", "-c", "exit 3"]}
              containers:
              - {name: app, image: busybox, command: ["sleep", "3600"]}
            """)
            let f = try await a.wait("init-fails", "Failed") { $0.status?.phase == .failed }
            #expect(a.status(f, "setup")?.state?.terminated?.exitCode == 3)
            #expect(a.status(f, "app")?.state?.running == nil && a.status(f, "app")?.state?.terminated == nil)
            #expect(PodPrinter.row(f, now: 0).status == "Init:Error")
        }
    }

    @Test func nativeSidecarsStartFirstAndStopLast() async throws {
        let host = try scratchDirectory("sidecar")
        defer { try? FileSystem.removeTree(host) }
        try await withAgent { a in
            // Each container notes its start and its SIGTERM in a shared hostPath file.
            func note(_ name: String, then: String) -> String {
                "echo start-\(name) >> /out/log; trap 'echo term-\(name) >> /out/log; exit 0' TERM; \(then)"
            }
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: sidecars}
            spec:
              terminationGracePeriodSeconds: 5
              restartPolicy: Never
              volumes: [{name: out, hostPath: {path: \(host)}}]
              initContainers:
              - {name: proxy, image: busybox, restartPolicy: Always, command: ["sh", "-c", \(jsonString(note("proxy", then: "sleep 3600 & wait")))], volumeMounts: [{name: out, mountPath: /out}]}
              containers:
              - {name: app, image: busybox, command: ["sh", "-c", \(jsonString(note("app", then: "sleep 1")))], volumeMounts: [{name: out, mountPath: /out}]}
            """
            try a.apply("pod.yaml", yaml)
            // The app completes; the sidecar is then stopped and the pod has Succeeded.
            let p = try await a.wait("sidecars", "Succeeded") { $0.status?.phase == .succeeded }
            #expect(a.status(p, "proxy")?.state?.terminated != nil)
            #expect(PodPrinter.row(p, now: 0).status == "Completed")
            #expect(try FileSystem.readString(host + "/log") == "start-proxy\nstart-app\nterm-proxy\n")
        }
    }
}
