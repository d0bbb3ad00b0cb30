/// A classic-BPF interpreter for seccomp programs, to check compiled filters without the
/// kernel: it runs the program over a `struct seccomp_data` and returns the SECCOMP_RET_* value.
struct SeccompData {
    var nr: Int32
    var arch: UInt32
    var instructionPointer: UInt64 = 0
    var args: [UInt64] = [0, 0, 0, 0, 0, 0]

    /// The 64 bytes the filter sees, little-endian (the x86_64 and arm64 hosts we run on).
    var bytes: [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        put(nr)
        put(arch)
        put(instructionPointer)
        for a in args { put(a) }
        return out
    }
}

enum BPFError: Error, Equatable {
    case badInstruction(pc: Int, code: UInt16)
    case outOfBounds(pc: Int)
    case fellOffTheEnd
}

func runSeccompBPF(_ program: [UInt8], on data: SeccompData) throws -> UInt32 {
    struct Insn {
        var code: UInt16, jt: UInt8, jf: UInt8, k: UInt32
    }
    let insns: [Insn] = stride(from: 0, to: program.count, by: 8).map { i in
        let p = program
        return Insn(
            code: UInt16(p[i]) | UInt16(p[i + 1]) << 8, jt: p[i + 2], jf: p[i + 3],
            k: UInt32(p[i + 4]) | UInt32(p[i + 5]) << 8 | UInt32(p[i + 6]) << 16 | UInt32(p[i + 7]) << 24)
    }
    let mem = data.bytes
    var a: UInt32 = 0
    var x: UInt32 = 0
    var scratch = [UInt32](repeating: 0, count: 16)
    var pc = 0
    func word(_ offset: Int) throws -> UInt32 {
        guard offset >= 0, offset + 4 <= mem.count, offset % 4 == 0 else { throw BPFError.outOfBounds(pc: pc) }
        return UInt32(mem[offset]) | UInt32(mem[offset + 1]) << 8 | UInt32(mem[offset + 2]) << 16
            | UInt32(mem[offset + 3]) << 24
    }
    while pc < insns.count {
        let i = insns[pc]
        pc += 1
        let src: UInt32 = i.code & 0x08 != 0 ? x : i.k
        switch i.code & 0x07 {
        case 0x00:  // LD
            switch i.code {
            case 0x20: a = try word(Int(i.k))  // LD W ABS
            case 0x00: a = i.k  // LD IMM
            case 0x60: a = scratch[Int(i.k) & 15]  // LD MEM
            case 0x80: a = UInt32(mem.count)  // LD W LEN
            default: throw BPFError.badInstruction(pc: pc - 1, code: i.code)
            }
        case 0x01:  // LDX
            switch i.code {
            case 0x01: x = i.k
            case 0x61: x = scratch[Int(i.k) & 15]
            case 0x81: x = UInt32(mem.count)
            default: throw BPFError.badInstruction(pc: pc - 1, code: i.code)
            }
        case 0x02: scratch[Int(i.k) & 15] = a  // ST
        case 0x03: scratch[Int(i.k) & 15] = x  // STX
        case 0x04:  // ALU
            switch i.code & 0xf0 {
            case 0x00: a = a &+ src
            case 0x10: a = a &- src
            case 0x20: a = a &* src
            case 0x30: a = src == 0 ? 0 : a / src
            case 0x40: a |= src
            case 0x50: a &= src
            case 0x60: a = src >= 32 ? 0 : a << src
            case 0x70: a = src >= 32 ? 0 : a >> src
            case 0x80: a = 0 &- a
            case 0x90: a = src == 0 ? 0 : a % src
            case 0xa0: a ^= src
            default: throw BPFError.badInstruction(pc: pc - 1, code: i.code)
            }
        case 0x05:  // JMP
            let taken: Bool
            switch i.code & 0xf0 {
            case 0x00:
                pc += Int(i.k)
                continue
            case 0x10: taken = a == src
            case 0x20: taken = a > src
            case 0x30: taken = a >= src
            case 0x40: taken = a & src != 0
            default: throw BPFError.badInstruction(pc: pc - 1, code: i.code)
            }
            pc += Int(taken ? i.jt : i.jf)
        case 0x06: return i.code & 0x18 == 0x10 ? a : i.k  // RET A / RET K
        case 0x07: if i.code == 0x07 { x = a } else { a = x }  // TAX / TXA
        default: throw BPFError.badInstruction(pc: pc - 1, code: i.code)
        }
    }
    throw BPFError.fellOffTheEnd
}

/// SECCOMP_RET_* values, as the kernel reads a filter's result.
enum SeccompRet {
    static let killProcess: UInt32 = 0x8000_0000
    static let killThread: UInt32 = 0
    static let allow: UInt32 = 0x7fff_0000
    static func errno(_ e: UInt32) -> UInt32 { 0x0005_0000 | (e & 0xffff) }
}
