import Glibc

/// A private directory under tmp/ for one import, held by an flock so that garbage collection
/// can tell a live import from a dead one's leftovers.
final class Staging {
    let path: String
    let fd: FileDescriptor
    private let lock: FileLock

    init(storeRoot: String) throws(ImageError) {
        var template = Array((storeRoot + "/tmp/import-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard made != nil else { throw .system(operation: "mkdtemp", path: storeRoot + "/tmp", errno: errno) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        guard let lock = FileLock(tryLocking: fd) else {
            throw .system(operation: "flock", path: path, errno: EWOULDBLOCK)
        }
        self.lock = lock
        for dir in ["blobs", "layers"] { try makeDirectory(path + "/" + dir, mode: 0o700) }
    }

    func remove() {
        do { try removeTree(path) } catch {}
    }
}
