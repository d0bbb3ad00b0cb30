#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call, with what was being done and to what.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var errno: Int32
    public var path: String?

    public init(_ operation: String, errno: Int32 = Glibc.errno, path: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.path = path
    }

    public var description: String {
        let target = path.map { " \($0)" } ?? ""
        return "\(operation)\(target): \(SystemError.name(errno)) (\(String(cString: strerror(errno))))"
    }

    /// The symbolic name (`ENOENT`) users search for, rather than only the localized text.
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case ESRCH: return "ESRCH"
        case EINTR: return "EINTR"
        case EIO: return "EIO"
        case E2BIG: return "E2BIG"
        case ENOEXEC: return "ENOEXEC"
        case EBADF: return "EBADF"
        case ECHILD: return "ECHILD"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EFAULT: return "EFAULT"
        case EBUSY: return "EBUSY"
        case EEXIST: return "EEXIST"
        case EXDEV: return "EXDEV"
        case ENODEV: return "ENODEV"
        case ENOTDIR: return "ENOTDIR"
        case EISDIR: return "EISDIR"
        case EINVAL: return "EINVAL"
        case ENFILE: return "ENFILE"
        case EMFILE: return "EMFILE"
        case ENOTTY: return "ENOTTY"
        case ETXTBSY: return "ETXTBSY"
        case ENOSPC: return "ENOSPC"
        case EROFS: return "EROFS"
        case EPIPE: return "EPIPE"
        case ENAMETOOLONG: return "ENAMETOOLONG"
        case ENOSYS: return "ENOSYS"
        case ENOTEMPTY: return "ENOTEMPTY"
        case ELOOP: return "ELOOP"
        case EMSGSIZE: return "EMSGSIZE"
        case ECONNREFUSED: return "ECONNREFUSED"
        case ECONNRESET: return "ECONNRESET"
        case EADDRINUSE: return "EADDRINUSE"
        case ENOTCONN: return "ENOTCONN"
        case ETIMEDOUT: return "ETIMEDOUT"
        case EXDEV: return "EXDEV"
        default: return "errno \(code)"
        }
    }
}

/// Runs a call that returns -1 and sets errno on failure, retrying EINTR.
@discardableResult
public func sysCall<T: BinaryInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw SystemError(operation, errno: e, path: path)
    }
}

/// Converts a `-errno` return of our C shims.
@discardableResult
public func shimCall<T: BinaryInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    let r = body()
    if r < 0 { throw SystemError(operation, errno: Int32(-Int64(r)), path: path) }
    return r
}
