import ShoalAPI
import Foundation

/// What a container's seccompProfile resolves to: no filter at all, or a profile to compile
/// against the container's capabilities.
public enum SeccompPolicy: Hashable, Sendable {
    /// Kubernetes `Unconfined`: no filter is loaded.
    case unconfined
    case profile(SeccompProfile)

    /// Kubernetes `RuntimeDefault`: Docker's default profile, as containerd and CRI-O use.
    public static let runtimeDefault = SeccompPolicy.profile(.dockerDefault)

    /// Kubernetes `Localhost`: a Docker-format JSON profile at `relativePath` under `root` (the
    /// kubelet uses `<root-dir>/seccomp`). The path must stay inside the root.
    public static func localhost(_ relativePath: String, root: String) throws(SeccompError) -> SeccompPolicy {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        guard !relativePath.hasPrefix("/"), !components.isEmpty, !components.contains("..") else {
            throw .invalidLocalhostPath(relativePath)
        }
        let path = (root.hasSuffix("/") ? root : root + "/") + components.joined(separator: "/")
        return .profile(try SeccompProfile(contentsOfFile: path))
    }

    /// Resolves a Kubernetes `seccompProfile` (`type`, `localhostProfile`) the way containerd
    /// does: privileged containers run unconfined whatever they ask for, and a container that
    /// names no profile gets `unsetDefault` (Unconfined in Kubernetes unless the kubelet runs
    /// with --seccomp-default, which makes it RuntimeDefault).
    public static func resolve(
        type: String?, localhostProfile: String?, privileged: Bool, localhostRoot: String,
        unsetDefault: SeccompPolicy = .unconfined
    ) throws(SeccompError) -> SeccompPolicy {
        if privileged { return .unconfined }
        switch type {
        case nil, "": return unsetDefault
        case "Unconfined": return .unconfined
        case "RuntimeDefault": return .runtimeDefault
        case "Localhost":
            guard let localhostProfile, !localhostProfile.isEmpty else {
                throw .invalidLocalhostPath(localhostProfile ?? "")
            }
            return try .localhost(localhostProfile, root: localhostRoot)
        case let other?: throw .unsupported("seccompProfile type \(goQuote(other))")
        }
    }
}

extension SeccompProfile {
    /// Reads a Docker-format JSON profile.
    public init(contentsOfFile path: String) throws(SeccompError) {
        try self.init(json: try readWholeFile(path), source: path)
    }
}

/// A profile is small; this reads it with plain syscalls so that errors keep their errno.
private func readWholeFile(_ path: String, limit: Int = 16 << 20) throws(SeccompError) -> Data {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io(path: path, errno: errno) }
    defer { close(fd) }
    var data = Data()
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .io(path: path, errno: errno)
        }
        if n == 0 { return data }
        data.append(contentsOf: chunk[0..<n])
        if data.count > limit { throw .io(path: path, errno: EFBIG) }
    }
}
