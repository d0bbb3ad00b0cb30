import CSQLite
import Logging

/// Everything the store's lock protects: the connection, the revision counters, the recent-event
/// cache and the watchers. Every method assumes the caller holds that lock; nothing here is thread-safe.
///
/// Marked Sendable only so that the callers' non-Sendable closures may be used inside
/// `Mutex.withLock` (region checking would otherwise tie the protected value to the caller's task);
/// the one reference lives inside the store's Mutex and is never handed out.
final class StoreCore: @unchecked Sendable {
    private let db: SQLiteConnection
    private let options: StoreOptions
    private let logger: Logger
    private(set) var revision: Int64
    private(set) var compactedRevision: Int64
    private var recent: EventRing
    private(set) var watchers = WatcherRegistry()
    private var isClosed = false
    var compactionTask: Task<Void, Never>?

    init(path: String, options: StoreOptions, logger: Logger) throws(StoreError) {
        let db = try SQLiteConnection(path: path)
        do {
            try Self.prepare(db, logger: logger)
        } catch .sqlite(_, let code, _) where code & 0xFF == SQLITE_BUSY {
            throw .sqlite(
                operation: "open \(path)", code: code,
                message: "the store file is locked by another open store (a second master on the same file?)")
        }
        let compacted = try Self.readMeta(db, "compacted")
        let latest = try db.with(Schema.SQL.latestRevision) { statement throws(StoreError) in
            _ = try statement.step()
            return statement.int64(0)
        }
        self.db = db
        self.options = options
        self.logger = logger
        compactedRevision = compacted
        revision = max(latest, compacted)
        recent = EventRing(capacity: options.eventCacheSize, revision: revision)
    }

    /// Settings and tables; safe to run on an existing file.
    private static func prepare(_ db: SQLiteConnection, logger: Logger) throws(StoreError) {
        for pragma in Schema.pragmas {
            try db.execute(pragma)
        }
        try db.execute("BEGIN IMMEDIATE; \(Schema.tables) COMMIT;")
        let schema = try readMeta(db, "schema")
        guard schema == Schema.version else {
            throw .sqlite(
                operation: "open", code: SQLITE_MISMATCH,
                message: "store schema version \(schema) is not the supported version \(Schema.version)")
        }
        let journal = try db.with(Schema.SQL.journalMode) { statement throws(StoreError) in
            _ = try statement.step()
            return statement.text(0)
        }
        let autoVacuum = try db.with(Schema.SQL.autoVacuumMode) { statement throws(StoreError) in
            _ = try statement.step()
            return statement.int64(0)
        }
        // Either means a file made elsewhere (or an in-memory store): it works, but it will not
        // behave as the size and durability notes promise, which an operator should hear about.
        if journal.lowercased() != "wal" {
            logger.warning("store is not in WAL mode", metadata: ["journal_mode": "\(journal)"])
        }
        if autoVacuum != 2 {
            logger.warning(
                "store file was created without incremental auto-vacuum; compaction will not shrink it",
                metadata: ["auto_vacuum": "\(autoVacuum)"])
        }
    }

    private static func readMeta(_ db: SQLiteConnection, _ name: String) throws(StoreError) -> Int64 {
        try db.with(Schema.SQL.readMeta) { statement throws(StoreError) in
            try statement.bind(1, name)
            guard try statement.step() else {
                throw .sqlite(operation: "read meta \(name)", code: SQLITE_CORRUPT, message: "missing row")
            }
            return statement.int64(0)
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        compactionTask?.cancel()
        compactionTask = nil
        watchers.finishAll()
        db.close()
    }

    // MARK: Reads

    func get(_ key: String) throws(StoreError) -> StoreRecord? {
        try ensureOpen("get")
        return try db.with(Schema.SQL.getCurrent) { statement throws(StoreError) in
            try statement.bind(1, key)
            guard try statement.step() else { return nil }
            return StoreRecord(
                key: key, value: statement.blob(2), createRevision: statement.int64(0), modRevision: statement.int64(1))
        }
    }

    func list(prefix: String, startAfter: String?, limit: Int?) throws(StoreError) -> (
        records: [StoreRecord], revision: Int64, more: Bool
    ) {
        try ensureOpen("list")
        let range = KeyRange(prefix: prefix)
        let lower = range.lowerBound(startAfter: startAfter)
        let wanted = limit.flatMap { $0 > 0 ? $0 : nil }
        let sql = lower.inclusive ? Schema.SQL.listFrom : Schema.SQL.listAfter
        var records = try db.with(sql) { statement throws(StoreError) in
            try statement.bind(1, utf8: lower.bytes)
            try statement.bind(2, utf8: range.upperBound)
            // One row past the page tells whether there is more, without a second query.
            try statement.bind(3, wanted.map { Int64($0) + 1 } ?? -1)
            var rows: [StoreRecord] = []
            while try statement.step() {
                rows.append(
                    StoreRecord(
                        key: statement.text(0), value: statement.blob(3),
                        createRevision: statement.int64(1), modRevision: statement.int64(2)))
            }
            return rows
        }
        var more = false
        if let wanted, records.count > wanted {
            records.removeLast(records.count - wanted)
            more = true
        }
        return (records, revision, more)
    }

    func count(prefix: String) throws(StoreError) -> Int {
        try ensureOpen("count")
        let range = KeyRange(prefix: prefix)
        return try db.with(Schema.SQL.count) { statement throws(StoreError) in
            try statement.bind(1, utf8: range.prefix)
            try statement.bind(2, utf8: range.upperBound)
            _ = try statement.step()
            return Int(statement.int64(0))
        }
    }

    // MARK: Writes

    func create(_ key: String, _ makeValue: (Int64) throws -> [UInt8]) throws -> StoreRecord {
        try ensureOpen("create")
        if try get(key) != nil {
            throw StoreError.alreadyExists(key: key)
        }
        let next = revision + 1
        let value = try makeValue(next)
        try commit(StoreEvent(kind: .added, key: key, value: value, revision: next)) { () throws(StoreError) in
            try db.with(Schema.SQL.insertCurrent) { statement throws(StoreError) in
                try statement.bind(1, key)
                try statement.bind(2, next)
                try statement.bind(3, next)
                try statement.bind(4, blob: value)
                try statement.run()
            }
        }
        return StoreRecord(key: key, value: value, createRevision: next, modRevision: next)
    }

    func update(
        _ key: String, expectedRevision: Int64?, _ makeValue: (StoreRecord, Int64) throws -> [UInt8]?
    ) throws -> StoreRecord {
        try ensureOpen("update")
        let current = try existing(key, expectedRevision: expectedRevision)
        let next = revision + 1
        guard let value = try makeValue(current, next) else {
            return current
        }
        try commit(StoreEvent(kind: .modified, key: key, value: value, revision: next)) { () throws(StoreError) in
            try db.with(Schema.SQL.updateCurrent) { statement throws(StoreError) in
                try statement.bind(1, key)
                try statement.bind(2, next)
                try statement.bind(3, blob: value)
                try statement.run()
            }
        }
        return StoreRecord(key: key, value: value, createRevision: current.createRevision, modRevision: next)
    }

    func delete(
        _ key: String, expectedRevision: Int64?, _ finalValue: (StoreRecord, Int64) throws -> [UInt8]
    ) throws -> StoreRecord {
        try ensureOpen("delete")
        let current = try existing(key, expectedRevision: expectedRevision)
        let next = revision + 1
        let value = try finalValue(current, next)
        try commit(StoreEvent(kind: .deleted, key: key, value: value, revision: next)) { () throws(StoreError) in
            try db.with(Schema.SQL.deleteCurrent) { statement throws(StoreError) in
                try statement.bind(1, key)
                try statement.run()
            }
        }
        return StoreRecord(key: key, value: value, createRevision: current.createRevision, modRevision: next)
    }

    /// The key's record, checked against the caller's precondition.
    private func existing(_ key: String, expectedRevision: Int64?) throws(StoreError) -> StoreRecord {
        guard let current = try get(key) else {
            throw .notFound(key: key)
        }
        if let expectedRevision, expectedRevision != current.modRevision {
            throw .conflict(key: key, currentRevision: current.modRevision)
        }
        return current
    }

    /// Writes `event` to history together with `applyToCurrent` in one transaction, then — only once
    /// it has committed — advances the revision and hands the event to the cache and the watchers.
    private func commit(_ event: StoreEvent, applyToCurrent: () throws(StoreError) -> Void) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            try applyToCurrent()
            try db.with(Schema.SQL.insertHistory) { statement throws(StoreError) in
                try statement.bind(1, event.revision)
                try statement.bind(2, event.key)
                try statement.bind(3, event.kind.storedValue)
                try statement.bind(4, blob: event.value)
                try statement.run()
            }
        }
        revision = event.revision
        recent.append(event)
        watchers.dispatch(event, logger: logger)
    }

    // MARK: Watch

    /// Subscribes a watcher and queues its replay in the same critical section as commits, so the
    /// replay ends exactly where live delivery begins.
    func watch(
        prefix: String, after requested: Int64,
        onTermination: @escaping @Sendable (UInt64) -> Void
    ) throws(StoreError) -> AsyncThrowingStream<StoreEvent, Error> {
        try ensureOpen("watch")
        if requested < compactedRevision {
            throw .compacted(requested: requested, compactedRevision: compactedRevision)
        }
        let range = KeyRange(prefix: prefix)
        let replay: [StoreEvent]
        if let cached = recent.events(after: requested, in: range) {
            replay = cached
        } else {
            replay = try history(after: requested, in: range)
        }
        // The replay is what the watcher asked for, so only what arrives after it counts as lag.
        let (capacity, overflow) = replay.count.addingReportingOverflow(max(1, options.watchBuffer))
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: StoreEvent.self, throwing: Error.self, bufferingPolicy: .bufferingOldest(overflow ? .max : capacity))
        for event in replay {
            continuation.yield(event)
        }
        let id = watchers.add(range: range, after: requested, continuation: continuation)
        continuation.onTermination = { _ in onTermination(id) }
        return stream
    }

    func unsubscribe(_ id: UInt64) {
        watchers.remove(id)
    }

    private func history(after revision: Int64, in range: KeyRange) throws(StoreError) -> [StoreEvent] {
        try db.with(Schema.SQL.historyAfter) { statement throws(StoreError) in
            try statement.bind(1, revision)
            try statement.bind(2, utf8: range.prefix)
            try statement.bind(3, utf8: range.upperBound)
            var events: [StoreEvent] = []
            while try statement.step() {
                let stored = statement.int64(2)
                guard let kind = StoreEvent.Kind(storedValue: stored) else {
                    throw .sqlite(
                        operation: "read history", code: SQLITE_CORRUPT,
                        message: "unknown event kind \(stored) at revision \(statement.int64(0))")
                }
                events.append(
                    StoreEvent(kind: kind, key: statement.text(1), value: statement.blob(3), revision: statement.int64(0)))
            }
            return events
        }
    }

    // MARK: Compaction

    /// Drops history up to `requested`, never the newest `retainedRevisions`, then gives the freed
    /// pages back to the file system and truncates the WAL, so the file tracks what is kept.
    func compact(upTo requested: Int64) throws(StoreError) -> CompactionResult {
        try ensureOpen("compact")
        let target = min(requested, revision - max(0, options.retainedRevisions))
        guard target > compactedRevision else {
            return CompactionResult(compactedRevision: compactedRevision, removedEvents: 0, reclaimedPages: 0)
        }
        let removed = try db.transaction { () throws(StoreError) in
            let removed = try db.with(Schema.SQL.compactHistory) { statement throws(StoreError) in
                try statement.bind(1, target)
                try statement.run()
                return db.changes
            }
            try db.with(Schema.SQL.writeMeta) { statement throws(StoreError) in
                try statement.bind(1, "compacted")
                try statement.bind(2, target)
                try statement.run()
            }
            return removed
        }
        compactedRevision = target
        let pagesBefore = try pragmaValue(Schema.SQL.pageCount)
        try db.execute("PRAGMA incremental_vacuum")
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let pagesAfter = try pragmaValue(Schema.SQL.pageCount)
        return CompactionResult(compactedRevision: target, removedEvents: removed, reclaimedPages: pagesBefore - pagesAfter)
    }

    private func pragmaValue(_ sql: String) throws(StoreError) -> Int64 {
        try db.with(sql) { statement throws(StoreError) in
            _ = try statement.step()
            return statement.int64(0)
        }
    }

    private func ensureOpen(_ operation: String) throws(StoreError) {
        if isClosed {
            throw .sqlite(operation: operation, code: SQLITE_MISUSE, message: "store is closed")
        }
    }
}
