import CSQLite

/// The on-disk layout.
///
/// `current` holds each live key; `history` every change by revision, which is what watches replay
/// and compaction trims; `meta` the compacted revision. The latest revision is not stored on its own:
/// it is the newest history row, or the compacted revision once compaction has dropped them all,
/// which saves a row update on every write.
///
/// `current` is an ordinary rowid table rather than WITHOUT ROWID: in the latter a row lives in an
/// index b-tree, where anything above ~1 KB spills to overflow pages, so every update of a typical
/// object would rewrite extra pages.
enum Schema {
    static let version: Int64 = 1

    /// Connection settings, run on every open. auto_vacuum must come before the first table is
    /// created (it cannot be switched on later without a full VACUUM); it is what lets compaction
    /// hand freed pages back to the file system instead of the file only ever growing.
    static let pragmas = [
        "PRAGMA auto_vacuum = INCREMENTAL",
        // One process owns the file: the revision counter and the watchers live in its memory,
        // so a second writer would hand out duplicate revisions. The exclusive lock makes a second
        // store on the same file fail at open, and saves the per-transaction file locking calls.
        "PRAGMA locking_mode = EXCLUSIVE",
        "PRAGMA journal_mode = WAL",
        // In WAL mode NORMAL loses at most the last commits on power loss, never consistency.
        "PRAGMA synchronous = NORMAL",
        // After a checkpoint the WAL file is cut back to this size instead of staying at its peak.
        "PRAGMA journal_size_limit = 4194304",
    ]

    static let tables = """
        CREATE TABLE IF NOT EXISTS current (
            key TEXT PRIMARY KEY,
            create_rev INTEGER NOT NULL,
            mod_rev INTEGER NOT NULL,
            value BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS history (
            rev INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            kind INTEGER NOT NULL,
            value BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS meta (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', \(version)), ('compacted', 0);
        """

    enum SQL {
        static let getCurrent = "SELECT create_rev, mod_rev, value FROM current WHERE key = ?1"
        static let insertCurrent = "INSERT INTO current (key, create_rev, mod_rev, value) VALUES (?1, ?2, ?3, ?4)"
        static let updateCurrent = "UPDATE current SET mod_rev = ?2, value = ?3 WHERE key = ?1"
        static let deleteCurrent = "DELETE FROM current WHERE key = ?1"
        static let insertHistory = "INSERT INTO history (rev, key, kind, value) VALUES (?1, ?2, ?3, ?4)"

        static let listFrom = """
            SELECT key, create_rev, mod_rev, value FROM current
            WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3
            """
        static let listAfter = """
            SELECT key, create_rev, mod_rev, value FROM current
            WHERE key > ?1 AND key < ?2 ORDER BY key LIMIT ?3
            """
        static let count = "SELECT count(*) FROM current WHERE key >= ?1 AND key < ?2"

        static let historyAfter = """
            SELECT rev, key, kind, value FROM history
            WHERE rev > ?1 AND key >= ?2 AND key < ?3 ORDER BY rev
            """
        static let compactHistory = "DELETE FROM history WHERE rev <= ?1"

        static let latestRevision = "SELECT coalesce(max(rev), 0) FROM history"
        static let readMeta = "SELECT value FROM meta WHERE name = ?1"
        static let writeMeta = "UPDATE meta SET value = ?2 WHERE name = ?1"

        static let autoVacuumMode = "PRAGMA auto_vacuum"
        static let journalMode = "PRAGMA journal_mode"
        static let pageCount = "PRAGMA page_count"
    }
}

/// How an event kind is stored in `history.kind`.
extension StoreEvent.Kind {
    var storedValue: Int64 {
        switch self {
        case .added: 0
        case .modified: 1
        case .deleted: 2
        }
    }

    init?(storedValue: Int64) {
        switch storedValue {
        case 0: self = .added
        case 1: self = .modified
        case 2: self = .deleted
        default: return nil
        }
    }
}
