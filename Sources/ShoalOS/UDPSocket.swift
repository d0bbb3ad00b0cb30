#if canImport(Glibc)
import Glibc
#endif

/// Nonblocking IPv4 UDP sockets, possibly in another network namespace (the node DNS server's).
public enum UDPSocket {
    /// An IPv4 socket address as the kernel gives and takes it.
    public struct Peer: Sendable {
        var address: sockaddr_in
    }

    /// A socket bound to `host:port` (port 0: any), in `namespace`.
    public static func bind(host: String, port: UInt16, in namespace: NetNamespace) async throws(SystemError) -> FileDescriptor {
        let result: Result<Int32, SystemError> = await withCheckedContinuation { c in
            let started = DedicatedThread.start {
                c.resume(returning: bindBlocking(host: host, port: port, namespace: namespace))
            }
            if !started { c.resume(returning: .failure(SystemError("pthread_create", errno: EAGAIN))) }
        }
        return FileDescriptor(try result.get())
    }

    static func bindBlocking(host: String, port: UInt16, namespace: NetNamespace) -> Result<Int32, SystemError> {
        guard var addr = socketAddress(host, port) else { return .failure(SystemError("address", errno: EINVAL, path: host)) }
        let fd: Int32
        switch namespace.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)) {
        case let .success(s): fd = s
        case let .failure(e): return .failure(e)
        }
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r < 0 {
            let e = errno
            close(fd)
            return .failure(SystemError("bind", errno: e, path: "\(host):\(port)"))
        }
        return .success(fd)
    }

    public static func socketAddress(_ host: String, _ port: UInt16) -> sockaddr_in? {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return nil }
        return addr
    }

    public static func peer(_ host: String, _ port: UInt16) -> Peer? { socketAddress(host, port).map(Peer.init) }

    /// The next datagram and its sender, waiting for one; nil at the deadline (monotonic
    /// nanoseconds) or on cancellation.
    public static func receive(_ fd: FileDescriptor, deadline: UInt64 = .max) async throws(SystemError) -> ([UInt8], Peer)? {
        var buf = [UInt8](repeating: 0, count: 65535)
        while true {
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buf.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd.raw, b.baseAddress, b.count, 0, $0, &len) }
                }
            }
            if n >= 0 { return (Array(buf[0..<n]), Peer(address: from)) }
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw SystemError("recvfrom", errno: e) }
            guard !Task.isCancelled, await waitReadable(fd.raw, deadline: deadline) else { return nil }
        }
    }

    /// Sends one datagram (a full socket buffer drops it, as the network may).
    public static func send(_ fd: FileDescriptor, _ bytes: [UInt8], to peer: Peer) {
        var to = peer.address
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &to) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd.raw, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}
