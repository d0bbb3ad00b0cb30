/// One entry of a tar stream, with GNU long names and PAX records already applied.
struct TarEntry {
    enum Kind: Equatable {
        case regular, hardlink, symlink, characterDevice, blockDevice, directory, fifo
    }

    var kind: Kind
    var path: String
    var linkName: String
    var size: Int64
    /// Permission bits including setuid, setgid and sticky.
    var mode: UInt32
    var uid: Int
    var gid: Int
    var mtime: TarTime
    var atime: TarTime?
    var devMajor: UInt32
    var devMinor: UInt32
    /// From PAX `SCHILY.xattr.NAME`, in header order; values are raw bytes (capabilities are binary).
    var xattrs: [(name: String, value: [UInt8])]
    /// Offset of this entry's header in the stream, for error messages.
    var headerOffset: Int64
}

struct TarTime: Equatable {
    var seconds: Int64
    var nanoseconds: Int
}

/// A streaming tar reader: ustar, GNU (`L`/`K` long names, base-256 numbers) and PAX (`x`, `g`).
/// Entry data is read with `readData` or skipped by the next `next()`; nothing is buffered
/// beyond one chunk. Malformed input is an ImageError.malformedTar naming the offset.
final class TarReader {
    private let input: BufferedReader
    private let what: String
    private var remaining: Int64 = 0   // unread data of the current entry
    private var padding: Int64 = 0     // zero fill after it, to the next 512-byte block
    private var globalPax: [String: [UInt8]] = [:]
    private(set) var reachedEnd = false

    /// Caps on metadata entries held in memory: real ones are tiny, hostile ones are not.
    static let maxMetadataSize: Int64 = 1 << 20

    init(_ input: BufferedReader, what: String) {
        self.input = input
        self.what = what
    }

    fileprivate func malformed(_ reason: String, at offset: Int64) -> ImageError {
        .malformedTar(what: what, offset: offset, reason: reason)
    }

    /// The next entry, or nil at the end of the archive.
    func next() throws(ImageError) -> TarEntry? {
        guard !reachedEnd else { return nil }
        try skipRest()

        var longName: String? = nil
        var longLink: String? = nil
        var pax: [String: [UInt8]] = [:]
        var sawMetadata = false

        while true {
            let offset = input.position
            let block = try input.read(512)
            if block.isEmpty {
                // No end-of-archive blocks: tolerated (Go and GNU tar do), unless mid-entry.
                if sawMetadata { throw malformed("archive ends after a long-name or pax header", at: offset) }
                reachedEnd = true
                return nil
            }
            guard block.count == 512 else { throw malformed("truncated header (\(block.count) bytes)", at: offset) }
            if block.allSatisfy({ $0 == 0 }) {
                let second = try input.read(512)
                guard second.isEmpty || (second.count == 512 && second.allSatisfy { $0 == 0 }) else {
                    throw malformed("a single zero block followed by data", at: offset)
                }
                if sawMetadata { throw malformed("end of archive after a long-name or pax header", at: offset) }
                reachedEnd = true
                return nil
            }

            let header = try Header(block, offset: offset, reader: self)
            let type = block[156]
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let data = try readMetadata(size: header.size, offset: offset)
                let records = try parsePax(data, offset: offset)
                if type == UInt8(ascii: "g") {
                    globalPax.merge(records) { $1 }
                } else {
                    pax.merge(records) { $1 }
                }
                sawMetadata = true
                continue
            case UInt8(ascii: "L"):
                longName = try cString(readMetadata(size: header.size, offset: offset), offset: offset)
                sawMetadata = true
                continue
            case UInt8(ascii: "K"):
                longLink = try cString(readMetadata(size: header.size, offset: offset), offset: offset)
                sawMetadata = true
                continue
            default:
                break
            }

            var entry = try header.entry(type: type)
            let merged = globalPax.merging(pax) { $1 }
            if let n = longName { entry.path = n }
            if let l = longLink { entry.linkName = l }
            try applyPax(merged, to: &entry)
            try validate(entry)
            // Only files carry data; a hardlink's or directory's size field says nothing useful,
            // except that a nonzero one still occupies blocks we must skip.
            let dataSize = entry.size
            if entry.kind != .regular { entry.size = 0 }
            remaining = dataSize
            padding = (512 - dataSize % 512) % 512
            return entry
        }
    }

    /// Stream offset of the current entry's data (right after its header).
    var dataOffset: Int64 { input.position }

    /// Values that would trap a conversion or be misread by a system call are errors here, so
    /// the unpacker can take entries at face value.
    private func validate(_ entry: TarEntry) throws(ImageError) {
        let at = entry.headerOffset
        // A NUL would end the C string early: "..\0x" must not become "..".
        if entry.path.utf8.contains(0) || entry.linkName.utf8.contains(0) {
            throw malformed("NUL byte in a path", at: at)
        }
        if entry.path.isEmpty { throw malformed("empty path", at: at) }
        if entry.xattrs.contains(where: { $0.name.isEmpty || $0.name.utf8.contains(0) }) {
            throw malformed("bad xattr name", at: at)
        }
        // uid_t is 32 bits and (uid_t)-1 means "unchanged" to chown.
        guard entry.uid >= 0, entry.uid < Int(UInt32.max), entry.gid >= 0, entry.gid < Int(UInt32.max) else {
            throw malformed("uid/gid \(entry.uid)/\(entry.gid) out of range", at: at)
        }
        guard entry.size >= 0, entry.size < TarReader.maxEntrySize else {
            throw malformed("entry size \(entry.size) out of range", at: at)
        }
    }

    /// 2^56 bytes: far beyond any real layer, and far from overflowing offset arithmetic.
    static let maxEntrySize: Int64 = 1 << 56

    /// Streams the current entry's data to `body` in chunks.
    func readData(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        while remaining > 0 {
            let start = input.position
            let n = try input.withChunk(max: remaining, body)
            if n == 0 { throw malformed("archive ends inside file data (\(remaining) bytes missing)", at: start) }
            remaining -= Int64(n)
        }
    }

    private func skipRest() throws(ImageError) {
        let total = remaining + padding
        guard total > 0 else { return }
        let at = input.position
        let skipped = try input.skip(total)
        // Missing padding after the last entry's data is tolerated; missing data is not.
        if skipped < remaining { throw malformed("archive ends inside file data", at: at) }
        remaining = 0
        padding = 0
    }

    private func readMetadata(size: Int64, offset: Int64) throws(ImageError) -> [UInt8] {
        guard size <= TarReader.maxMetadataSize else {
            throw malformed("metadata entry of \(size) bytes is larger than \(TarReader.maxMetadataSize)", at: offset)
        }
        let data = try input.read(Int(size))
        guard data.count == Int(size) else { throw malformed("archive ends inside a metadata entry", at: offset) }
        let pad = (512 - size % 512) % 512
        _ = try input.skip(pad)
        return data
    }

    private func cString(_ bytes: [UInt8], offset: Int64) throws(ImageError) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return try utf8(bytes[..<end], field: "long name", offset: offset)
    }

    fileprivate func utf8(_ bytes: ArraySlice<UInt8>, field: String, offset: Int64) throws(ImageError) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw malformed("\(field) is not valid UTF-8", at: offset)
        }
        return s
    }

    /// PAX records: "<len> <key>=<value>\n", len counting the whole record.
    private func parsePax(_ data: [UInt8], offset: Int64) throws(ImageError) -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        var i = 0
        while i < data.count {
            if data[i] == 0 { break } // some writers pad with NULs
            var j = i
            var length = 0
            while j < data.count, data[j] >= 0x30, data[j] <= 0x39, length < 1 << 24 {
                length = length * 10 + Int(data[j] - 0x30)
                j += 1
            }
            guard j > i, j < data.count, data[j] == 0x20, length > j - i + 1, i + length <= data.count,
                  data[i + length - 1] == 0x0a
            else { throw malformed("bad pax record", at: offset) }
            let record = data[(j + 1)..<(i + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")) else { throw malformed("pax record without '='", at: offset) }
            let key = try utf8(record[..<eq], field: "pax key", offset: offset)
            records[key] = Array(record[(eq + 1)...])
            i += length
        }
        return records
    }

    private func applyPax(_ pax: [String: [UInt8]], to entry: inout TarEntry) throws(ImageError) {
        let at = entry.headerOffset
        func text(_ key: String) throws(ImageError) -> String? {
            guard let v = pax[key] else { return nil }
            return try utf8(v[...], field: "pax \(key)", offset: at)
        }
        func number(_ key: String) throws(ImageError) -> Int64? {
            guard let s = try text(key) else { return nil }
            guard let n = Int64(s), n >= 0 else { throw malformed("bad pax \(key) \"\(s)\"", at: at) }
            return n
        }
        func time(_ key: String) throws(ImageError) -> TarTime? {
            guard let s = try text(key) else { return nil }
            guard let t = parsePaxTime(s) else { throw malformed("bad pax \(key) \"\(s)\"", at: at) }
            return t
        }
        if let p = try text("path") { entry.path = p }
        if let l = try text("linkpath") { entry.linkName = l }
        if let s = try number("size") { entry.size = s }
        if let u = try number("uid") { entry.uid = Int(u) }
        if let g = try number("gid") { entry.gid = Int(g) }
        if let m = try time("mtime") { entry.mtime = m }
        if let a = try time("atime") { entry.atime = a }
        if pax.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
            throw malformed("sparse files are not supported", at: at)
        }
        for key in pax.keys.sorted() where key.hasPrefix("SCHILY.xattr.") {
            if let value = pax[key] { entry.xattrs.append((String(key.dropFirst(13)), value)) }
        }
    }
}

/// "1704067200", "1704067200.5", "-1.25": seconds with an optional fraction.
func parsePaxTime(_ s: String) -> TarTime? {
    let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    guard let secs = Int64(parts[0]), secs > Int64.min else { return nil }
    var nanos = 0
    if parts.count == 2 {
        let frac = parts[1].prefix(9)
        guard !frac.isEmpty, frac.allSatisfy({ $0.isASCII && $0.isNumber }), let f = Int(frac) else { return nil }
        nanos = f * Int(pow10(9 - frac.count))
        if s.hasPrefix("-") && nanos > 0 { return TarTime(seconds: secs - 1, nanoseconds: 1_000_000_000 - nanos) }
    }
    return TarTime(seconds: secs, nanoseconds: nanos)
}

private func pow10(_ n: Int) -> Int64 {
    var r: Int64 = 1
    for _ in 0..<n { r *= 10 }
    return r
}

/// The fixed 512-byte header, decoded.
private struct Header {
    let block: [UInt8]
    let offset: Int64
    let size: Int64
    unowned let reader: TarReader

    init(_ block: [UInt8], offset: Int64, reader: TarReader) throws(ImageError) {
        self.block = block
        self.offset = offset
        self.reader = reader
        // The checksum treats its own field as spaces; old writers summed signed bytes.
        var unsigned = 0
        var signed = 0
        block.withUnsafeBufferPointer { b in
            for i in 0..<b.count {
                let v = i >= 148 && i < 156 ? 0x20 : b[i]
                unsigned &+= Int(v)
                signed &+= Int(Int8(bitPattern: v))
            }
        }
        let stored = try Header.number(block[148..<156], field: "checksum", offset: offset, reader: reader)
        guard stored == Int64(unsigned) || stored == Int64(signed) else {
            throw reader.malformed("header checksum mismatch (not a tar archive?)", at: offset)
        }
        self.size = try Header.number(block[124..<136], field: "size", offset: offset, reader: reader)
    }

    /// Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set).
    static func number(_ field: ArraySlice<UInt8>, field name: String, offset: Int64, reader: TarReader) throws(ImageError) -> Int64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            // Big-endian two's complement in the remaining bits; we accept only non-negative values.
            guard first & 0x40 == 0 else { throw reader.malformed("negative \(name)", at: offset) }
            var v = Int64(first & 0x3f)
            for b in field.dropFirst() {
                guard v <= Int64.max >> 8 else { throw reader.malformed("\(name) out of range", at: offset) }
                v = v << 8 | Int64(b)
            }
            return v
        }
        var v: Int64 = 0
        var seenDigit = false
        var i = field.startIndex
        while i < field.endIndex, field[i] == 0x20 { i += 1 }
        while i < field.endIndex, field[i] >= 0x30, field[i] <= 0x37 {
            guard v < Int64.max >> 3 else { throw reader.malformed("\(name) out of range", at: offset) }
            v = v << 3 | Int64(field[i] - 0x30)
            seenDigit = true
            i += 1
        }
        // Only NUL or space may follow the digits.
        guard field[i...].allSatisfy({ $0 == 0 || $0 == 0x20 }) else {
            throw reader.malformed("bad octal \(name) field", at: offset)
        }
        return seenDigit ? v : 0
    }

    private func text(_ range: Range<Int>, _ field: String) throws(ImageError) -> String {
        let slice = block[range]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return try reader.utf8(block[range.lowerBound..<end], field: field, offset: offset)
    }

    private func num(_ range: Range<Int>, _ field: String) throws(ImageError) -> Int64 {
        try Header.number(block[range], field: field, offset: offset, reader: reader)
    }

    func entry(type: UInt8) throws(ImageError) -> TarEntry {
        var path = try text(0..<100, "name")
        // POSIX ustar ("ustar\0" "00") splits long paths into prefix/name; GNU ("ustar  \0")
        // uses those bytes for other fields.
        if block[257..<263].elementsEqual(Array("ustar\0".utf8)) {
            let prefix = try text(345..<500, "prefix")
            if !prefix.isEmpty { path = prefix + "/" + path }
        }
        let kind: TarEntry.Kind
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            // Pre-POSIX tars mark directories only by the trailing slash.
            kind = (type == 0 && path.hasSuffix("/")) ? .directory : .regular
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"), UInt8(ascii: "D"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "S"):
            throw reader.malformed("sparse files are not supported", at: offset)
        default:
            let shown = type >= 0x20 && type < 0x7f ? "'\(Character(UnicodeScalar(type)))'" : "\(type)"
            throw reader.malformed("unsupported entry type \(shown)", at: offset)
        }
        let mode = try num(100..<108, "mode")
        let isUstar = block[257..<262].elementsEqual(Array("ustar".utf8))
        return TarEntry(
            kind: kind, path: path, linkName: try text(157..<257, "linkname"), size: size,
            mode: UInt32(truncatingIfNeeded: mode) & 0o7777,
            uid: Int(try num(108..<116, "uid")), gid: Int(try num(116..<124, "gid")),
            mtime: TarTime(seconds: try num(136..<148, "mtime"), nanoseconds: 0), atime: nil,
            devMajor: isUstar ? UInt32(truncatingIfNeeded: try num(329..<337, "devmajor")) : 0,
            devMinor: isUstar ? UInt32(truncatingIfNeeded: try num(337..<345, "devminor")) : 0,
            xattrs: [], headerOffset: offset)
    }
}
