import NIOCore
import NIOPosix
import NIOSSL

/// A connection after `101 Switching Protocols`: bytes in, bytes out, no HTTP. The master
/// speaks WebSocket or SPDY to kubectl on one of these and the framed stream protocol to the
/// agent on another.
public final class RawConnection: Sendable {
    /// Inbound bytes as they arrive; finishes when the peer closes.
    public let inbound: AsyncStream<[UInt8]>
    let channel: Channel
    let handler: Inbound

    init(channel: Channel) {
        self.channel = channel
        (inbound, handler) = Self.makeInbound(head: nil)
    }

    init(channel: Channel, inbound: AsyncStream<[UInt8]>, handler: Inbound) {
        self.channel = channel
        self.inbound = inbound
        self.handler = handler
    }

    /// `head`: the connection first carries an HTTP response head (the client side of an
    /// upgrade), which is held back from `inbound` and delivered through the promise.
    static func makeInbound(head: EventLoopPromise<String>?) -> (AsyncStream<[UInt8]>, Inbound) {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        return (stream, Inbound(continuation: continuation, head: head))
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
    }

    /// Half-closes our side where the transport allows it (TCP, unix), so the peer reads EOF
    /// while its answer can still arrive.
    public func closeOutput() async {
        do { try await channel.close(mode: .output).get() } catch { await close() }
    }

    public func close() async { try? await channel.close() }

    final class Inbound: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<[UInt8]>.Continuation
        let headPromise: EventLoopPromise<String>?
        var headPending: Bool
        var buffered: [UInt8] = []

        init(continuation: AsyncStream<[UInt8]>.Continuation, head: EventLoopPromise<String>?) {
            self.continuation = continuation
            headPromise = head
            headPending = head != nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buf = unwrapInboundIn(data)
            guard var bytes = buf.readBytes(length: buf.readableBytes), !bytes.isEmpty else { return }
            if headPending {
                buffered += bytes
                guard let end = HTTPClient.headEnd(buffered) else { return }
                headPending = false
                headPromise?.succeed(String(decoding: buffered[..<end], as: UTF8.self))
                bytes = Array(buffered[(end + 4)...])
                buffered = []
                if bytes.isEmpty { return }
            }
            continuation.yield(bytes)
        }

        func failHead() {
            if headPending {
                headPending = false
                headPromise?.fail(HTTPClientError(endpoint: "upgrade", detail: "connection closed during the upgrade"))
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event {
                failHead()
                continuation.finish()
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            failHead()
            continuation.finish()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            failHead()
            continuation.finish()
            context.close(promise: nil)
        }
    }
}

/// The answer to an upgrade request that was refused: the status and the body (a Status).
public struct UpgradeRefused: Error, CustomStringConvertible {
    public var status: Int
    public var body: [UInt8]
    public var description: String { "upgrade refused with HTTP \(status): \(String(decoding: body, as: UTF8.self))" }
}

extension HTTPClient {
    /// Sends one request asking to switch to `protocol` and returns the raw connection after
    /// the server's 101. Any other answer throws `UpgradeRefused` with the server's body.
    public func upgrade(_ method: String, _ path: String, protocol name: String) async throws -> RawConnection {
        // The handler is in the pipeline from the start, so that the head promise is always
        // completed, whenever the connection ends.
        let loop = group.next()
        let headPromise = loop.makePromise(of: String.self)
        let (inbound, handler) = RawConnection.makeInbound(head: headPromise)
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(.seconds(10))
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let ssl = sslContext
        let initialize: @Sendable (any NIOCore.Channel) -> EventLoopFuture<Void> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let ssl { try sync.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: nil)) }
                try sync.addHandler(handler)
            }
        }
        let channel: any NIOCore.Channel
        do {
            switch endpoint {
            case .unix(let path):
                channel = try await bootstrap.channelInitializer(initialize).connect(unixDomainSocketPath: path).get()
            case .tls(let host, let port, _):
                channel = try await bootstrap.channelInitializer(initialize).connect(host: host, port: port).get()
            }
        } catch {
            headPromise.fail(error)
            throw HTTPClientError(endpoint: endpoint.description, detail: "cannot connect: \(error)")
        }
        let connection = RawConnection(channel: channel, inbound: inbound, handler: handler)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: shoal\r\nUser-Agent: shoal-master/1.0\r\nConnection: Upgrade\r\nUpgrade: \(name)\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "Content-Length: 0\r\n\r\n"
        try await connection.write(Array(request.utf8))

        // The response head, then either the switched stream or an error body.
        let head = try await headPromise.futureResult.get()
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        if status == 101 { return connection }
        let length = head.split(separator: "\r\n").compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first
        var body: [UInt8] = []
        for await more in connection.inbound {
            body += more
            if let length, body.count >= length { break }
        }
        await connection.close()
        throw UpgradeRefused(status: status, body: body)
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
        return nil
    }
}
