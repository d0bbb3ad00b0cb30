import Glibc

/// An flock(2) on a file, released when the lock object goes away. flock locks belong to the
/// open file description, so two stores in one process exclude each other like two processes do.
final class FileLock {
    private let fd: FileDescriptor

    enum Mode { case shared, exclusive }

    init(_ path: String, _ mode: Mode) throws(ImageError) {
        fd = try openFile(path, O_RDWR | O_CREAT, mode: 0o600)
        let op = mode == .shared ? LOCK_SH : LOCK_EX
        try check(retryingEINTR { flock(fd.raw, op) }, "flock", path)
    }

    /// Locks an already open descriptor without waiting; nil if someone else holds it.
    init?(tryLocking fd: FileDescriptor) {
        guard flock(fd.raw, LOCK_EX | LOCK_NB) == 0 else { return nil }
        self.fd = fd
    }

    deinit { flock(fd.raw, LOCK_UN) }
}
