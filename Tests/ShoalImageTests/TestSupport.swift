import Foundation
import Glibc
@testable import ShoalImage

/// A scratch directory `/tmp/shoal-test-<name>-XXXXXX`, removed by `cleanup()`.
struct TempDir {
    let path: String

    init(_ name: String) throws {
        var template = Array("/tmp/shoal-test-\(name)-XXXXXX".utf8CString)
        let ok = template.withUnsafeMutableBufferPointer { b in b.baseAddress.map { mkdtemp($0) != nil } ?? false }
        guard ok else { throw POSIXError(.EIO) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func cleanup() { try? removeTree(path) }

    func sub(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: sub(name)))
    }
}

/// Builds tar archives in memory for tests: ustar headers, PAX or GNU long names, PAX xattrs.
struct TarWriter {
    enum Kind {
        case file([UInt8])
        case directory
        case symlink(String)
        case hardlink(String)
        case characterDevice(UInt32, UInt32)
        case blockDevice(UInt32, UInt32)
        case fifo
        /// A header with an arbitrary type flag and data.
        case raw(UInt8, [UInt8])
    }

    enum LongNames { case pax, gnu }

    private(set) var bytes: [UInt8] = []
    var longNames: LongNames = .pax

    init(longNames: LongNames = .pax) { self.longNames = longNames }

    mutating func file(_ path: String, _ content: String, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0) {
        add(path, .file(Array(content.utf8)), mode: mode, uid: uid, gid: gid)
    }

    mutating func dir(_ path: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0) {
        add(path, .directory, mode: mode, uid: uid, gid: gid)
    }

    mutating func add(_ path: String, _ kind: Kind, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                      mtime: Int = 1_700_000_000, xattrs: [(String, [UInt8])] = [], pax extra: [(String, String)] = []) {
        var link = ""
        var data: [UInt8] = []
        var type: UInt8
        var major: UInt32 = 0, minor: UInt32 = 0
        switch kind {
        case .file(let d): type = UInt8(ascii: "0"); data = d
        case .directory: type = UInt8(ascii: "5")
        case .symlink(let l): type = UInt8(ascii: "2"); link = l
        case .hardlink(let l): type = UInt8(ascii: "1"); link = l
        case .characterDevice(let a, let b): type = UInt8(ascii: "3"); major = a; minor = b
        case .blockDevice(let a, let b): type = UInt8(ascii: "4"); major = a; minor = b
        case .fifo: type = UInt8(ascii: "6")
        case .raw(let t, let d): type = t; data = d
        }

        var records: [(String, [UInt8])] = extra.map { ($0.0, Array($0.1.utf8)) }
        var name = path
        var linkName = link
        if path.utf8.count > 100 {
            if longNames == .pax {
                records.append(("path", Array(path.utf8)))
            } else {
                appendEntry(name: "././@LongLink", type: UInt8(ascii: "L"), data: Array(path.utf8) + [0])
            }
            name = String(path.suffix(99))
        }
        if link.utf8.count > 100 {
            if longNames == .pax {
                records.append(("linkpath", Array(link.utf8)))
            } else {
                appendEntry(name: "././@LongLink", type: UInt8(ascii: "K"), data: Array(link.utf8) + [0])
            }
            linkName = String(link.suffix(99))
        }
        for (k, v) in xattrs { records.append(("SCHILY.xattr." + k, v)) }
        if !records.isEmpty {
            appendEntry(name: "PaxHeaders/x", type: UInt8(ascii: "x"), data: TarWriter.paxData(records))
        }
        appendEntry(name: name, type: type, data: data, mode: mode, uid: uid, gid: gid, mtime: mtime,
                    link: linkName, major: major, minor: minor)
    }

    static func paxData(_ records: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (k, v) in records {
            let body = Array(" \(k)=".utf8) + v + [0x0a]
            var len = body.count + 1
            while String(len).utf8.count + body.count != len { len += 1 }
            out += Array(String(len).utf8) + body
        }
        return out
    }

    mutating func appendEntry(name: String, type: UInt8, data: [UInt8], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                              mtime: Int = 1_700_000_000, link: String = "", major: UInt32 = 0, minor: UInt32 = 0) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: [UInt8], _ at: Int, _ len: Int) {
            for (i, b) in s.prefix(len).enumerated() { h[at + i] = b }
        }
        func octal(_ v: Int, _ at: Int, _ len: Int) {
            put(Array(String(String(v, radix: 8).suffix(len - 1)).leftPadded(to: len - 1).utf8) + [0], at, len)
        }
        put(Array(name.utf8), 0, 100)
        octal(Int(mode), 100, 8)
        octal(uid, 108, 8)
        octal(gid, 116, 8)
        octal(data.count, 124, 12)
        octal(mtime, 136, 12)
        h[156] = type
        put(Array(link.utf8), 157, 100)
        put(Array("ustar\u{0}00".utf8), 257, 8)
        octal(Int(major), 329, 8)
        octal(Int(minor), 337, 8)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(Array(String(String(sum, radix: 8)).leftPadded(to: 6).utf8) + [0, 0x20], 148, 8)
        bytes += h
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// The archive with its end-of-archive blocks.
    func finish() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

/// gzip with stored (uncompressed) deflate blocks: valid for any inflater, no zlib needed.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
    var i = 0
    repeat {
        let n = min(65535, data.count - i)
        let last: UInt8 = i + n == data.count ? 1 : 0
        out += [last, UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
        out += data[i..<i + n]
        i += n
    } while i < data.count
    let crc = crc32(data)
    for v in [crc, UInt32(truncatingIfNeeded: data.count)] {
        out += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }
    return out
}

func crc32(_ data: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        table[n] = c
    }
    var crc: UInt32 = 0xffff_ffff
    for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
    return crc ^ 0xffff_ffff
}

func sha(_ bytes: [UInt8]) -> Digest { Digest.of(bytes) }

func json(_ object: Any) -> [UInt8] {
    (try? Array(JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))) ?? []
}

/// One layer of a test image: its tar and how the archive stores it.
struct TestLayer {
    var tar: [UInt8]
    var gzip = true
    var blob: [UInt8] { gzip ? gzipStored(tar) : tar }
}

/// Writes test images as archives.
enum ArchiveBuilder {
    static func config(_ layers: [TestLayer], extra: [String: Any] = [:]) -> [UInt8] {
        var cfg: [String: Any] = ["Env": ["PATH=/usr/bin:/bin"], "Cmd": ["sh"], "WorkingDir": "/"]
        for (k, v) in extra { cfg[k] = v }
        return json([
            "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
            "config": cfg,
            "rootfs": ["type": "layers", "diff_ids": layers.map { sha($0.tar).description }],
        ] as [String: Any])
    }

    static func manifest(config: [UInt8], layers: [TestLayer]) -> [UInt8] {
        json([
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config).description, "size": config.count],
            "layers": layers.map { l -> [String: Any] in
                ["mediaType": l.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                 "digest": sha(l.blob).description, "size": l.blob.count]
            },
        ] as [String: Any])
    }

    /// An OCI image layout tar. `tamper` may rewrite blobs (by digest) after digests are computed.
    static func oci(_ layers: [TestLayer], name: String? = "docker.io/library/test:1", refName: String? = nil,
                    configExtra: [String: Any] = [:], tamper: (Digest, [UInt8]) -> [UInt8] = { $1 }) -> [UInt8] {
        let cfg = config(layers, extra: configExtra)
        let man = manifest(config: cfg, layers: layers)
        var annotations: [String: String] = [:]
        if let name { annotations["io.containerd.image.name"] = name }
        if let refName { annotations["org.opencontainers.image.ref.name"] = refName }
        var desc: [String: Any] = ["mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "digest": sha(man).description, "size": man.count]
        if !annotations.isEmpty { desc["annotations"] = annotations }
        let index = json(["schemaVersion": 2, "manifests": [desc]] as [String: Any])
        return layout(index: index, blobs: [cfg, man] + layers.map(\.blob), tamper: tamper)
    }

    static func layout(index: [UInt8], blobs: [[UInt8]], tamper: (Digest, [UInt8]) -> [UInt8] = { $1 }) -> [UInt8] {
        var t = TarWriter()
        t.add("oci-layout", .file(json(["imageLayoutVersion": "1.0.0"])))
        t.add("index.json", .file(index))
        t.dir("blobs/")
        t.dir("blobs/sha256/")
        var seen = Set<Digest>()
        for b in blobs where seen.insert(sha(b)).inserted {
            t.add("blobs/sha256/" + sha(b).hex, .file(tamper(sha(b), b)))
        }
        return t.finish()
    }

    /// A docker-archive as `docker save` (before 25) writes it.
    static func dockerArchive(_ layers: [TestLayer], tags: [String]? = ["busybox:test"]) -> [UInt8] {
        let cfg = config(layers)
        var t = TarWriter()
        var names: [String] = []
        for (i, l) in layers.enumerated() {
            let dir = String(repeating: String(i), count: 64)
            t.dir(dir + "/")
            t.add(dir + "/layer.tar", .file(l.blob))
            names.append(dir + "/layer.tar")
        }
        t.add(sha(cfg).hex + ".json", .file(cfg))
        var entry: [String: Any] = ["Config": sha(cfg).hex + ".json", "Layers": names]
        entry["RepoTags"] = tags ?? NSNull()
        t.add("manifest.json", .file(json([entry])))
        return t.finish()
    }
}

/// Runs a command, returning its exit status and combined output.
@discardableResult
func run(_ argv: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

func readString(_ path: String) -> String? {
    (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
}

/// Everything under a directory, relative paths, sorted (to check nothing was left behind).
func tree(_ path: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
    return (e.allObjects as? [String] ?? []).sorted()
}

/// An in-memory byte source, read in small uneven chunks to exercise buffer boundaries.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    private let chunk: Int

    init(_ bytes: [UInt8], chunk: Int = 7919) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let n = min(buffer.count, bytes.count - offset, chunk)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress, let d = buffer.baseAddress { d.copyMemory(from: s + offset, byteCount: n) }
        }
        offset += n
        return n
    }
}

/// Unpacks a layer tar into `dir` with the store's unpacker.
func unpackLayer(_ tar: [UInt8], into dir: String) throws(ImageError) {
    let fd = try openFile(dir, O_RDONLY | O_DIRECTORY)
    let reader = TarReader(BufferedReader(MemorySource(tar)), what: "test layer")
    try LayerUnpacker(root: fd, rootPath: dir, what: "test layer").unpack(reader)
}

/// All entries of a tar, read with the store's reader.
func readTar(_ tar: [UInt8]) throws(ImageError) -> [(entry: TarEntry, data: [UInt8])] {
    let reader = TarReader(BufferedReader(MemorySource(tar)), what: "test tar")
    var out: [(TarEntry, [UInt8])] = []
    while let e = try reader.next() {
        var data: [UInt8] = []
        try reader.readData { data += $0 }
        out.append((e, data))
    }
    return out
}

func isUnsafePath(_ error: any Error) -> Bool {
    if let e = error as? ImageError, case .unsafePath = e { return true }
    return false
}

func isMalformed(_ error: any Error) -> Bool {
    if let e = error as? ImageError, case .malformedTar = e { return true }
    return false
}
