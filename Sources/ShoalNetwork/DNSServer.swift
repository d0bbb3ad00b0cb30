import Logging
import ShoalOS

/// The node's DNS server (UDP): the cluster domain from the services it is given, everything
/// else forwarded to the host's resolvers.
public final class DNSServer: Sendable {
    let socket: FileDescriptor
    let upstreams: [String]
    let logger: Logger
    private let zone: Locked<ClusterDNS>
    private let task: Locked<Task<Void, Never>?> = Locked(nil)

    /// Binds `address:port` in the node's namespace. `upstreams` are the host's nameservers
    /// (from its resolv.conf), asked from the agent's own namespace.
    public init(address: String, port: UInt16 = 53, in namespace: NetNamespace, upstreams: [String], logger: Logger) async throws {
        socket = try await UDPSocket.bind(host: address, port: port, in: namespace)
        self.upstreams = upstreams.filter { UDPSocket.peer($0, 53) != nil }
        self.logger = logger
        zone = Locked(ClusterDNS(services: [], slices: []))
    }

    public func start() {
        task.withLock { t in
            t = Task { [self] in await self.serve() }
        }
    }

    public func stop() {
        task.withLock { t in
            t?.cancel()
            t = nil
        }
        socket.close()
    }

    public func setZone(_ z: ClusterDNS) { zone.withLock { $0 = z } }

    private func serve() async {
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
            guard let query = DNSMessage.parse(bytes), !query.isResponse, let q = query.question else { continue }
            let z = zone.current
            if z.owns(q.name) {
                let (rcode, records) = z.answer(q)
                UDPSocket.send(socket, DNSMessage.response(to: query, rcode: rcode, answers: records, authoritative: true), to: peer)
            } else {
                let sock = socket
                Task { [self] in
                    let reply = await self.forward(bytes)
                    UDPSocket.send(sock, reply ?? DNSMessage.response(to: query, rcode: DNSMessage.rcodeServerFailure, answers: [], authoritative: false), to: peer)
                }
            }
        }
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
