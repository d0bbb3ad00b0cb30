import CZlib

/// SPDY/3 frames, as kubectl's SPDY streams use them (exec and attach before 1.30, every
/// port-forward). Only what a server of client-initiated streams needs; no flow control,
/// which kubectl's and the kubelet's SPDY library do not enforce either.
public enum SPDYFrame: Equatable, Sendable {
    case synStream(stream: UInt32, flags: UInt8, headers: [String: String])
    case synReply(stream: UInt32, flags: UInt8, headers: [String: String])
    case rstStream(stream: UInt32, status: UInt32)
    case settings
    case ping(id: UInt32)
    case goAway(lastGoodStream: UInt32, status: UInt32)
    case headers(stream: UInt32, flags: UInt8, headers: [String: String])
    case windowUpdate(stream: UInt32, delta: UInt32)
    case data(stream: UInt32, flags: UInt8, payload: [UInt8])
    /// A control frame type this side does not act on (NOOP, CREDENTIAL, future ones).
    case unknown(type: UInt16)

    public static let flagFin: UInt8 = 0x01
    public static let version: UInt16 = 3
    /// RST_STREAM status CANCEL.
    public static let statusCancel: UInt32 = 5
    /// The largest DATA payload we send: small frames keep one stream from holding the line.
    public static let maxDataPayload = 16 * 1024
}

public struct SPDYError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// Frame codec of one connection. The header blocks of every frame share one zlib stream per
/// direction, so one codec belongs to one connection and frames go through it in wire order.
final class SPDYCodec {
    private var buffer: [UInt8] = []
    private let inflater: ZStream
    private let deflater: ZStream
    /// A header block inflating to more than this is refused (a compression bomb otherwise).
    static let maxHeaderBlock = 256 * 1024

    init() throws(SPDYError) {
        inflater = try ZStream(inflate: ())
        deflater = try ZStream(deflateWithDictionary: SPDYDictionary.bytes)
    }

    // MARK: decoding

    /// Every whole frame in what has arrived so far; a partial frame waits for more bytes.
    func feed(_ bytes: [UInt8]) throws(SPDYError) -> [SPDYFrame] {
        buffer += bytes
        var frames: [SPDYFrame] = []
        var offset = 0
        while buffer.count - offset >= 8 {
            let length = Int(buffer[offset + 5]) << 16 | Int(buffer[offset + 6]) << 8 | Int(buffer[offset + 7])
            guard buffer.count - offset >= 8 + length else { break }
            let head = Array(buffer[offset..<(offset + 8)])
            let body = Array(buffer[(offset + 8)..<(offset + 8 + length)])
            offset += 8 + length
            frames.append(try decode(head: head, body: body))
        }
        buffer.removeFirst(offset)
        return frames
    }

    private func decode(head: [UInt8], body: [UInt8]) throws(SPDYError) -> SPDYFrame {
        let flags = head[4]
        guard head[0] & 0x80 != 0 else {
            return .data(stream: Self.u32(head, 0) & 0x7fff_ffff, flags: flags, payload: body)
        }
        let version = UInt16(head[0] & 0x7f) << 8 | UInt16(head[1])
        guard version == SPDYFrame.version else { throw SPDYError(description: "SPDY version \(version) is not supported; this server speaks SPDY/3.1") }
        let type = UInt16(head[2]) << 8 | UInt16(head[3])
        func need(_ n: Int) throws(SPDYError) {
            guard body.count >= n else { throw SPDYError(description: "SPDY control frame of type \(type) is \(body.count) bytes, shorter than its \(n)-byte fields") }
        }
        switch type {
        case 1:
            try need(10)
            return .synStream(stream: Self.u32(body, 0) & 0x7fff_ffff, flags: flags, headers: try headerBlock(Array(body[10...])))
        case 2:
            try need(4)
            return .synReply(stream: Self.u32(body, 0) & 0x7fff_ffff, flags: flags, headers: try headerBlock(Array(body[4...])))
        case 3:
            try need(8)
            return .rstStream(stream: Self.u32(body, 0) & 0x7fff_ffff, status: Self.u32(body, 4))
        case 4: return .settings
        case 6:
            try need(4)
            return .ping(id: Self.u32(body, 0))
        case 7:
            try need(8)
            return .goAway(lastGoodStream: Self.u32(body, 0) & 0x7fff_ffff, status: Self.u32(body, 4))
        case 8:
            try need(4)
            return .headers(stream: Self.u32(body, 0) & 0x7fff_ffff, flags: flags, headers: try headerBlock(Array(body[4...])))
        case 9:
            try need(8)
            return .windowUpdate(stream: Self.u32(body, 0) & 0x7fff_ffff, delta: Self.u32(body, 4) & 0x7fff_ffff)
        default: return .unknown(type: type)
        }
    }

    /// The name/value block: a count, then length-prefixed names and values (UInt32 each).
    /// A name given several values carries them NUL-separated; we keep the first.
    private func headerBlock(_ compressed: [UInt8]) throws(SPDYError) -> [String: String] {
        let block = try inflater.inflate(compressed, limit: Self.maxHeaderBlock, dictionary: SPDYDictionary.bytes)
        var offset = 0
        func next() throws(SPDYError) -> [UInt8] {
            guard block.count - offset >= 4 else { throw SPDYError(description: "truncated SPDY header block") }
            let n = Int(Self.u32(block, offset))
            offset += 4
            guard block.count - offset >= n else { throw SPDYError(description: "truncated SPDY header block") }
            defer { offset += n }
            return Array(block[offset..<(offset + n)])
        }
        guard block.count >= 4 else { throw SPDYError(description: "truncated SPDY header block") }
        let count = Self.u32(block, 0)
        offset = 4
        var headers: [String: String] = [:]
        for _ in 0..<count {
            let name = String(decoding: try next(), as: UTF8.self).lowercased()
            let value = try next()
            headers[name] = String(decoding: value.split(separator: 0, omittingEmptySubsequences: false).first ?? [], as: UTF8.self)
        }
        return headers
    }

    // MARK: encoding

    func encode(_ frame: SPDYFrame) throws(SPDYError) -> [UInt8] {
        switch frame {
        case .synStream(let stream, let flags, let headers):
            return control(1, flags, Self.be32(stream) + Self.be32(0) + [0, 0] + (try compressedBlock(headers)))
        case .synReply(let stream, let flags, let headers):
            return control(2, flags, Self.be32(stream) + (try compressedBlock(headers)))
        case .rstStream(let stream, let status):
            return control(3, 0, Self.be32(stream) + Self.be32(status))
        case .settings:
            return control(4, 0, Self.be32(0))
        case .ping(let id):
            return control(6, 0, Self.be32(id))
        case .goAway(let last, let status):
            return control(7, 0, Self.be32(last) + Self.be32(status))
        case .headers(let stream, let flags, let headers):
            return control(8, flags, Self.be32(stream) + (try compressedBlock(headers)))
        case .windowUpdate(let stream, let delta):
            return control(9, 0, Self.be32(stream) + Self.be32(delta))
        case .data(let stream, let flags, let payload):
            return Self.be32(stream & 0x7fff_ffff) + [flags] + Self.be24(payload.count) + payload
        case .unknown(let type):
            return control(type, 0, [])
        }
    }

    private func control(_ type: UInt16, _ flags: UInt8, _ body: [UInt8]) -> [UInt8] {
        [0x80 | UInt8(SPDYFrame.version >> 8), UInt8(SPDYFrame.version & 0xff), UInt8(type >> 8), UInt8(type & 0xff), flags]
            + Self.be24(body.count) + body
    }

    private func compressedBlock(_ headers: [String: String]) throws(SPDYError) -> [UInt8] {
        var block = Self.be32(UInt32(headers.count))
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            block += Self.be32(UInt32(name.utf8.count)) + Array(name.lowercased().utf8)
            block += Self.be32(UInt32(value.utf8.count)) + Array(value.utf8)
        }
        return try deflater.deflate(block)
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}

/// One zlib stream. Heap-allocated because zlib keeps a pointer back to it and refuses a
/// stream that has moved.
final class ZStream {
    private let z: UnsafeMutablePointer<z_stream>
    private let isInflate: Bool

    init(inflate: Void) throws(SPDYError) {
        z = .allocate(capacity: 1)
        z.initialize(to: z_stream())
        isInflate = true
        guard inflateInit_(z, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            z.deallocate()
            throw SPDYError(description: "zlib inflateInit failed")
        }
    }

    init(deflateWithDictionary dictionary: [UInt8]) throws(SPDYError) {
        z = .allocate(capacity: 1)
        z.initialize(to: z_stream())
        isInflate = false
        guard deflateInit_(z, Z_BEST_COMPRESSION, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            z.deallocate()
            throw SPDYError(description: "zlib deflateInit failed")
        }
        let set = dictionary.withUnsafeBufferPointer { deflateSetDictionary(z, $0.baseAddress, UInt32($0.count)) }
        guard set == Z_OK else { throw SPDYError(description: "zlib deflateSetDictionary failed") }
    }

    deinit {
        if isInflate { inflateEnd(z) } else { deflateEnd(z) }
        z.deallocate()
    }

    /// Inflates one header block (ended by a sync flush); the dictionary is set when the
    /// stream asks for it, on its first block.
    func inflate(_ input: [UInt8], limit: Int, dictionary: [UInt8]) throws(SPDYError) -> [UInt8] {
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var failure: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            z.pointee.next_in = inBuf.baseAddress
            z.pointee.avail_in = UInt32(inBuf.count)
            while true {
                let (ret, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    z.pointee.next_out = out.baseAddress
                    z.pointee.avail_out = UInt32(out.count)
                    var ret = CZlib.inflate(z, Z_SYNC_FLUSH)
                    if ret == Z_NEED_DICT {
                        ret = dictionary.withUnsafeBufferPointer { inflateSetDictionary(z, $0.baseAddress, UInt32($0.count)) }
                        if ret == Z_OK { ret = CZlib.inflate(z, Z_SYNC_FLUSH) }
                    }
                    return (ret, out.count - Int(z.pointee.avail_out))
                }
                output += chunk[..<produced]
                if ret == Z_BUF_ERROR || (ret == Z_OK && z.pointee.avail_in == 0 && z.pointee.avail_out != 0) { break }
                guard ret == Z_OK, output.count <= limit else {
                    failure = ret == Z_OK ? Z_MEM_ERROR : ret
                    break
                }
            }
            z.pointee.next_in = nil
            z.pointee.avail_in = 0
        }
        guard failure == Z_OK else {
            throw SPDYError(description: failure == Z_MEM_ERROR ? "SPDY header block inflates past \(limit) bytes" : "SPDY header block does not inflate (zlib \(failure))")
        }
        return output
    }

    /// Deflates one header block and sync-flushes, so the peer can inflate it on its own.
    func deflate(_ input: [UInt8]) throws(SPDYError) -> [UInt8] {
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var failure: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            z.pointee.next_in = inBuf.baseAddress
            z.pointee.avail_in = UInt32(inBuf.count)
            repeat {
                let (ret, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    z.pointee.next_out = out.baseAddress
                    z.pointee.avail_out = UInt32(out.count)
                    let ret = CZlib.deflate(z, Z_SYNC_FLUSH)
                    return (ret, out.count - Int(z.pointee.avail_out))
                }
                output += chunk[..<produced]
                if ret != Z_OK && ret != Z_BUF_ERROR {
                    failure = ret
                    break
                }
            } while z.pointee.avail_out == 0
            z.pointee.next_in = nil
            z.pointee.avail_in = 0
        }
        guard failure == Z_OK else { throw SPDYError(description: "zlib deflate failed (\(failure))") }
        return output
    }
}

/// SPDY/3's header compression dictionary (draft 3, section 2.6.10.1): length-prefixed
/// header names and values, then common value text. Built from its parts so it can be read;
/// `bytes.count` is 1423 and its adler32 (the zlib DICTID) 0xe3c6a7c2, as the spec's.
enum SPDYDictionary {
    static let words = [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location",
        "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
        "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
        "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
        "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
        "public", "set-cookie", "keep-alive", "origin",
    ]
    static let tail = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        + "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        + "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        + "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        + "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    static let bytes: [UInt8] = words.flatMap { SPDYCodec.be32(UInt32($0.utf8.count)) + Array($0.utf8) } + Array(tail.utf8)
}
