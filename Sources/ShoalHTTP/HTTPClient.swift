import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Where a client connects: `unix:///path/api.sock` or `https://host:port` (TLS only).
public enum HTTPEndpoint: Sendable, CustomStringConvertible {
    case unix(path: String)
    case tls(host: String, port: Int, configuration: TLSConfiguration)

    public struct InvalidURL: Error, CustomStringConvertible {
        public var url: String
        public var description: String { "invalid server URL \"\(url)\": expected unix:///path/to/api.sock or https://HOST:PORT" }
    }

    /// Parses a server URL; `tls` gives the TLS settings for https (trust, pinning).
    public static func parse(_ url: String, tls: () throws -> TLSConfiguration) throws -> HTTPEndpoint {
        if url.hasPrefix("unix://") {
            let path = String(url.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw InvalidURL(url: url) }
            return .unix(path: path)
        }
        guard url.hasPrefix("https://") else { throw InvalidURL(url: url) }
        var rest = Substring(url.dropFirst("https://".count))
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host = String(rest)
        var port = 6443
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { throw InvalidURL(url: url) }; port = p }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]) else { throw InvalidURL(url: url) }
            port = p
        }
        guard !host.isEmpty else { throw InvalidURL(url: url) }
        return .tls(host: host, port: port, configuration: try tls())
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix://\(path)"
        case .tls(let host, let port, _): return host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
        }
    }
}

/// A failed HTTP exchange (connection, TLS, protocol), with the endpoint in the message.
public struct HTTPClientError: Error, CustomStringConvertible {
    public var endpoint: String
    public var detail: String
    public var description: String { "\(endpoint): \(detail)" }
}

public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
}

/// An HTTP/1.1 client: one connection per request, which keeps it simple and is cheap on a unix
/// socket; watches hold theirs open and yield the body line by line.
public final class HTTPClient: Sendable {
    public let endpoint: HTTPEndpoint
    let token: String?
    let sslContext: NIOSSLContext?
    /// Replaces BoringSSL's chain check (a first contact that trusts only a pinned CA).
    let verification: (@Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void)?
    let group: any EventLoopGroup

    public init(endpoint: HTTPEndpoint, token: String? = nil, verification: (@Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void)? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.endpoint = endpoint
        self.token = token
        self.verification = verification
        self.group = group
        if case .tls(_, _, let configuration) = endpoint {
            sslContext = try NIOSSLContext(configuration: configuration)
        } else {
            sslContext = nil
        }
    }

    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    func connect() async throws -> Channel {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(.seconds(10))
        let ssl = sslContext
        var serverName: String?
        if case .tls(let host, _, _) = endpoint, !host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) { serverName = host }
        let verification = self.verification
        let initialize: @Sendable (any NIOCore.Channel) -> EventLoopFuture<Channel> = { [serverName] channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let ssl, let verification {
                    try sync.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: serverName, customVerificationCallback: verification))
                } else if let ssl {
                    try sync.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: serverName))
                }
                try sync.addHTTPClientHandlers()
                return try Channel(wrappingChannelSynchronously: channel)
            }
        }
        do {
            switch endpoint {
            case .unix(let path):
                return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initialize)
            case .tls(let host, let port, _):
                return try await bootstrap.connect(host: host, port: port, channelInitializer: initialize)
            }
        } catch {
            throw HTTPClientError(endpoint: endpoint.description, detail: "cannot connect: \(error)")
        }
    }

    func head(_ method: String, _ path: String, body: [UInt8]?, contentType: String?, keepAlive: Bool) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: "shoal")
        head.headers.add(name: "User-Agent", value: "shoal-agent/1.0")
        head.headers.add(name: "Accept", value: "application/json")
        if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            head.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        if !keepAlive { head.headers.add(name: "Connection", value: "close") }
        return head
    }

    /// One request, the whole response read into memory.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil) async throws -> HTTPClientResponse {
        let channel = try await connect()
        let head = self.head(method, path, body: body, contentType: contentType, keepAlive: false)
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var response = HTTPClientResponse(status: 0, headers: [], body: [])
            for try await part in inbound {
                switch part {
                case .head(let h):
                    response.status = Int(h.status.code)
                    response.headers = h.headers.map { ($0.name, $0.value) }
                case .body(var buffer):
                    response.body += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end:
                    return response
                }
            }
            throw HTTPClientError(endpoint: self.endpoint.description, detail: "connection closed before the response ended")
        }
    }

    /// A streamed GET: the status, then the body split at newlines (watch events), empty lines
    /// left out. The stream ends when the server ends the response or the consumer stops.
    public func lines(_ path: String) async throws -> (status: Int, lines: AsyncThrowingStream<[UInt8], Error>) {
        let (status, body) = try await streamed(path)
        guard status == 200 else { return (status, body) }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let task = Task {
            var pending: [UInt8] = []
            do {
                for try await bytes in body {
                    pending += bytes
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = Array(pending[..<newline])
                        pending.removeSubrange(...newline)
                        if !line.isEmpty { continuation.yield(line) }
                    }
                }
                if !pending.isEmpty { continuation.yield(pending) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return (status, stream)
    }

    /// A streamed GET: the status, then the body as it arrives (a non-200 answer's body comes
    /// whole). The stream ends when the server ends the response or the consumer stops.
    public func streamed(_ path: String) async throws -> (status: Int, body: AsyncThrowingStream<[UInt8], Error>) {
        let channel = try await connect()
        let head = self.head("GET", path, body: nil, contentType: nil, keepAlive: true)
        let (stream, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let (statusStream, statusContinuation) = AsyncStream<Int>.makeStream()
        let endpoint = self.endpoint.description
        let task = Task {
            do {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(.head(head))
                    try await outbound.write(.end(nil))
                    var errorBody: [UInt8]?
                    for try await part in inbound {
                        switch part {
                        case .head(let h):
                            statusContinuation.yield(Int(h.status.code))
                            statusContinuation.finish()
                            if h.status.code != 200 { errorBody = [] }
                        case .body(var buffer):
                            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                            if errorBody != nil { errorBody! += bytes } else if !bytes.isEmpty { continuation.yield(bytes) }
                        case .end:
                            if let errorBody { continuation.yield(errorBody) }
                            continuation.finish()
                            return
                        }
                    }
                    continuation.finish(throwing: HTTPClientError(endpoint: endpoint, detail: "streamed connection closed"))
                }
            } catch {
                statusContinuation.finish()
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        var status = 0
        for await s in statusStream { status = s }
        if status == 0 {
            // Surface the connection's error rather than a bare status 0.
            for try await _ in stream {}
            throw HTTPClientError(endpoint: endpoint, detail: "no response")
        }
        return (status, stream)
    }
}
