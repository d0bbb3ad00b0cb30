#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Unix-domain sockets by path, including paths longer than sun_path allows (reached through
/// /proc/self/fd of the parent directory).
public enum UnixSocket {
    public static func listen(path: String, type: Int32, mode: mode_t = 0o600, backlog: Int32 = 16) throws(SystemError) -> FileDescriptor {
        let fd = FileDescriptor(try sysCall("socket") { socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0) })
        unlink(path)
        _ = try withAddress(path) { addr, len throws(SystemError) in
            try sysCall("bind", path: path) { bind(fd.raw, addr, len) }
        }
        // bind honours the umask; make the mode exact before anyone can connect meaningfully.
        try sysCall("chmod", path: path) { chmod(path, mode) }
        try sysCall("listen", path: path) { Glibc.listen(fd.raw, backlog) }
        return fd
    }

    public static func connect(path: String, type: Int32) throws(SystemError) -> FileDescriptor {
        let fd = FileDescriptor(try sysCall("socket") { socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0) })
        _ = try withAddress(path) { addr, len throws(SystemError) in
            try sysCall("connect", path: path) { Glibc.connect(fd.raw, addr, len) }
        }
        return fd
    }

    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> T) throws(SystemError) -> T {
        var target = path
        var dirFD: FileDescriptor?
        let limit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
        if path.utf8.count > limit {
            let dir = try FileDescriptor.open(FileSystem.dirname(path), SH_O_PATH | O_DIRECTORY)
            dirFD = dir
            target = "/proc/self/fd/\(dir.raw)/\(FileSystem.basename(path))"
            if target.utf8.count > limit { throw SystemError("socket path too long", errno: ENAMETOOLONG, path: path) }
        }
        defer { dirFD?.close() }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in target.utf8.enumerated() { buf[i] = b }
            buf[target.utf8.count] = 0
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + target.utf8.count + 1)
        return try withUnsafePointer(to: &addr) { p throws(SystemError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SystemError) in try body(sa, len) }
        }
    }
}

/// Pipes with both ends close-on-exec.
public func makePipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
    var r: Int32 = -1, w: Int32 = -1
    try shimCall("pipe2") { sh_pipe_cloexec(&r, &w) }
    return (FileDescriptor(r), FileDescriptor(w))
}
