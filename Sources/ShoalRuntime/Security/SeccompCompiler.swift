import CShims
import Glibc
import Synchronization

/// A compiled filter, ready for the sandbox child's seccomp(SECCOMP_SET_MODE_FILTER).
public struct SeccompProgram: Hashable, Sendable {
    /// The `struct sock_filter` array, 8 bytes an instruction, in host byte order.
    public let bytes: [UInt8]
    /// `SECCOMP_FILTER_FLAG_*` for the seccomp(2) call, from the profile's `flags`.
    public let loadFlags: UInt32
    /// Syscall names this libseccomp does not know; their rules were left out (as runc does), so
    /// those syscalls get the default action.
    public let unknownSyscalls: [String]

    public var instructionCount: Int { bytes.count / 8 }
}

/// Compiles seccomp profiles to BPF, with libseccomp, in the agent. Every container with the same
/// profile and capabilities gets the same program, so results are cached.
public final class SeccompCompiler: Sendable {
    public static let shared = SeccompCompiler()

    private struct Key: Hashable {
        var profile: SeccompProfile
        var capabilities: Capabilities
        var arch: SeccompArch
    }

    private let cache = Mutex<[Key: SeccompProgram]>([:])
    private let cacheLimit: Int

    public init(cacheLimit: Int = 64) {
        self.cacheLimit = cacheLimit
    }

    /// The BPF program of `profile` for a container with `capabilities`, through the shared cache.
    public static func compile(
        profile: SeccompProfile, capabilities: Capabilities, arch: SeccompArch = .host
    ) throws(SeccompError) -> [UInt8] {
        try shared.compile(profile: profile, capabilities: capabilities, arch: arch)
    }

    public func compile(
        profile: SeccompProfile, capabilities: Capabilities, arch: SeccompArch = .host
    ) throws(SeccompError) -> [UInt8] {
        try program(profile: profile, capabilities: capabilities, arch: arch).bytes
    }

    public func program(
        profile: SeccompProfile, capabilities: Capabilities, arch: SeccompArch = .host
    ) throws(SeccompError) -> SeccompProgram {
        let key = Key(profile: profile, capabilities: capabilities, arch: arch)
        if let hit = cache.withLock({ $0[key] }) { return hit }
        // Compiled outside the lock: two threads may both compile a new key, which is cheaper
        // than making every other profile wait behind one compile.
        let plan = try SeccompFilterPlan(
            profile: profile, capabilities: capabilities, arch: arch, kernel: KernelVersion.running)
        let program = try plan.compile()
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = program
        }
        return program
    }

    public var cachedCount: Int { cache.withLock { $0.count } }

    public func removeAllCached() { cache.withLock { $0.removeAll() } }
}

/// A profile with its conditions resolved for one container: what is handed to libseccomp.
struct SeccompFilterPlan: Hashable, Sendable {
    struct Action: Hashable, Sendable {
        var kind: UInt32  // sh_seccomp_action
        var data: UInt32
    }

    struct Condition: Hashable, Sendable {
        var index: UInt32
        var op: UInt32  // sh_seccomp_op
        var value: UInt64
        var valueTwo: UInt64
    }

    struct Rule: Hashable, Sendable {
        var syscall: String
        var action: Action
        var conditions: [Condition]
    }

    var defaultAction: Action
    /// libseccomp names, the native one first.
    var architectures: [String]
    var rules: [Rule]
    var loadFlags: UInt32

    init(
        profile: SeccompProfile, capabilities: Capabilities, arch: SeccompArch, kernel: KernelVersion?
    ) throws(SeccompError) {
        if profile.listenerPath.map({ !$0.isEmpty }) == true { throw .unsupported("listenerPath") }
        if !(profile.architectures ?? []).isEmpty && !(profile.archMap ?? []).isEmpty {
            throw .invalidProfile(source: "profile", reason: "both architectures and archMap are set")
        }
        defaultAction = try Self.action(profile.defaultAction, errno: profile.defaultErrnoRet)
        loadFlags = try profile.loadFlags()

        var scmpArches = [arch.scmpName]
        if let entry = profile.archMap?.first(where: { $0.architecture == arch.scmpName }) {
            scmpArches += entry.subArchitectures ?? []
        }
        scmpArches += profile.architectures ?? []
        var seen = Set<String>()
        architectures = []
        for scmp in scmpArches {
            guard let name = libseccompArchName(scmp) else {
                throw .invalidProfile(source: "profile", reason: "unknown architecture \(scmp)")
            }
            if seen.insert(name).inserted { architectures.append(name) }
        }

        rules = []
        for (index, syscall) in (profile.syscalls ?? []).enumerated() {
            guard Self.applies(syscall, capabilities: capabilities, arch: arch, kernel: kernel) else { continue }
            var names = syscall.names ?? []
            if let name = syscall.name, !name.isEmpty {
                guard names.isEmpty else {
                    throw .invalidProfile(source: "profile", reason: "syscalls[\(index)] has both name and names")
                }
                names = [name]
            }
            let action = try Self.action(syscall.action, errno: syscall.errnoRet)
            // libseccomp refuses a rule whose action is the default one; runc drops them too.
            if action == defaultAction { continue }
            let args = syscall.args ?? []
            guard args.count <= 6, args.allSatisfy({ $0.index <= 5 }) else {
                throw .invalidProfile(source: "profile", reason: "syscalls[\(index)]: arguments are indexed 0 to 5")
            }
            let conditions = args.map { arg in
                Condition(index: UInt32(arg.index), op: Self.op(arg.op), value: arg.value, valueTwo: arg.valueTwo ?? 0)
            }
            // Conditions within a rule are ANDed, which for two on the same argument is rarely
            // what a profile means; runc turns those into one rule per condition (ORed), and
            // profiles (Docker's included) are written for that.
            let indexes = Set(conditions.map(\.index))
            let alternatives = indexes.count == conditions.count ? [conditions] : conditions.map { [$0] }
            for name in names {
                for conditions in alternatives {
                    rules.append(Rule(syscall: name, action: action, conditions: conditions))
                }
            }
        }
    }

    /// moby's includes/excludes semantics: includes need every listed capability, the native
    /// architecture among theirs and a kernel at least minKernel; excludes drop the rule on any
    /// listed capability, a listed architecture, or a kernel at least minKernel.
    static func applies(
        _ syscall: SeccompProfile.Syscall, capabilities: Capabilities, arch: SeccompArch, kernel: KernelVersion?
    ) -> Bool {
        func has(_ name: String) -> Bool { Capability(name: name).map(capabilities.contains) ?? false }
        func atLeast(_ v: String) -> Bool {
            guard let min = KernelVersion(v), let kernel else { return false }
            return kernel >= min
        }
        if let ex = syscall.excludes {
            if let arches = ex.arches, arches.contains(arch.rawValue) { return false }
            if let caps = ex.caps, caps.contains(where: has) { return false }
            if let min = ex.minKernel, atLeast(min) { return false }
        }
        if let inc = syscall.includes {
            if let arches = inc.arches, !arches.isEmpty, !arches.contains(arch.rawValue) { return false }
            if let caps = inc.caps, !caps.allSatisfy(has) { return false }
            if let min = inc.minKernel, !atLeast(min) { return false }
        }
        return true
    }

    static func action(_ action: SeccompProfile.Action, errno: UInt32?) throws(SeccompError) -> Action {
        let eperm = UInt32(EPERM)
        switch action {
        case .kill, .killThread: return Action(kind: SH_SCMP_ACT_KILL_THREAD.rawValue, data: 0)
        case .killProcess: return Action(kind: SH_SCMP_ACT_KILL_PROCESS.rawValue, data: 0)
        case .trap: return Action(kind: SH_SCMP_ACT_TRAP.rawValue, data: 0)
        case .errno: return Action(kind: SH_SCMP_ACT_ERRNO.rawValue, data: errno ?? eperm)
        case .trace: return Action(kind: SH_SCMP_ACT_TRACE.rawValue, data: errno ?? eperm)
        case .log: return Action(kind: SH_SCMP_ACT_LOG.rawValue, data: 0)
        case .allow: return Action(kind: SH_SCMP_ACT_ALLOW.rawValue, data: 0)
        case .notify: throw .unsupported("SCMP_ACT_NOTIFY")
        }
    }

    static func op(_ op: SeccompProfile.Operator) -> UInt32 {
        switch op {
        case .notEqual: SH_SCMP_CMP_NE.rawValue
        case .lessThan: SH_SCMP_CMP_LT.rawValue
        case .lessEqual: SH_SCMP_CMP_LE.rawValue
        case .equalTo: SH_SCMP_CMP_EQ.rawValue
        case .greaterEqual: SH_SCMP_CMP_GE.rawValue
        case .greaterThan: SH_SCMP_CMP_GT.rawValue
        case .maskedEqual: SH_SCMP_CMP_MASKED_EQ.rawValue
        }
    }

    func compile() throws(SeccompError) -> SeccompProgram {
        guard let native = architectures.first else {
            throw .invalidProfile(source: "profile", reason: "no architecture")
        }
        var filter: OpaquePointer?
        var rc = sh_seccomp_new(native, defaultAction.kind, defaultAction.data, &filter)
        guard rc == 0, let filter else { throw .libseccomp(what: "create filter for \(native)", errno: -rc) }
        defer { sh_seccomp_free(filter) }

        for arch in architectures.dropFirst() {
            rc = sh_seccomp_arch_add(filter, arch)
            guard rc == 0 else { throw .libseccomp(what: "add architecture \(arch)", errno: -rc) }
        }
        var unknown: [String] = []
        for (index, rule) in rules.enumerated() {
            let args = rule.conditions.map {
                sh_seccomp_arg(index: $0.index, op: $0.op, value: $0.value, value_two: $0.valueTwo)
            }
            rc = args.withUnsafeBufferPointer {
                sh_seccomp_rule_add(filter, rule.syscall, rule.action.kind, rule.action.data, $0.baseAddress, $0.count)
            }
            if rc == 1 {
                if !unknown.contains(rule.syscall) { unknown.append(rule.syscall) }
            } else if rc != 0 {
                throw .libseccomp(what: "rule \(index) (\(rule.syscall))", errno: -rc)
            }
        }

        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        rc = sh_seccomp_export(filter, &buffer, &length)
        guard rc == 0, let buffer else { throw .libseccomp(what: "export BPF", errno: -rc) }
        defer { free(buffer) }
        let bytes = Array(UnsafeBufferPointer(start: buffer, count: length))
        return SeccompProgram(bytes: bytes, loadFlags: loadFlags, unknownSyscalls: unknown)
    }
}
