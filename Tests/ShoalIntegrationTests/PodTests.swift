import Foundation
import ShoalAPI
import ShoalOS
import Testing

@Suite(.enabled(if: isRoot, "needs root"))
struct PodTests {
    @Test func containersShareTheSandboxNamespacesButNotTheirMounts() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("twins", containers: [("a", "sleep 3600"), ("b", "sleep 3600")]))
            try await a.waitRunning("twins")
            let ns = { (c: String, kind: String) in try await a.sh("twins", c, "readlink /proc/self/ns/\(kind)") }
            for kind in ["net", "ipc", "uts"] {
                #expect(try await ns("a", kind) == ns("b", kind), "\(kind) namespace differs")
            }
            #expect(try await ns("a", "mnt") != ns("b", "mnt"))
            #expect(try await ns("a", "pid") != ns("b", "pid"))
            // Each container is PID 1 of its own PID namespace, and the hostname is the pod's name.
            #expect(try await a.sh("twins", "a", "cat /proc/1/comm") == "sleep\n")
            #expect(try await a.sh("twins", "b", "hostname") == "twins\n")
            // A file one container writes in its root is not in the other's.
            _ = try await a.sh("twins", "a", "echo mine > /only-a")
            #expect(try await a.sh("twins", "b", "test -e /only-a && echo yes || echo no") == "no\n")
        }
    }

    @Test func containersTalkOverLoopbackAndShareAnEmptyDir() async throws {
        try await withAgent { a in
            let volumes = "  - name: shared\n    emptyDir: {}"
            let mounts = "    volumeMounts:\n    - {name: shared, mountPath: /shared}"
            try a.apply("pod.yaml", podYAML("pair", containers: [
                ("server", "mkdir -p /www && echo hello-over-loopback > /www/index.html && exec httpd -f -p 8080 -h /www"),
                ("client", "echo from-client > /shared/note; exec sleep 3600"),
            ], volumes: volumes, containerExtra: mounts))
            try await a.waitRunning("pair")
            var body = ""
            for _ in 0..<50 {
                body = (try? await a.sh("pair", "client", "wget -q -O- http://127.0.0.1:8080/")) ?? ""
                if !body.isEmpty { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(body == "hello-over-loopback\n")
            #expect(try await a.sh("pair", "server", "cat /shared/note") == "from-client\n")
            // The emptyDir is a directory of the pod on the host.
            let pod = try #require(try await a.pod("pair"))
            let hostFile = "\(a.dataDir)/pods/\(pod.metadata.uid ?? "")/volumes/shared/note"
            #expect(try FileSystem.readString(hostFile) == "from-client\n")
        }
    }

    @Test func hostPathIsVisibleOnTheHost() async throws {
        let dir = "/tmp/shoal-it-hostpath-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileSystem.removeTree(dir) }
        try await withAgent { a in
            let volumes = "  - name: host\n    hostPath: {path: \(dir), type: DirectoryOrCreate}"
            let mounts = "    volumeMounts:\n    - {name: host, mountPath: /host}"
            try a.apply("pod.yaml", podYAML("hp", containers: [("c", "echo from-pod > /host/out; exec sleep 3600")], volumes: volumes, containerExtra: mounts))
            try await a.waitRunning("hp")
            try await waitUntil { FileSystem.exists(dir + "/out") }
            #expect(try FileSystem.readString(dir + "/out") == "from-pod\n")
            try FileSystem.writeAtomically(dir + "/in", "from-host\n")
            #expect(try await a.sh("hp", "c", "cat /host/in") == "from-host\n")
        }
    }

    @Test func memoryLimitOOMKills() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: hog}
            spec:
              restartPolicy: Never
              containers:
              - name: hog
                image: busybox
                command: ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"]
                resources:
                  limits: {memory: 16Mi}
            """
            try a.apply("pod.yaml", yaml)
            let p = try await a.wait("hog", "the container to end") { a.status($0, "hog")?.state?.terminated != nil }
            let t = try #require(a.status(p, "hog")?.state?.terminated)
            #expect(t.reason == "OOMKilled")
            #expect(t.exitCode == 137)
            #expect(p.status?.phase == .failed)
        }
    }

    @Test func defaultsDenyWhatTheyShould() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: locked}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: default
                image: busybox
                command: ["sleep", "3600"]
              - name: noraw
                image: busybox
                command: ["sleep", "3600"]
                securityContext:
                  capabilities: {drop: [NET_RAW]}
              - name: admin
                image: busybox
                command: ["sleep", "3600"]
                securityContext:
                  capabilities: {add: [NET_ADMIN]}
              - name: privileged
                image: busybox
                command: ["sleep", "3600"]
                securityContext: {privileged: true}
            """
            try a.apply("pod.yaml", yaml)
            try await a.waitRunning("locked")
            // The device cgroup: any node may be made (CAP_MKNOD), only the standard ones opened.
            // 10:237 is /dev/loop-control, 7:0 the first loop disk.
            let device = "mknod /tmp/lc c 10 237 && mknod /tmp/disk b 7 0 && echo made && echo x > /dev/null && echo null; exec 3</tmp/lc; exec 4</tmp/disk"
            let (_, madeOut, deniedErr) = try await a.exec("locked", "default", ["sh", "-c", device])
            #expect(madeOut == "made\nnull\n" && deniedErr.contains("/tmp/lc: Operation not permitted"), "\(madeOut) \(deniedErr)")
            let (_, _, blockErr) = try await a.exec("locked", "default", ["sh", "-c", "mknod /tmp/disk b 7 0; exec 4</tmp/disk"])
            #expect(blockErr.contains("/tmp/disk: Operation not permitted"), "\(blockErr)")
            let (_, _, privilegedErr) = try await a.exec("locked", "privileged", ["sh", "-c", device])
            #expect(!privilegedErr.contains("Operation not permitted"), "\(privilegedErr)")
            let (mountCode, _, _) = try await a.exec("locked", "default", ["mount", "-t", "tmpfs", "none", "/mnt"])
            #expect(mountCode != 0)
            let (unshareCode, _, unshareErr) = try await a.exec("locked", "default", ["unshare", "-m", "true"])
            #expect(unshareCode != 0)
            #expect(unshareErr.contains("Operation not permitted"))
            let status = try await a.sh("locked", "default", "grep -E '^(CapBnd|Seccomp|NoNewPrivs):' /proc/self/status")
            #expect(status.contains("CapBnd:\t00000000a80425fb"))
            #expect(status.contains("Seccomp:\t2"))
            #expect(status.contains("NoNewPrivs:\t1"))
            // CAP_NET_RAW is bit 13.
            let noraw = try await a.sh("locked", "noraw", "grep CapBnd /proc/self/status")
            #expect(noraw.contains("00000000a80405fb"))
            let admin = try await a.sh("locked", "admin", "grep CapEff /proc/self/status")
            #expect(admin.contains("00000000a80435fb"))
            // Masked and read-only /proc paths.
            // (This kernel has no /proc/kcore; /proc/timer_list is masked by the same rule.)
            #expect(try await a.sh("locked", "default", "wc -c < /proc/timer_list") == "0\n")
            #expect(try await a.sh("locked", "default", "ls /sys/firmware | wc -l") == "0\n")
            let (sysCode, _, _) = try await a.exec("locked", "default", ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"])
            #expect(sysCode != 0)
        }
    }

    @Test func runAsUserAndGroup() async throws {
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: users}
            spec:
              terminationGracePeriodSeconds: 1
              securityContext: {runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [4000]}
              containers:
              - name: app
                image: busybox
                command: ["sleep", "3600"]
              - name: other
                image: busybox
                command: ["sleep", "3600"]
                securityContext: {runAsUser: 2000}
            """
            try a.apply("pod.yaml", yaml)
            try await a.waitRunning("users")
            #expect(try await a.sh("users", "app", "id -u; id -g; id -G") == "1000\n1000\n1000 4000\n")
            #expect(try await a.sh("users", "other", "id -u") == "2000\n")
            // A non-root user has no effective capabilities.
            #expect(try await a.sh("users", "app", "grep CapEff /proc/self/status").contains("0000000000000000"))
        }
    }

    @Test func runAsNonRootRefusesARootImage() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("nonroot", containers: [("c", "sleep 3600")], extra: "  securityContext: {runAsNonRoot: true}"))
            let p = try await a.wait("nonroot", "CreateContainerConfigError") { a.status($0, "c")?.state?.waiting?.reason == "CreateContainerConfigError" }
            #expect(a.status(p, "c")?.state?.waiting?.message?.contains("container has runAsNonRoot and image will run as root") == true)
        }
    }

    @Test func execReturnsTheExitCodeAndPassesStdin() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("ex", containers: [("c", "sleep 3600")]))
            try await a.waitRunning("ex")
            #expect(try await a.exec("ex", "c", ["sh", "-c", "exit 42"]).0 == 42)
            #expect(try await a.exec("ex", "c", ["true"]).0 == 0)
            let (code, out, _) = try await a.exec("ex", "c", ["cat"], stdin: Array("piped\n".utf8))
            #expect(code == 0 && out == "piped\n")
            let (_, _, err) = try await a.exec("ex", "c", ["sh", "-c", "echo to-stderr >&2"])
            #expect(err == "to-stderr\n")
            // An exec'd process joins the container: same mount and PID namespace.
            #expect(try await a.sh("ex", "c", "cat /proc/1/comm") == "sleep\n")
            await #expect(throws: (any Error).self) { try await a.exec("ex", "nope", ["true"]) }
        }
    }

    @Test func logsAreCRIFormattedAndRotated() async throws {
        try await withAgent(logMaxSize: 4096, logMaxFiles: 2) { a in
            let script = "echo out-line; echo err-line >&2; printf 'no newline'; sleep 0.2; echo; i=0; while [ $i -lt 300 ]; do echo filler-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo last-line; exec sleep 3600"
            try a.apply("pod.yaml", podYAML("logger", containers: [("c", script)]))
            try await a.waitRunning("logger")
            try await waitUntil { ((try? await a.logs("logger")) ?? "").contains("last-line") }
            let pod = try #require(try await a.pod("logger"))
            let dir = "\(a.dataDir)/logs/default_logger_\(pod.metadata.uid ?? "")/c"
            let files = try FileSystem.listDirectory(dir)
            #expect(files.contains("0.log") && files.contains("0.log.1") && files.contains("0.log.2"))
            #expect(!files.contains("0.log.3"))
            let rotated = try FileSystem.readString(dir + "/0.log.2") + FileSystem.readString(dir + "/0.log.1")
            let pattern = try Regex(#"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] "#)
            for line in rotated.split(separator: "\n") { #expect(line.firstMatch(of: pattern) != nil, "bad CRI line: \(line)") }
            for f in files { #expect(try FileSystem.read(dir + "/" + f).count <= 4096) }
            let tail = try await a.logs("logger", query: "tailLines=2")
            #expect(tail == "filler-299-xxxxxxxxxxxxxxxxxxxxxxxx\nlast-line\n")
            let stamped = try await a.logs("logger", query: "tailLines=1&timestamps=true")
            #expect(stamped.firstMatch(of: try Regex(#"^\d{4}-\d\d-\d\dT[0-9:.]+Z last-line\n$"#)) != nil)
        }
    }

    @Test func logsKeepEarlyLinesAndJoinPartialOnes() async throws {
        try await withAgent { a in
            try a.apply("pod.yaml", podYAML("early", containers: [("c", "echo out-line; echo err-line >&2; printf 'part1-'; sleep 0.3; echo part2; exec sleep 3600")]))
            try await a.waitRunning("early")
            try await waitUntil { ((try? await a.logs("early")) ?? "").contains("part2") }
            // stdout and stderr are separate pipes: their relative order is not defined.
            let logs = try await a.logs("early")
            #expect(logs.split(separator: "\n").sorted() == ["err-line", "out-line", "part1-part2"])
        }
    }
}

/// Waits until `condition` is true (up to `timeout` seconds).
func waitUntil(timeout: Double = 15, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw TestFailure("condition not met within \(timeout)s")
}
