import Synchronization
import Testing

@testable import ShoalHTTP

struct SPDYTests {
    /// The dictionary is the spec's: its length and the adler32 a peer's zlib stream names.
    @Test func dictionaryIsTheSpecsByLengthAndChecksum() {
        let bytes = SPDYDictionary.bytes
        #expect(bytes.count == 1423)
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        #expect(b << 16 | a == 0xe3c6_a7c2)
    }

    /// The first header block is a zlib stream that names the SPDY dictionary (FDICT and its
    /// DICTID), which is what another implementation's inflater checks.
    @Test func headerBlocksNameTheDictionary() throws {
        let codec = try SPDYCodec()
        let wire = try codec.encode(.synReply(stream: 1, flags: 0, headers: [:]))
        let zlib = Array(wire.dropFirst(12))
        #expect(zlib[1] & 0x20 != 0, "FDICT set")
        #expect(Array(zlib[2..<6]) == [0xe3, 0xc6, 0xa7, 0xc2])
    }

    /// Frames of every type survive encode and decode, with the header compression context
    /// carried across frames and bytes arriving one at a time.
    @Test func framesRoundTripThroughOneCompressionContext() throws {
        let frames: [SPDYFrame] = [
            .synStream(stream: 1, flags: 0, headers: ["streamtype": "error", "requestid": "0", "port": "8080"]),
            .synStream(stream: 3, flags: SPDYFrame.flagFin, headers: ["streamtype": "data", "requestid": "0", "port": "8080"]),
            .data(stream: 3, flags: 0, payload: Array("GET / HTTP/1.0\r\n\r\n".utf8)),
            .data(stream: 3, flags: SPDYFrame.flagFin, payload: []),
            .synReply(stream: 1, flags: 0, headers: [:]),
            .headers(stream: 1, flags: 0, headers: ["x": String(repeating: "y", count: 10_000)]),
            .ping(id: 7),
            .windowUpdate(stream: 3, delta: 65536),
            .rstStream(stream: 3, status: SPDYFrame.statusCancel),
            .goAway(lastGoodStream: 3, status: 0),
        ]
        let sender = try SPDYCodec(), receiver = try SPDYCodec()
        let wire = try frames.flatMap { try sender.encode($0) }
        var decoded: [SPDYFrame] = []
        for byte in wire { decoded += try receiver.feed([byte]) }
        #expect(decoded == frames)
    }

    @Test func otherVersionsAreRefused() throws {
        let codec = try SPDYCodec()
        #expect(throws: SPDYError.self) { try codec.feed([0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]) }
    }

    /// A client opens a stream, sends and half-closes; the server replies, answers and
    /// finishes; a ping is echoed. What the server wrote decodes to exactly that.
    @Test func connectionDeliversStreamsAndWritesInOrder() async throws {
        let written = Mutex<[UInt8]>([])
        let server = SPDYConnection(write: { bytes in written.withLock { $0 += bytes } })
        let client = try SPDYCodec()
        try await server.receive(client.encode(.synStream(stream: 1, flags: 0, headers: ["streamtype": "stdin"])))
        try await server.receive(client.encode(.data(stream: 1, flags: 0, payload: [1, 2, 3])))
        try await server.receive(client.encode(.data(stream: 1, flags: SPDYFrame.flagFin, payload: [4])))
        try await server.receive(client.encode(.ping(id: 9)))

        var streams = server.streams.makeAsyncIterator()
        let stream = try #require(await streams.next())
        #expect(stream.header("StreamType") == "stdin")
        var received: [UInt8] = []
        for await chunk in stream.data { received += chunk }
        #expect(received == [1, 2, 3, 4])
        try await stream.reply()
        try await stream.write(Array(repeating: 5, count: SPDYFrame.maxDataPayload + 1))
        try await stream.finish()
        await server.close()

        let frames = try client.feed(written.withLock { $0 })
        #expect(frames == [
            .ping(id: 9),
            .synReply(stream: 1, flags: 0, headers: [:]),
            .data(stream: 1, flags: 0, payload: Array(repeating: 5, count: SPDYFrame.maxDataPayload)),
            .data(stream: 1, flags: 0, payload: [5]),
            .data(stream: 1, flags: SPDYFrame.flagFin, payload: []),
        ])
    }
}
