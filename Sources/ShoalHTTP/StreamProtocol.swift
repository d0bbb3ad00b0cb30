import NIOCore

/// The framed stream an upgraded connection carries (exec, attach). Channel numbers are those
/// of Kubernetes' remotecommand protocol (v5), so the master can relay websocket frames as they
/// are: a frame is `channel (1 byte) | length (4 bytes, big endian) | payload`.
public enum StreamProtocol {
    public static let name = "shoal-stream"
    public static let stdin: UInt8 = 0, stdout: UInt8 = 1, stderr: UInt8 = 2
    /// A `v1.Status` JSON: Success, or Failure with the exit code (NonZeroExitCode).
    public static let status: UInt8 = 3
    /// `{"Width": w, "Height": h}`.
    public static let resize: UInt8 = 4
    /// The payload names a channel the sender will not write to again (stdin EOF).
    public static let close: UInt8 = 255

    public static func frame(_ channel: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [channel]
        let n = UInt32(payload.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
        return out + payload
    }

    /// Incremental decoding of frames from a byte stream.
    public struct Decoder: Sendable {
        var buffer: [UInt8] = []
        public init() {}

        public mutating func feed(_ bytes: [UInt8]) -> [(UInt8, [UInt8])] {
            buffer += bytes
            var frames: [(UInt8, [UInt8])] = []
            var offset = 0
            while buffer.count - offset >= 5 {
                let n = Int(buffer[offset + 1]) << 24 | Int(buffer[offset + 2]) << 16 | Int(buffer[offset + 3]) << 8 | Int(buffer[offset + 4])
                guard buffer.count - offset - 5 >= n else { break }
                frames.append((buffer[offset], Array(buffer[(offset + 5)..<(offset + 5 + n)])))
                offset += 5 + n
            }
            buffer.removeFirst(offset)
            return frames
        }
    }
}

/// The agent's side of an upgraded connection.
public final class StreamSession: Sendable {
    public let frames: AsyncStream<(UInt8, [UInt8])>
    let inbound: Inbound
    let channel: Channel

    init(channel: Channel) {
        self.channel = channel
        var continuation: AsyncStream<(UInt8, [UInt8])>.Continuation!
        frames = AsyncStream { continuation = $0 }
        inbound = Inbound(continuation: continuation)
    }

    public func send(_ channelID: UInt8, _ payload: [UInt8]) async throws {
        let buffer = channel.allocator.buffer(bytes: StreamProtocol.frame(channelID, payload))
        try await channel.writeAndFlush(buffer).get()
    }

    public func close() async { try? await channel.close() }

    final class Inbound: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<(UInt8, [UInt8])>.Continuation
        var decoder = StreamProtocol.Decoder()

        init(continuation: AsyncStream<(UInt8, [UInt8])>.Continuation) { self.continuation = continuation }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buf = unwrapInboundIn(data)
            for frame in decoder.feed(buf.readBytes(length: buf.readableBytes) ?? []) { continuation.yield(frame) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            continuation.finish()
            context.close(promise: nil)
        }
    }
}
