/// One key as it is now: its bytes and the revisions that created and last changed it.
public struct StoreRecord: Sendable, Equatable {
    public let key: String
    public let value: [UInt8]
    public let createRevision: Int64
    public let modRevision: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}

/// One committed change, as watchers see it and as history keeps it.
public struct StoreEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case added, modified, deleted
    }

    public let kind: Kind
    public let key: String
    /// For `.deleted`: the value the delete closure produced (the object stamped with the deletion revision).
    public let value: [UInt8]
    public let revision: Int64

    public init(kind: Kind, key: String, value: [UInt8], revision: Int64) {
        self.kind = kind
        self.key = key
        self.value = value
        self.revision = revision
    }
}

public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyExists(key: String)
    case notFound(key: String)
    /// The caller's expectedRevision did not match the key's modRevision.
    case conflict(key: String, currentRevision: Int64)
    /// A watch from a revision older than the kept history; the API answers 410 Gone and the client re-lists.
    case compacted(requested: Int64, compactedRevision: Int64)
    /// A watcher that fell too far behind is ended; it must re-list.
    case tooSlow
    case sqlite(operation: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .alreadyExists(let key):
            "key \(key) already exists"
        case .notFound(let key):
            "key \(key) not found"
        case .conflict(let key, let currentRevision):
            "key \(key) was modified concurrently: its revision is now \(currentRevision)"
        case .compacted(let requested, let compactedRevision):
            "revision \(requested) has been compacted; the oldest watchable revision is \(compactedRevision)"
        case .tooSlow:
            "watcher fell too far behind and was ended; re-list and watch again"
        case .sqlite(let operation, let code, let message):
            "sqlite \(operation) failed (code \(code)): \(message)"
        }
    }
}

public struct StoreOptions: Sendable {
    /// How often automatic compaction runs; `.zero` (or less) turns it off.
    public var compactInterval: Duration
    /// Compaction keeps at least this many most recent revisions of history.
    public var retainedRevisions: Int64
    /// Pending events per watcher before it is ended with `.tooSlow`.
    /// Replayed history does not count against it: a watcher may always receive what it asked for.
    public var watchBuffer: Int
    /// How many recent events are kept in memory so that a watch from a recent revision
    /// replays without reading the database. 0 turns the cache off.
    public var eventCacheSize: Int

    public init(
        compactInterval: Duration = .seconds(60),
        retainedRevisions: Int64 = 1000,
        watchBuffer: Int = 10_000,
        eventCacheSize: Int = 1000
    ) {
        self.compactInterval = compactInterval
        self.retainedRevisions = retainedRevisions
        self.watchBuffer = watchBuffer
        self.eventCacheSize = eventCacheSize
    }
}

/// What one compaction did, for logging and for callers that want to report it.
public struct CompactionResult: Sendable, Equatable {
    /// The store's compacted revision after this compaction.
    public let compactedRevision: Int64
    /// How many history events were dropped.
    public let removedEvents: Int
    /// Database pages returned to the file system by the incremental vacuum.
    public let reclaimedPages: Int64
}
