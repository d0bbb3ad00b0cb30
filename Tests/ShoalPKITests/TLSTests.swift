import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing

@testable import ShoalPKI

/// Echoes every byte back, so a client can prove data crossed the TLS session both ways.
private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Sends `message` once the handshake completes and fulfils `promise` with what came back.
private final class ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Outcome: Sendable {
        var reply: String
        var alpn: String?
    }

    let message: String
    let promise: EventLoopPromise<Outcome>
    var received = ""
    var alpn: String?

    init(message: String, promise: EventLoopPromise<Outcome>) {
        self.message = message
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tlsEvent {
            alpn = negotiated
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: message)), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readString(length: buffer.readableBytes) ?? ""
        if received.utf8.count >= message.utf8.count {
            promise.succeed(Outcome(reply: received, alpn: alpn))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
    }
}

private struct TLSFixture {
    let group: MultiThreadedEventLoopGroup
    let server: Channel
    var port: Int { server.localAddress!.port! }

    static func start(serving key: CertifiedKey) async throws -> TLSFixture {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let context = try NIOSSLContext(configuration: TLSConfigs.server(key))
        do {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        try channel.pipeline.syncOperations.addHandler(EchoHandler())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return TLSFixture(group: group, server: server)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` against a fresh server and always shuts the server and its threads down.
    static func with<T>(serving key: CertifiedKey, _ body: (TLSFixture) async throws -> T) async throws -> T {
        let fixture = try await start(serving: key)
        do {
            let result = try await body(fixture)
            await fixture.stop()
            return result
        } catch {
            await fixture.stop()
            throw error
        }
    }

    func stop() async {
        try? await server.close()
        try? await group.shutdownGracefully()
    }

    /// Connects with `makeHandler` providing the client-side TLS handler, then exchanges `message`.
    func exchange(
        _ message: String = "ping from the agent",
        makeHandler: @escaping @Sendable () throws -> NIOSSLClientHandler
    ) async throws -> ExchangeHandler.Outcome {
        let promise = group.next().makePromise(of: ExchangeHandler.Outcome.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler(message: message, promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    /// Like `exchange`, also returning the chain the pinned verifier validated.
    func exchangeReadingValidatedChain(
        makeHandler: @escaping @Sendable () throws -> NIOSSLClientHandler
    ) async throws -> ValidatedCertificateChain? {
        let promise = group.next().makePromise(of: ExchangeHandler.Outcome.self)
        let chainPromise = group.next().makePromise(of: ValidatedCertificateChain?.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                    // Read the chain when the handshake completes: once the exchange is over the
                    // peer may already have closed and the TLS handler be gone.
                    try channel.pipeline.syncOperations.addHandler(ChainReader(promise: chainPromise))
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler(message: "x", promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        defer { channel.close(promise: nil) }
        _ = try await promise.futureResult.get()
        return try await chainPromise.futureResult.get()
    }
}

/// Captures the validated peer chain at the handshake's end.
final class ChainReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<ValidatedCertificateChain?>
    var done = false

    init(promise: EventLoopPromise<ValidatedCertificateChain?>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !done, let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            done = true
            context.channel.nioSSL_peerValidatedCertificateChain().cascade(to: promise)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }
}

@Suite struct TLSTests {
    let hosts = ["localhost", "127.0.0.1", "::1"]

    @Test func clientTrustingTheCACompletesHandshakeAndExchangesBytes() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let serving = try ca.servingCertificate(name: "server", hosts: hosts, directory: dir)
            try await TLSFixture.with(serving: serving) { fixture in
                let client = try NIOSSLContext(configuration: TLSConfigs.client(trustingCA: ca.certificatePEM))
                // By DNS name, checked against the DNS SAN.
                let byName = try await fixture.exchange("hello over TLS") {
                    try NIOSSLClientHandler(context: client, serverHostname: "localhost")
                }
                #expect(byName.reply == "hello over TLS")
                #expect(byName.alpn == "http/1.1")

                // By IP (no SNI name): NIOSSL checks the peer address against the IP SANs.
                let byIP = try await fixture.exchange("by address") {
                    try NIOSSLClientHandler(context: client, serverHostname: nil)
                }
                #expect(byIP.reply == "by address")
            }
        }
    }

    @Test func serverOffersOnlyHTTP1EvenWhenTheClientPrefersH2() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            try await TLSFixture.with(
                serving: try ca.servingCertificate(name: "server", hosts: hosts, directory: dir)
            ) { fixture in
                var configuration = try TLSConfigs.client(trustingCA: ca.certificatePEM)
                configuration.applicationProtocols = ["h2", "http/1.1"]  // what kubectl offers
                let client = try NIOSSLContext(configuration: configuration)
                let outcome = try await fixture.exchange {
                    try NIOSSLClientHandler(context: client, serverHostname: "localhost")
                }
                #expect(outcome.alpn == "http/1.1")
            }
        }
    }

    @Test func handshakeFailsForAnotherCAOrOldTLS() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir + "/real")
            let other = try CertificateAuthority.loadOrCreate(directory: dir + "/other")
            try await TLSFixture.with(
                serving: try ca.servingCertificate(name: "server", hosts: hosts, directory: dir + "/real")
            ) { fixture in
                let foreign = try NIOSSLContext(configuration: TLSConfigs.client(trustingCA: other.certificatePEM))
                await #expect(throws: NIOSSLError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(context: foreign, serverHostname: "localhost")
                    }
                }

                let trusting = try NIOSSLContext(configuration: TLSConfigs.client(trustingCA: ca.certificatePEM))

                var old = try TLSConfigs.client(trustingCA: ca.certificatePEM)
                old.minimumTLSVersion = .tlsv1
                old.maximumTLSVersion = .tlsv11
                let oldContext = try NIOSSLContext(configuration: old)
                await #expect(throws: NIOSSLError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(context: oldContext, serverHostname: "localhost")
                    }
                }

                // The server still serves a correct client after refusing those.
                let ok = try await fixture.exchange("still up") {
                    try NIOSSLClientHandler(context: trusting, serverHostname: "localhost")
                }
                #expect(ok.reply == "still up")
            }
        }
    }

    @Test func hostnameIsCheckedAgainstTheSANs() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            // No IP SAN for 127.0.0.1: NIOSSL accepts an IP SAN equal to the peer's address whatever
            // name was asked for, so only a certificate without it shows the name check.
            try await TLSFixture.with(
                serving: try ca.servingCertificate(name: "server", hosts: ["localhost"], directory: dir)
            ) { fixture in
                let client = try NIOSSLContext(configuration: TLSConfigs.client(trustingCA: ca.certificatePEM))
                await #expect(throws: NIOSSLExtraError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(context: client, serverHostname: "api.elsewhere.example")
                    }
                }
                await #expect(throws: NIOSSLExtraError.self) {
                    try await fixture.exchange { try NIOSSLClientHandler(context: client, serverHostname: nil) }
                }
                let ok = try await fixture.exchange {
                    try NIOSSLClientHandler(context: client, serverHostname: "localhost")
                }
                #expect(ok.alpn == "http/1.1")

                // The pinned client keeps the name check too.
                let pinned = try NIOSSLContext(configuration: TLSConfigs.pinnedClient())
                await #expect(throws: NIOSSLExtraError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(
                            context: pinned, serverHostname: "api.elsewhere.example",
                            customVerificationCallback: PinnedCAVerifier.callback(pin: ca.publicKeyPin))
                    }
                }
                let unnamed = try NIOSSLContext(configuration: TLSConfigs.pinnedClient(verifyHostname: false))
                let accepted = try await fixture.exchange("pin only") {
                    try NIOSSLClientHandler(
                        context: unnamed, serverHostname: "api.elsewhere.example",
                        customVerificationCallback: PinnedCAVerifier.callback(pin: ca.publicKeyPin))
                }
                #expect(accepted.reply == "pin only")
            }
        }
    }

    @Test func pinnedVerifierAcceptsTheRightPinAndYieldsTheCA() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            try await TLSFixture.with(
                serving: try ca.servingCertificate(name: "server", hosts: hosts, directory: dir)
            ) { fixture in
                let join = JoinToken(caPin: ca.publicKeyPin, secret: "abcdef.0123456789abcdef")
                let captured = Box<String?>(nil)
                let pinned = try NIOSSLContext(configuration: TLSConfigs.pinnedClient())
                let outcome = try await fixture.exchange("first contact") {
                    try NIOSSLClientHandler(
                        context: pinned, serverHostname: "localhost",
                        customVerificationCallback: PinnedCAVerifier.callback(
                            pin: join.caPin, onVerified: { captured.set($0) }))
                }
                #expect(outcome.reply == "first contact")
                #expect(captured.get() == ca.certificatePEM)

                // Having learnt the CA, the agent trusts it the ordinary way.
                let learnt = try NIOSSLContext(
                    configuration: TLSConfigs.client(trustingCA: try #require(captured.get())))
                let second = try await fixture.exchange("second contact") {
                    try NIOSSLClientHandler(context: learnt, serverHostname: "localhost")
                }
                #expect(second.reply == "second contact")

                // The metadata variant exposes the validated chain: leaf, then the pinned CA.
                let chain = try await fixture.exchangeReadingValidatedChain {
                    try NIOSSLClientHandler(
                        context: pinned, serverHostname: "localhost",
                        customVerificationCallbackWithMetadata: PinnedCAVerifier.callbackWithMetadata(pin: join.caPin))
                }
                let validated = try #require(chain)
                #expect(validated.count == 2)
                #expect(try PinnedCAVerifier.pin(of: validated[validated.count - 1]) == ca.publicKeyPin)
            }
        }
    }

    @Test func pinnedVerifierRefusesAWrongPin() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir + "/real")
            let other = try CertificateAuthority.loadOrCreate(directory: dir + "/other")
            try await TLSFixture.with(
                serving: try ca.servingCertificate(name: "server", hosts: hosts, directory: dir + "/real")
            ) { fixture in
                let rejected = Box<PKIError?>(nil)
                let verified = Box<Bool>(false)
                let pinned = try NIOSSLContext(configuration: TLSConfigs.pinnedClient())
                await #expect(throws: NIOSSLError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(
                            context: pinned, serverHostname: "localhost",
                            customVerificationCallback: PinnedCAVerifier.callback(
                                pin: other.publicKeyPin, onVerified: { _ in verified.set(true) },
                                onRejected: { rejected.set($0) }))
                    }
                }
                #expect(verified.get() == false)
                let reason = try #require(rejected.get())
                #expect(reason.kind == .pinMismatch)
                #expect(reason.description.contains(other.publicKeyPin))
                #expect(reason.description.contains(ca.publicKeyPin), "the message lists what the server presented")
            }
        }
    }

    @Test func pinnedVerifierRefusesALeafTheRealCADidNotSign() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir + "/real")
            let impostor = try CertificateAuthority.loadOrCreate(directory: dir + "/impostor")
            let forged = try impostor.servingCertificate(name: "server", hosts: hosts, directory: dir + "/impostor")
            // An interceptor can copy the real CA certificate (it is public) into its own chain.
            let leafPEM = try #require(pemBlocks(forged.certificatePEM).first)
            try await TLSFixture.with(
                serving: CertifiedKey(certificatePEM: leafPEM + ca.certificatePEM, privateKeyPEM: forged.privateKeyPEM)
            ) { fixture in
                let rejected = Box<PKIError?>(nil)
                let pinned = try NIOSSLContext(configuration: TLSConfigs.pinnedClient())
                await #expect(throws: NIOSSLError.self) {
                    try await fixture.exchange {
                        try NIOSSLClientHandler(
                            context: pinned, serverHostname: "localhost",
                            customVerificationCallback: PinnedCAVerifier.callback(
                                pin: ca.publicKeyPin, onRejected: { rejected.set($0) }))
                    }
                }
                #expect(
                    rejected.get()?.description.contains("not signed by the pinned CA") == true,
                    "\(String(describing: rejected.get()))")
            }
        }
    }

    @Test func pinnedVerifierChecksChainsOffline() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir)
            let serving = try ca.servingCertificate(name: "server", hosts: ["localhost"], directory: dir)
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(serving.certificatePEM.utf8))

            #expect(try PinnedCAVerifier.caCertificatePEM(in: chain, pin: ca.publicKeyPin) == ca.certificatePEM)
            // Pins are compared case-insensitively in their hex, as users may paste either.
            #expect(
                try PinnedCAVerifier.caCertificatePEM(
                    in: chain, pin: ca.publicKeyPin.uppercased().replacingOccurrences(of: "SHA256:", with: "sha256:"))
                    == ca.certificatePEM)

            let leafOnly = Array(chain.prefix(1))
            let missing = #expect(throws: PKIError.self) {
                try PinnedCAVerifier.verify(chain: leafOnly, pin: ca.publicKeyPin)
            }
            #expect(missing?.kind == .pinMismatch)

            let expired = #expect(throws: PKIError.self) {
                try PinnedCAVerifier.verify(
                    chain: chain, pin: ca.publicKeyPin, now: Date().addingTimeInterval(400 * 24 * 3600))
            }
            #expect(expired?.description.contains("server certificate is valid from") == true)

            let malformed = #expect(throws: PKIError.self) { try PinnedCAVerifier.verify(chain: chain, pin: "md5:abc") }
            #expect(malformed?.kind == .malformedToken)
        }
    }
}
