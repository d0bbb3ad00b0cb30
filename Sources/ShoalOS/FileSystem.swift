#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Host file-system operations the runtime needs, with errors that name the path.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    /// mkdir -p; existing directories are fine.
    public static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if isDirectory(path) { return }
        let parent = dirname(path)
        if parent != path && !parent.isEmpty { try createDirectory(parent, mode: 0o755) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
        // mkdir applies the umask; the caller asked for this mode.
        _ = chmod(path, mode)
    }

    /// Writes a file atomically (temp file + rename), so readers never see half of it.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let tmp = path + ".tmp-\(getpid())"
        let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try fd.write(bytes)
        } catch {
            fd.close()
            unlink(tmp)
            throw error
        }
        fd.close()
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw SystemError("rename", errno: e, path: path)
        }
    }

    public static func writeAtomically(_ path: String, _ string: String, mode: mode_t = 0o644) throws(SystemError) {
        try writeAtomically(path, Array(string.utf8), mode: mode)
    }

    public static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        return try fd.readAll()
    }

    public static func readString(_ path: String) throws(SystemError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// rm -rf that never crosses into a mount point below `path` (a volume still mounted must
    /// not lose its data because a pod directory is being removed).
    public static func removeTree(_ path: String) throws(SystemError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        try removeTree(path, device: st.st_dev)
    }

    private static func removeTree(_ path: String, device: dev_t) throws(SystemError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if st.st_dev != device { throw SystemError("remove (a mount point is still there)", errno: EBUSY, path: path) }
            for name in try listDirectory(path) { try removeTree(path + "/" + name, device: device) }
            if rmdir(path) != 0 && errno != ENOENT { throw SystemError("rmdir", path: path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw SystemError("unlink", path: path)
        }
    }

    public static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The directory holding the running executable (for finding shoal-sandbox beside shoal).
    public static func executableDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "." }
        return dirname(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// Mounts the agent makes on the host (pod-level tmpfs volumes and /dev/shm).
public enum HostMounts {
    public static func mountTmpfs(at path: String, options: String) throws(SystemError) {
        try sysCall("mount tmpfs", path: path) {
            Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options)
        }
    }

    /// Binds `source` (a file or a namespace such as /proc/PID/ns/net) onto `target`, which
    /// must exist.
    public static func bind(_ source: String, onto target: String) throws(SystemError) {
        try sysCall("bind mount \(source)", path: target) { Glibc.mount(source, target, nil, UInt(MS_BIND), nil) }
    }

    /// Unmounts, detaching if busy; a path that is not a mount point is fine.
    public static func unmount(_ path: String) throws(SystemError) {
        if umount2(path, 0) == 0 { return }
        switch errno {
        case EINVAL, ENOENT: return
        case EBUSY:
            try sysCall("umount", path: path) { umount2(path, Int32(MNT_DETACH)) }
        default:
            throw SystemError("umount", path: path)
        }
    }

    /// Mount points at or below `prefix`, deepest first (from /proc/self/mountinfo).
    public static func mountPoints(under prefix: String) -> [String] {
        guard let text = try? FileSystem.readString("/proc/self/mountinfo") else { return [] }
        var out: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let mp = unescapeMountinfo(String(fields[4]))
            if mp == prefix || mp.hasPrefix(prefix + "/") { out.append(mp) }
        }
        return out.sorted { $0.count > $1.count }
    }

    static func unescapeMountinfo(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "\\"), it.count >= 3,
                let v = UInt8(String(decoding: it.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(v)
                it = it.dropFirst(3)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A NUL-terminated C buffer as a String.
public func string(fromCBuffer buf: [CChar]) -> String {
    String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
