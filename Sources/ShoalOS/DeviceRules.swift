/// One device rule of a container's cgroup: which device nodes its processes may create
/// (`m`), read (`r`) or write (`w`). Anything no rule allows is denied. cgroup v1 takes the
/// rules as `devices.allow` lines; cgroup v2 has no devices file, so they become an eBPF
/// program attached to the cgroup (`DeviceFilter`), as runc and crun do.
public struct DeviceRule: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case all = "a", block = "b", char = "c"
    }

    public struct Access: OptionSet, Sendable, Equatable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        // The kernel's BPF_DEVCG_ACC_* bits.
        public static let mknod = Access(rawValue: 1)
        public static let read = Access(rawValue: 2)
        public static let write = Access(rawValue: 4)
        public static let all: Access = [.mknod, .read, .write]
    }

    public var kind: Kind
    /// nil: any major (or minor) number.
    public var major: UInt32?
    public var minor: UInt32?
    public var access: Access

    public init(_ kind: Kind, _ major: UInt32?, _ minor: UInt32?, _ access: Access = .all) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }

    /// The cgroup v1 `devices.allow` line: `c 1:3 rwm`, `b *:* m`.
    public var line: String {
        func number(_ n: UInt32?) -> String { n.map(String.init) ?? "*" }
        let letters = (access.contains(.read) ? "r" : "") + (access.contains(.write) ? "w" : "") + (access.contains(.mknod) ? "m" : "")
        return kind == .all ? "a" : "\(kind.rawValue) \(number(major)):\(number(minor)) \(letters)"
    }
}

/// The device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program. The kernel calls it on every
/// mknod and open of a device node in the cgroup with a `struct bpf_cgroup_dev_ctx`
/// (access_type: access << 16 | type, major, minor); it returns 1 to allow, 0 to deny.
public enum DeviceFilter {
    /// One eBPF instruction: opcode, dst and src registers, offset and immediate.
    public struct Instruction: Equatable, Sendable {
        public var code: UInt8
        public var dst: UInt8
        public var src: UInt8
        public var offset: Int16
        public var imm: Int32

        public init(code: UInt8, dst: UInt8, src: UInt8, offset: Int16, imm: Int32) {
            self.code = code
            self.dst = dst
            self.src = src
            self.offset = offset
            self.imm = imm
        }

        /// The 8 bytes of `struct bpf_insn` (registers in one byte, dst in the low nibble), little-endian.
        public var bytes: [UInt8] {
            let off = UInt16(bitPattern: offset), k = UInt32(bitPattern: imm)
            return [code, (src << 4) | (dst & 0x0f), UInt8(off & 0xff), UInt8(off >> 8),
                    UInt8(k & 0xff), UInt8((k >> 8) & 0xff), UInt8((k >> 16) & 0xff), UInt8(k >> 24)]
        }
    }

    // Registers: r1 the context; the program keeps type, access, major and minor in r2-r5 and
    // uses r6 as scratch.
    static let ctx: UInt8 = 1, type: UInt8 = 2, access: UInt8 = 3, major: UInt8 = 4, minor: UInt8 = 5, scratch: UInt8 = 6

    static func loadWord(_ dst: UInt8, at offset: Int16) -> Instruction { .init(code: 0x61, dst: dst, src: ctx, offset: offset, imm: 0) }  // LDX|MEM|W
    static func and(_ dst: UInt8, _ k: UInt32) -> Instruction { .init(code: 0x54, dst: dst, src: 0, offset: 0, imm: Int32(bitPattern: k)) }  // ALU|AND|K
    static func shiftRight(_ dst: UInt8, _ k: Int32) -> Instruction { .init(code: 0x74, dst: dst, src: 0, offset: 0, imm: k) }  // ALU|RSH|K
    static func move(_ dst: UInt8, from src: UInt8) -> Instruction { .init(code: 0xbc, dst: dst, src: src, offset: 0, imm: 0) }  // ALU|MOV|X
    static func jumpIfNot(_ dst: UInt8, _ k: UInt32, skip: Int16) -> Instruction {  // JMP|JNE|K
        .init(code: 0x55, dst: dst, src: 0, offset: skip, imm: Int32(bitPattern: k))
    }
    static func returning(_ verdict: Int32) -> [Instruction] {
        [.init(code: 0xb7, dst: 0, src: 0, offset: 0, imm: verdict), .init(code: 0x95, dst: 0, src: 0, offset: 0, imm: 0)]  // ALU64|MOV|K r0; EXIT
    }

    /// The program: each rule a block that falls through to the next when a field does not
    /// match, and allows when all do; past the last rule, deny.
    public static func program(_ rules: [DeviceRule]) -> [Instruction] {
        var out: [Instruction] = [
            loadWord(type, at: 0), and(type, 0xffff),
            loadWord(access, at: 0), shiftRight(access, 16),
            loadWord(major, at: 4), loadWord(minor, at: 8),
        ]
        for rule in rules {
            var checks: [[Instruction]] = []
            switch rule.kind {
            case .all: break
            case .block: checks.append([jumpIfNot(type, 1, skip: 0)])  // BPF_DEVCG_DEV_BLOCK
            case .char: checks.append([jumpIfNot(type, 2, skip: 0)])  // BPF_DEVCG_DEV_CHAR
            }
            if rule.access != .all {
                // Every access asked for must be one the rule grants.
                checks.append([move(scratch, from: access), and(scratch, ~rule.access.rawValue), jumpIfNot(scratch, 0, skip: 0)])
            }
            if let m = rule.major { checks.append([jumpIfNot(major, m, skip: 0)]) }
            if let m = rule.minor { checks.append([jumpIfNot(minor, m, skip: 0)]) }
            // Each failed check jumps past the rest of this block, to the next rule.
            var block = checks.flatMap { $0 } + returning(1)
            for i in block.indices where block[i].code == 0x55 {
                block[i].offset = Int16(block.count - i - 1)
            }
            out += block
        }
        return out + returning(0)
    }
}
