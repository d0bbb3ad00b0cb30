import Glibc

/// Every failure of the image store. Each case carries enough context (a path, a blob, both
/// digests) for the message alone to say what went wrong where.
public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed. `operation` is the call ("open", "mknodat"), `path` what it acted on.
    case system(operation: String, path: String, errno: Int32)
    /// The reference string is not a valid image name.
    case invalidReference(String, reason: String)
    case invalidDigest(String)
    /// No image in the store has this name, ID or ID prefix.
    case imageNotFound(String)
    /// An ID prefix matched more than one image.
    case ambiguousReference(String, matches: [String])
    /// The archive is neither an OCI image layout nor a docker-archive, or a file it names is missing.
    case invalidArchive(path: String, reason: String)
    /// A JSON document (index, manifest, config) could not be decoded.
    case invalidJSON(what: String, reason: String)
    /// Content does not hash to the digest it was named by. `what` names the blob and its role.
    case digestMismatch(what: String, expected: Digest, actual: Digest)
    case sizeMismatch(what: String, expected: Int64, actual: Int64)
    case unsupportedMediaType(String, blob: String)
    /// An image index has no manifest for the platform we run on.
    case noMatchingPlatform(wanted: String, available: [String])
    /// A tar stream is malformed; `offset` is the byte offset of the offending header.
    case malformedTar(what: String, offset: Int64, reason: String)
    /// A layer entry would land outside the layer directory, or through a symlink.
    case unsafePath(layer: String, path: String, reason: String)
    case gzip(what: String, reason: String)
    /// Neither the pod nor the image gives a command to run.
    case noCommand
    /// images.json is unreadable, or names content the store does not hold.
    case storeCorrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case let .system(operation, path, errno):
            return "\(operation) \(path): \(errnoDescription(errno))"
        case let .invalidReference(ref, reason):
            return "invalid reference \"\(ref)\": \(reason)"
        case let .invalidDigest(d):
            return "invalid digest \"\(d)\": want sha256:<64 lowercase hex digits>"
        case let .imageNotFound(ref):
            return "image not found: \(ref)"
        case let .ambiguousReference(ref, matches):
            return "ambiguous image ID prefix \(ref): matches \(matches.joined(separator: ", "))"
        case let .invalidArchive(path, reason):
            return "invalid image archive \(path): \(reason)"
        case let .invalidJSON(what, reason):
            return "invalid \(what): \(reason)"
        case let .digestMismatch(what, expected, actual):
            return "digest mismatch for \(what): expected \(expected), content is \(actual)"
        case let .sizeMismatch(what, expected, actual):
            return "size mismatch for \(what): expected \(expected) bytes, content is \(actual) bytes"
        case let .unsupportedMediaType(type, blob):
            return "unsupported media type \(type) for \(blob)"
        case let .noMatchingPlatform(wanted, available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "no image for platform \(wanted) in the index (available: \(list))"
        case let .malformedTar(what, offset, reason):
            return "malformed tar in \(what) at offset \(offset): \(reason)"
        case let .unsafePath(layer, path, reason):
            return "unsafe path \"\(path)\" in \(layer): \(reason)"
        case let .gzip(what, reason):
            return "gzip \(what): \(reason)"
        case .noCommand:
            return "no command specified: the container has no command or args and the image has no entrypoint or cmd"
        case let .storeCorrupt(path, reason):
            return "image store \(path) is corrupt: \(reason)"
        }
    }
}

/// "ENOENT (no such file or directory)": the symbolic name is what people search for.
func errnoDescription(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", EBADF: "EBADF", EACCES: "EACCES",
        EEXIST: "EEXIST", EXDEV: "EXDEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL",
        ENOSPC: "ENOSPC", EROFS: "EROFS", EMLINK: "EMLINK", ENAMETOOLONG: "ENAMETOOLONG",
        ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", ENODATA: "ENODATA", EOPNOTSUPP: "EOPNOTSUPP",
        EDQUOT: "EDQUOT", EWOULDBLOCK: "EWOULDBLOCK", ENOMEM: "ENOMEM", EFBIG: "EFBIG",
    ]
    let message = String(cString: strerror(code)).lowercased()
    return "\(names[code] ?? "errno \(code)") (\(message))"
}
