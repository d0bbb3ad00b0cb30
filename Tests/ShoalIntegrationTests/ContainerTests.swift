import Foundation
import ShoalAPI
import ShoalOS
import Testing
@testable import ShoalAgent

/// What a container is given (env, working dir, a shared PID namespace, cgroups), how it
/// fails to start, how it stops, and its logs across instances.
@Suite(.enabled(if: isRoot, "needs root"))
struct ContainerTests {
    @Test func downwardEnvWorkingDirAndSharedProcessNamespace() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: env-pod, namespace: lab}
            spec:
              terminationGracePeriodSeconds: 1
              shareProcessNamespace: true
              containers:
              - name: main
                image: busybox
                workingDir: /srv/work
                command: ["sleep", "3600"]
                env:
                - {name: GREETING, value: hello}
                - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
                - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
                - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
                - {name: COMBINED, value: "$(GREETING)-$(POD_NAME)"}
              - name: peer
                image: busybox
                command: ["sh", "-c", "exec sleep 7777"]
            """
            try a.apply("pod.yaml", yaml)
            let pod = try await a.waitRunning("env-pod", namespace: "lab")
            let env = try await a.sh("env-pod", "main", "echo $GREETING $POD_NAME $POD_NAMESPACE $POD_UID $NODE $COMBINED; echo $PATH; pwd", namespace: "lab")
            #expect(env == "hello env-pod lab \(pod.metadata.uid ?? "") testnode hello-env-pod\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/srv/work\n")
            // One PID namespace for the pod: each container sees the other's processes.
            #expect(try await a.sh("env-pod", "main", "ps -o args | grep -c '[s]leep 7777'", namespace: "lab") == "1\n")
            #expect(try await a.sh("env-pod", "main", "readlink /proc/self/ns/pid", namespace: "lab")
                == a.sh("env-pod", "peer", "readlink /proc/self/ns/pid", namespace: "lab"))
        }
    }

    @Test func hostNetworkAndMountPropagation() async throws {
        // Propagation needs the host side to be a shared mount (it is on systemd hosts; here the
        // root mount is private), so the test makes its directory one, as a user would with
        // `mount --bind X X && mount --make-rshared X`.
        let host = try scratchDirectory("prop")
        try sysCall("mount --bind", path: host) { mount(host, host, nil, UInt(MS_BIND), nil) }
        try sysCall("mount --make-rshared", path: host) { mount(nil, host, nil, UInt(MS_SHARED | MS_REC), nil) }
        defer {
            for m in HostMounts.mountPoints(under: host).sorted().reversed() { try? HostMounts.unmount(m) }
            try? FileSystem.removeTree(host)
        }
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: hostnet}
            spec:
              terminationGracePeriodSeconds: 1
              hostNetwork: true
              volumes: [{name: h, hostPath: {path: \(host)}}]
              containers:
              - name: c
                image: busybox
                command: ["sleep", "3600"]
                volumeMounts: [{name: h, mountPath: /h, mountPropagation: HostToContainer}]
              - name: b
                image: busybox
                command: ["sleep", "3600"]
                securityContext: {privileged: true}
                volumeMounts: [{name: h, mountPath: /h, mountPropagation: Bidirectional}]
            """
            try a.apply("pod.yaml", yaml)
            try await a.waitRunning("hostnet")
            // The host's network (and, as the kubelet does, its hostname).
            let hostNet = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
            #expect(try await a.sh("hostnet", "c", "readlink /proc/self/ns/net") == hostNet + "\n")
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, name.count)
            #expect(try await a.sh("hostnet", "c", "hostname") == string(fromCBuffer: name) + "\n")
            // HostToContainer: a mount made on the host after the start shows in the container.
            try FileSystem.createDirectory(host + "/late")
            try HostMounts.mountTmpfs(at: host + "/late", options: "size=1m")
            try FileSystem.writeAtomically(host + "/late/seen", "propagated\n")
            #expect(try await a.sh("hostnet", "c", "cat /h/late/seen") == "propagated\n")
            // Bidirectional: a mount the (privileged) container makes reaches the host and the
            // other container.
            _ = try await a.sh("hostnet", "b", "mkdir -p /h/up && mount -t tmpfs -o size=1m none /h/up && echo from-container > /h/up/f")
            #expect(try FileSystem.readString(host + "/up/f") == "from-container\n")
            #expect(try await a.sh("hostnet", "c", "cat /h/up/f") == "from-container\n")
        }
    }

    @Test func resourcesBecomeCgroupLimits() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: limited}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: c
                image: busybox
                command: ["sleep", "3600"]
                resources:
                  limits: {memory: 32Mi, cpu: 500m}
                  requests: {cpu: 100m}
              - name: d
                image: busybox
                command: ["sleep", "3600"]
                resources:
                  limits: {memory: 16Mi, cpu: "1"}
            """
            try a.apply("pod.yaml", yaml)
            let pod = try await a.waitRunning("limited")
            let uid = try #require(pod.metadata.uid)
            let cgroups = await a.agent.ctx.cgroups
            func read(_ path: String, _ file: String) -> String? {
                for dir in cgroups.directories(path) where FileSystem.exists(dir + "/" + file) {
                    return (try? FileSystem.readString(dir + "/" + file))?.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return nil
            }
            if cgroups.version == .v1 {
                #expect(read("pod-\(uid)/ctr-c", "memory.limit_in_bytes") == "\(32 << 20)")
                #expect(read("pod-\(uid)/ctr-c", "cpu.cfs_quota_us") == "50000")
                #expect(read("pod-\(uid)/ctr-c", "cpu.cfs_period_us") == "100000")
                #expect(read("pod-\(uid)/ctr-c", "cpu.shares") == "102")
                #expect(read("pod-\(uid)/ctr-d", "cpu.shares") == "1024")  // requests default to limits
                // The pod's cgroup bounds the sum, as the kubelet's pod cgroup does.
                #expect(read("pod-\(uid)", "memory.limit_in_bytes") == "\(48 << 20)")
                #expect(read("pod-\(uid)", "cpu.cfs_quota_us") == "150000")
            } else {
                #expect(read("pod-\(uid)/ctr-c", "memory.max") == "\(32 << 20)")
                #expect(read("pod-\(uid)/ctr-c", "cpu.max") == "50000 100000")
                #expect(read("pod-\(uid)", "memory.max") == "\(48 << 20)")
            }
            // The container's processes are in its cgroup.
            let cgroupLine = try await a.sh("limited", "c", "grep -E ':(memory|0)?:' /proc/self/cgroup | head -1")
            #expect(cgroupLine.contains("/pod-\(uid)/ctr-c"))
        }
    }

    @Test func startFailuresAreReportedAsTheKubeletDoes() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: broken}
            spec:
              terminationGracePeriodSeconds: 1
              restartPolicy: Never
              containers:
              - name: noexec
                image: busybox
                command: ["/no/such/binary"]
              - name: badwd
                image: busybox
                workingDir: /bin/busybox
                command: ["true"]
            """
            try a.apply("pod.yaml", yaml)
            let p = try await a.wait("broken", "both containers to fail") { p in
                a.status(p, "noexec")?.state?.terminated != nil && a.status(p, "badwd")?.state?.terminated != nil
            }
            let noexec = try #require(a.status(p, "noexec")?.state?.terminated)
            #expect(noexec.reason == "StartError")
            #expect(noexec.exitCode == 128)
            #expect(noexec.message?.contains("exec /no/such/binary: ENOENT") == true)
            let badwd = try #require(a.status(p, "badwd")?.state?.terminated)
            #expect(badwd.reason == "StartError")
            #expect(badwd.message?.contains("/bin/busybox: ENOTDIR") == true, "\(badwd.message ?? "")")
            #expect(p.status?.phase == .failed)
            let events = try await a.events("broken")
            #expect(events.contains { $0.reason == "Failed" && ($0.message ?? "").contains("ENOENT") })
        }
    }

    @Test func removingAManifestStopsGracefullyThenKills() async throws {
        let host = try scratchDirectory("stop")
        defer { try? FileSystem.removeTree(host) }
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: stopper}
            spec:
              terminationGracePeriodSeconds: 2
              volumes: [{name: out, hostPath: {path: \(host)}}]
              containers:
              - name: polite
                image: busybox
                command: ["sh", "-c", "trap 'echo got-term > /out/polite; exit 0' TERM; sleep 3600 & wait"]
                volumeMounts: [{name: out, mountPath: /out}]
              - name: stubborn
                image: busybox
                command: ["sh", "-c", "trap '' TERM; echo ignoring > /out/stubborn; while true; do sleep 1; done"]
                volumeMounts: [{name: out, mountPath: /out}]
            """
            try a.apply("pod.yaml", yaml)
            try await a.waitRunning("stopper")
            try await waitUntil { FileSystem.exists(host + "/stubborn") }
            let started = Date()
            a.remove("pod.yaml")
            // Terminating while the grace period runs.
            let dying = try await a.wait("stopper", "Terminating") { $0.metadata.deletionTimestamp != nil }
            #expect(dying.metadata.deletionGracePeriodSeconds == 2)
            try await a.waitGone("stopper")
            let took = Date().timeIntervalSince(started)
            #expect(try FileSystem.readString(host + "/polite") == "got-term\n")
            // The stubborn one was killed at the deadline: not before it, and far sooner than
            // the default 30 s or never. (The slack absorbs the whole suite sharing two cores.)
            #expect(took >= 1.9 && took < 10, "teardown took \(took)s")
        }
    }

    @Test func logsOfThePreviousInstanceAndFollowing() async throws {
        try await withAgent { a in
            // Exits 1 once, then runs: restart-together gives a second instance.
            let host = try scratchDirectory("logs")
            defer { try? FileSystem.removeTree(host) }
            let script = "if [ -e /state/ran ]; then echo second-run; exec sleep 3600; fi; touch /state/ran; echo first-run; exit 1"
            try a.apply("pod.yaml", podYAML("relog", containers: [("c", script)], volumes: "  - {name: state, hostPath: {path: \(host)}}",
                                            containerExtra: "    volumeMounts: [{name: state, mountPath: /state}]"))
            let p = try await a.wait("relog", "the second instance") { a.status($0, "c")?.restartCount == 1 && a.status($0, "c")?.state?.running != nil }
            #expect(a.status(p, "c")?.lastState?.terminated?.exitCode == 1)
            try await waitUntil { try await a.logs("relog") == "second-run\n" }
            #expect(try await a.logs("relog", query: "previous=true") == "first-run\n")

            // Following ends when the container's output ends.
            try a.apply("follow.yaml", podYAML("follow", containers: [("c", "for i in 1 2 3; do echo line-$i; sleep 0.3; done")],
                                               extra: "  restartPolicy: Never"))
            try await a.waitRunning("follow")
            let started = Date()
            let followed = try await a.logs("follow", query: "follow=true")
            #expect(followed == "line-1\nline-2\nline-3\n")
            #expect(Date().timeIntervalSince(started) < 10)
        }
    }
}
