import Testing
import ShoalOS
@testable import ShoalRuntime
#if canImport(Glibc)
import Glibc
#endif

@Test func sandboxSpawnsAndLogs() async throws {
    let dir = "/tmp/shoal-smoke-\(getpid())"
    try FileSystem.createDirectory(dir, mode: 0o700)
    defer { try? FileSystem.removeTree(dir) }
    let launcher = SandboxLauncher(executable: FileSystem.executableDirectory() + "/shoal-sandbox")
    let started = try await launcher.start(.init(hostname: "smoke", cloneFlags: LinuxFlags.newNet | LinuxFlags.newUTS | LinuxFlags.newIPC,
        socketPath: dir + "/sandbox.sock", logPath: dir + "/sandbox.log", cgroup: nil))
    let client = try SandboxClient(connectingTo: dir + "/sandbox.sock", label: "smoke")
    let exits = Locked<[SandboxProcess]>([])
    client.onExit { p in exits.withLock { $0.append(p) } }
    let p = try await client.spawn(SpawnRequest(id: "c1", cloneFlags: LinuxFlags.newPID, program: Program([
        .exec(file: "sh", argv: ["sh", "-c", "echo hello; hostname; echo oops >&2; exit 3"], env: ["PATH=/bin:/usr/bin"])
    ]), output: .log(path: dir + "/c1.log", maxSize: 1 << 20, maxFiles: 2)))
    #expect(p.pid > 0)
    for _ in 0..<100 where exits.current.isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
    let exited = try #require(exits.current.first)
    #expect(exited.exitCode == 3)
    let log = try FileSystem.readString(dir + "/c1.log")
    print(log)
    #expect(log.contains("stdout F hello"))
    #expect(log.contains("stdout F smoke"))
    #expect(log.contains("stderr F oops"))
    do {
        _ = try await client.spawn(SpawnRequest(id: "c2", cloneFlags: 0, program: Program([
            .chdir(path: "/nonexistent"), .exec(file: "true", argv: ["true"], env: [])
        ]), output: .fds(stdout: nil, stderr: nil)))
        Issue.record("expected failure")
    } catch {
        print(error)
        #expect("\(error)".contains("chdir to working directory /nonexistent: ENOENT"))
    }
    let listed = try await client.list()
    #expect(listed.count == 2)
    try await client.shutdown()
    let r = await SandboxLauncher.reap(started)
    #expect(r.exitCode == 0)
}
