import CShimsWire
import Testing
@testable import ShoalRuntime

@Suite struct ContainerProgramTests {
    static func launch(noNewPrivileges: Bool = true, seccomp: [UInt8]? = [1, 2, 3, 4, 5, 6, 7, 8], readOnlyRoot: Bool = false,
                       mounts: [ContainerLaunch.Mount] = [], privileged: Bool = false, tty: Bool = false) -> ContainerLaunch {
        ContainerLaunch(
            rootfs: .init(layers: ["/l/bottom", "/l/top"], upper: "/c/upper", work: "/c/work", mountpoint: "/c/rootfs", readOnly: readOnlyRoot),
            mounts: mounts, sharedMemory: "/p/shm", argv: ["sh", "-c", "true"], env: ["PATH=/bin"], workingDir: "/work",
            identity: .init(uid: 1000, gid: 1000, groups: [10]),
            security: .init(privileged: privileged, capabilities: 0xa80425fb, lastCapability: 40, noNewPrivileges: noNewPrivileges, seccomp: seccomp),
            tty: tty, cgroupProcsFiles: 2)
    }

    func index(_ ops: [ProgramOp], _ match: (ProgramOp) -> Bool) -> Int? { ops.firstIndex(where: match) }

    @Test func cgroupFirstExecLast() {
        let ops = ContainerProgramBuilder.build(Self.launch()).ops
        #expect(ops[0] == .cgroupEnter(fdIndex: 0))
        #expect(ops[1] == .cgroupEnter(fdIndex: 1))
        #expect(ops.last == .exec(file: "sh", argv: ["sh", "-c", "true"], env: ["PATH=/bin"]))
    }

    @Test func overlayStacksTopLayerFirst() {
        let ops = ContainerProgramBuilder.build(Self.launch()).ops
        #expect(ops.contains(.mount(source: "overlay", target: "/c/rootfs", fstype: "overlay", flags: 0,
                                    data: "lowerdir=/l/top:/l/bottom,upperdir=/c/upper,workdir=/c/work", inRoot: false)))
    }

    @Test func mountNamespaceTurnsSlaveBeforeAnyMount() throws {
        let ops = ContainerProgramBuilder.build(Self.launch()).ops
        let slave = try #require(index(ops) { if case .mount(nil, "/", nil, _, nil, false) = $0 { return true }; return false })
        let overlay = try #require(index(ops) { if case .mount("overlay", _, _, _, _, _) = $0 { return true }; return false })
        #expect(slave < overlay)
    }

    @Test func maskedPathsAfterPivotAndNotWhenPrivileged() throws {
        let ops = ContainerProgramBuilder.build(Self.launch()).ops
        let pivot = try #require(ops.firstIndex(of: .pivotRoot))
        let mask = try #require(ops.firstIndex(of: .mask(path: "/proc/kcore")))
        #expect(pivot < mask)
        #expect(ops.contains(.readonly(path: "/proc/sys")))
        let privileged = ContainerProgramBuilder.build(Self.launch(privileged: true)).ops
        #expect(!privileged.contains(.mask(path: "/proc/kcore")))
        #expect(privileged.contains { if case .mount("sysfs", "/sys", "sysfs", let f, _, true) = $0 { return f & UInt(MS_RDONLY) == 0 }; return false })
    }

    @Test func seccompLastWithNoNewPrivileges() throws {
        let ops = ContainerProgramBuilder.build(Self.launch(noNewPrivileges: true)).ops
        let nnp = try #require(ops.firstIndex(of: .noNewPrivileges))
        let seccomp = try #require(index(ops) { if case .seccomp = $0 { return true }; return false })
        let ids = try #require(index(ops) { if case .setIDs = $0 { return true }; return false })
        #expect(ids < nnp && nnp < seccomp && seccomp == ops.count - 2)
    }

    @Test func seccompBeforeCapabilityDropWithoutNoNewPrivileges() throws {
        let ops = ContainerProgramBuilder.build(Self.launch(noNewPrivileges: false)).ops
        #expect(!ops.contains(.noNewPrivileges))
        let seccomp = try #require(index(ops) { if case .seccomp = $0 { return true }; return false })
        let bounding = try #require(index(ops) { if case .boundingSet = $0 { return true }; return false })
        #expect(seccomp < bounding)
    }

    @Test func unconfinedHasNoFilter() {
        let ops = ContainerProgramBuilder.build(Self.launch(seccomp: nil)).ops
        #expect(!ops.contains { if case .seccomp = $0 { return true }; return false })
    }

    @Test func readOnlyRootRemountsAfterPivot() throws {
        let ops = ContainerProgramBuilder.build(Self.launch(readOnlyRoot: true)).ops
        let pivot = try #require(ops.firstIndex(of: .pivotRoot))
        let ro = try #require(ops.firstIndex(of: .mountAttr(target: "/", set: 1, clear: 0, propagation: 0, recursive: false, inRoot: false)))
        #expect(pivot < ro)
    }

    @Test func volumesFollowTheirPropagation() throws {
        let mounts: [ContainerLaunch.Mount] = [
            .init(source: "/v/a", destination: "/a", propagation: .none),
            .init(source: "/v/b", destination: "/b", readOnly: true, propagation: .hostToContainer),
            .init(source: "/v/c", destination: "/c", propagation: .bidirectional),
            .init(source: "/v/f", destination: "/etc/hosts", isDirectory: false),
        ]
        let ops = ContainerProgramBuilder.build(Self.launch(mounts: mounts)).ops
        #expect(ops.contains(.mountAttr(target: "/a", set: 0, clear: 0, propagation: UInt64(MS_PRIVATE), recursive: true, inRoot: true)))
        #expect(ops.contains(.mountAttr(target: "/b", set: 0, clear: 0, propagation: UInt64(MS_SLAVE), recursive: true, inRoot: true)))
        #expect(ops.contains(.mountAttr(target: "/b", set: 1, clear: 0, propagation: 0, recursive: false, inRoot: true)))
        // Bidirectional: cloned before the namespace turns slave, moved into place later.
        let clone = try #require(ops.firstIndex(of: .openTree(source: "/v/c", slot: 0, recursive: true)))
        let slave = try #require(index(ops) { if case .mount(nil, "/", nil, _, nil, false) = $0 { return true }; return false })
        #expect(clone < slave)
        #expect(ops.contains(.moveMount(slot: 0, target: "/c", inRoot: true)))
        #expect(!ops.contains { if case .mount("/v/c", _, _, _, _, _) = $0 { return true }; return false })
        #expect(ops.contains(.mkfile(path: "/etc/hosts", mode: 0o644, inRoot: true)))
    }

    @Test func ttyGetsControllingTerminal() {
        let ops = ContainerProgramBuilder.build(Self.launch(tty: true)).ops
        #expect(ops.contains(.setsid(controllingTerminal: true)))
    }

    @Test func encodingMatchesTheCLayout() {
        let program = Program([.mkdir(path: "/a", mode: 0o755, inRoot: true), .seccomp(bpf: [1, 2, 3, 4, 5, 6, 7, 8]),
                               .exec(file: "sh", argv: ["sh"], env: [])])
        let bytes = program.encoded()
        #expect(bytes.count % 8 == 0)
        #expect(MemoryLayout<sh_op>.size == 48)
        let header = bytes.withUnsafeBytes { $0.load(as: sh_program_header.self) }
        #expect(header.magic == SH_PROGRAM_MAGIC)
        #expect(header.nops == 3)
        #expect(Int(header.size) == bytes.count)
        // First op: mkdir with one string "/a" → 48 + 3 bytes, padded to 56.
        let first = bytes.withUnsafeBytes { $0.load(fromByteOffset: 16, as: sh_op.self) }
        #expect(first.code == SH_OP_MKDIR.rawValue)
        #expect(first.size == 56)
        #expect(first.nstr == 1)
        #expect(first.arg.3 == Int64(SH_IN_ROOT))
        let second = bytes.withUnsafeBytes { $0.load(fromByteOffset: 16 + 56, as: sh_op.self) }
        #expect(second.code == SH_OP_SECCOMP.rawValue && second.blob_len == 8 && second.size == 56)
    }

    @Test func stepSummariesNameTheStep() {
        #expect(ProgramOp.chdir(path: "/x").summary == "chdir to working directory /x")
        #expect(ProgramOp.mount(source: "overlay", target: "/r", fstype: "overlay", flags: 0, data: nil, inRoot: false).summary == "mount overlay on /r")
        #expect(ProgramOp.mount(source: "/h", target: "/d", fstype: nil, flags: UInt(MS_BIND), data: nil, inRoot: true).summary == "bind mount /h on /d")
    }
}
