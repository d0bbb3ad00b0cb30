import Synchronization

/// The server side of one SPDY/3.1 connection: streams the client opens arrive on `streams`,
/// each with its headers and a byte stream of what the client sends on it.
///
/// Outgoing frames go through one queue and one writer task: the header compressor's state
/// depends on frame order, so encoding and writing must happen in the same order.
public final class SPDYConnection: Sendable {
    public let streams: AsyncStream<SPDYStream>
    private let state: Mutex<State>
    private let outbox: AsyncStream<Outgoing>.Continuation
    private let writer: Task<Void, Never>

    struct Outgoing: Sendable {
        var bytes: [UInt8]
        var written: CheckedContinuation<Void, any Error>?
    }

    struct State: ~Copyable {
        var codec: SPDYCodec?
        var open: [UInt32: AsyncStream<[UInt8]>.Continuation] = [:]
        var streamsContinuation: AsyncStream<SPDYStream>.Continuation
        var closed = false
    }

    public init(write: @escaping @Sendable ([UInt8]) async throws -> Void) {
        let (streams, streamsContinuation) = AsyncStream<SPDYStream>.makeStream()
        self.streams = streams
        state = Mutex(State(codec: try? SPDYCodec(), streamsContinuation: streamsContinuation))
        let (queue, outbox) = AsyncStream<Outgoing>.makeStream()
        self.outbox = outbox
        writer = Task {
            var failure: (any Error)?
            for await item in queue {
                if failure == nil {
                    do { try await write(item.bytes) } catch { failure = error }
                }
                if let failure { item.written?.resume(throwing: failure) } else { item.written?.resume() }
            }
        }
    }

    /// Bytes from the client. A protocol error ends the connection.
    public func receive(_ bytes: [UInt8]) async throws {
        let frames: [SPDYFrame]
        do {
            frames = try state.withLock { state throws(SPDYError) -> [SPDYFrame] in
                guard let codec = state.codec else { throw SPDYError(description: "zlib could not be initialised") }
                return try codec.feed(bytes)
            }
        } catch {
            try? await send(.goAway(lastGoodStream: 0, status: 1))
            transportClosed()
            throw error
        }
        for frame in frames { await handle(frame) }
    }

    private func handle(_ frame: SPDYFrame) async {
        switch frame {
        case .synStream(let id, let flags, let headers):
            let (data, continuation) = AsyncStream<[UInt8]>.makeStream()
            let stream = SPDYStream(id: id, headers: headers, data: data, connection: self)
            let accepted = state.withLock { state -> Bool in
                guard !state.closed, state.open[id] == nil else { return false }
                if flags & SPDYFrame.flagFin != 0 { continuation.finish() } else { state.open[id] = continuation }
                state.streamsContinuation.yield(stream)
                return true
            }
            if !accepted { try? await send(.rstStream(stream: id, status: 8)) }
        case .data(let id, let flags, let payload):
            state.withLock { state in
                guard let continuation = state.open[id] else { return }
                if !payload.isEmpty { continuation.yield(payload) }
                if flags & SPDYFrame.flagFin != 0 {
                    continuation.finish()
                    state.open[id] = nil
                }
            }
        case .headers(let id, let flags, _) where flags & SPDYFrame.flagFin != 0:
            endInbound(id)
        case .rstStream(let id, _):
            endInbound(id)
        case .ping(let id):
            try? await send(.ping(id: id))
        case .goAway:
            state.withLock { state in state.streamsContinuation.finish() }
        case .synReply, .settings, .headers, .windowUpdate, .unknown:
            break
        }
    }

    private func endInbound(_ id: UInt32) {
        state.withLock { state in
            state.open.removeValue(forKey: id)?.finish()
        }
    }

    /// Encodes and queues a frame and waits until it is written.
    func send(_ frame: SPDYFrame) async throws {
        try await withCheckedThrowingContinuation { (written: CheckedContinuation<Void, any Error>) in
            let queued = state.withLock { state -> Result<Void, any Error> in
                guard !state.closed, let codec = state.codec else { return .failure(SPDYError(description: "SPDY connection closed")) }
                do {
                    outbox.yield(Outgoing(bytes: try codec.encode(frame), written: written))
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            if case .failure(let error) = queued { written.resume(throwing: error) }
        }
    }

    /// The transport ended: every stream's inbound data ends, no more streams arrive.
    public func transportClosed() {
        state.withLock { state in
            state.closed = true
            for continuation in state.open.values { continuation.finish() }
            state.open = [:]
            state.streamsContinuation.finish()
        }
        outbox.finish()
    }

    /// Writes what is queued, then stops; later sends fail.
    public func close() async {
        state.withLock { state in
            state.closed = true
            state.streamsContinuation.finish()
        }
        outbox.finish()
        await writer.value
    }

    deinit {
        outbox.finish()
    }
}

/// One stream a client opened.
public struct SPDYStream: Sendable {
    public let id: UInt32
    public let headers: [String: String]
    /// What the client sends on this stream; ends when it half-closes or resets the stream.
    public let data: AsyncStream<[UInt8]>
    let connection: SPDYConnection

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Accepts the stream (SYN_REPLY), as the kubelet does for every stream it takes.
    public func reply() async throws {
        try await connection.send(.synReply(stream: id, flags: 0, headers: [:]))
    }

    public func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + SPDYFrame.maxDataPayload)
            try await connection.send(.data(stream: id, flags: 0, payload: Array(bytes[offset..<end])))
            offset = end
        } while offset < bytes.count
    }

    /// Half-closes our side: an empty DATA frame with FIN.
    public func finish() async throws {
        try await connection.send(.data(stream: id, flags: SPDYFrame.flagFin, payload: []))
    }

    public func reset(status: UInt32 = SPDYFrame.statusCancel) async {
        try? await connection.send(.rstStream(stream: id, status: status))
    }
}
