import Crypto
import Foundation

/// RFC 6455 framing, the server side: what kubectl (1.30+) speaks for exec, attach and, tunnelling
/// SPDY, port-forward.
public enum WebSocket {
    public static let opContinuation: UInt8 = 0, opText: UInt8 = 1, opBinary: UInt8 = 2
    public static let opClose: UInt8 = 8, opPing: UInt8 = 9, opPong: UInt8 = 10

    public struct Frame: Equatable, Sendable {
        public var fin: Bool
        public var opcode: UInt8
        public var payload: [UInt8]
        public init(fin: Bool = true, opcode: UInt8, payload: [UInt8]) {
            self.fin = fin
            self.opcode = opcode
            self.payload = payload
        }
    }

    public struct ProtocolError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
    public static func acceptKey(for key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }

    /// Whether a request asks for a WebSocket; the subprotocols it offers, in its order.
    public static func offeredProtocols(_ request: APIRequest) -> [String]? {
        guard request.header("upgrade")?.lowercased() == "websocket", request.header("sec-websocket-key") != nil else { return nil }
        let values = request.headers.filter { $0.0.lowercased() == "sec-websocket-protocol" }.map(\.1)
        return values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// The 101 headers accepting `request` with `chosen` as the subprotocol.
    public static func acceptHeaders(_ request: APIRequest, chosen: String) -> [(String, String)] {
        [("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Accept", acceptKey(for: request.header("sec-websocket-key") ?? "")),
         ("Sec-WebSocket-Protocol", chosen)]
    }

    /// One frame as the server sends it (unmasked), or as a client does with `mask`.
    public static func encode(_ frame: Frame, mask: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = [(frame.fin ? 0x80 : 0) | (frame.opcode & 0x0f)]
        let n = frame.payload.count
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        if n < 126 {
            out.append(maskBit | UInt8(n))
        } else if n <= 0xffff {
            out += [maskBit | 126, UInt8(n >> 8), UInt8(n & 0xff)]
        } else {
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xff)) }
        }
        guard let mask else { return out + frame.payload }
        out += mask
        for (i, b) in frame.payload.enumerated() { out.append(b ^ mask[i & 3]) }
        return out
    }

    /// Incremental decoding; unmasks what clients send.
    public struct Decoder: Sendable {
        /// Larger frames are refused: kubectl sends at most 32 KiB of stdin per frame.
        public var maxPayload = 16 << 20
        var buffer: [UInt8] = []
        public init() {}

        public mutating func feed(_ bytes: [UInt8]) throws(ProtocolError) -> [Frame] {
            buffer += bytes
            var frames: [Frame] = []
            var offset = 0
            while buffer.count - offset >= 2 {
                let b0 = buffer[offset], b1 = buffer[offset + 1]
                let masked = b1 & 0x80 != 0
                var length = Int(b1 & 0x7f)
                var header = 2
                if length == 126 {
                    guard buffer.count - offset >= 4 else { break }
                    length = Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3])
                    header = 4
                } else if length == 127 {
                    guard buffer.count - offset >= 10 else { break }
                    var n: UInt64 = 0
                    for i in 2..<10 { n = n << 8 | UInt64(buffer[offset + i]) }
                    guard n <= UInt64(maxPayload) else { throw ProtocolError(description: "a websocket frame of \(n) bytes is larger than allowed") }
                    length = Int(n)
                    header = 10
                }
                guard length <= maxPayload else { throw ProtocolError(description: "a websocket frame of \(length) bytes is larger than allowed") }
                let maskStart = offset + header
                let payloadStart = maskStart + (masked ? 4 : 0)
                guard buffer.count >= payloadStart + length else { break }
                var payload = Array(buffer[payloadStart..<(payloadStart + length)])
                if masked {
                    for i in payload.indices { payload[i] ^= buffer[maskStart + (i & 3)] }
                }
                frames.append(Frame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0f, payload: payload))
                offset = payloadStart + length
            }
            buffer.removeFirst(offset)
            return frames
        }
    }
}

/// The messages of one server-side WebSocket connection: fragments joined, pings answered,
/// a close echoed.
public final class WebSocketSession: Sendable {
    /// Whole data messages (binary or text) as they complete; finishes on close.
    public let messages: AsyncStream<[UInt8]>
    let connection: RawConnection
    let reader: Task<Void, Never>

    public init(_ connection: RawConnection) {
        self.connection = connection
        let (messages, continuation) = AsyncStream<[UInt8]>.makeStream()
        self.messages = messages
        reader = Task {
            var decoder = WebSocket.Decoder()
            var partial: [UInt8] = []
            defer { continuation.finish() }
            for await chunk in connection.inbound {
                guard let frames = try? decoder.feed(chunk) else {
                    try? await connection.write(WebSocket.encode(.init(opcode: WebSocket.opClose, payload: Self.closePayload(1002))))
                    await connection.close()
                    return
                }
                for frame in frames {
                    switch frame.opcode {
                    case WebSocket.opPing:
                        try? await connection.write(WebSocket.encode(.init(opcode: WebSocket.opPong, payload: frame.payload)))
                    case WebSocket.opClose:
                        try? await connection.write(WebSocket.encode(.init(opcode: WebSocket.opClose, payload: Array(frame.payload.prefix(2)))))
                        await connection.close()
                        return
                    case WebSocket.opText, WebSocket.opBinary, WebSocket.opContinuation:
                        partial += frame.payload
                        if frame.fin {
                            continuation.yield(partial)
                            partial = []
                        }
                    default:
                        break
                    }
                }
            }
        }
    }

    static func closePayload(_ code: UInt16) -> [UInt8] { [UInt8(code >> 8), UInt8(code & 0xff)] }

    public func send(_ payload: [UInt8]) async throws {
        try await connection.write(WebSocket.encode(.init(opcode: WebSocket.opBinary, payload: payload)))
    }

    /// A normal close (1000), then the connection ends.
    public func close(code: UInt16 = 1000) async {
        try? await connection.write(WebSocket.encode(.init(opcode: WebSocket.opClose, payload: Self.closePayload(code))))
        await connection.close()
        reader.cancel()
    }
}
