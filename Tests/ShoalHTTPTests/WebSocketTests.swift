import ShoalHTTP
import Testing

struct WebSocketTests {
    /// RFC 6455's own example (section 1.3).
    @Test func acceptKeyIsTheRFCsExample() {
        #expect(WebSocket.acceptKey(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    /// Masked client frames of every length encoding, fed a byte at a time, come out unmasked.
    @Test func maskedFramesOfEveryLengthDecodeIncrementally() throws {
        let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
        let payloads: [[UInt8]] = [[], Array("Hello".utf8), Array(repeating: 7, count: 300), Array(repeating: 9, count: 70_000)]
        var wire: [UInt8] = []
        for (i, p) in payloads.enumerated() {
            wire += WebSocket.encode(.init(fin: i != 1, opcode: i == 0 ? WebSocket.opPing : WebSocket.opBinary, payload: p), mask: mask)
        }
        var decoder = WebSocket.Decoder()
        var frames: [WebSocket.Frame] = []
        for b in wire.prefix(500) { frames += try decoder.feed([b]) }
        frames += try decoder.feed(Array(wire.dropFirst(500)))
        #expect(frames.map(\.payload) == payloads)
        #expect(frames.map(\.opcode) == [WebSocket.opPing, WebSocket.opBinary, WebSocket.opBinary, WebSocket.opBinary])
        #expect(frames.map(\.fin) == [true, false, true, true])
    }

    /// The RFC's unmasked "Hello" (section 5.7), as the server sends it.
    @Test func serverFramesAreUnmasked() {
        #expect(WebSocket.encode(.init(opcode: WebSocket.opText, payload: Array("Hello".utf8))) == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
    }

    @Test func anOversizedFrameIsRefused() {
        var decoder = WebSocket.Decoder()
        decoder.maxPayload = 10
        #expect(throws: WebSocket.ProtocolError.self) { try decoder.feed(WebSocket.encode(.init(opcode: WebSocket.opBinary, payload: Array(repeating: 0, count: 200)))) }
    }

    @Test func offeredProtocolsAreReadFromEveryHeaderValue() {
        let request = APIRequest(method: "GET", path: "/exec", headers: [
            ("Upgrade", "websocket"), ("Sec-WebSocket-Key", "k"),
            ("Sec-WebSocket-Protocol", "v5.channel.k8s.io, v4.channel.k8s.io"), ("Sec-WebSocket-Protocol", "channel.k8s.io")])
        #expect(WebSocket.offeredProtocols(request) == ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"])
        #expect(WebSocket.offeredProtocols(APIRequest(method: "GET", path: "/exec", headers: [("Upgrade", "SPDY/3.1")])) == nil)
    }
}
