import ShoalAPI
import Testing
@testable import ShoalAgent

/// The probe result state machine (the kubelet prober worker's lastResult/resultRun).
struct ProbeCounterTests {
    @Test func livenessStartsHealthyAndFailsAtTheThreshold() {
        var c = ProbeCounter(kind: .liveness, successThreshold: 1, failureThreshold: 3)
        #expect(c.result == true)
        #expect(c.observe(true) == nil)  // already healthy: no change
        #expect(c.observe(false) == nil)
        #expect(c.observe(false) == nil)
        #expect(c.observe(true) == nil)  // a success breaks the run
        #expect(c.observe(false) == nil)
        #expect(c.observe(false) == nil)
        #expect(c.observe(false) == false)  // third failure in a row
        #expect(c.result == false)
    }

    @Test func readinessStartsUnreadyAndNeedsItsSuccessThreshold() {
        var c = ProbeCounter(kind: .readiness, successThreshold: 2, failureThreshold: 1)
        #expect(c.result == false)
        #expect(c.observe(false) == nil)  // still unready: no change
        #expect(c.observe(true) == nil)
        #expect(c.observe(true) == true)
        #expect(c.observe(true) == nil)
        #expect(c.observe(false) == false)  // failureThreshold 1
        #expect(c.observe(true) == nil)
        #expect(c.observe(true) == true)
    }

    @Test func startupIsUnknownUntilItPassesOrFails() {
        var passes = ProbeCounter(kind: .startup, failureThreshold: 2)
        #expect(passes.result == nil)
        #expect(passes.observe(false) == nil)
        #expect(passes.observe(true) == true)

        var fails = ProbeCounter(kind: .startup, failureThreshold: 2)
        #expect(fails.observe(false) == nil)
        #expect(fails.observe(false) == false)
    }

    @Test func erroredRunsAreThrownAway() {
        var c = ProbeCounter(kind: .liveness, failureThreshold: 2)
        #expect(c.observe(false) == nil)
        #expect(c.observe(nil) == nil)
        #expect(c.observe(false) == false)  // the errored run did not break the failure run
    }

    @Test func kubeletDefaultsApply() {
        var c = ProbeCounter(kind: .liveness)
        #expect(c.successThreshold == 1 && c.failureThreshold == 3)
        #expect(c.observe(false) == nil && c.observe(false) == nil && c.observe(false) == false)
        let zero = ProbeCounter(kind: .readiness, successThreshold: 0, failureThreshold: 0)
        #expect(zero.successThreshold == 1 && zero.failureThreshold == 1)
    }

    @Test func outcomesCountAsTheKubeletCountsThem() {
        #expect(ProbeOutcome.success("").succeeded == true)
        #expect(ProbeOutcome.warning("redirect").succeeded == true)
        #expect(ProbeOutcome.failure("x").succeeded == false)
        #expect(ProbeOutcome.error("x").succeeded == nil)
    }

    @Test func startedAndReadyAtSpawn() {
        let plain = Container(name: "c")
        #expect(PodWorker.startsStarted(plain) && PodWorker.startsReady(plain))
        let probe = Probe(exec: ExecAction(command: ["true"]))
        let readiness = Container(name: "c", readinessProbe: probe)
        #expect(PodWorker.startsStarted(readiness) && !PodWorker.startsReady(readiness))
        let startup = Container(name: "c", livenessProbe: probe, startupProbe: probe)
        #expect(!PodWorker.startsStarted(startup) && !PodWorker.startsReady(startup))
        let hook = Container(name: "c", lifecycle: Lifecycle(postStart: LifecycleHandler(exec: ExecAction(command: ["true"]))))
        #expect(!PodWorker.startsStarted(hook) && !PodWorker.startsReady(hook))
    }

    @Test func portsResolveByNumberOrName() throws {
        let c = Container(name: "web", ports: [ContainerPort(name: "http", containerPort: 8080)])
        #expect(try PodWorker.resolvePort(.int(80), c).get() == 80)
        #expect(try PodWorker.resolvePort(.string("http"), c).get() == 8080)
        #expect(throws: ProbeHandlerError(description: "couldn't find port: grpc in container web")) { try PodWorker.resolvePort(.string("grpc"), c).get() }
        #expect(throws: ProbeHandlerError(description: "invalid port number: 0")) { try PodWorker.resolvePort(.int(0), c).get() }
    }

    @Test func commandsExpandStaticEnvOnly() {
        let c = Container(name: "c", env: [EnvVar(name: "PORT", value: "8080"),
                                           EnvVar(name: "POD", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name")))])
        #expect(PodWorker.expandCommand(["wget", "http://127.0.0.1:$(PORT)/", "$(POD)", "$$(PORT)"], c)
            == ["wget", "http://127.0.0.1:8080/", "$(POD)", "$(PORT)"])
    }
}

/// HTTP/1.1 probe requests and responses.
struct HTTPProbeTests {
    func request(_ headers: [(String, String)] = []) -> HTTPProbe.Request {
        HTTPProbe.Request(host: "127.0.0.1", port: 8080, path: "/healthz?x=1", headers: headers, namespace: .host, timeout: 1)
    }

    @Test func requestLooksLikeTheKubelets() {
        let text = String(decoding: HTTPProbe.requestBytes(request([("X-Probe", "yes")])), as: UTF8.self)
        #expect(text == "GET /healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: kube-probe/\(KubeletVersion.majorMinor)\r\nAccept: */*\r\nX-Probe: yes\r\nConnection: close\r\n\r\n")
        let custom = String(decoding: HTTPProbe.requestBytes(request([("Host", "example.test"), ("User-Agent", "mine"), ("accept", "text/plain")])), as: UTF8.self)
        #expect(custom == "GET /healthz?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: mine\r\nAccept: text/plain\r\nConnection: close\r\n\r\n")
    }

    @Test func responsesParseOnceTheHeadersAreComplete() throws {
        #expect(try HTTPProbe.parse(Array("HTTP/1.1 200 OK\r\nContent-Le".utf8)) == nil)
        let r = try #require(try HTTPProbe.parse(Array("HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\nLocation:  /x \r\n\r\nbody".utf8)))
        #expect(r.status == 404 && r.headers["content-type"] == "text/html" && r.headers["location"] == "/x")
        let interim = try #require(try HTTPProbe.parse(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".utf8)))
        #expect(interim.status == 204)
        #expect(throws: HTTPProbe.RequestError.self) { try HTTPProbe.parse(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) }
    }

    @Test func redirectsAreFollowedOnlyToTheSameHost() {
        let r = request()
        #expect(HTTPProbe.redirect("/other", from: r)?.path == "/other")
        let abs = HTTPProbe.redirect("http://127.0.0.1:9090/x", from: r)
        #expect(abs?.port == 9090 && abs?.path == "/x")
        #expect(HTTPProbe.redirect("http://example.com/", from: r) == nil)
        #expect(HTTPProbe.redirect("https://127.0.0.1/", from: r) == nil)
    }

    @Test func goWordsForErrors() {
        #expect(HTTPProbe.dialError(.init("connect", errno: 111), "127.0.0.1:1") == "dial tcp 127.0.0.1:1: connect: connection refused")
        #expect(HTTPProbe.dialError(.init("connect", errno: 110), "127.0.0.1:1") == "dial tcp 127.0.0.1:1: i/o timeout")
        #expect(HTTPProbe.hostPort("::1", 80) == "[::1]:80")
        #expect(HTTPProbe.goDuration(1) == "1s" && HTTPProbe.goDuration(0.5) == "500ms")
    }
}

/// HPACK decoding against RFC 7541's examples, and the gRPC health answer.
struct HPACKTests {
    @Test func huffmanStrings() throws {
        #expect(try Huffman.decode([0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]) == Array("www.example.com".utf8))
        #expect(try Huffman.decode([0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]) == Array("no-cache".utf8))
        #expect(try Huffman.decode([0xae, 0xc3, 0x77, 0x1a, 0x4b]) == Array("private".utf8))
        // Padding must be ones, shorter than a byte.
        #expect(throws: HPACK.DecodingError.self) { try Huffman.decode([0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff, 0xff]) }
        #expect(throws: HPACK.DecodingError.self) { try Huffman.decode([0x00]) }  // "0" then three zero bits
    }

    /// RFC 7541 C.4: requests with Huffman coding, the dynamic table carried across blocks.
    @Test func requestsWithHuffman() throws {
        var d = HPACK.Decoder()
        let first = try d.decode([0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff])
        #expect(first.map { "\($0.0): \($0.1)" } == [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"])
        #expect(d.tableSize == 57)
        let second = try d.decode([0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf])
        #expect(second.map { "\($0.0): \($0.1)" } == [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"])
        #expect(d.tableSize == 110)
        let third = try d.decode([0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f, 0x89, 0x25,
                                  0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf])
        #expect(third.last.map { "\($0.0): \($0.1)" } == "custom-key: custom-value")
        #expect(d.tableSize == 164)
    }

    /// RFC 7541 C.6: responses with Huffman coding and evictions from a 256-byte table.
    @Test func responsesWithHuffmanAndEviction() throws {
        var d = HPACK.Decoder(maxTableSize: 256)
        let r1 = try d.decode([
            0x48, 0x82, 0x64, 0x02, 0x58, 0x85, 0xae, 0xc3, 0x77, 0x1a, 0x4b, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10,
            0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b, 0x81, 0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff, 0x6e,
            0x91, 0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8, 0xe9, 0xae, 0x82, 0xae, 0x43, 0xd3,
        ])
        #expect(r1.map { "\($0.0): \($0.1)" } == [":status: 302", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT",
                                                 "location: https://www.example.com"])
        #expect(d.tableSize == 222)
        let r2 = try d.decode([0x48, 0x83, 0x64, 0x0e, 0xff, 0xc1, 0xc0, 0xbf])
        #expect(r2.map { "\($0.0): \($0.1)" } == [":status: 307", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT",
                                                 "location: https://www.example.com"])
        #expect(d.tableSize == 222)
        let r3 = try d.decode([
            0x88, 0xc1, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04, 0x0b,
            0x81, 0x66, 0xe0, 0x84, 0xa6, 0x2d, 0x1b, 0xff, 0xc0, 0x5a, 0x83, 0x9b, 0xd9, 0xab, 0x77, 0xad, 0x94, 0xe7,
            0x82, 0x1d, 0xd7, 0xf2, 0xe6, 0xc7, 0xb3, 0x35, 0xdf, 0xdf, 0xcd, 0x5b, 0x39, 0x60, 0xd5, 0xaf, 0x27, 0x08,
            0x7f, 0x36, 0x72, 0xc1, 0xab, 0x27, 0x0f, 0xb5, 0x29, 0x1f, 0x95, 0x87, 0x31, 0x60, 0x65, 0xc0, 0x03, 0xed,
            0x4e, 0xe5, 0xb1, 0x06, 0x3d, 0x50, 0x07,
        ])
        #expect(r3.map { "\($0.0): \($0.1)" } == [":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT",
                                                 "location: https://www.example.com", "content-encoding: gzip",
                                                 "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"])
        #expect(d.tableSize == 215)
        #expect(d.dynamicTable.count == 3)
    }

    @Test func encodedLiteralsDecode() throws {
        let headers = [(":method", "POST"), ("grpc-timeout", "1000m"), (String(repeating: "k", count: 200), "v")]
        var d = HPACK.Decoder()
        let back = try d.decode(HPACK.encode(headers))
        #expect(back.map(\.0) == headers.map(\.0) && back.map(\.1) == headers.map(\.1))
        #expect(d.tableSize == 0)
        #expect(throws: HPACK.DecodingError.self) { _ = try d.decode([0xff, 0x80]) }  // truncated integer
        #expect(throws: HPACK.DecodingError.self) { _ = try d.decode([0xbe]) }  // index 62, empty dynamic table
    }
}

struct GRPCHealthCheckTests {
    func frame(_ type: GRPCHealthCheck.FrameType, flags: UInt8 = 0, stream: UInt32 = 1, _ payload: [UInt8]) -> [UInt8] {
        GRPCHealthCheck.frame(type, flags: flags, stream: stream, payload)
    }

    @Test func requestIsAPrefacedUnaryCall() throws {
        let bytes = GRPCHealthCheck.request(authority: "127.0.0.1:9000", service: "db", userAgent: "kube-probe/1.34", timeout: 1)
        #expect(Array(bytes.prefix(24)) == GRPCHealthCheck.preface)
        // The last frame: DATA, END_STREAM, stream 1, message {1: "db"} behind a 5-byte prefix.
        #expect(Array(bytes.suffix(18)) == [0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62])
    }

    /// A server's answer: SETTINGS, headers, one message, trailers, split across reads anywhere.
    @Test func servingAnswerAcrossReads() throws {
        let headers = HPACK.encode([(":status", "200"), ("content-type", "application/grpc")])
        let trailers = HPACK.encode([("grpc-status", "0"), ("grpc-message", "")])
        var wire = GRPCHealthCheck.frame(.settings, [])
        wire += frame(.headers, flags: GRPCHealthCheck.flagEndHeaders, headers)
        wire += frame(.data, [0, 0, 0, 0, 2, 0x08, 0x01])
        wire += frame(.headers, flags: GRPCHealthCheck.flagEndHeaders | GRPCHealthCheck.flagEndStream, trailers)
        for split in [1, 7, 9, 10, wire.count - 1] {
            var p = GRPCHealthCheck.ResponseParser()
            var replies = try p.feed(Array(wire[..<split]))
            replies += try p.feed(Array(wire[split...]))
            #expect(p.done)
            #expect(replies == GRPCHealthCheck.frame(.settings, flags: GRPCHealthCheck.flagAck))
            #expect(GRPCHealthCheck.outcome(p.result, within: "1s") == .success("service healthy"))
        }
    }

    @Test func unhealthyAndErrorAnswers() throws {
        let notServing = GRPCHealthCheck.CallResult(httpStatus: 200, grpcStatus: 0, message: [0x08, 0x02])
        #expect(GRPCHealthCheck.outcome(notServing, within: "1s") == .failure("service unhealthy (responded with \"NOT_SERVING\")"))
        let unknown = GRPCHealthCheck.CallResult(httpStatus: 200, grpcStatus: 0, message: [])
        #expect(GRPCHealthCheck.outcome(unknown, within: "1s") == .failure("service unhealthy (responded with \"UNKNOWN\")"))
        let notFound = GRPCHealthCheck.CallResult(httpStatus: 200, grpcStatus: 5, grpcMessage: "unknown%20service")
        #expect(GRPCHealthCheck.outcome(notFound, within: "1s") == .failure("error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"))
        let unimplemented = GRPCHealthCheck.CallResult(httpStatus: 200, grpcStatus: 12, grpcMessage: "unknown service grpc.health.v1.Health")
        #expect(GRPCHealthCheck.outcome(unimplemented, within: "1s")
            == .failure("this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"))
        let http404 = GRPCHealthCheck.CallResult(httpStatus: 404)
        #expect(GRPCHealthCheck.outcome(http404, within: "1s")
            == .failure("this server does not implement the grpc health protocol (grpc.health.v1.Health): unexpected HTTP status code received from server: 404 (Not Found)"))
    }

    @Test func trailersOnlyAnswerWithContinuationAndPadding() throws {
        let block = HPACK.encode([(":status", "200"), ("grpc-status", "12"), ("grpc-message", "nope")])
        let half = block.count / 2
        // HEADERS (padded, END_STREAM, no END_HEADERS), then CONTINUATION with END_HEADERS.
        var wire = frame(.headers, flags: GRPCHealthCheck.flagPadded | GRPCHealthCheck.flagEndStream, [3] + Array(block[..<half]) + [0, 0, 0])
        wire += frame(.continuation, flags: GRPCHealthCheck.flagEndHeaders, Array(block[half...]))
        var p = GRPCHealthCheck.ResponseParser()
        _ = try p.feed(wire)
        #expect(p.done && p.result.grpcStatus == 12 && p.result.grpcMessage == "nope")
        var reset = GRPCHealthCheck.ResponseParser()
        #expect(throws: GRPCHealthCheck.ProtocolError.self) { _ = try reset.feed(frame(.rstStream, [0, 0, 0, 8])) }
    }

    @Test func servingStatusSkipsUnknownFields() {
        #expect(GRPCHealthCheck.servingStatus([]) == 0)
        #expect(GRPCHealthCheck.servingStatus([0x08, 0x01]) == 1)
        #expect(GRPCHealthCheck.servingStatus([0x12, 0x02, 0x61, 0x62, 0x08, 0x03]) == 3)
    }
}
