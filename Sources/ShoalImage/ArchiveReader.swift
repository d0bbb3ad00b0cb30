import Glibc

/// Random access to the members of an image archive (an uncompressed tar, as `docker save`,
/// `podman save` and skopeo write). One pass over the headers records where each member's data
/// lies; blobs are then read in place by offset, never copied out first. A gzip-compressed
/// archive (`docker save | gzip`) is inflated to a scratch file first, since gzip cannot seek.
final class ArchiveReader {
    struct Member {
        enum Kind { case file, symlink, hardlink }
        var kind: Kind
        var offset: Int64
        var size: Int64
        var link: String
    }

    let path: String
    private let fd: FileDescriptor
    private var members: [String: Member] = [:]

    /// JSON documents in an archive are small; this bounds what a hostile one makes us allocate.
    static let maxDocumentSize: Int64 = 64 << 20

    init(path: String, scratchDirectory: String) throws(ImageError) {
        self.path = path
        var fd = try openFile(path, O_RDONLY)
        let st = try fileStat(fd, path: path)
        guard st.st_mode & S_IFMT == S_IFREG else { throw .invalidArchive(path: path, reason: "not a regular file") }

        var magic = [UInt8](repeating: 0, count: 4)
        let n = magic.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, 4, 0) }
        if n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
            fd = try ArchiveReader.inflate(fd, size: Int64(st.st_size), from: path, into: scratchDirectory + "/archive.tar")
        } else if n >= 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            throw .invalidArchive(path: path, reason: "zstd-compressed archives are not supported; decompress it first")
        }
        self.fd = fd
        let size = Int64((try fileStat(fd, path: path)).st_size)
        try index(size: size)
    }

    private static func inflate(_ fd: FileDescriptor, size: Int64, from path: String, into scratch: String) throws(ImageError) -> FileDescriptor {
        let out = try openFile(scratch, O_RDWR | O_CREAT | O_TRUNC, mode: 0o600)
        let gz = try GzipSource(FileRangeSource(fd: fd, path: path, offset: 0, length: size), what: "archive \(path)")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try gz.read(into: buffer)
            if n == 0 { break }
            try writeAll(out.raw, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), path: scratch)
        }
        return out
    }

    private func index(size: Int64) throws(ImageError) {
        let tar = TarReader(BufferedReader(FileRangeSource(fd: fd, path: path, offset: 0, length: size), capacity: 64 * 1024),
                            what: "archive \(path)")
        while let entry = try tar.next() {
            let name: String
            do throws(ImageError) {
                name = try ArchiveReader.normalize(entry.path)
            } catch {
                throw .invalidArchive(path: path, reason: "member \"\(entry.path)\" has an unsafe name")
            }
            switch entry.kind {
            case .regular:
                members[name] = Member(kind: .file, offset: tar.dataOffset, size: entry.size, link: "")
            case .symlink:
                members[name] = Member(kind: .symlink, offset: 0, size: 0, link: entry.linkName)
            case .hardlink:
                members[name] = Member(kind: .hardlink, offset: 0, size: 0, link: entry.linkName)
            default:
                continue
            }
        }
    }

    /// Member names as comparable keys: "./index.json" and "index.json" are the same member.
    static func normalize(_ name: String) throws(ImageError) -> String {
        var out: [Substring] = []
        for part in name.split(separator: "/") where part != "." {
            if part == ".." {
                guard !out.isEmpty else { throw .invalidArchive(path: name, reason: "path escapes the archive") }
                out.removeLast()
            } else {
                out.append(part)
            }
        }
        return out.joined(separator: "/")
    }

    func contains(_ name: String) -> Bool { (try? locate(name)) != nil }

    /// The data range of a member, following the symlinks and hardlinks between members that
    /// docker (25+) and skopeo write for shared layers.
    func locate(_ name: String) throws(ImageError) -> (offset: Int64, size: Int64) {
        var current = try ArchiveReader.normalize(name)
        for _ in 0..<16 {
            guard let m = members[current] else {
                throw .invalidArchive(path: path, reason: "missing member \"\(name)\"")
            }
            switch m.kind {
            case .file:
                return (m.offset, m.size)
            case .hardlink:
                current = try ArchiveReader.normalize(m.link)
            case .symlink:
                // Relative to the link's directory; absolute targets are taken from the archive root.
                let dir = current.split(separator: "/").dropLast().joined(separator: "/")
                current = try ArchiveReader.normalize(m.link.hasPrefix("/") ? m.link : dir + "/" + m.link)
            }
        }
        throw .invalidArchive(path: path, reason: "too many links resolving member \"\(name)\"")
    }

    func source(_ name: String) throws(ImageError) -> FileRangeSource {
        let (offset, size) = try locate(name)
        return FileRangeSource(fd: fd, path: "\(path):\(name)", offset: offset, length: size)
    }

    /// The first `count` bytes of a member (fewer if it is shorter), to sniff its compression.
    func head(_ name: String, _ count: Int) throws(ImageError) -> [UInt8] {
        let (offset, size) = try locate(name)
        var data = [UInt8](repeating: 0, count: Int(min(Int64(count), size)))
        let n = data.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, off_t(offset)) }
        if n < 0 { throw .system(operation: "read", path: "\(path):\(name)", errno: errno) }
        return Array(data[0..<n])
    }

    func size(_ name: String) throws(ImageError) -> Int64 { try locate(name).size }

    /// A small member, whole (index.json, manifests, configs).
    func read(_ name: String) throws(ImageError) -> [UInt8] {
        let (offset, size) = try locate(name)
        guard size <= ArchiveReader.maxDocumentSize else {
            throw .invalidArchive(path: path, reason: "member \"\(name)\" is \(size) bytes, too large for a JSON document")
        }
        var data = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < data.count {
            let n = data.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress.map { $0 + done }, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .system(operation: "read", path: "\(path):\(name)", errno: errno) }
            if n == 0 { throw .invalidArchive(path: path, reason: "member \"\(name)\" is truncated") }
            done += n
        }
        return data
    }
}
