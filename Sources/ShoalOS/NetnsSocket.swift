import CShims

#if canImport(Glibc)
import Glibc
#endif

/// The network namespace a connection starts from.
public enum NetNamespace: Sendable, Hashable, CustomStringConvertible {
    /// The agent's own (the host's).
    case host
    /// The namespace of a process, `/proc/<pid>/ns/net`: a pod's sandbox holds its pod's.
    case process(Int32)
    /// A namespace file, such as /run/netns/NAME or a pinned one.
    case path(String)

    public var description: String {
        switch self {
        case .host: return "host"
        case let .process(pid): return "/proc/\(pid)/ns/net"
        case let .path(path): return path
        }
    }

    /// A close-on-exec socket created in this namespace (on the calling thread, which enters it
    /// and leaves it again: call it from a thread of its own, never from Swift's pool).
    func socket(_ family: Int32, _ type: Int32) -> Result<Int32, SystemError> {
        if case .host = self {
            let fd = Glibc.socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
            return fd < 0 ? .failure(SystemError("socket")) : .success(fd)
        }
        let path = description
        let ns = open(path, O_RDONLY | O_CLOEXEC)
        if ns < 0 { return .failure(SystemError("open", path: path)) }
        let r = sh_socket_in_netns(ns, family, type, 0)
        close(ns)
        if r < 0 { return .failure(SystemError(r == -EREMCHG ? "setns back" : "socket in \(path)", errno: -r)) }
        return .success(r)
    }
}

/// TCP client connections from inside a network namespace, for probes and hooks.
///
/// A socket belongs to the network namespace of the thread that created it, for its whole life.
/// So the socket is made, and connected, on a short-lived thread of its own that enters the
/// namespace (setns) and leaves it again: no thread of Swift's pool ever changes namespace, and
/// the blocking connect (bounded by the timeout) never occupies one. Reading and writing then
/// happen anywhere, nonblocking, through the epoll reactor.
public enum TCPClient {
    /// Connects to `host` (an IP address, or a name the host's resolver knows) on `port`.
    /// A failed or timed-out connect throws with operation "connect" (ETIMEDOUT on timeout);
    /// entering the namespace or resolving the name fail with their own operation.
    public static func connect(host: String, port: UInt16, in namespace: NetNamespace, timeout: Double) async throws(SystemError) -> FileDescriptor {
        let result: Result<Int32, SystemError> = await withCheckedContinuation { c in
            let started = DedicatedThread.start {
                c.resume(returning: connectBlocking(host: host, port: port, namespace: namespace, timeout: timeout))
            }
            if !started { c.resume(returning: .failure(SystemError("pthread_create", errno: EAGAIN))) }
        }
        return FileDescriptor(try result.get())
    }

    /// Runs on the dedicated thread only.
    static func connectBlocking(host: String, port: UInt16, namespace: NetNamespace, timeout: Double) -> Result<Int32, SystemError> {
        let deadline = monotonicNanos() + UInt64(max(0, timeout) * 1e9)
        // Names resolve as the host resolves them (the kubelet resolves a probe's host itself).
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(SystemError("lookup", errno: rc == EAI_SYSTEM ? errno : ENOENT, path: host))
        }
        defer { freeaddrinfo(list) }
        let family = first.pointee.ai_family
        let addr = first.pointee.ai_addr
        let addrLen = first.pointee.ai_addrlen

        let fd: Int32
        switch namespace.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)) {
        case let .success(s): fd = s
        case let .failure(e): return .failure(e)
        }
        if Glibc.connect(fd, addr, addrLen) == 0 { return .success(fd) }
        guard errno == EINPROGRESS || errno == EINTR else {
            let e = errno
            close(fd)
            return .failure(SystemError("connect", errno: e))
        }
        while true {
            let now = monotonicNanos()
            guard now < deadline else {
                close(fd)
                return .failure(SystemError("connect", errno: ETIMEDOUT))
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ms = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            let n = poll(&pfd, 1, ms)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let e = errno
                close(fd)
                return .failure(SystemError("poll", errno: e))
            }
            if n == 0 { continue }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError != 0 {
                close(fd)
                return .failure(SystemError("connect", errno: soError))
            }
            return .success(fd)
        }
    }
}

/// Listening TCP sockets inside a network namespace (made the same way, on a thread of their own).
public enum TCPListener {
    /// A nonblocking listening socket on `host:port` (port 0: any free one, see `port(of:)`).
    public static func listen(host: String = "127.0.0.1", port: UInt16, in namespace: NetNamespace,
                              backlog: Int32 = 16) async throws(SystemError) -> FileDescriptor {
        let result: Result<Int32, SystemError> = await withCheckedContinuation { c in
            let started = DedicatedThread.start {
                c.resume(returning: listenBlocking(host: host, port: port, namespace: namespace, backlog: backlog))
            }
            if !started { c.resume(returning: .failure(SystemError("pthread_create", errno: EAGAIN))) }
        }
        return FileDescriptor(try result.get())
    }

    static func listenBlocking(host: String, port: UInt16, namespace: NetNamespace, backlog: Int32) -> Result<Int32, SystemError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            return .failure(SystemError("lookup", errno: EINVAL, path: host))
        }
        defer { freeaddrinfo(list) }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd: Int32
        switch namespace.socket(first.pointee.ai_family, type) {
        case let .success(s): fd = s
        case let .failure(e): return .failure(e)
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) < 0 || Glibc.listen(fd, backlog) < 0 {
            let e = errno
            close(fd)
            return .failure(SystemError("bind", errno: e, path: "\(host):\(port)"))
        }
        return .success(fd)
    }

    /// The port a socket is bound to.
    public static func port(of fd: FileDescriptor) -> UInt16? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.raw, $0, &len) == 0 }
        }
        guard ok else { return nil }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { p -> UInt16? in
            switch family {
            case AF_INET: return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            case AF_INET6: return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            default: return nil
            }
        }
    }

    /// The next connection (nonblocking), waiting through the reactor; nil once cancelled.
    public static func accept(_ listener: FileDescriptor) async throws(SystemError) -> FileDescriptor? {
        while !Task.isCancelled {
            // accept4 is behind _GNU_SOURCE, which Swift's Glibc module lacks.
            let fd = Glibc.accept(listener.raw, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                return FileDescriptor(fd)
            }
            let e = errno
            if e == EINTR || e == ECONNABORTED { continue }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw SystemError("accept", errno: e) }
            await waitReadable(listener.raw)
        }
        return nil
    }
}

/// Nonblocking socket I/O with deadlines, waiting through the reactor (never on a pool thread).
public enum SocketIO {
    /// Sends all of `bytes` before the deadline (monotonic nanoseconds). MSG_NOSIGNAL: a peer
    /// that went away is an EPIPE error, not a SIGPIPE for the agent.
    public static func send(_ fd: FileDescriptor, _ bytes: [UInt8], deadline: UInt64) async throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buf in Glibc.send(fd.raw, buf.baseAddress! + offset, buf.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
                continue
            }
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw SystemError("write", errno: e) }
            // A full send buffer: probe requests are small, so this is rare; retry shortly.
            guard monotonicNanos() < deadline else { throw SystemError("write", errno: ETIMEDOUT) }
            do { try await Task.sleep(nanoseconds: 1_000_000) } catch { throw SystemError("write", errno: ECANCELED) }
        }
    }

    /// Reads what the socket has, up to `max` bytes, waiting until it is readable; [] at EOF.
    /// Throws ETIMEDOUT at the deadline (monotonic nanoseconds) and ECANCELED on cancellation.
    public static func receive(_ fd: FileDescriptor, max: Int = 16384, deadline: UInt64) async throws(SystemError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: max)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.recv(fd.raw, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buf[0..<n]) }
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw SystemError("read", errno: e) }
            if Task.isCancelled { throw SystemError("read", errno: ECANCELED) }
            guard await waitReadable(fd.raw, deadline: deadline) else {
                throw SystemError("read", errno: Task.isCancelled ? ECANCELED : ETIMEDOUT)
            }
        }
    }
}

/// Waits until `fd` is readable or the deadline (monotonic nanoseconds) passes; false on
/// timeout or cancellation.
public func waitReadable(_ fd: Int32, deadline: UInt64) async -> Bool {
    let now = monotonicNanos()
    guard now < deadline else { return false }
    let wait = deadline - now
    return await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            await waitReadable(fd)
            return !Task.isCancelled
        }
        group.addTask {
            try? await Task.sleep(nanoseconds: wait)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}

/// A detached thread for one job that may block or change per-thread state (namespaces).
enum DedicatedThread {
    private final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread; false if no thread could be made.
    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Job(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attr, { arg in
            guard let arg else { return nil }
            Unmanaged<Job>.fromOpaque(arg).takeRetainedValue().body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Job>.fromOpaque(box).release()
            return false
        }
        return true
    }
}
