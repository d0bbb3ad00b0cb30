import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// `grpc.health.v1.Health/Check` over cleartext HTTP/2 (h2c, prior knowledge), the kubelet's
/// gRPC probe: one connection, one unary call, then GOAWAY. A small HTTP/2 client of its own
/// (frames, HPACK) rather than a dependency: the agent needs nothing else of HTTP/2.
enum GRPCHealthCheck {
    /// grpc.health.v1.HealthCheckResponse.ServingStatus.
    static let servingStatusNames = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]
    /// google.golang.org/grpc/codes, as grpc-go prints them.
    static let codeNames = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
                            "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
                            "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"]

    /// The kubelet's messages (pkg/probe/grpc): "service healthy", "service unhealthy (responded
    /// with \"NOT_SERVING\")", "timeout: failed to connect service …", …
    static func probe(host: String, port: Int, service: String, namespace: NetNamespace, timeout: Double,
                      userAgent: String) async -> ProbeOutcome {
        let addr = HTTPProbe.hostPort(host, port)
        let within = HTTPProbe.goDuration(timeout)
        let deadline = monotonicNanos() + UInt64(max(0, timeout) * 1e9)
        let fd: FileDescriptor
        do {
            fd = try await TCPClient.connect(host: host, port: UInt16(clamping: port), in: namespace, timeout: timeout)
        } catch {
            // The kubelet dials with WithBlock: a refused connection is retried until the timeout.
            if error.operation == "connect" {
                return .failure("timeout: failed to connect service \"\(addr)\" within \(within): context deadline exceeded")
            }
            return .failure("error: failed to connect service at \"\(addr)\": \(HTTPProbe.dialError(error, addr))")
        }
        defer { fd.close() }
        let result: CallResult
        do {
            result = try await call(fd, authority: addr, service: service, userAgent: userAgent, timeout: timeout, deadline: deadline)
        } catch let e as SystemError where e.errno == ETIMEDOUT || e.errno == ECANCELED {
            return .failure("timeout: health rpc did not complete within \(within)")
        } catch {
            return .failure("error: health rpc probe failed: rpc error: code = Unavailable desc = \(error)")
        }
        return outcome(result, within: within)
    }

    /// What the server answered.
    struct CallResult: Equatable {
        var httpStatus: Int?
        var grpcStatus: Int?
        var grpcMessage: String?
        /// The response message, without its 5-byte gRPC prefix.
        var message: [UInt8]?
    }

    struct ProtocolError: Error, CustomStringConvertible {
        var description: String
    }

    static func outcome(_ r: CallResult, within: String) -> ProbeOutcome {
        var code = r.grpcStatus
        var desc = percentDecode(r.grpcMessage ?? "")
        if let http = r.httpStatus, http != 200 {
            // grpc-go maps an HTTP error status to a code when no grpc-status came.
            if code == nil {
                switch http {
                case 400: code = 13
                case 401: code = 16
                case 403: code = 7
                case 404: code = 12
                case 429, 502, 503, 504: code = 14
                default: code = 2
                }
                desc = "unexpected HTTP status code received from server: \(http) (\(HTTPProbe.statusText(http)))"
            }
        }
        let status = code ?? 13
        if status != 0 || r.grpcStatus == nil {
            let name = status < codeNames.count ? codeNames[status] : "Code(\(status))"
            if r.grpcStatus == nil && r.httpStatus == 200 {
                return .failure("error: health rpc probe failed: rpc error: code = Internal desc = server closed the stream without sending trailers")
            }
            switch status {
            case 12: return .failure("this server does not implement the grpc health protocol (grpc.health.v1.Health): \(desc)")
            case 4: return .failure("timeout: health rpc did not complete within \(within)")
            default: return .failure("error: health rpc probe failed: rpc error: code = \(name) desc = \(desc)")
            }
        }
        guard let message = r.message else {
            return .failure("error: health rpc probe failed: rpc error: code = Internal desc = response message missing")
        }
        let serving = servingStatus(message)
        if serving == 1 { return .success("service healthy") }
        let name = serving < servingStatusNames.count ? servingStatusNames[serving] : String(serving)
        return .failure("service unhealthy (responded with \"\(name)\")")
    }

    /// Field 1 (varint) of a HealthCheckResponse; 0 (UNKNOWN) when absent.
    static func servingStatus(_ message: [UInt8]) -> Int {
        var i = 0
        var status = 0
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < message.count, shift < 64 {
                let b = message[i]
                i += 1
                v |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        while i < message.count {
            guard let key = varint() else { break }
            let field = key >> 3, wire = key & 7
            switch wire {
            case 0:
                guard let v = varint() else { return status }
                if field == 1 { status = Int(truncatingIfNeeded: v) }
            case 1: i += 8
            case 2:
                guard let n = varint() else { return status }
                i += Int(truncatingIfNeeded: n)
            case 5: i += 4
            default: return status
            }
        }
        return status
    }

    /// grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
    static func percentDecode(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: HTTP/2

    enum FrameType: UInt8 {
        case data = 0, headers = 1, priority = 2, rstStream = 3, settings = 4, pushPromise = 5, ping = 6, goAway = 7,
             windowUpdate = 8, continuation = 9
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static let flagEndStream: UInt8 = 0x1, flagAck: UInt8 = 0x1, flagEndHeaders: UInt8 = 0x4, flagPadded: UInt8 = 0x8,
               flagPriority: UInt8 = 0x20

    static func frame(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        var out: [UInt8] = [UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff), type.rawValue, flags]
        out += [UInt8((stream >> 24) & 0x7f), UInt8((stream >> 16) & 0xff), UInt8((stream >> 8) & 0xff), UInt8(stream & 0xff)]
        return out + payload
    }

    /// The client's first flight: preface, SETTINGS (no push), the request's HEADERS and DATA.
    static func request(authority: String, service: String, userAgent: String, timeout: Double) -> [UInt8] {
        // SETTINGS_ENABLE_PUSH (0x2) = 0.
        var out = preface + frame(.settings, [0x00, 0x02, 0x00, 0x00, 0x00, 0x00])
        let millis = max(1, min(99_999_999, Int((timeout * 1000).rounded())))
        let headers = HPACK.encode([
            (":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"), (":authority", authority),
            ("content-type", "application/grpc"), ("user-agent", userAgent), ("te", "trailers"), ("grpc-timeout", "\(millis)m"),
        ])
        out += frame(.headers, flags: flagEndHeaders, stream: 1, headers)
        // HealthCheckRequest { string service = 1; }, behind the gRPC prefix (uncompressed, length).
        var message: [UInt8] = []
        if !service.isEmpty {
            let s = Array(service.utf8)
            message.append(0x0a)
            var n = s.count
            while n >= 0x80 {
                message.append(UInt8(n & 0x7f) | 0x80)
                n >>= 7
            }
            message.append(UInt8(n))
            message += s
        }
        let m = message.count
        let body: [UInt8] = [0, UInt8((m >> 24) & 0xff), UInt8((m >> 16) & 0xff), UInt8((m >> 8) & 0xff), UInt8(m & 0xff)] + message
        out += frame(.data, flags: flagEndStream, stream: 1, body)
        return out
    }

    static func call(_ fd: FileDescriptor, authority: String, service: String, userAgent: String, timeout: Double,
                     deadline: UInt64) async throws -> CallResult {
        try await SocketIO.send(fd, request(authority: authority, service: service, userAgent: userAgent, timeout: timeout), deadline: deadline)
        var parser = ResponseParser()
        while !parser.done {
            let bytes = try await SocketIO.receive(fd, deadline: deadline)
            if bytes.isEmpty { throw ProtocolError(description: "connection closed before the response ended") }
            let replies = try parser.feed(bytes)
            if !replies.isEmpty { try await SocketIO.send(fd, replies, deadline: deadline) }
        }
        // GOAWAY (last stream 0, NO_ERROR): a polite close.
        try? await SocketIO.send(fd, frame(.goAway, [0, 0, 0, 0, 0, 0, 0, 0]), deadline: deadline)
        return parser.result
    }

    /// Reads the server's frames for stream 1 until it ends; answers SETTINGS and PING.
    struct ResponseParser {
        private var buffer: [UInt8] = []
        private var decoder = HPACK.Decoder()
        private var headerBlock: [UInt8]?
        private var headerBlockEndsStream = false
        private var data: [UInt8] = []
        private(set) var result = CallResult()
        private(set) var done = false

        /// Consumes bytes; returns frames to send back (SETTINGS and PING acknowledgements).
        mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] {
            buffer += bytes
            var replies: [UInt8] = []
            while buffer.count >= 9 {
                let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
                guard buffer.count >= 9 + length else { break }
                let type = buffer[3], flags = buffer[4]
                let stream = UInt32(buffer[5] & 0x7f) << 24 | UInt32(buffer[6]) << 16 | UInt32(buffer[7]) << 8 | UInt32(buffer[8])
                let payload = Array(buffer[9..<(9 + length)])
                buffer.removeFirst(9 + length)
                try handle(type: type, flags: flags, stream: stream, payload: payload, replies: &replies)
                if done { break }
            }
            return replies
        }

        private mutating func handle(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8], replies: inout [UInt8]) throws {
            if headerBlock != nil && type != FrameType.continuation.rawValue {
                throw ProtocolError(description: "frame type \(type) inside a header block")
            }
            switch FrameType(rawValue: type) {
            case .settings:
                if flags & flagAck == 0 { replies += frame(.settings, flags: flagAck) }
            case .ping:
                if flags & flagAck == 0 { replies += frame(.ping, flags: flagAck, payload) }
            case .goAway:
                let code = payload.count >= 8 ? UInt32(payload[4]) << 24 | UInt32(payload[5]) << 16 | UInt32(payload[6]) << 8 | UInt32(payload[7]) : 0
                throw ProtocolError(description: "the server sent GOAWAY (error code \(code))")
            case .rstStream where stream == 1:
                let code = payload.count >= 4 ? UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3]) : 0
                throw ProtocolError(description: "stream terminated by RST_STREAM with error code: \(code)")
            case .headers where stream == 1:
                var block = try unpad(payload, flags: flags)
                if flags & flagPriority != 0 {
                    guard block.count >= 5 else { throw ProtocolError(description: "short HEADERS frame") }
                    block.removeFirst(5)
                }
                headerBlock = block
                headerBlockEndsStream = flags & flagEndStream != 0
                if flags & flagEndHeaders != 0 { try endHeaderBlock() }
            case .continuation where stream == 1:
                guard headerBlock != nil else { throw ProtocolError(description: "CONTINUATION without HEADERS") }
                headerBlock! += payload
                if flags & flagEndHeaders != 0 { try endHeaderBlock() }
            case .data where stream == 1:
                data += try unpad(payload, flags: flags)
                if flags & flagEndStream != 0 { finish() }
            default:
                // WINDOW_UPDATE, PRIORITY, frames of other streams, unknown types: nothing to do.
                break
            }
        }

        private func unpad(_ payload: [UInt8], flags: UInt8) throws -> [UInt8] {
            guard flags & flagPadded != 0 else { return payload }
            guard let pad = payload.first, Int(pad) < payload.count else { throw ProtocolError(description: "bad padding") }
            return Array(payload[1..<(payload.count - Int(pad))])
        }

        private mutating func endHeaderBlock() throws {
            let block = headerBlock ?? []
            headerBlock = nil
            for (name, value) in try decoder.decode(block) {
                switch name {
                case ":status": result.httpStatus = Int(value)
                case "grpc-status": result.grpcStatus = Int(value)
                case "grpc-message": result.grpcMessage = value
                default: break
                }
            }
            if headerBlockEndsStream { finish() }
        }

        private mutating func finish() {
            done = true
            // One length-prefixed message (compression was not offered, so the flag is 0).
            if data.count >= 5 {
                let n = Int(data[1]) << 24 | Int(data[2]) << 16 | Int(data[3]) << 8 | Int(data[4])
                if data.count >= 5 + n { result.message = Array(data[5..<(5 + n)]) }
            }
        }
    }
}
