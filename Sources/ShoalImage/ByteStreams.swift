import CShims
import Glibc

// A blob flows through a chain of sources, read once, in chunks:
//   archive range (pread) -> sha256 of the blob (+ copy into the store) -> gunzip -> sha256 of the
//   tar (the diffID) -> tar reader -> unpacker
// so a multi-gigabyte layer costs one buffer per stage, never its size in memory.

/// A pull source of bytes.
protocol ByteSource: AnyObject {
    /// Fills at most `buffer.count` bytes and returns how many; 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int
    /// Skips `count` bytes without reading them if the source can seek; false if it cannot.
    func skip(_ count: Int64) -> Bool
}

extension ByteSource {
    func skip(_ count: Int64) -> Bool { false }
}

let chunkSize = 256 * 1024

/// A byte range of a file, read with pread so several sources can share one descriptor.
final class FileRangeSource: ByteSource {
    private let fd: FileDescriptor
    private let path: String
    private var offset: Int64
    private let end: Int64
    private let start: Int64
    /// Called with the bytes read so far after each read.
    var onProgress: ((Int64) -> Void)?

    init(fd: FileDescriptor, path: String, offset: Int64, length: Int64) {
        self.fd = fd
        self.path = path
        self.offset = offset
        self.start = offset
        self.end = offset + length
    }

    var consumed: Int64 { offset - start }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let want = Int(min(Int64(buffer.count), end - offset))
        guard want > 0 else { return 0 }
        while true {
            let n = pread(fd.raw, buffer.baseAddress, want, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "read", path: path, errno: errno)
            }
            if n == 0 { throw .invalidArchive(path: path, reason: "file ends at \(offset), before the end of a member at \(end)") }
            offset += Int64(n)
            onProgress?(offset - start)
            return n
        }
    }

    func skip(_ count: Int64) -> Bool {
        guard count <= end - offset else { return false }
        offset += count
        return true
    }
}

/// Hashes everything read through it, and optionally copies it to a file (the blob's copy in
/// the store), so verifying and storing a blob cost no extra read.
final class HashingSource: ByteSource {
    private let upstream: any ByteSource
    private(set) var hasher = SHA256Stream()
    private let copyTo: Int32?
    private let copyPath: String

    init(_ upstream: any ByteSource, copyTo: FileDescriptor? = nil, copyPath: String = "") {
        self.upstream = upstream
        self.copyTo = copyTo?.raw
        self.copyPath = copyPath
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let n = try upstream.read(into: buffer)
        let got = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        hasher.update(got)
        if let copyTo { try writeAll(copyTo, got, path: copyPath) }
        return n
    }

    /// Reads to the end, so the digest covers the whole stream even past what a consumer needed
    /// (a tar's trailing zero blocks and record padding are part of the diffID).
    func drain() throws(ImageError) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
    }

    var digest: Digest { hasher.finalize() }
    var count: Int64 { hasher.count }
}

/// Inflates a gzip stream (all of its members) through zlib.
final class GzipSource: ByteSource {
    private let upstream: any ByteSource
    private let what: String
    private let z: OpaquePointer
    private var input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var upstreamDone = false
    private var finished = false

    init(_ upstream: any ByteSource, what: String) throws(ImageError) {
        guard let z = sh_gzip_new() else { throw .gzip(what: what, reason: "cannot allocate a zlib stream") }
        self.z = z
        self.upstream = upstream
        self.what = what
        self.input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit {
        sh_gzip_free(z)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard !finished, buffer.count > 0, let out = buffer.baseAddress else { return 0 }
        while true {
            if inputStart == inputEnd && !upstreamDone {
                inputStart = 0
                inputEnd = try upstream.read(into: input)
                if inputEnd == 0 { upstreamDone = true }
            }
            var used = 0
            var produced = 0
            let inPtr = input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + inputStart }
            let rc = sh_gzip_inflate(z, inPtr, inputEnd - inputStart, &used,
                                     out.assumingMemoryBound(to: UInt8.self), buffer.count, &produced)
            if rc != SH_GZIP_OK { throw .gzip(what: what, reason: String(cString: sh_gzip_error(z))) }
            inputStart += used
            if produced > 0 { return produced }
            if upstreamDone && inputStart == inputEnd {
                if sh_gzip_finish(z) != SH_GZIP_OK {
                    throw .gzip(what: what, reason: String(cString: sh_gzip_error(z)))
                }
                finished = true
                return 0
            }
        }
    }
}

/// Buffers a source for the tar reader: exact-size reads for headers, zero-copy chunks for file
/// data, and skips that seek when the source can.
final class BufferedReader {
    private let source: any ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    /// Bytes consumed from the stream so far, for error offsets.
    private(set) var position: Int64 = 0

    init(_ source: any ByteSource, capacity: Int = chunkSize) {
        self.source = source
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Refills when empty; false at end of stream.
    private func fill() throws(ImageError) -> Bool {
        if start < end { return true }
        if eof { return false }
        start = 0
        end = try source.read(into: buffer)
        if end == 0 { eof = true }
        return end > 0
    }

    /// Exactly `count` bytes, or fewer only if the stream ends first.
    func read(_ count: Int) throws(ImageError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count, try fill() {
            let n = min(count - out.count, end - start)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<start + n]))
            start += n
            position += Int64(n)
        }
        return out
    }

    /// Hands up to `max` bytes to `body` straight from the buffer; returns how many, 0 at the end.
    func withChunk(max: Int64, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> Int {
        guard max > 0, try fill() else { return 0 }
        let n = Int(min(max, Int64(end - start)))
        try body(UnsafeRawBufferPointer(rebasing: buffer[start..<start + n]))
        start += n
        position += Int64(n)
        return n
    }

    /// Skips `count` bytes; returns how many were skipped (less only at the end of the stream).
    func skip(_ count: Int64) throws(ImageError) -> Int64 {
        var left = count
        let buffered = Int64(end - start)
        if left <= buffered {
            start += Int(left)
            position += left
            return count
        }
        left -= buffered
        position += buffered
        start = end
        if !eof && source.skip(left) {
            position += left
            return count
        }
        while left > 0, try fill() {
            let n = Int(min(left, Int64(end - start)))
            start += n
            position += Int64(n)
            left -= Int64(n)
        }
        return count - left
    }
}
