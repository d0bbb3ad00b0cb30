import CShims

/// One Linux capability. Names come from libcap, so they match what the kernel headers and
/// `capsh` call them; the numbers are kernel ABI.
public struct Capability: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The kernel's number for it, 0...63 (a capability set is a 64-bit mask).
    public let number: Int

    public init?(number: Int) {
        guard (0..<64).contains(number) else { return nil }
        self.number = number
    }

    /// Parses a name the way Kubernetes users write them: with or without the `CAP_` prefix, in
    /// any case ("NET_ADMIN", "net_admin", "CAP_NET_ADMIN"). Nil when libcap knows no such name.
    public init?(name: String) {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        let number = Int(sh_cap_from_name(full))
        guard number >= 0 else { return nil }
        self.init(number: number)
    }

    /// "CAP_NET_ADMIN". A capability newer than libcap has no name; it is shown as "CAP_<n>".
    public var name: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let rc = buffer.withUnsafeMutableBufferPointer { sh_cap_to_name(Int32(number), $0.baseAddress, 64) }
        guard rc == 0 else { return "CAP_\(number)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { name }

    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.number < rhs.number }

    /// The highest capability the running kernel knows (`/proc/sys/kernel/cap_last_cap`).
    public static let kernelLast: Capability = Capability(number: Int(sh_cap_last_cap())) ?? .checkpointRestore
}

// The numbers are fixed by the kernel ABI (include/uapi/linux/capability.h); only the ones Swift
// code refers to by name are spelled out.
extension Capability {
    private init(_ number: Int) { self.number = number }

    public static let chown = Capability(0)
    public static let dacOverride = Capability(1)
    public static let dacReadSearch = Capability(2)
    public static let fowner = Capability(3)
    public static let fsetid = Capability(4)
    public static let kill = Capability(5)
    public static let setgid = Capability(6)
    public static let setuid = Capability(7)
    public static let setpcap = Capability(8)
    public static let netBindService = Capability(10)
    public static let netAdmin = Capability(12)
    public static let netRaw = Capability(13)
    public static let sysChroot = Capability(18)
    public static let sysPtrace = Capability(19)
    public static let sysAdmin = Capability(21)
    public static let sysResource = Capability(24)
    public static let mknod = Capability(27)
    public static let auditWrite = Capability(29)
    public static let setfcap = Capability(31)
    public static let checkpointRestore = Capability(40)
}
