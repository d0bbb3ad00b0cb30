import Glibc
import ShoalOS
import Testing

@testable import ShoalRuntime

@Suite struct DeviceRuleTests {
    @Test func rulesReadAsDevicesAllowLines() {
        #expect(ContainerLaunch.Security.defaultDeviceRules.map(\.line).prefix(3) == ["c *:* m", "b *:* m", "c 1:3 rwm"])
        #expect(DeviceRule(.char, 136, nil, [.read, .write]).line == "c 136:* rw")
        #expect(DeviceRule(.all, nil, nil).line == "a")
    }

    @Test func theProgramChecksEachFieldAndJumpsToTheNextRule() {
        let program = DeviceFilter.program([DeviceRule(.block, nil, nil, .mknod), DeviceRule(.char, 1, 3)])
        // 6 loads, then per rule its checks and "allow", then "deny".
        #expect(program.count == 6 + (1 + 3 + 2) + (3 + 2) + 2)
        let firstRule = Array(program[6..<12])
        #expect(firstRule[0].code == 0x55 && firstRule[0].imm == 1 && firstRule[0].offset == 5)  // type != block: skip the block
        #expect(firstRule[3].code == 0x55 && firstRule[3].offset == 2)  // access beyond mknod: skip
        #expect(firstRule[4].imm == 1 && firstRule[5].code == 0x95)
        #expect(program.last?.code == 0x95 && program[program.count - 2].imm == 0)
        #expect(DeviceFilter.Instruction(code: 0x61, dst: 2, src: 1, offset: 4, imm: -1).bytes == [0x61, 0x12, 4, 0, 0xff, 0xff, 0xff, 0xff])
    }
}

/// The cgroup v2 device filter in the real kernel: a child moved into a cgroup2 directory with
/// the default rules attached may make any node but open only the standard devices. Hybrid
/// hosts (like CI's) have the cgroup2 tree at /sys/fs/cgroup/unified, unified ones at
/// /sys/fs/cgroup.
private let cgroup2Root: String? = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].first {
    FileSystem.exists($0 + "/cgroup.procs") && FileSystem.exists($0 + "/cgroup.controllers")
}

@Suite(.enabled(if: getuid() == 0 && cgroup2Root != nil, "needs root and a cgroup2 mount"))
struct DeviceFilterKernelTests {

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Runs `script` in a shell that first moves itself into `cgroup`.
    func run(in cgroup: String, _ script: String) async throws -> HostCommand.Output {
        try await HostCommand("/bin/sh", ["-c", "echo $$ > \(cgroup)/cgroup.procs && \(script)"]).run()
    }

    @Test func theDefaultRulesDenyOpeningOtherDevices() async throws {
        let dir = "\(cgroup2Root!)/shoal-devtest-\(getpid())"
        let scratch = "/tmp/shoal-devtest-\(getpid())"
        try FileSystem.createDirectory(dir)
        try FileSystem.createDirectory(scratch)
        defer {
            for node in ["lc", "disk"] { unlink("\(scratch)/\(node)") }
            rmdir(scratch)
            rmdir(dir)
        }
        try CgroupV2Driver.attachDeviceFilter(dir, ContainerLaunch.Security.defaultDeviceRules)
        let standard = try await run(in: dir, "echo x > /dev/null && head -c 4 /dev/urandom | wc -c")
        #expect(standard.succeeded && text(standard.stdout).contains("4"), "\(standard.stderrText)")
        let made = try await run(in: dir, "mknod \(scratch)/lc c 10 237 && mknod \(scratch)/disk b 7 0 && echo made")
        #expect(made.succeeded && text(made.stdout) == "made\n", "\(made.stderrText)")
        let opened = try await run(in: dir, "exec 3<\(scratch)/lc")
        #expect(!opened.succeeded && opened.stderrText.contains("Operation not permitted"), "\(opened.stderrText)")
        let block = try await run(in: dir, "exec 3<\(scratch)/disk")
        #expect(!block.succeeded && block.stderrText.contains("Operation not permitted"), "\(block.stderrText)")
        // Outside the cgroup the same node opens (or fails for another reason than the filter).
        let outside = try await HostCommand("/bin/sh", ["-c", "exec 3<\(scratch)/lc"]).run()
        #expect(!outside.stderrText.contains("Operation not permitted"), "\(outside.stderrText)")
    }
}
