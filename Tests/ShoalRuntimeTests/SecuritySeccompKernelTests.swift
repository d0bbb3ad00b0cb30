import CShims
import Glibc
import Testing

@testable import ShoalRuntime

/// Loads compiled programs into the real kernel, in a child forked by C (sh_seccomp_selftest:
/// forking a multithreaded Swift process and running Swift in the child would not be safe), and
/// checks what the filtered syscalls return. Root is needed for the unconfined baseline, where
/// unshare and mount must get past the capability checks.
@Suite(.enabled(if: getuid() == 0, "needs root"))
struct SecuritySeccompKernelTests {
    static let defaultProgram = Result { try SeccompCompiler.compile(profile: .dockerDefault, capabilities: .containerdDefault) }
    static let adminProgram = Result {
        try SeccompCompiler.compile(
            profile: .dockerDefault, capabilities: Capabilities.containerdDefault.union(Capabilities([.sysAdmin])))
    }

    func run(_ program: [UInt8]?, _ op: sh_seccomp_selftest_op) -> Int32 {
        guard let program else { return sh_seccomp_selftest(nil, 0, Int32(op.rawValue)) }
        return program.withUnsafeBufferPointer { sh_seccomp_selftest($0.baseAddress, $0.count, Int32(op.rawValue)) }
    }

    static let defaultCases: [(sh_seccomp_selftest_op, Int32)] = [
        (SH_SELFTEST_GETPID, 0),
        (SH_SELFTEST_WRITE, 0),
        (SH_SELFTEST_FORK, 0),
        (SH_SELFTEST_SOCKET_INET, 0),
        (SH_SELFTEST_PERSONALITY_QUERY, 0),
        (SH_SELFTEST_UNSHARE_NEWNS, EPERM),
        (SH_SELFTEST_MOUNT, EPERM),
        (SH_SELFTEST_KEYCTL, EPERM),
        (SH_SELFTEST_CLONE_NEWNS, EPERM),
        (SH_SELFTEST_CLONE3, ENOSYS),
        (SH_SELFTEST_SOCKET_VSOCK, EPERM),
        (SH_SELFTEST_SOCKET_ALG, EPERM),
        (SH_SELFTEST_PERSONALITY_NORANDOM, EPERM),
    ]

    @Test(arguments: defaultCases)
    func dockerDefaultInTheKernel(op: sh_seccomp_selftest_op, expected: Int32) throws {
        #expect(run(try Self.defaultProgram.get(), op) == expected)
    }

    /// The same operations without a filter: what the filter changes, it changes.
    static let unconfinedCases: [(sh_seccomp_selftest_op, Int32)] = [
        (SH_SELFTEST_GETPID, 0),
        (SH_SELFTEST_UNSHARE_NEWNS, 0),
        (SH_SELFTEST_MOUNT, ENOENT),
        (SH_SELFTEST_CLONE_NEWNS, 0),
        (SH_SELFTEST_CLONE3, EINVAL),
        (SH_SELFTEST_PERSONALITY_NORANDOM, 0),
    ]

    @Test(arguments: unconfinedCases)
    func unconfined(op: sh_seccomp_selftest_op, expected: Int32) {
        #expect(run(nil, op) == expected)
    }

    /// With CAP_SYS_ADMIN the profile lets namespaces and mounts through (the capability checks
    /// then decide), and clone3 is no longer ENOSYS.
    static let adminCases: [(sh_seccomp_selftest_op, Int32)] = [
        (SH_SELFTEST_UNSHARE_NEWNS, 0),
        (SH_SELFTEST_MOUNT, ENOENT),
        (SH_SELFTEST_CLONE_NEWNS, 0),
        (SH_SELFTEST_CLONE3, EINVAL),
        (SH_SELFTEST_KEYCTL, EPERM),
    ]

    @Test(arguments: adminCases)
    func sysAdminInTheKernel(op: sh_seccomp_selftest_op, expected: Int32) throws {
        #expect(run(try Self.adminProgram.get(), op) == expected)
    }

    @Test func aBrokenProgramIsRefusedByTheKernel() {
        // RET of an unknown class: BPF_LD | BPF_W | BPF_ABS at offset 1 (unaligned) is rejected.
        let bad: [UInt8] = [0x20, 0, 0, 0, 1, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]
        #expect(run(bad, SH_SELFTEST_GETPID) == SH_SECCOMP_SELFTEST_LOAD_FAILED + EINVAL)
    }
}
