#if canImport(Glibc)
import Glibc
#endif

/// An owned file descriptor, closed exactly once when the last reference goes away or on `close()`.
public final class FileDescriptor: @unchecked Sendable {
    // The raw value is immutable after init; closing is guarded by the lock.
    private let lock = Lock()
    private var fd: Int32

    public init(_ fd: Int32) { self.fd = fd }

    public var raw: Int32 { lock.withLock { fd } }

    public func close() {
        let old: Int32 = lock.withLock {
            let old = fd
            fd = -1
            return old
        }
        if old >= 0 { _ = Glibc.close(old) }
    }

    /// Hands the descriptor to a new owner (such as NIO's bound-socket bootstrap), which closes it.
    public func release() -> Int32 {
        lock.withLock {
            let old = fd
            fd = -1
            return old
        }
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        let fd = try sysCall("open", path: path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(fd)
    }

    public func write(_ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        let fd = raw
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buf in Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write")
            }
            offset += n
        }
    }

    public func write(_ string: String) throws(SystemError) { try write(Array(string.utf8)) }

    /// Reads until EOF.
    public func readAll() throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let fd = raw
        while true {
            let n = chunk.withUnsafeMutableBytes { buf in Glibc.read(fd, buf.baseAddress, buf.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// A small mutex over pthread_mutex (Synchronization.Mutex needs newer deployment targets on some platforms).
public final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    public init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// State behind a lock, for Sendable classes.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try lock.withLock { () throws(E) -> T in try body(&value) }
    }
    public var current: Value { lock.withLock { value } }
}

/// The pid, in this process' PID namespace, of the process a pidfd refers to (the `Pid:` line of
/// its fdinfo); nil if it cannot be read. A sandbox in its own PID namespace reports pids as
/// it sees them, which name other processes here.
public func pidOfPidfd(_ pidfd: Int32) -> Int32? {
    guard let info = try? FileSystem.readString("/proc/self/fdinfo/\(pidfd)") else { return nil }
    for line in info.split(separator: "\n") where line.hasPrefix("Pid:") {
        // -1 once the process has exited.
        guard let pid = Int32(line.dropFirst(4).filter { $0 != " " && $0 != "\t" }), pid > 0 else { return nil }
        return pid
    }
    return nil
}
