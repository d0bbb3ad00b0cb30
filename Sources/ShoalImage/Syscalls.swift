import Glibc

// Small syscall helpers for the store and the unpacker. They live here rather than in ShoalOS
// for now; each throws ImageError.system with the call and the path it acted on.

/// An owned file descriptor, closed when the last reference goes away.
final class FileDescriptor {
    let raw: Int32
    init(_ raw: Int32) { self.raw = raw }
    deinit { close(raw) }
}

/// O_PATH is not exported by the Glibc module.
let O_PATH_FLAG: Int32 = 0o10000000

@inline(__always)
func check(_ rc: Int32, _ operation: String, _ path: @autoclosure () -> String) throws(ImageError) {
    if rc < 0 { throw .system(operation: operation, path: path(), errno: errno) }
}

/// Retries on EINTR, which a signal for the agent (SIGCHLD) can cause on slow filesystems.
func retryingEINTR(_ body: () -> Int32) -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 || errno != EINTR { return rc }
    }
}

func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(ImageError) -> FileDescriptor {
    let fd = retryingEINTR { open(path, flags | O_CLOEXEC, mode) }
    try check(fd, "open", path)
    return FileDescriptor(fd)
}

func openAt(_ dir: FileDescriptor, _ name: String, _ flags: Int32, mode: mode_t = 0, display: String) throws(ImageError) -> FileDescriptor {
    let fd = retryingEINTR { openat(dir.raw, name, flags | O_CLOEXEC, mode) }
    try check(fd, "open", display)
    return FileDescriptor(fd)
}

func statAt(_ dir: Int32, _ name: String) -> stat? {
    var st = stat()
    return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
}

func fileStat(_ fd: FileDescriptor, path: String) throws(ImageError) -> stat {
    var st = stat()
    try check(fstat(fd.raw, &st), "stat", path)
    return st
}

func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }

func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(ImageError) {
    if mkdir(path, mode) < 0 && errno != EEXIST { throw .system(operation: "mkdir", path: path, errno: errno) }
}

/// `mkdir -p`.
func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(ImageError) {
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        prefix += "/" + component
        try makeDirectory(prefix, mode: mode)
    }
}

/// Writes all of `bytes`, looping over short writes.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: @autoclosure () -> String) throws(ImageError) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw .system(operation: "write", path: path(), errno: errno)
        }
        offset += n
    }
}

/// `withUnsafeBytes` for a body with a typed throw (the stdlib's version erases the error type).
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImageError) -> R) throws(ImageError) -> R {
    let result = bytes.withUnsafeBytes { b in Result { () throws(ImageError) -> R in try body(b) } }
    return try result.get()
}

/// Reads a whole (small) file: JSON documents of the store.
func readWholeFile(_ path: String) throws(ImageError) -> [UInt8] {
    let fd = try openFile(path, O_RDONLY)
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .system(operation: "read", path: path, errno: errno)
        }
        if n == 0 { return result }
        result.append(contentsOf: chunk[0..<n])
    }
}

/// Replaces `path` atomically: write a sibling temp file, fsync, rename over, fsync the directory.
/// Readers see either the old or the new content, even across a crash.
func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(ImageError) {
    let tmp = path + ".tmp.\(getpid())"
    do throws(ImageError) {
        let fd = try openFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        try withBytes(bytes) { (b) throws(ImageError) in try writeAll(fd.raw, b, path: tmp) }
        try check(fsync(fd.raw), "fsync", tmp)
        try check(rename(tmp, path), "rename", path)
    } catch {
        unlink(tmp)
        throw error
    }
    syncDirectory(of: path)
}

/// Flushes every dirty page of the filesystem holding `fd`: one call makes a whole unpacked
/// layer durable, where an fsync per file would cost a disk flush each.
func syncFilesystem(_ fd: FileDescriptor, path: String) throws(ImageError) {
    guard let call = LibcCalls.shared.syncfs else { throw .system(operation: "syncfs", path: path, errno: ENOSYS) }
    try check(call(fd.raw), "syncfs", path)
}

/// Best effort: a failed directory fsync loses durability, not correctness.
func syncDirectory(of path: String) {
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// Names in a directory, without "." and "..".
func listDirectory(_ path: String) throws(ImageError) -> [String] {
    let fd = retryingEINTR { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    try check(fd, "open", path)
    return try listDirectory(fd: fd, path: path)
}

/// Takes ownership of `fd`.
private func listDirectory(fd: Int32, path: String) throws(ImageError) -> [String] {
    guard let dir = fdopendir(fd) else {
        let e = errno
        close(fd)
        throw .system(operation: "opendir", path: path, errno: e)
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        var field = entry.pointee.d_name
        let size = MemoryLayout.size(ofValue: field)
        let name = withUnsafePointer(to: &field) {
            $0.withMemoryRebound(to: CChar.self, capacity: size) {
                String(cString: $0)
            }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Removes `name` under `dir` and everything below it without ever following a symlink: the
/// trees we remove are image layers, whose symlinks may point anywhere on the host.
func removeTree(at dir: Int32, _ name: String, display: String) throws(ImageError) {
    guard let st = statAt(dir, name) else {
        if errno == ENOENT { return }
        throw .system(operation: "stat", path: display, errno: errno)
    }
    if isDirectory(st) {
        let fd = retryingEINTR { openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        try check(fd, "open", display)
        let child = FileDescriptor(fd)
        let listFD = dup(fd)
        try check(listFD, "dup", display)
        for entry in try listDirectory(fd: listFD, path: display) {
            try removeTree(at: child.raw, entry, display: display + "/" + entry)
        }
        if unlinkat(dir, name, AT_REMOVEDIR) < 0 && errno != ENOENT {
            throw .system(operation: "rmdir", path: display, errno: errno)
        }
    } else if unlinkat(dir, name, 0) < 0 && errno != ENOENT {
        throw .system(operation: "unlink", path: display, errno: errno)
    }
}

func removeTree(_ path: String) throws(ImageError) {
    try removeTree(at: AT_FDCWD, path, display: path)
}

// MARK: extended attributes

// The Glibc module does not export <sys/xattr.h> (nor syncfs, a _GNU_SOURCE call), so the calls
// we need are looked up in libc once. They are plain C functions of a fixed signature, so the cast is exact.
private typealias FSetXattr = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
private typealias LSetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
private typealias SyncFS = @convention(c) (Int32) -> Int32
private typealias LGetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int

private struct LibcCalls: @unchecked Sendable {
    let fset: FSetXattr?
    let lset: LSetXattr?
    let lget: LGetXattr?
    let syncfs: SyncFS?

    static let shared: LibcCalls = {
        let handle = dlopen(nil, RTLD_NOW)
        func sym<T>(_ name: String, _: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: T.self) }
        }
        return LibcCalls(fset: sym("fsetxattr", FSetXattr.self), lset: sym("lsetxattr", LSetXattr.self),
                          lget: sym("lgetxattr", LGetXattr.self), syncfs: sym("syncfs", SyncFS.self))
    }()
}

func setXattr(fd: Int32, name: String, value: [UInt8], display: String) throws(ImageError) {
    guard let call = LibcCalls.shared.fset else { throw .system(operation: "fsetxattr", path: display, errno: ENOSYS) }
    let rc = value.withUnsafeBytes { call(fd, name, $0.baseAddress, $0.count, 0) }
    try check(rc, "setxattr \(name)", display)
}

/// For entries we cannot open (symlinks, devices): the path goes through /proc/self/fd of the
/// parent, so no component of it is resolved by name.
func setXattr(dir: Int32, entry: String, name: String, value: [UInt8], display: String) throws(ImageError) {
    guard let call = LibcCalls.shared.lset else { throw .system(operation: "lsetxattr", path: display, errno: ENOSYS) }
    let path = "/proc/self/fd/\(dir)/\(entry)"
    let rc = value.withUnsafeBytes { call(path, name, $0.baseAddress, $0.count, 0) }
    try check(rc, "setxattr \(name)", display)
}

/// The value of an xattr, nil when absent (tests and diagnostics).
func readXattr(path: String, name: String) -> [UInt8]? {
    guard let call = LibcCalls.shared.lget else { return nil }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = buffer.withUnsafeMutableBytes { call(path, name, $0.baseAddress, $0.count) }
    return n < 0 ? nil : Array(buffer[0..<n])
}
