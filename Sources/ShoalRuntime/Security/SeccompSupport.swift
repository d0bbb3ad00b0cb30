import ShoalAPI
import Glibc

/// Why a seccomp profile could not be loaded or compiled.
public enum SeccompError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The profile is not valid Docker-format JSON, or breaks one of the format's rules.
    case invalidProfile(source: String, reason: String)
    /// A feature Shoal does not implement (user notification, an unknown filter flag).
    case unsupported(String)
    /// A Localhost profile path that is absolute or leaves the profile root.
    case invalidLocalhostPath(String)
    /// libseccomp refused an operation; `what` names it, e.g. `rule 3 (socket)`.
    case libseccomp(what: String, errno: Int32)
    case io(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidProfile(let source, let reason): "invalid seccomp profile \(source): \(reason)"
        case .unsupported(let what): "unsupported in a seccomp profile: \(what)"
        case .invalidLocalhostPath(let path):
            "localhost seccomp profile \(goQuote(path)) must be a relative path inside the profile root"
        case .libseccomp(let what, let errno): "libseccomp: \(what): \(errnoName(errno))"
        case .io(let path, let errno): "\(path): \(errnoName(errno))"
        }
    }
}

func errnoName(_ e: Int32) -> String {
    String(cString: strerror(e)) + " (errno \(e))"
}

/// The native architectures Shoal compiles filters for. The names are Go's (and so the ones in
/// `includes.arches` / `excludes.arches` of Docker profiles).
public enum SeccompArch: String, Hashable, Sendable, CaseIterable {
    case amd64
    case arm64

    /// The machine the agent runs on.
    public static var host: SeccompArch {
        #if arch(arm64)
            .arm64
        #else
            .amd64
        #endif
    }

    /// The `SCMP_ARCH_*` name that keys the profile's `archMap`.
    public var scmpName: String {
        switch self {
        case .amd64: "SCMP_ARCH_X86_64"
        case .arm64: "SCMP_ARCH_AARCH64"
        }
    }
}

/// libseccomp's name for an `SCMP_ARCH_*` architecture: SCMP_ARCH_X86_64 → x86_64,
/// SCMP_ARCH_MIPSEL64N32 → mipsel64n32. The scheme holds for every architecture it knows.
func libseccompArchName(_ scmpName: String) -> String? {
    guard scmpName.hasPrefix("SCMP_ARCH_"), scmpName.count > 10 else { return nil }
    return scmpName.dropFirst(10).lowercased()
}

/// A kernel version as profiles' `minKernel` compares it: major and minor only, like moby.
struct KernelVersion: Comparable, Hashable, Sendable {
    var major: Int
    var minor: Int

    /// Parses "4.8", "6.18.44-fc-v782".
    init?(_ s: String) {
        let parts = s.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1].prefix(while: \.isNumber))
        else { return nil }
        self.major = major
        self.minor = minor
    }

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    /// The running kernel's, from uname(2).
    static let running: KernelVersion? = {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        let release = withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return KernelVersion(release)
    }()
}
