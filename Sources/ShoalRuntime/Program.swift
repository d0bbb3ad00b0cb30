import CShimsWire

/// One setup step the sandbox's child carries out between clone3() and execve().
///
/// The agent decides every step and their order (see `ContainerProgramBuilder`); the C side
/// (CShims/sandbox/program.c) executes them and reports the index of a failing step with its
/// errno. Paths marked `inRoot` are resolved inside the container's root with
/// openat2(RESOLVE_IN_ROOT), so symlinks in an image cannot redirect a mount to the host.
public enum ProgramOp: Equatable, Sendable {
    case cgroupEnter(fdIndex: Int)
    case setns(fdIndex: Int, type: Int32)
    case unshare(flags: Int32)
    case mount(source: String?, target: String, fstype: String?, flags: UInt, data: String?, inRoot: Bool)
    case mountAttr(target: String, set: UInt64, clear: UInt64, propagation: UInt64, recursive: Bool, inRoot: Bool)
    case setRoot(path: String)
    case mkdir(path: String, mode: UInt32, inRoot: Bool)
    case mkfile(path: String, mode: UInt32, inRoot: Bool)
    case symlink(content: String, path: String, inRoot: Bool)
    case openTree(source: String, slot: Int, recursive: Bool)
    case moveMount(slot: Int, target: String, inRoot: Bool)
    case pivotRoot
    case mask(path: String)
    case readonly(path: String)
    case chdir(path: String)
    case write(path: String, data: String)
    case noNewPrivileges
    case boundingSet(keep: UInt64, lastCap: Int)
    case setIDs(uid: UInt32, gid: UInt32, groups: [UInt32])
    case capabilities(effective: UInt64, permitted: UInt64, inheritable: UInt64, ambient: UInt64)
    case seccomp(bpf: [UInt8])
    case setsid(controllingTerminal: Bool)
    case umask(UInt32)
    case exec(file: String, argv: [String], env: [String])
    case sethostname(String)
    /// The container's terminal: its devpts' ptmx opened after pivot_root, the slave as stdio, the
    /// master sent over the unix socket at `fdIndex` (see CShims/sandbox/console.c).
    case console(fdIndex: Int, rows: UInt16, cols: UInt16)

    /// How a failure of this step reads in an error message (`mount overlay on /: ENOENT`).
    public var summary: String {
        switch self {
        case .cgroupEnter: return "enter cgroup"
        case .setns(_, let type): return "setns(\(ProgramOp.namespaceName(type)))"
        case .unshare: return "unshare"
        case let .mount(source, target, fstype, flags, _, _):
            if flags & UInt(MS_BIND) != 0 { return "bind mount \(source ?? "") on \(target)" }
            if fstype == nil { return "change propagation of \(target)" }
            return "mount \(fstype ?? "") on \(target)"
        case let .mountAttr(target, _, _, _, _, _): return "set mount attributes of \(target)"
        case let .setRoot(path): return "open root \(path)"
        case let .mkdir(path, _, _): return "mkdir \(path)"
        case let .mkfile(path, _, _): return "create \(path)"
        case let .symlink(_, path, _): return "symlink \(path)"
        case let .openTree(source, _, _): return "clone mount \(source)"
        case let .moveMount(_, target, _): return "move mount to \(target)"
        case .pivotRoot: return "pivot_root"
        case let .mask(path): return "mask \(path)"
        case let .readonly(path): return "make \(path) read-only"
        case let .chdir(path): return "chdir to working directory \(path)"
        case let .write(path, _): return "write \(path)"
        case .noNewPrivileges: return "set no_new_privs"
        case .boundingSet: return "drop capabilities from the bounding set"
        case let .setIDs(uid, gid, _): return "set uid \(uid) gid \(gid)"
        case .capabilities: return "set capabilities"
        case .seccomp: return "load seccomp filter"
        case .setsid: return "setsid"
        case .umask: return "umask"
        case let .exec(file, _, _): return "exec \(file)"
        case let .sethostname(name): return "sethostname \(name)"
        case .console: return "open the container's terminal"
        }
    }

    static func namespaceName(_ type: Int32) -> String {
        switch type {
        case Int32(CLONE_NEWNET): return "net"
        case Int32(CLONE_NEWIPC): return "ipc"
        case Int32(CLONE_NEWUTS): return "uts"
        case Int32(CLONE_NEWPID): return "pid"
        case Int32(CLONE_NEWNS): return "mnt"
        case Int32(CLONE_NEWCGROUP): return "cgroup"
        default: return "ns"
        }
    }
}

// Linux constants the Swift Glibc module imports inconsistently; the values are ABI.
let CLONE_NEWNS: Int64 = 0x0002_0000
let CLONE_NEWCGROUP: Int64 = 0x0200_0000
let CLONE_NEWUTS: Int64 = 0x0400_0000
let CLONE_NEWIPC: Int64 = 0x0800_0000
let CLONE_NEWPID: Int64 = 0x2000_0000
let CLONE_NEWNET: Int64 = 0x4000_0000
let MS_RDONLY: Int64 = 1, MS_NOSUID: Int64 = 2, MS_NODEV: Int64 = 4, MS_NOEXEC: Int64 = 8
let MS_REMOUNT: Int64 = 32, MS_BIND: Int64 = 4096, MS_REC: Int64 = 16384
let MS_PRIVATE: Int64 = 1 << 18, MS_SLAVE: Int64 = 1 << 19, MS_SHARED: Int64 = 1 << 20
let MOUNT_ATTR_RDONLY: UInt64 = 0x1, MOUNT_ATTR_NOSUID: UInt64 = 0x2, MOUNT_ATTR_NODEV: UInt64 = 0x4
let MOUNT_ATTR_NOEXEC: UInt64 = 0x8

/// Linux namespace and mount constants, public for the runtime's callers and tests.
public enum LinuxFlags {
    public static let newNS = CLONE_NEWNS, newCgroup = CLONE_NEWCGROUP, newUTS = CLONE_NEWUTS
    public static let newIPC = CLONE_NEWIPC, newPID = CLONE_NEWPID, newNet = CLONE_NEWNET
}

/// A program as the sandbox reads it: `sh_program_header`, then each `sh_op` (see shoal_wire.h).
public struct Program: Sendable, Equatable {
    public var ops: [ProgramOp]

    public init(_ ops: [ProgramOp]) { self.ops = ops }

    public func encoded() -> [UInt8] {
        var body: [UInt8] = []
        for op in ops { Program.encode(op, into: &body) }
        var out: [UInt8] = []
        let header = MemoryLayout<sh_program_header>.size
        out.reserveCapacity(header + body.count)
        appendInt(&out, UInt32(SH_PROGRAM_MAGIC))
        appendInt(&out, UInt32(SH_WIRE_VERSION))
        appendInt(&out, UInt32(ops.count))
        appendInt(&out, UInt32(header + body.count))
        out += body
        return out
    }

    static func encode(_ op: ProgramOp, into out: inout [UInt8]) {
        var code: Int32 = 0
        var args: [Int64] = [0, 0, 0, 0]
        var strings: [String] = []
        var blob: [UInt8] = []
        func flags(_ inRoot: Bool, recursive: Bool = false) -> Int64 {
            (inRoot ? Int64(SH_IN_ROOT) : 0) | (recursive ? Int64(SH_RECURSIVE) : 0)
        }
        switch op {
        case let .cgroupEnter(fd):
            code = Int32(SH_OP_CGROUP_ENTER.rawValue); args[0] = Int64(fd)
        case let .setns(fd, type):
            code = Int32(SH_OP_SETNS.rawValue); args[0] = Int64(fd); args[1] = Int64(type)
        case let .unshare(f):
            code = Int32(SH_OP_UNSHARE.rawValue); args[0] = Int64(f)
        case let .mount(source, target, fstype, f, data, inRoot):
            code = Int32(SH_OP_MOUNT.rawValue); args[0] = Int64(f); args[3] = flags(inRoot)
            strings = [source ?? "", target, fstype ?? "", data ?? ""]
        case let .mountAttr(target, set, clear, propagation, recursive, inRoot):
            code = Int32(SH_OP_MOUNT_ATTR.rawValue)
            args = [Int64(bitPattern: set), Int64(bitPattern: clear), Int64(bitPattern: propagation), flags(inRoot, recursive: recursive)]
            strings = [target]
        case let .setRoot(path):
            code = Int32(SH_OP_SET_ROOT.rawValue); strings = [path]
        case let .mkdir(path, mode, inRoot):
            code = Int32(SH_OP_MKDIR.rawValue); args[0] = Int64(mode); args[3] = flags(inRoot); strings = [path]
        case let .mkfile(path, mode, inRoot):
            code = Int32(SH_OP_MKFILE.rawValue); args[0] = Int64(mode); args[3] = flags(inRoot); strings = [path]
        case let .symlink(content, path, inRoot):
            code = Int32(SH_OP_SYMLINK.rawValue); args[3] = flags(inRoot); strings = [content, path]
        case let .openTree(source, slot, recursive):
            code = Int32(SH_OP_OPEN_TREE.rawValue); args[0] = Int64(slot); args[3] = flags(false, recursive: recursive)
            strings = [source]
        case let .moveMount(slot, target, inRoot):
            code = Int32(SH_OP_MOVE_MOUNT.rawValue); args[0] = Int64(slot); args[3] = flags(inRoot); strings = [target]
        case .pivotRoot:
            code = Int32(SH_OP_PIVOT_ROOT.rawValue)
        case let .mask(path):
            code = Int32(SH_OP_MASK.rawValue); args[3] = Int64(SH_OPTIONAL); strings = [path]
        case let .readonly(path):
            code = Int32(SH_OP_READONLY.rawValue); args[3] = Int64(SH_OPTIONAL); strings = [path]
        case let .chdir(path):
            code = Int32(SH_OP_CHDIR.rawValue); strings = [path]
        case let .write(path, data):
            code = Int32(SH_OP_WRITE.rawValue); strings = [path, data]
        case .noNewPrivileges:
            code = Int32(SH_OP_NO_NEW_PRIVS.rawValue)
        case let .boundingSet(keep, last):
            code = Int32(SH_OP_BOUNDING.rawValue); args[0] = Int64(bitPattern: keep); args[1] = Int64(last)
        case let .setIDs(uid, gid, groups):
            code = Int32(SH_OP_SET_IDS.rawValue); args[0] = Int64(uid); args[1] = Int64(gid)
            for g in groups { appendInt(&blob, g) }
        case let .capabilities(e, p, i, a):
            code = Int32(SH_OP_CAPS.rawValue)
            args = [Int64(bitPattern: e), Int64(bitPattern: p), Int64(bitPattern: i), Int64(bitPattern: a)]
        case let .seccomp(bpf):
            code = Int32(SH_OP_SECCOMP.rawValue); blob = bpf
        case let .setsid(ctty):
            code = Int32(SH_OP_SETSID.rawValue); args[0] = ctty ? 1 : 0
        case let .umask(mask):
            code = Int32(SH_OP_UMASK.rawValue); args[0] = Int64(mask)
        case let .exec(file, argv, env):
            code = Int32(SH_OP_EXEC.rawValue); args[0] = Int64(argv.count); args[1] = Int64(env.count)
            strings = [file] + argv + env
        case let .sethostname(name):
            code = Int32(SH_OP_SETHOSTNAME.rawValue); strings = [name]
        case let .console(fd, rows, cols):
            code = Int32(SH_OP_CONSOLE.rawValue); args[0] = Int64(fd); args[1] = Int64(rows); args[2] = Int64(cols)
        }
        var payload: [UInt8] = []
        for s in strings {
            // A NUL inside a string would silently cut it short in C; strip it here instead.
            payload += s.utf8.filter { $0 != 0 }
            payload.append(0)
        }
        let headerSize = MemoryLayout<sh_op>.size
        var blobOffset = headerSize + payload.count
        blobOffset = (blobOffset + 7) & ~7
        var size = blobOffset + blob.count
        size = (size + 7) & ~7
        let start = out.count
        appendInt(&out, UInt32(bitPattern: code))
        appendInt(&out, UInt32(size))
        for a in args { appendInt(&out, a) }
        appendInt(&out, UInt32(strings.count))
        appendInt(&out, UInt32(blob.count))
        precondition(out.count - start == headerSize, "sh_op layout changed")
        out += payload
        out += [UInt8](repeating: 0, count: start + blobOffset - out.count)
        out += blob
        out += [UInt8](repeating: 0, count: start + size - out.count)
    }
}

func appendInt<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { out += $0 }
}
