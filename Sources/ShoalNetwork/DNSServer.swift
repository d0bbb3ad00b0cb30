import Logging
import ShoalOS

/// The node's DNS server, on UDP and TCP: the cluster domain from the services it is given,
/// everything else forwarded to the host's resolvers. A UDP answer too large for 512 bytes is
/// truncated (TC), and the client asks again over TCP, as resolvers do.
public final class DNSServer: Sendable {
    let socket: FileDescriptor
    let listener: FileDescriptor
    let upstreams: [String]
    let logger: Logger
    private let zone: Locked<ClusterDNS>
    private let tasks: Locked<[Task<Void, Never>]> = Locked([])

    /// Binds `address:port` in the node's namespace. `upstreams` are the host's nameservers
    /// (from its resolv.conf), asked from the agent's own namespace.
    public init(address: String, port: UInt16 = 53, in namespace: NetNamespace, upstreams: [String], logger: Logger) async throws {
        socket = try await UDPSocket.bind(host: address, port: port, in: namespace)
        do {
            listener = try await TCPListener.listen(host: address, port: port, in: namespace, backlog: 64)
        } catch {
            socket.close()
            throw error
        }
        self.upstreams = upstreams.filter { UDPSocket.peer($0, 53) != nil }
        self.logger = logger
        zone = Locked(ClusterDNS(services: [], slices: []))
    }

    public func start() {
        tasks.withLock { t in
            t = [Task { [self] in await self.serveUDP() }, Task { [self] in await self.serveTCP() }]
        }
    }

    public func stop() {
        for t in tasks.withLock({ t in defer { t = [] }; return t }) { t.cancel() }
        socket.close()
        listener.close()
    }

    public func setZone(_ z: ClusterDNS) { zone.withLock { $0 = z } }

    private func serveUDP() async {
        while !Task.isCancelled {
            let received: ([UInt8], UDPSocket.Peer)?
            do {
                received = try await UDPSocket.receive(socket)
            } catch {
                if Task.isCancelled { return }
                logger.warning("dns receive", metadata: ["error": "\(error)"])
                continue
            }
            guard let (bytes, peer) = received else { return }
            if let local = answerLocally(bytes, limit: 512) {
                if !local.isEmpty { UDPSocket.send(socket, local, to: peer) }
                continue
            }
            let sock = socket
            Task { [self] in
                if let reply = await self.answerForwarded(bytes) { UDPSocket.send(sock, reply, to: peer) }
            }
        }
    }

    private func serveTCP() async {
        while !Task.isCancelled {
            guard let conn = try? await TCPListener.accept(listener) else { return }
            Task { [self] in
                defer { conn.close() }
                // Messages framed by a two-byte length; a connection may carry several.
                var buffer: [UInt8] = []
                while true {
                    let deadline = monotonicNanos() + 10_000_000_000
                    while buffer.count < 2 || buffer.count < 2 + (Int(buffer[0]) << 8 | Int(buffer[1])) {
                        guard let more = try? await SocketIO.receive(conn, deadline: deadline), !more.isEmpty else { return }
                        buffer += more
                    }
                    let length = Int(buffer[0]) << 8 | Int(buffer[1])
                    let query = Array(buffer[2..<(2 + length)])
                    buffer.removeFirst(2 + length)
                    var answer = answerLocally(query, limit: 65535)
                    if answer == nil { answer = await answerForwarded(query) }
                    guard let reply = answer, !reply.isEmpty else { return }
                    let framed = DNSMessage.be16(UInt16(reply.count)) + reply
                    guard (try? await SocketIO.send(conn, framed, deadline: deadline)) != nil else { return }
                }
            }
        }
    }

    /// The answer when the name is the cluster's (REFUSED for a message that is no query, and
    /// nothing for one that is no DNS message at all), else nil: the name is forwarded.
    func answerLocally(_ bytes: [UInt8], limit: Int) -> [UInt8]? {
        guard let query = DNSMessage.parse(bytes), !query.isResponse, let q = query.question else {
            return DNSMessage.parse(bytes).map { DNSMessage.response(to: $0, rcode: DNSMessage.rcodeRefused, answers: [], authoritative: false) } ?? []
        }
        let z = zone.current
        guard z.owns(q.name) else { return nil }
        let (rcode, records) = z.answer(q)
        return DNSMessage.response(to: query, rcode: rcode, answers: records, authoritative: true, limit: limit)
    }

    func answerForwarded(_ bytes: [UInt8]) async -> [UInt8]? {
        guard let query = DNSMessage.parse(bytes) else { return nil }
        return await forward(bytes) ?? DNSMessage.response(to: query, rcode: DNSMessage.rcodeServerFailure, answers: [], authoritative: false)
    }

    /// Asks each upstream in turn (2 s each); the first reply with the query's id wins.
    func forward(_ query: [UInt8]) async -> [UInt8]? {
        for server in upstreams {
            guard let peer = UDPSocket.peer(server, 53),
                  let s = try? await UDPSocket.bind(host: "0.0.0.0", port: 0, in: .host) else { continue }
            defer { s.close() }
            UDPSocket.send(s, query, to: peer)
            let deadline = monotonicNanos() + 2_000_000_000
            while let (reply, _) = (try? await UDPSocket.receive(s, deadline: deadline)) ?? nil {
                if reply.count >= 2, reply[0] == query[0], reply[1] == query[1] { return reply }
            }
        }
        return nil
    }

    /// The nameservers of a resolv.conf.
    public static func nameservers(_ resolvConf: String) -> [String] {
        resolvConf.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return f.count >= 2 && f[0] == "nameserver" ? String(f[1]) : nil
        }
    }
}
