import CSQLite

/// Makes SQLite copy bound bytes, so the Swift buffer may go away as soon as the bind returns.
/// (The C macro SQLITE_TRANSIENT is a cast Swift does not import.)
private var transient: sqlite3_destructor_type {
    unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// One sqlite3 connection. Not thread-safe by itself: `Store` only touches it under its lock,
/// which is why it is opened with SQLITE_OPEN_NOMUTEX (no second, redundant mutex inside SQLite).
final class SQLiteConnection {
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    private var isClosed = false

    init(path: String) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot allocate a connection"
            sqlite3_close_v2(db)
            throw .sqlite(operation: "open \(path)", code: code, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        close()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        for statement in statements.values {
            statement.finalize()
        }
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ operation: String, code: Int32) -> StoreError {
        .sqlite(operation: operation, code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs SQL that needs no parameters (pragmas, schema); rows it returns are ignored.
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw .sqlite(operation: sql, code: code, message: text)
        }
    }

    /// Runs `body` with the cached prepared statement for `sql`, reset afterwards for the next use.
    func with<Result>(
        _ sql: String, _ body: (SQLiteStatement) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        let statement = try prepared(sql)
        defer { statement.reset() }
        return try body(statement)
    }

    /// Runs `body` in one write transaction: all of it is committed, or none.
    /// IMMEDIATE takes the write lock up front, so a commit cannot fail halfway for lack of it.
    func transaction<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try with("BEGIN IMMEDIATE") { statement throws(StoreError) in try statement.run() }
        do {
            let result = try body()
            try with("COMMIT") { statement throws(StoreError) in try statement.run() }
            return result
        } catch {
            rollback()
            throw error
        }
    }

    var changes: Int {
        Int(sqlite3_changes(handle))
    }

    private func rollback() {
        // If ROLLBACK fails as well, the connection is broken beyond what this layer can mend;
        // the original error is the useful one, and the next statement reports the rest.
        _ = try? with("ROLLBACK") { statement throws(StoreError) in try statement.run() }
    }

    private func prepared(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let statement = statements[sql] {
            return statement
        }
        var raw: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard code == SQLITE_OK, let raw else {
            throw error("prepare \(sql)", code: code)
        }
        let statement = SQLiteStatement(handle: raw, connection: handle, sql: sql)
        statements[sql] = statement
        return statement
    }
}

/// A prepared statement; parameters and columns are numbered as in SQL (parameters from 1, columns from 0).
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    private let sql: String

    fileprivate init(handle: OpaquePointer, connection: OpaquePointer, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    fileprivate func finalize() {
        sqlite3_finalize(handle)
    }

    fileprivate func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ index: Int32, _ value: Int64) throws(StoreError) {
        try check("bind", sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ index: Int32, _ text: String) throws(StoreError) {
        var text = text
        try bind(index, utf8: text.withUTF8 { Array($0) })
    }

    /// Binds bytes as TEXT without checking they are UTF-8: key-range bounds end in 0xFF on purpose.
    func bind(_ index: Int32, utf8 bytes: [UInt8]) throws(StoreError) {
        let code = bytes.withUnsafeBufferPointer { buffer in
            // A nil pointer would bind NULL, not the empty string.
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return sqlite3_bind_text(handle, index, "", 0, transient)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                sqlite3_bind_text(handle, index, $0, Int32(buffer.count), transient)
            }
        }
        try check("bind", code)
    }

    func bind(_ index: Int32, blob bytes: [UInt8]) throws(StoreError) {
        let code = bytes.withUnsafeBytes { buffer in
            // A nil pointer would bind NULL; an empty value must stay an empty blob.
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return sqlite3_bind_zeroblob(handle, index, 0)
            }
            return sqlite3_bind_blob(handle, index, base, Int32(buffer.count), transient)
        }
        try check("bind", code)
    }

    /// Advances to the next row; false once the statement is done.
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw failure("step", code)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(StoreError) {
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        // column_blob before column_bytes: the documented order that avoids a type conversion in between.
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func check(_ operation: String, _ code: Int32) throws(StoreError) {
        guard code == SQLITE_OK else { throw failure(operation, code) }
    }

    private func failure(_ operation: String, _ code: Int32) -> StoreError {
        .sqlite(operation: "\(operation) \(sql)", code: code, message: String(cString: sqlite3_errmsg(connection)))
    }
}
