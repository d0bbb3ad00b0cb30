import Dispatch
import Logging
import Synchronization

/// The master's state: keys with revisions in one SQLite file, like etcd or kine.
///
/// One global revision counter is advanced by every create, update and delete, whatever the key.
/// It survives reopening, and so does history, so a watch can resume after a restart until
/// compaction has dropped the revisions it needs.
///
/// All access goes through one lock around one connection. Closures passed to writes run under that
/// lock: they must be quick and must not call back into the store.
public final class Store: Sendable {
    private let core: Mutex<StoreCore>
    private let logger: Logger

    public init(path: String, options: StoreOptions = .init(), logger: Logger) throws(StoreError) {
        let core = try StoreCore(path: path, options: options, logger: logger)
        logger.info(
            "opened store",
            metadata: ["path": "\(path)", "revision": "\(core.revision)", "compacted": "\(core.compactedRevision)"])
        self.core = Mutex(core)
        self.logger = logger
        if options.compactInterval > .zero {
            let task = startCompaction(every: options.compactInterval)
            self.core.withLock { $0.compactionTask = task }
        }
    }

    deinit {
        close()
    }

    /// The latest committed revision; for a store without writes yet, the last one it ever used.
    public var revision: Int64 {
        core.withLock { $0.revision }
    }

    public var compactedRevision: Int64 {
        core.withLock { $0.compactedRevision }
    }

    /// How many watches are subscribed, for metrics and for tests that check unsubscribing.
    public var watcherCount: Int {
        core.withLock { $0.watchers.count }
    }

    public func get(_ key: String) throws(StoreError) -> StoreRecord? {
        try core.withLock { core throws(StoreError) in try core.get(key) }
    }

    /// Keys with `prefix`, ascending by key, starting strictly after `startAfter` (for limit/continue paging),
    /// at most `limit` (nil or not positive = all). `more` says whether keys remain after the last returned;
    /// `revision` is the store revision the list reflects (a consistent snapshot).
    public func list(prefix: String, startAfter: String? = nil, limit: Int? = nil) throws(StoreError) -> (
        records: [StoreRecord], revision: Int64, more: Bool
    ) {
        try core.withLock { core throws(StoreError) in
            try core.list(prefix: prefix, startAfter: startAfter, limit: limit)
        }
    }

    public func count(prefix: String) throws(StoreError) -> Int {
        try core.withLock { core throws(StoreError) in try core.count(prefix: prefix) }
    }

    /// Creates `key`; `makeValue` gets the new revision (so the caller can stamp metadata.resourceVersion)
    /// and returns the bytes. An existing key throws `StoreError.alreadyExists`.
    public func create(_ key: String, _ makeValue: (Int64) throws -> [UInt8]) throws -> StoreRecord {
        try core.withLock { core in try core.create(key, makeValue) }
    }

    /// Atomic read-modify-write: `makeValue(current, newRevision)` returns new bytes, or nil for
    /// "no change" (then no revision is used and the current record is returned).
    /// A stale `expectedRevision` throws `StoreError.conflict`, a missing key `StoreError.notFound`.
    /// Errors thrown by the closure propagate and nothing is written.
    public func update(
        _ key: String, expectedRevision: Int64? = nil, _ makeValue: (StoreRecord, Int64) throws -> [UInt8]?
    ) throws -> StoreRecord {
        try core.withLock { core in try core.update(key, expectedRevision: expectedRevision, makeValue) }
    }

    /// Deletes `key`; `finalValue(current, deletionRevision)` gives the bytes the `.deleted` watch event
    /// carries. Returns a record whose value is that and whose modRevision is the deletion revision.
    public func delete(
        _ key: String, expectedRevision: Int64? = nil, _ finalValue: (StoreRecord, Int64) throws -> [UInt8]
    ) throws -> StoreRecord {
        try core.withLock { core in try core.delete(key, expectedRevision: expectedRevision, finalValue) }
    }

    /// Events for keys with `prefix` whose revision is above `after`, in revision order: first replayed
    /// history, then live ones, without gap or duplicate.
    ///
    /// `after` below `compactedRevision` throws `.compacted`. The stream ends by throwing `.tooSlow`
    /// when the watcher lags `watchBuffer` live events, and ends normally when the store closes.
    /// Cancelling the consuming task or dropping the stream and its iterator unsubscribes.
    static let unsubscribing = DispatchQueue(label: "shoal.store.unsubscribe")

    public func watch(prefix: String, after revision: Int64) throws(StoreError) -> AsyncThrowingStream<StoreEvent, Error> {
        try core.withLock { core throws(StoreError) in
            try core.watch(prefix: prefix, after: revision) { [weak self] id in
                // The stream calls this holding its own lock, while a commit may hold the
                // store's and be yielding to that very stream: taking the store's lock here
                // would deadlock the two. The watcher goes a moment later instead (a commit
                // meanwhile finds it terminated and drops it itself).
                guard let store = self else { return }
                Store.unsubscribing.async { store.core.withLock { $0.unsubscribe(id) } }
            }
        }
    }

    /// Drops history up to and including `revision` (clamped so that `retainedRevisions` are kept)
    /// and gives the freed space back to the file system.
    @discardableResult
    public func compact(upTo revision: Int64) throws(StoreError) -> CompactionResult {
        let clock = ContinuousClock()
        let started = clock.now
        let result = try core.withLock { core throws(StoreError) in try core.compact(upTo: revision) }
        if result.removedEvents > 0 {
            logger.info(
                "compacted store history",
                metadata: [
                    "compacted": "\(result.compactedRevision)", "removed_events": "\(result.removedEvents)",
                    "reclaimed_pages": "\(result.reclaimedPages)", "duration": "\(clock.now - started)",
                ])
        }
        return result
    }

    /// Ends all watches, stops automatic compaction and closes the file. Later calls throw.
    public func close() {
        core.withLock { $0.close() }
    }

    /// The compaction loop holds the store only weakly, so a store that is dropped without
    /// `close()` is still freed; `close()` cancels the loop.
    private func startCompaction(every interval: Duration) -> Task<Void, Never> {
        Task.detached(priority: .background) { [weak self] in
            while true {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                guard let store = self else { return }
                store.compactAutomatically()
            }
        }
    }

    private func compactAutomatically() {
        do {
            try compact(upTo: revision)
        } catch {
            logger.error("automatic compaction failed", metadata: ["error": "\(error)"])
        }
    }
}
