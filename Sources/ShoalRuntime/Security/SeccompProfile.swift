import Foundation

/// A seccomp profile in Docker's JSON format (moby profiles/seccomp, `types.Seccomp`), which is
/// also what Kubernetes `Localhost` profiles are written in: the OCI `LinuxSeccomp` fields plus
/// `archMap` and per-rule `includes`/`excludes` conditions on capabilities, architectures and the
/// kernel version. Conditions are resolved when compiling, against the container's capabilities.
public struct SeccompProfile: Codable, Hashable, Sendable {
    public var defaultAction: Action
    /// The errno of an `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE` default action; EPERM when absent.
    public var defaultErrnoRet: UInt32?
    /// Architectures of the filter, OCI style. A profile has this or `archMap`, not both.
    public var architectures: [String]?
    /// Per native architecture, the architectures its filter covers (x86_64 also covers the
    /// x86 and x32 ABIs, which a 64-bit kernel runs too).
    public var archMap: [ArchMapEntry]?
    /// `SECCOMP_FILTER_FLAG_*` names passed to seccomp(2) when loading.
    public var flags: [String]?
    /// Seccomp user notification; not supported by Shoal (compiling such a profile fails).
    public var listenerPath: String?
    public var syscalls: [Syscall]?

    public init(
        defaultAction: Action, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil,
        archMap: [ArchMapEntry]? = nil, flags: [String]? = nil, syscalls: [Syscall]
    ) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.archMap = archMap
        self.flags = flags
        self.syscalls = syscalls
    }

    public enum Action: String, Codable, Hashable, Sendable {
        case kill = "SCMP_ACT_KILL"
        case killThread = "SCMP_ACT_KILL_THREAD"
        case killProcess = "SCMP_ACT_KILL_PROCESS"
        case trap = "SCMP_ACT_TRAP"
        case errno = "SCMP_ACT_ERRNO"
        case trace = "SCMP_ACT_TRACE"
        case allow = "SCMP_ACT_ALLOW"
        case log = "SCMP_ACT_LOG"
        case notify = "SCMP_ACT_NOTIFY"
    }

    public enum Operator: String, Codable, Hashable, Sendable {
        case notEqual = "SCMP_CMP_NE"
        case lessThan = "SCMP_CMP_LT"
        case lessEqual = "SCMP_CMP_LE"
        case equalTo = "SCMP_CMP_EQ"
        case greaterEqual = "SCMP_CMP_GE"
        case greaterThan = "SCMP_CMP_GT"
        /// `(arg & value) == valueTwo`
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    public struct ArchMapEntry: Codable, Hashable, Sendable {
        /// An `SCMP_ARCH_*` name.
        public var architecture: String
        public var subArchitectures: [String]?

        public init(architecture: String, subArchitectures: [String]?) {
            self.architecture = architecture
            self.subArchitectures = subArchitectures
        }
    }

    public struct Arg: Codable, Hashable, Sendable {
        public var index: UInt
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: Operator

        public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: Operator) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    /// When a rule applies: every listed capability present (for `includes`) or any (for
    /// `excludes`), the native architecture among `arches`, the kernel at least `minKernel`.
    public struct Filter: Codable, Hashable, Sendable {
        public var caps: [String]?
        /// Go/Docker architecture names: "amd64", "arm64", "x86", "x32", "s390x", ...
        public var arches: [String]?
        /// "4.8"
        public var minKernel: String?

        public init(caps: [String]? = nil, arches: [String]? = nil, minKernel: String? = nil) {
            self.caps = caps
            self.arches = arches
            self.minKernel = minKernel
        }
    }

    public struct Syscall: Codable, Hashable, Sendable {
        /// Single-name form, older profiles; a rule has this or `names`.
        public var name: String?
        public var names: [String]?
        public var action: Action
        public var errnoRet: UInt32?
        public var args: [Arg]?
        public var comment: String?
        public var includes: Filter?
        public var excludes: Filter?

        public init(
            names: [String], action: Action, errnoRet: UInt32? = nil, args: [Arg]? = nil,
            comment: String? = nil, includes: Filter? = nil, excludes: Filter? = nil
        ) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.comment = comment
            self.includes = includes
            self.excludes = excludes
        }
    }
}

extension SeccompProfile {
    /// Decodes a profile from Docker-format JSON.
    public init(json: Data, source: String = "profile") throws(SeccompError) {
        do {
            self = try JSONDecoder().decode(SeccompProfile.self, from: json)
        } catch let error as DecodingError {
            throw .invalidProfile(source: source, reason: describe(error))
        } catch {
            throw .invalidProfile(source: source, reason: "\(error)")
        }
    }

    /// Docker-format JSON (keys sorted, so equal profiles encode identically).
    public func jsonData() throws(SeccompError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            return try encoder.encode(self)
        } catch {
            throw .invalidProfile(source: "profile", reason: "cannot encode: \(error)")
        }
    }

    /// Flags for seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) when loading the compiled program.
    public func loadFlags() throws(SeccompError) -> UInt32 {
        var result: UInt32 = 0
        for flag in flags ?? [] {
            switch flag {
            case "SECCOMP_FILTER_FLAG_TSYNC": result |= 1
            case "SECCOMP_FILTER_FLAG_LOG": result |= 2
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": result |= 4
            case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": result |= 32
            default: throw .unsupported("seccomp flag \(flag)")
            }
        }
        return result
    }
}

private func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { key in
            key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)"
        }.joined()
        return keys.isEmpty ? "" : String(keys.drop { $0 == "." }) + ": "
    }
    switch error {
    case .dataCorrupted(let c): return path(c) + c.debugDescription
    case .keyNotFound(let key, let c): return path(c) + "missing field \(key.stringValue)"
    case .typeMismatch(_, let c): return path(c) + c.debugDescription
    case .valueNotFound(_, let c): return path(c) + c.debugDescription
    @unknown default: return "\(error)"
    }
}
