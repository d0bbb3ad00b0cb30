import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX file helpers. Secrets are written through open(2) with the final mode so they are never
/// briefly world-readable (Foundation's `write(to:)` creates files with the umask's mode first).
enum Files {
    static func errorDetail(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func readBytes(_ path: String, step: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw PKIError(.io(errno: code), step: step, path: path, detail: errorDetail(code))
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw PKIError(.io(errno: code), step: step, path: path, detail: errorDetail(code))
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    static func readString(_ path: String, step: String) throws -> String {
        let bytes = try readBytes(path, step: step)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PKIError(.malformedMaterial, step: step, path: path, detail: "file is not UTF-8 text")
        }
        return text
    }

    /// Writes via a temporary file in the same directory, fsync and rename, so readers (and a crash)
    /// see either the old or the new content, never a torn file.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, step: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        var template = Array("\(directory.isEmpty ? "." : directory)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            let code = errno
            throw PKIError(
                .io(errno: code), step: step, path: path, detail: "create temporary file: \(errorDetail(code))")
        }
        let tempPath = String(
            decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else {
                let code = errno
                throw PKIError(.io(errno: code), step: step, path: path, detail: "chmod: \(errorDetail(code))")
            }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if n < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw PKIError(.io(errno: code), step: step, path: path, detail: errorDetail(code))
                }
                offset += n
            }
            guard fsync(fd) == 0 else {
                let code = errno
                throw PKIError(.io(errno: code), step: step, path: path, detail: "fsync: \(errorDetail(code))")
            }
        }
        guard rename(tempPath, path) == 0 else {
            let code = errno
            throw PKIError(.io(errno: code), step: step, path: path, detail: "rename: \(errorDetail(code))")
        }
        committed = true
    }

    static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o600, step: String) throws {
        try writeAtomically(Array(text.utf8), to: path, mode: mode, step: step)
    }

    /// Creates `path` and missing parents with `mode` (0700: the PKI directory holds private keys).
    static func makeDirectory(_ path: String, mode: mode_t = 0o700, step: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PKIError(.io(errno: ENOTDIR), step: step, path: path, detail: "exists and is not a directory")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && parent != "/" {
            try makeDirectory(parent, mode: mode, step: step)
        }
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return }
            throw PKIError(.io(errno: code), step: step, path: path, detail: "mkdir: \(errorDetail(code))")
        }
    }

    static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    /// Tightens a secret file that was left readable by others (restored from a backup, copied by hand).
    static func restrict(_ path: String, to mode: mode_t = 0o600, step: String) throws {
        guard let current = Files.mode(path), current != mode else { return }
        guard chmod(path, mode) == 0 else {
            let code = errno
            throw PKIError(.io(errno: code), step: step, path: path, detail: "chmod: \(errorDetail(code))")
        }
    }

    /// Modification time and size, used to notice that another process rewrote a file.
    static func fingerprint(_ path: String) -> [Int]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if canImport(Darwin)
            return [Int(st.st_mtimespec.tv_sec), Int(st.st_mtimespec.tv_nsec), Int(st.st_size), Int(st.st_ino)]
        #else
            return [Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_size), Int(st.st_ino)]
        #endif
    }
}
