import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// Volumes and mounts as a user writes them: emptyDir (disk and Memory), hostPath with its
/// type checks, readOnly, subPath, read-only root filesystems.
@Suite(.enabled(if: isRoot, "needs root"))
struct VolumeTests {
    @Test func memoryEmptyDirSubPathAndReadOnlyMounts() async throws {
        let host = try scratchDirectory("ro")
        defer { try? FileSystem.removeTree(host) }
        try FileSystem.writeAtomically(host + "/given", "from-host\n")
        try await withAgent { a in
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: vols}
            spec:
              terminationGracePeriodSeconds: 1
              volumes:
              - name: mem
                emptyDir: {medium: Memory, sizeLimit: 8Mi}
              - name: host
                hostPath: {path: \(host), type: Directory}
              containers:
              - name: writer
                image: busybox
                command: ["sh", "-c", "mkdir -p /mem/sub && echo in-sub > /mem/sub/f && exec sleep 3600"]
                volumeMounts:
                - {name: mem, mountPath: /mem}
                - {name: host, mountPath: /host, readOnly: true}
              - name: reader
                image: busybox
                command: ["sleep", "3600"]
                securityContext: {readOnlyRootFilesystem: true}
                volumeMounts:
                - {name: mem, mountPath: /only-sub, subPath: sub}
                - {name: host, mountPath: /host}
            """
            try a.apply("pod.yaml", yaml)
            let pod = try await a.waitRunning("vols")
            let uid = try #require(pod.metadata.uid)
            // A Memory emptyDir is a tmpfs of its sizeLimit, on the host and in the container.
            let tmpfs = "\(a.dataDir)/pods/\(uid)/volumes/mem"
            #expect(HostMounts.mountPoints(under: a.dataDir).contains(tmpfs))
            #expect(try await a.sh("vols", "writer", "df -k /mem | tail -1 | awk '{print $2}'") == "8192\n")
            try await waitUntil { (try? await a.sh("vols", "reader", "cat /only-sub/f")) == "in-sub\n" }
            // subPath exposes the subdirectory only.
            #expect(try await a.sh("vols", "reader", "ls /only-sub") == "f\n")
            // readOnly: the same hostPath is read-only in one container, writable in the other.
            #expect(try await a.sh("vols", "writer", "cat /host/given") == "from-host\n")
            let (roCode, _, roErr) = try await a.exec("vols", "writer", ["touch", "/host/x"])
            #expect(roCode != 0 && roErr.contains("Read-only file system"))
            _ = try await a.sh("vols", "reader", "echo from-pod > /host/written")
            #expect(try FileSystem.readString(host + "/written") == "from-pod\n")
            // readOnlyRootFilesystem: nothing in the root is writable, volumes still are.
            let (rootCode, _, rootErr) = try await a.exec("vols", "reader", ["touch", "/file"])
            #expect(rootCode != 0 && rootErr.contains("Read-only file system"))
            _ = try await a.sh("vols", "writer", "touch /file-in-writer")

            // Removing the pod unmounts the tmpfs and removes the emptyDir; the hostPath stays.
            a.remove("pod.yaml")
            try await a.waitGone("vols")
            #expect(!FileSystem.exists("\(a.dataDir)/pods/\(uid)"))
            #expect(HostMounts.mountPoints(under: a.dataDir).isEmpty)
            #expect(FileSystem.exists(host + "/written"))
        }
    }

    @Test func hostPathTypeChecksAsTheKubeletDoes() async throws {
        let base = try scratchDirectory("types")
        defer { try? FileSystem.removeTree(base) }
        try FileSystem.writeAtomically(base + "/a-file", "x")
        let socketPath = base + "/a.sock"
        let listener = try UnixSocket.listen(path: socketPath, type: Int32(SOCK_STREAM.rawValue))
        defer { listener.close() }
        try await withAgent { a in
            // Every check that passes, in one pod; *OrCreate make what is missing.
            let good = """
            apiVersion: v1
            kind: Pod
            metadata: {name: good}
            spec:
              terminationGracePeriodSeconds: 1
              volumes:
              - {name: d, hostPath: {path: \(base), type: Directory}}
              - {name: doc, hostPath: {path: \(base)/made-dir/x, type: DirectoryOrCreate}}
              - {name: f, hostPath: {path: \(base)/a-file, type: File}}
              - {name: foc, hostPath: {path: \(base)/made/file, type: FileOrCreate}}
              - {name: s, hostPath: {path: \(socketPath), type: Socket}}
              - {name: c, hostPath: {path: /dev/null, type: CharDevice}}
              - {name: any, hostPath: {path: \(base)/untyped}}
              containers:
              - name: c
                image: busybox
                command: ["sleep", "3600"]
                volumeMounts:
                - {name: d, mountPath: /d}
                - {name: doc, mountPath: /doc}
                - {name: f, mountPath: /f}
                - {name: foc, mountPath: /foc}
                - {name: s, mountPath: /s}
                - {name: c, mountPath: /c}
                - {name: any, mountPath: /any}
            """
            try a.apply("good.yaml", good)
            try await a.waitRunning("good")
            #expect(FileSystem.isDirectory(base + "/made-dir/x"))
            #expect(FileSystem.fileType(base + "/made/file") == S_IFREG)
            #expect(try await a.sh("good", "c", "test -f /f && test -d /doc && test -f /foc && test -S /s && test -c /c && test -d /any && echo ok") == "ok\n")

            // Each failing check keeps its pod in ContainerCreating with a FailedMount event.
            let failing: [(String, String, String)] = [
                ("nodir", "path: \(base)/missing, type: Directory", "is not a directory"),
                ("notfile", "path: \(base), type: File", "is not a file"),
                ("notsock", "path: \(base)/a-file, type: Socket", "is not a socket file"),
                ("notblock", "path: /dev/null, type: BlockDevice", "is not a block device"),
                ("notchar", "path: \(base), type: CharDevice", "is not a character device"),
            ]
            for (name, source, _) in failing {
                try a.apply("\(name).yaml", podYAML(name, containers: [("c", "sleep 3600")], volumes: "  - {name: v, hostPath: {\(source)}}",
                                                     containerExtra: "    volumeMounts: [{name: v, mountPath: /v}]"))
            }
            for (name, _, detail) in failing {
                let p = try await a.wait(name, "ContainerCreating") { a.status($0, "c")?.state?.waiting?.reason == "ContainerCreating" }
                #expect(p.status?.phase == .pending)
                try await waitUntil {
                    try await a.events(name).contains { $0.reason == "FailedMount" && ($0.message ?? "").contains(detail) }
                }
                let event = try #require(try await a.events(name).first { $0.reason == "FailedMount" })
                #expect(event.message?.hasPrefix("MountVolume.SetUp failed for volume \"v\" : hostPath type check failed: ") == true)
            }
            // The agent retries: once the directory exists, the pod starts.
            try FileSystem.createDirectory(base + "/missing")
            try await a.waitRunning("nodir", timeout: 30)
        }
    }
}

/// A fresh directory under /tmp for one test.
func scratchDirectory(_ tag: String) throws -> String {
    let dir = "/tmp/shoal-it-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileSystem.createDirectory(dir)
    return dir
}
