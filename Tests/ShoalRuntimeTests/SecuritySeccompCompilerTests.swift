import CShims
import Foundation
import Testing

@testable import ShoalRuntime

@Suite struct SecuritySeccompCompilerTests {
    let profile = SeccompProfile.dockerDefault
    let withSysAdmin = Capabilities.containerdDefault.union(Capabilities([.sysAdmin]))

    @Test func planResolvesConditions() throws {
        let plain = try SeccompFilterPlan(profile: profile, capabilities: .containerdDefault, arch: .amd64, kernel: .init(major: 6, minor: 1))
        #expect(plain.architectures == ["x86_64", "x86", "x32"])
        #expect(plain.defaultAction == .init(kind: SH_SCMP_ACT_ERRNO.rawValue, data: 1))
        let names = Set(plain.rules.map(\.syscall))
        #expect(names.contains("arch_prctl") && names.contains("modify_ldt"))
        #expect(!names.contains("unshare") && !names.contains("mount") && !names.contains("set_tls"))
        #expect(names.contains("chroot"), "CAP_SYS_CHROOT is a default capability")
        #expect(names.contains("ptrace"), "allowed from kernel 4.8 on")
        let clone = plain.rules.filter { $0.syscall == "clone" }
        #expect(clone.count == 1)
        #expect(clone.first?.conditions == [.init(index: 0, op: SH_SCMP_CMP_MASKED_EQ.rawValue, value: 0x7E02_0000, valueTwo: 0)])
        #expect(plain.rules.contains { $0.syscall == "clone3" && $0.action.data == 38 })

        let admin = try SeccompFilterPlan(profile: profile, capabilities: withSysAdmin, arch: .amd64, kernel: .init(major: 6, minor: 1))
        #expect(admin.rules.contains { $0.syscall == "unshare" && $0.conditions.isEmpty })
        #expect(admin.rules.filter { $0.syscall == "clone" }.map(\.conditions) == [[]])
        #expect(!admin.rules.contains { $0.syscall == "clone3" && $0.action.kind == SH_SCMP_ACT_ERRNO.rawValue })

        let oldKernel = try SeccompFilterPlan(profile: profile, capabilities: .containerdDefault, arch: .amd64, kernel: .init(major: 4, minor: 4))
        #expect(!oldKernel.rules.contains { $0.syscall == "ptrace" })

        let arm = try SeccompFilterPlan(profile: profile, capabilities: .containerdDefault, arch: .arm64, kernel: nil)
        #expect(arm.architectures == ["aarch64", "arm"])
        let armNames = Set(arm.rules.map(\.syscall))
        #expect(armNames.contains("set_tls") && !armNames.contains("arch_prctl"))
    }

    @Test func compiles() throws {
        let compiler = SeccompCompiler()
        let program = try compiler.program(profile: profile, capabilities: .containerdDefault, arch: .amd64)
        #expect(!program.bytes.isEmpty)
        #expect(program.bytes.count % 8 == 0)
        #expect(program.instructionCount <= 4096)
        #expect(program.loadFlags == 0)
        let admin = try compiler.compile(profile: profile, capabilities: withSysAdmin, arch: .amd64)
        #expect(admin.count % 8 == 0)
        #expect(admin != program.bytes)
        // Capabilities the profile does not mention do not change the program.
        let netAdmin = try compiler.compile(
            profile: profile, capabilities: Capabilities.containerdDefault.union(Capabilities([.netAdmin])), arch: .amd64)
        #expect(netAdmin == program.bytes)
        let arm = try compiler.compile(profile: profile, capabilities: .containerdDefault, arch: .arm64)
        #expect(!arm.isEmpty && arm.count % 8 == 0 && arm != program.bytes)
        #expect(compiler.cachedCount == 4)
        #expect(try SeccompCompiler.compile(profile: profile, capabilities: .containerdDefault, arch: .amd64) == program.bytes)
    }

    @Test func unknownSyscallsAreSkippedAndReported() throws {
        var p = SeccompProfile(defaultAction: .errno, syscalls: [
            .init(names: ["read", "shoal_no_such_syscall", "write"], action: .allow),
        ])
        let program = try SeccompCompiler().program(profile: p, capabilities: .none, arch: .amd64)
        #expect(program.unknownSyscalls == ["shoal_no_such_syscall"])
        p.syscalls?[0].action = .notify
        #expect(throws: SeccompError.unsupported("SCMP_ACT_NOTIFY")) {
            try SeccompCompiler().compile(profile: p, capabilities: .none, arch: .amd64)
        }
    }

    @Test func compileTime() throws {
        let compiler = SeccompCompiler()
        let clock = ContinuousClock()
        let first = try clock.measure { _ = try compiler.compile(profile: profile, capabilities: .containerdDefault) }
        var cached = Duration.zero
        for _ in 0..<1000 {
            cached += try clock.measure { _ = try compiler.compile(profile: profile, capabilities: .containerdDefault) }
        }
        let again = try clock.measure { _ = try compiler.compile(profile: profile, capabilities: withSysAdmin) }
        var plan: SeccompFilterPlan?
        let resolve = try clock.measure {
            plan = try SeccompFilterPlan(profile: profile, capabilities: .containerdDefault, arch: .host, kernel: KernelVersion.running)
        }
        var size = 0
        let build = try clock.measure { size = try plan?.compile().instructionCount ?? 0 }
        print("seccomp compile of Docker's default profile: first \(first), second caps set \(again), cached \(cached / 1000) per call; of which resolving \(resolve), libseccomp \(build); \(size) BPF instructions")
        #expect(cached / 1000 < first)
    }

    /// Runs the compiled BPF through an interpreter for every syscall of every ABI of the filter
    /// and checks the verdict against the profile's rules as resolved in Swift: the cross-check
    /// that libseccomp built what the plan says, including the x86 and x32 sub-architectures.
    @Test(arguments: [false, true])
    func bpfMatchesThePlan(sysAdmin: Bool) throws {
        let caps = sysAdmin ? withSysAdmin : .containerdDefault
        let plan = try SeccompFilterPlan(profile: profile, capabilities: caps, arch: .amd64, kernel: KernelVersion.running)
        let bpf = try plan.compile().bytes
        let extra = ["keyctl", "add_key", "request_key", "kexec_load", "open_by_handle_at", "userfaultfd", "nfsservctl"]
        let allNames = Set((profile.syscalls ?? []).flatMap { $0.names ?? [] } + extra)

        var checked = 0
        for arch in ["x86_64", "x86", "x32"] {
            let auditArch = sh_seccomp_audit_arch(arch)
            #expect(auditArch != 0)
            var byNumber: [Int32: [String]] = [:]
            for name in allNames {
                let nr = sh_seccomp_syscall_number(arch, name)
                if nr >= 0 { byNumber[nr, default: []].append(name) }
            }
            for (nr, names) in byNumber {
                for args in argumentSamples(names) {
                    let data = SeccompData(nr: nr, arch: auditArch, args: arch == "x86" ? args.map { $0 & 0xffff_ffff } : args)
                    let got = try runSeccompBPF(bpf, on: data)
                    let want = expectedRet(plan, names: names, args: data.args)
                    #expect(got == want, "\(arch) \(names) args \(args.prefix(2)): got \(hex(got)) want \(hex(want))")
                    checked += 1
                }
            }
        }
        print("bpf cross-check: \(checked) verdicts")
        #expect(checked > 900)
        // An architecture the filter does not cover is killed, whatever the syscall.
        let foreign = SeccompData(nr: 0, arch: sh_seccomp_audit_arch("aarch64"))
        #expect(try runSeccompBPF(bpf, on: foreign) == SeccompRet.killThread)
    }

    private func argumentSamples(_ names: [String]) -> [[UInt64]] {
        var firsts: [UInt64] = [0]
        if names.contains("socket") { firsts = Array(0...50) + [0xffff_ffff] }
        if names.contains("personality") { firsts = [0, 8, 0x20000, 0x20008, 0xffff_ffff, 0x40000, 1, 0x0400_0000] }
        if names.contains("clone") {
            // SIGCHLD; threads; each namespace flag; and CLONE_NEWNS | SIGCHLD.
            firsts = [0x11, 0x3d0f00, 0x20000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000, 0x20011]
        }
        return firsts.map { [$0, $0, 0, 0, 0, 0] }
    }

    private func expectedRet(_ plan: SeccompFilterPlan, names: [String], args: [UInt64]) -> UInt32 {
        let rules = plan.rules.filter { names.contains($0.syscall) }
        if let rule = rules.first(where: { $0.conditions.isEmpty }) { return ret(rule.action) }
        for rule in rules where rule.conditions.allSatisfy({ holds($0, args[Int($0.index)]) }) {
            return ret(rule.action)
        }
        return ret(plan.defaultAction)
    }

    private func holds(_ c: SeccompFilterPlan.Condition, _ arg: UInt64) -> Bool {
        switch c.op {
        case SH_SCMP_CMP_NE.rawValue: arg != c.value
        case SH_SCMP_CMP_LT.rawValue: arg < c.value
        case SH_SCMP_CMP_LE.rawValue: arg <= c.value
        case SH_SCMP_CMP_EQ.rawValue: arg == c.value
        case SH_SCMP_CMP_GE.rawValue: arg >= c.value
        case SH_SCMP_CMP_GT.rawValue: arg > c.value
        default: arg & c.value == c.valueTwo
        }
    }

    private func ret(_ action: SeccompFilterPlan.Action) -> UInt32 {
        switch action.kind {
        case SH_SCMP_ACT_ALLOW.rawValue: SeccompRet.allow
        case SH_SCMP_ACT_ERRNO.rawValue: SeccompRet.errno(action.data)
        case SH_SCMP_ACT_KILL_PROCESS.rawValue: SeccompRet.killProcess
        default: SeccompRet.killThread
        }
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
