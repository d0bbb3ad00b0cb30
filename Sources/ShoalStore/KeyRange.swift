/// The keys that start with a prefix, as a half-open byte range SQLite can answer from the primary-key index.
///
/// Keys are UTF-8, which never contains the byte 0xFF, so every key `prefix + rest` sorts below
/// `prefix + [0xFF]`, and every key that does not start with the prefix but sorts after it also
/// sorts after that bound. SQLite compares TEXT with memcmp (BINARY collation), the same order.
struct KeyRange {
    let prefix: [UInt8]
    /// Exclusive.
    let upperBound: [UInt8]

    init(prefix: String) {
        self.prefix = Array(prefix.utf8)
        upperBound = self.prefix + [0xFF]
    }

    func contains(_ key: String) -> Bool {
        key.utf8.starts(with: prefix)
    }

    /// Where a page of `list` begins: strictly after `startAfter` when that lies inside or past the
    /// range's start, else at the range's start (inclusive).
    func lowerBound(startAfter: String?) -> (bytes: [UInt8], inclusive: Bool) {
        guard let startAfter else { return (prefix, true) }
        let after = Array(startAfter.utf8)
        return after.lexicographicallyPrecedes(prefix) ? (prefix, true) : (after, false)
    }
}
