import Logging

/// The live watchers. Only touched under the store's lock, the same one commits hold, so an event
/// is dispatched to exactly the watchers subscribed before it committed — the replay covers the rest.
struct WatcherRegistry {
    typealias Continuation = AsyncThrowingStream<StoreEvent, Error>.Continuation

    private struct Watcher {
        let range: KeyRange
        /// Events at or below this were asked not to be sent (a watch from a future revision).
        let after: Int64
        let continuation: Continuation
    }

    private var watchers: [UInt64: Watcher] = [:]
    private var nextID: UInt64 = 0

    var count: Int {
        watchers.count
    }

    mutating func add(range: KeyRange, after revision: Int64, continuation: Continuation) -> UInt64 {
        nextID += 1
        watchers[nextID] = Watcher(range: range, after: revision, continuation: continuation)
        return nextID
    }

    mutating func remove(_ id: UInt64) {
        watchers[id] = nil
    }

    /// Hands `event` to every interested watcher without waiting for any of them. A watcher whose
    /// buffer is full is ended with `.tooSlow` rather than slowing down writers or growing without bound.
    mutating func dispatch(_ event: StoreEvent, logger: Logger) {
        var gone: [UInt64] = []
        for (id, watcher) in watchers where event.revision > watcher.after && watcher.range.contains(event.key) {
            switch watcher.continuation.yield(event) {
            case .enqueued:
                break
            case .dropped:
                logger.warning(
                    "ending a watcher that fell too far behind",
                    metadata: ["prefix": "\(String(decoding: watcher.range.prefix, as: UTF8.self))", "revision": "\(event.revision)"])
                end(watcher, throwing: StoreError.tooSlow)
                gone.append(id)
            case .terminated:
                gone.append(id)
            @unknown default:
                gone.append(id)
            }
        }
        for id in gone {
            watchers[id] = nil
        }
    }

    /// Ends every watch normally: the store is closing.
    mutating func finishAll() {
        for watcher in watchers.values {
            end(watcher, throwing: nil)
        }
        watchers.removeAll()
    }

    private func end(_ watcher: Watcher, throwing error: Error?) {
        // The termination handler unsubscribes by taking the store's lock, which the caller holds;
        // the watcher is being removed here anyway, so the handler is dropped before finishing.
        watcher.continuation.onTermination = nil
        watcher.continuation.finish(throwing: error)
    }
}
