import ShoalAPI
import ShoalOS

/// A set of capabilities as the 64-bit mask the kernel uses (bit n = capability n). The sandbox
/// applies it as the bounding, permitted and effective sets of a container (inheritable and
/// ambient stay empty, as containerd has done since CVE-2022-24769).
public struct Capabilities: Hashable, Sendable, CustomStringConvertible {
    public var mask: UInt64

    public init(mask: UInt64) { self.mask = mask }

    public init(_ capabilities: some Sequence<Capability>) {
        mask = capabilities.reduce(0) { $0 | (1 << UInt64($1.number)) }
    }

    public static let none = Capabilities(mask: 0)

    /// containerd's default set for a container (pkg/oci defaultUnixCaps), which Kubernetes
    /// containers get unless their securityContext says otherwise. Docker's is the same.
    public static let containerdDefault = Capabilities([
        .chown, .dacOverride, .fsetid, .fowner, .mknod, .netRaw, .setgid, .setuid, .setfcap,
        .setpcap, .netBindService, .sysChroot, .kill, .auditWrite,
    ])

    /// Every capability the running kernel knows.
    public static let all = Capabilities(mask: Capability.kernelLast.number >= 63
        ? UInt64.max : (1 << UInt64(Capability.kernelLast.number + 1)) - 1)

    /// The capabilities this process may pass on (its permitted set, `CapPrm` in
    /// /proc/self/status): what "every capability" can mean for a container it starts. Root in
    /// a container or VM often lacks some (CAP_SYS_RESOURCE here); asking for those fails.
    public static let grantable: Capabilities = {
        guard let status = try? FileSystem.readString("/proc/self/status") else { return .all }
        for line in status.split(separator: "\n") where line.hasPrefix("CapPrm:") {
            if let mask = UInt64(line.dropFirst(7).filter { !$0.isWhitespace }, radix: 16) { return Capabilities(mask: mask & all.mask) }
        }
        return .all
    }()

    public func contains(_ capability: Capability) -> Bool {
        mask & (1 << UInt64(capability.number)) != 0
    }

    public mutating func insert(_ capability: Capability) { mask |= 1 << UInt64(capability.number) }
    public mutating func remove(_ capability: Capability) { mask &= ~(1 << UInt64(capability.number)) }
    public func union(_ other: Capabilities) -> Capabilities { Capabilities(mask: mask | other.mask) }
    public func subtracting(_ other: Capabilities) -> Capabilities { Capabilities(mask: mask & ~other.mask) }

    /// The members in ascending order.
    public var members: [Capability] {
        (0..<64).compactMap { n in mask & (1 << UInt64(n)) != 0 ? Capability(number: n) : nil }
    }

    /// "CAP_CHOWN", ... in ascending order of number.
    public var names: [String] { members.map(\.name) }

    public var description: String { "[" + names.joined(separator: " ") + "]" }
}

/// A capability name in a container spec that neither libcap nor the kernel knows. The agent
/// turns it into CreateContainerConfigError, so the message reads like Kubernetes' own
/// validation: `spec.containers[0].securityContext.capabilities.add[1]: Unsupported value: "CAP_FOO"`.
public struct CapabilityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field path of the offending list entry.
    public let field: String
    /// The name as written in the spec.
    public let value: String

    public init(field: String, value: String) {
        self.field = field
        self.value = value
    }

    public var description: String { "\(field): Unsupported value: \(goQuote(value))" }
}

extension Capabilities {
    /// The capabilities of a container from its Kubernetes securityContext, computed the way
    /// containerd's CRI plugin does (internal/cri/opts WithCapabilities):
    ///
    /// - `privileged` gets every capability (of those the agent holds, `grantable`, as
    ///   containerd's WithAllCurrentCapabilities does), and add/drop are not applied (containerd
    ///   does not even look at them then);
    /// - otherwise, starting from `base`: `ALL` in add makes it every capability, then `ALL` in
    ///   drop makes it empty, then the named adds are added, then the named drops removed. So a
    ///   drop wins over an add of the same capability, and `drop: [ALL], add: [X]` is just X.
    ///
    /// Names are accepted with or without `CAP_` and in any case (containerd upper-cases them and
    /// matches `ALL` case-insensitively; it prefixes `CAP_` unconditionally, so a prefixed name
    /// would silently do nothing there, which is worse than accepting it). Unknown names, and
    /// capabilities the running kernel lacks, are rejected even for a privileged container,
    /// since a misspelt capability is a spec error whatever the container's privileges.
    ///
    /// - Parameter securityContextPath: the field path of the securityContext, for errors, e.g.
    ///   `spec.containers[0].securityContext`.
    public static func forContainer(
        privileged: Bool,
        add: [String],
        drop: [String],
        base: Capabilities = .containerdDefault,
        all: Capabilities = .all,
        grantable: Capabilities = .all,
        securityContextPath: String = "securityContext"
    ) throws(CapabilityError) -> Capabilities {
        let listPath = securityContextPath + ".capabilities"
        let added = try parse(add, field: listPath + ".add", all: all)
        let dropped = try parse(drop, field: listPath + ".drop", all: all)
        let every = Capabilities(mask: all.mask & grantable.mask)
        if privileged { return every }

        var result = base
        if added.all { result = every }
        if dropped.all { result = .none }
        return result.union(added.named).subtracting(dropped.named)
    }

    private static func parse(
        _ names: [String], field: String, all: Capabilities
    ) throws(CapabilityError) -> (all: Bool, named: Capabilities) {
        var hasAll = false
        var named = Capabilities.none
        for (index, name) in names.enumerated() {
            if name.uppercased() == "ALL" {
                hasAll = true
                continue
            }
            guard let capability = Capability(name: name), all.contains(capability) else {
                throw CapabilityError(field: "\(field)[\(index)]", value: name)
            }
            named.insert(capability)
        }
        return (hasAll, named)
    }
}
