import Testing
import ShoalOS
import Logging
@testable import ShoalRuntime
#if canImport(Glibc)
import Glibc
#endif

/// A busybox layer made straight from the host's busybox-static, for runtime-level tests that
/// don't need the image store. Kept beside the test image (in .build), not on the host's /tmp.
func busyboxLayer() throws -> String {
    let dir = FileSystem.dirname(testImage) + "/layer-busybox"
    if FileSystem.exists(dir + "/bin/sh") { return dir }
    let tmp = dir + ".tmp-\(getpid())"
    try FileSystem.createDirectory(tmp + "/bin")
    for d in ["etc", "tmp", "proc", "sys", "dev", "root"] { try FileSystem.createDirectory(tmp + "/" + d) }
    try FileSystem.writeAtomically(tmp + "/bin/busybox", try FileSystem.read("/bin/busybox"), mode: 0o755)
    for applet in ["sh", "cat", "echo", "ls", "id", "hostname", "sleep", "mount", "unshare", "grep", "readlink", "stat", "wc", "touch", "true"] {
        symlink("busybox", tmp + "/bin/" + applet)
    }
    try FileSystem.writeAtomically(tmp + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    if rename(tmp, dir) != 0 { try FileSystem.removeTree(tmp) }
    return dir
}

@Test func runtimeRunsARealContainer() async throws {
    let layer = try busyboxLayer()
    let dir = "/tmp/shoal-test-rt-\(getpid())"
    try FileSystem.createDirectory(dir, mode: 0o700)
    let cgroups = try Cgroups.detect(parent: "shoal-test-\(getpid())")
    let config = PodSandboxConfig(uid: "rt-\(getpid())", hostname: "rtpod", hostNetwork: false, shareProcessNamespace: false, directory: dir + "/pod")
    let sandbox = try await PodSandbox.create(config, cgroups: cgroups, launcher: SandboxLauncher(executable: FileSystem.executableDirectory() + "/shoal-sandbox"), logger: Logger(label: "test"))
    let exits = Locked<[SandboxProcess]>([])
    sandbox.client.onExit { p in exits.withLock { $0.append(p) } }
    defer { try? FileSystem.removeTree(dir) }
    for d in ["upper", "work", "rootfs"] { try FileSystem.createDirectory(dir + "/c/" + d) }
    let script = "echo uid=$(id -u); hostname; cat /proc/self/status | grep -E 'CapEff|NoNewPrivs'; ls /dev; echo pid=$$; mount -t tmpfs x /mnt 2>&1 || echo mountfail; touch /x && echo rootrw"
    let launch = ContainerLaunch(
        rootfs: .init(layers: [layer], upper: dir + "/c/upper", work: dir + "/c/work", mountpoint: dir + "/c/rootfs"),
        mounts: [], sharedMemory: config.shmPath, argv: ["sh", "-c", script], env: ["PATH=/bin"], workingDir: "/",
        identity: .init(uid: 0, gid: 0), security: .init(capabilities: 0xa80425fb, lastCapability: 40, seccomp: nil), cgroupProcsFiles: 0)
    let p = try await sandbox.startContainer(name: "c", instanceID: "c-0", launch: launch, resources: CgroupResources(memoryLimit: 64 << 20),
                                             log: .log(path: dir + "/c.log", maxSize: 1 << 20, maxFiles: 1))
    #expect(p.pid > 0)
    for _ in 0..<200 where exits.current.isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
    let log = (try? FileSystem.readString(dir + "/c.log")) ?? ""
    print(log)
    #expect(exits.current.first?.exitCode == 0)
    #expect(log.contains("stdout F uid=0"))
    #expect(log.contains("stdout F rtpod"))
    #expect(log.contains("CapEff:\t00000000a80425fb"))
    #expect(log.contains("NoNewPrivs:\t1"))
    #expect(log.contains("stdout F pid=1"))
    #expect(log.contains("mountfail"))
    #expect(log.contains("rootrw"))
    sandbox.removeContainerCgroup("c")
    await sandbox.destroy()
    #expect(!cgroups.exists(config.cgroupPath))
    cgroups.removeRoot()
    #expect(!cgroups.exists(""))
    #expect(HostMounts.mountPoints(under: dir).isEmpty)
}
