import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// One record of a CRI log file: `<RFC3339Nano> <stream> <F|P> <content>`.
public struct CRILogRecord: Sendable, Equatable {
    public var timestamp: String
    public var stream: String
    public var partial: Bool
    public var content: ArraySlice<UInt8>

    /// Parses one line (without its newline); nil for a malformed line.
    public static func parse(_ line: ArraySlice<UInt8>) -> CRILogRecord? {
        var fields: [ArraySlice<UInt8>] = []
        var rest = line
        for _ in 0..<3 {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")) else { return nil }
            fields.append(rest[rest.startIndex..<space])
            rest = rest[(space + 1)...]
        }
        let tag = fields[2]
        guard tag.first == UInt8(ascii: "F") || tag.first == UInt8(ascii: "P") else { return nil }
        return CRILogRecord(timestamp: String(decoding: fields[0], as: UTF8.self), stream: String(decoding: fields[1], as: UTF8.self),
                            partial: tag.first == UInt8(ascii: "P"), content: rest)
    }
}

/// What `logs` asks for, in the kubelet's terms (PodLogOptions).
public struct LogReadOptions: Sendable {
    public var follow: Bool
    public var tailLines: Int?
    public var timestamps: Bool
    /// Only records at or after this RFC 3339 time (compared as nanoseconds since the epoch).
    public var sinceNanos: Int64?
    public var limitBytes: Int?

    public init(follow: Bool = false, tailLines: Int? = nil, timestamps: Bool = false, sinceNanos: Int64? = nil, limitBytes: Int? = nil) {
        self.follow = follow
        self.tailLines = tailLines
        self.timestamps = timestamps
        self.sinceNanos = sinceNanos
        self.limitBytes = limitBytes
    }
}

/// Reads a container's CRI log as `kubectl logs` shows it: partial records joined into their
/// line, optionally prefixed with the timestamp, following the file across rotations.
public struct CRILogReader: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Streams the log to `emit`. With `follow` (and a container still writing), keeps going
    /// until the sandbox closes the file — it does so only when the container's output is
    /// complete — and the file has been read to its end. Cancellation ends it too.
    public func read(_ options: LogReadOptions, emit: @Sendable ([UInt8]) async throws -> Void) async throws {
        var fd = try FileDescriptor.open(path, O_RDONLY)
        var offset: off_t = 0
        var pending: [UInt8] = []  // an unterminated trailing line of the file
        var assembling: [UInt8] = []  // partial records of one logical line
        var lineTimestamp: String?
        var budget = options.limitBytes ?? Int.max
        if let tail = options.tailLines { offset = CRILogReader.offsetOfLastLines(fd: fd, count: tail) }

        let watcher: Inotify? = options.follow ? try Inotify() : nil
        if let watcher {
            try watcher.watch(FileSystem.dirname(path), Inotify.create | Inotify.movedTo | Inotify.modify | Inotify.closeWrite)
        }
        let name = FileSystem.basename(path)
        var writerDone = false
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, offset) }
            if n > 0 {
                offset += off_t(n)
                pending += buf[0..<n]
                var out: [UInt8] = []
                var start = pending.startIndex
                while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    if let record = CRILogRecord.parse(pending[start..<nl]),
                       options.sinceNanos.map({ CRILogReader.nanos(record.timestamp) >= $0 }) ?? true {
                        if lineTimestamp == nil { lineTimestamp = record.timestamp }
                        assembling += record.content
                        if !record.partial {
                            if options.timestamps { out += Array((lineTimestamp ?? "").utf8) + [UInt8(ascii: " ")] }
                            out += assembling
                            out.append(UInt8(ascii: "\n"))
                            assembling.removeAll(keepingCapacity: true)
                            lineTimestamp = nil
                        }
                    }
                    start = nl + 1
                }
                pending.removeSubrange(pending.startIndex..<start)
                if !out.isEmpty {
                    if out.count > budget { out = Array(out.prefix(budget)) }
                    budget -= out.count
                    try await emit(out)
                    if budget <= 0 { return }
                }
                continue
            }
            guard let watcher else { return }
            // At the end of the file. Rotated? Then continue with the new file from its start.
            if let current = try? FileDescriptor.open(path, O_RDONLY), CRILogReader.inode(current) != CRILogReader.inode(fd) {
                fd = current
                offset = 0
                continue
            }
            if writerDone || Task.isCancelled { return }
            for event in await watcher.next() where event.name == name && event.mask & Inotify.closeWrite != 0 {
                writerDone = true
            }
        }
    }

    static func inode(_ fd: FileDescriptor) -> ino_t {
        var st = stat()
        return fstat(fd.raw, &st) == 0 ? st.st_ino : 0
    }

    /// The offset where the last `count` lines begin. A line is one or more records, the last
    /// one tagged F; the file is read backwards in chunks.
    static func offsetOfLastLines(fd: FileDescriptor, count: Int) -> off_t {
        var st = stat()
        guard fstat(fd.raw, &st) == 0 else { return 0 }
        let end = st.st_size
        if count <= 0 { return end }
        var found = 0
        var afterStart = end  // start of the record following the one being looked at
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var pos = end
        while pos > 0 {
            let size = min(off_t(chunk.count), pos)
            pos -= size
            let n = chunk.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, Int(size), pos) }
            guard n > 0 else { return 0 }
            for i in stride(from: n - 1, through: 0, by: -1) where chunk[i] == UInt8(ascii: "\n") {
                let recordStart = pos + off_t(i) + 1
                if recordStart >= end { continue }  // the file's final newline
                if isFullRecord(fd: fd, at: recordStart) {
                    // This F record ends the line before the window: the window starts after it.
                    if found == count { return afterStart }
                    found += 1
                }
                afterStart = recordStart
            }
        }
        // The file's first record has no newline before it: the same test for it.
        return found == count && isFullRecord(fd: fd, at: 0) ? afterStart : 0
    }

    static func isFullRecord(fd: FileDescriptor, at offset: off_t) -> Bool {
        // "<timestamp> <stream> F ..." — find the tag after the second space.
        var head = [UInt8](repeating: 0, count: 64)
        let n = head.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, offset) }
        guard n > 0 else { return false }
        var spaces = 0
        for i in 0..<n where head[i] == UInt8(ascii: " ") {
            spaces += 1
            if spaces == 2 { return i + 1 < n && head[i + 1] == UInt8(ascii: "F") }
        }
        return false
    }

    /// Nanoseconds since the epoch of an RFC 3339 UTC timestamp such as `2024-05-01T10:00:00.123456789Z`.
    public static func nanos(_ ts: String) -> Int64 {
        let b = Array(ts.utf8)
        func num(_ from: Int, _ len: Int) -> Int64 {
            guard from + len <= b.count else { return 0 }
            var v: Int64 = 0
            for c in b[from..<(from + len)] where c >= 48 && c <= 57 { v = v * 10 + Int64(c - 48) }
            return v
        }
        guard b.count >= 20 else { return 0 }
        var tm = Glibc.tm()
        tm.tm_year = Int32(num(0, 4) - 1900)
        tm.tm_mon = Int32(num(5, 2) - 1)
        tm.tm_mday = Int32(num(8, 2))
        tm.tm_hour = Int32(num(11, 2))
        tm.tm_min = Int32(num(14, 2))
        tm.tm_sec = Int32(num(17, 2))
        var fraction: Int64 = 0
        if b.count > 20 && b[19] == UInt8(ascii: ".") {
            var digits = 0
            var i = 20
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { fraction = fraction * 10 + Int64(b[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 9 { fraction *= 10; digits += 1 }
        }
        return Int64(timegm(&tm)) * 1_000_000_000 + fraction
    }
}
