import Glibc

/// Extracts one layer tar into a directory, in the form overlayfs wants for a lower layer:
/// - `.wh.NAME` becomes a whiteout, a 0:0 character device NAME;
/// - `.wh..wh..opq` becomes `trusted.overlay.opaque=y` on its directory;
/// - owners, modes (setuid included), times, xattrs, devices, FIFOs and links are kept.
///
/// Safety: every entry is placed by walking its parent components one `openat(O_NOFOLLOW)` at a
/// time from the layer's root descriptor, so no entry can land outside the layer, whether by an
/// absolute path, `..`, or a symlink an earlier entry planted in a parent component. Such entries
/// are errors, not silently fixed.
final class LayerUnpacker {
    private let root: FileDescriptor
    private let rootPath: String
    private let what: String
    /// The last parent directory used: tar entries come grouped by directory, so this saves most
    /// component walks. Cleared whenever something is removed.
    private var cachedParent: (path: [String], fd: FileDescriptor)?
    /// Directory times are set last: creating entries inside a directory changes its mtime.
    private var directoryTimes: [(path: [String], mtime: TarTime, atime: TarTime?)] = []

    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"
    static let opaqueXattr = "trusted.overlay.opaque"

    /// Bytes of regular-file data written.
    private(set) var bytesWritten: Int64 = 0
    private(set) var entries = 0

    init(root: FileDescriptor, rootPath: String, what: String) {
        self.root = root
        self.rootPath = rootPath
        self.what = what
    }

    func unpack(_ tar: TarReader) throws(ImageError) {
        while let entry = try tar.next() {
            try extract(entry, from: tar)
            entries += 1
        }
        // Deepest first, so setting a child's times does not disturb its parent's. A directory a
        // later entry replaced (by a file, or a symlink above it) is no longer there to set.
        for (path, mtime, atime) in directoryTimes.reversed() {
            guard let name = path.last else {
                try setTimes(dir: root.raw, name: nil, mtime: mtime, atime: atime, display: rootPath)
                continue
            }
            guard let parent = try? openParent(of: path, create: false, display: display(path)),
                  let st = statAt(parent.raw, name), isDirectory(st) else { continue }
            try setTimes(dir: parent.raw, name: name, mtime: mtime, atime: atime, display: display(path))
        }
    }

    private func display(_ path: [String]) -> String {
        path.isEmpty ? rootPath : rootPath + "/" + path.joined(separator: "/")
    }

    private func unsafe(_ path: String, _ reason: String) -> ImageError {
        .unsafePath(layer: what, path: path, reason: reason)
    }

    /// Lexically normalizes a tar path to components below the layer root. `./a//b/` is [a, b];
    /// `a/../b` is [b]; an absolute path or one climbing above the root is rejected.
    func components(_ raw: String) throws(ImageError) -> [String] {
        if raw.hasPrefix("/") { throw unsafe(raw, "absolute path") }
        if raw.utf8.contains(0) { throw unsafe(raw, "NUL byte in path") }
        var out: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if out.isEmpty { throw unsafe(raw, "path escapes the layer with '..'") }
                out.removeLast()
            default: out.append(String(part))
            }
        }
        return out
    }

    // MARK: entries

    private func extract(_ entry: TarEntry, from tar: TarReader) throws(ImageError) {
        let path = try components(entry.path)
        guard let name = path.last else {
            // The layer root itself ("./"): only its metadata can be set.
            guard entry.kind == .directory else { throw unsafe(entry.path, "a non-directory entry for the layer root") }
            try applyOwnerAndMode(fd: root.raw, entry, display: rootPath)
            directoryTimes.append(([], entry.mtime, entry.atime))
            return
        }
        let parentPath = Array(path.dropLast())
        let shown = display(path)

        if name == LayerUnpacker.opaqueMarker {
            let dir = try openDirectory(parentPath, create: true, display: display(parentPath))
            try setXattr(fd: dir.raw, name: LayerUnpacker.opaqueXattr, value: Array("y".utf8), display: display(parentPath))
            return
        }
        if name.hasPrefix(LayerUnpacker.whiteoutPrefix + LayerUnpacker.whiteoutPrefix) {
            return // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) has no overlay meaning
        }
        if name.hasPrefix(LayerUnpacker.whiteoutPrefix) {
            let target = String(name.dropFirst(LayerUnpacker.whiteoutPrefix.count))
            guard !target.isEmpty, target != ".", target != ".." else { throw unsafe(entry.path, "bad whiteout name") }
            let parent = try openParent(of: parentPath + [target], create: true, display: shown)
            try clear(parent, target, keepDirectory: false, display: display(parentPath + [target]))
            try check(mknodat(parent.raw, target, S_IFCHR | 0o600, 0), "mknod whiteout", display(parentPath + [target]))
            try check(fchownat(parent.raw, target, uid_t(entry.uid), gid_t(entry.gid), AT_SYMLINK_NOFOLLOW),
                      "chown", display(parentPath + [target]))
            return
        }

        let parent = try openParent(of: path, create: true, display: shown)
        switch entry.kind {
        case .directory:
            if let st = statAt(parent.raw, name), isDirectory(st) {
                // Directories merge: a later entry only updates the metadata.
            } else {
                try clear(parent, name, keepDirectory: false, display: shown)
                try check(mkdirat(parent.raw, name, 0o700), "mkdir", shown)
            }
            let dir = try openAt(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display: shown)
            try applyOwnerAndMode(fd: dir.raw, entry, display: shown)
            try applyXattrs(fd: dir.raw, entry, display: shown)
            directoryTimes.append((path, entry.mtime, entry.atime))

        case .regular:
            try clear(parent, name, keepDirectory: false, display: shown)
            let file = try openAt(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, display: shown)
            var written: Int64 = 0
            try tar.readData { (chunk) throws(ImageError) in
                try writeAll(file.raw, chunk, path: shown)
                written += Int64(chunk.count)
            }
            bytesWritten += written
            // chown clears setuid bits and file capabilities, so it goes first.
            try applyOwnerAndMode(fd: file.raw, entry, display: shown)
            try applyXattrs(fd: file.raw, entry, display: shown)
            try setTimes(fd: file.raw, mtime: entry.mtime, atime: entry.atime, display: shown)

        case .symlink:
            try clear(parent, name, keepDirectory: false, display: shown)
            try check(symlinkat(entry.linkName, parent.raw, name), "symlink", shown)
            try check(fchownat(parent.raw, name, uid_t(entry.uid), gid_t(entry.gid), AT_SYMLINK_NOFOLLOW), "chown", shown)
            try applyXattrs(dir: parent.raw, name: name, entry, display: shown)
            try setTimes(dir: parent.raw, name: name, mtime: entry.mtime, atime: entry.atime, display: shown)

        case .hardlink:
            let targetPath = try components(entry.linkName)
            guard let targetName = targetPath.last else { throw unsafe(entry.linkName, "hardlink to the layer root") }
            let targetParent = try openDirectory(Array(targetPath.dropLast()), create: false, display: display(targetPath))
            guard let st = statAt(targetParent.raw, targetName), !isDirectory(st) else {
                throw unsafe(entry.path, "hardlink target \"\(entry.linkName)\" is missing or a directory")
            }
            if targetPath == path { return } // a link to itself: already there
            try clear(parent, name, keepDirectory: false, display: shown)
            // Flags 0: link the target entry itself, never what a symlink target points to.
            try check(linkat(targetParent.raw, targetName, parent.raw, name, 0), "link to \(entry.linkName)", shown)

        case .characterDevice, .blockDevice, .fifo:
            try clear(parent, name, keepDirectory: false, display: shown)
            let type: mode_t = entry.kind == .fifo ? S_IFIFO : entry.kind == .blockDevice ? S_IFBLK : S_IFCHR
            let dev = entry.kind == .fifo ? 0 : makeDevice(entry.devMajor, entry.devMinor)
            try check(mknodat(parent.raw, name, type | 0o600, dev), "mknod", shown)
            try check(fchownat(parent.raw, name, uid_t(entry.uid), gid_t(entry.gid), AT_SYMLINK_NOFOLLOW), "chown", shown)
            try check(fchmodat(parent.raw, name, mode_t(entry.mode), 0), "chmod", shown)
            try applyXattrs(dir: parent.raw, name: name, entry, display: shown)
            try setTimes(dir: parent.raw, name: name, mtime: entry.mtime, atime: entry.atime, display: shown)
        }
    }

    /// Removes whatever is at `name` so a later entry of the same path replaces it, as tar does.
    private func clear(_ parent: FileDescriptor, _ name: String, keepDirectory: Bool, display: String) throws(ImageError) {
        guard let st = statAt(parent.raw, name) else { return }
        if isDirectory(st) {
            if keepDirectory { return }
            cachedParent = nil
            try removeTree(at: parent.raw, name, display: display)
        } else {
            try check(unlinkat(parent.raw, name, 0), "unlink", display)
        }
    }

    // MARK: component walk

    private func openParent(of path: [String], create: Bool, display: String) throws(ImageError) -> FileDescriptor {
        try openDirectory(Array(path.dropLast()), create: create, display: display)
    }

    /// Opens the directory at `path` below the root, one component at a time, refusing symlinks.
    /// Missing directories are created (0755, root) when `create`, as tar does for entries whose
    /// parents the archive does not list.
    private func openDirectory(_ path: [String], create: Bool, display: String) throws(ImageError) -> FileDescriptor {
        if path.isEmpty { return root }
        if let cached = cachedParent, cached.path == path { return cached.fd }
        var current = root
        for i in 0..<path.count {
            let component = path[i]
            var fd = openat(current.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT && create {
                if mkdirat(current.raw, component, 0o755) < 0 && errno != EEXIST {
                    throw .system(operation: "mkdir", path: self.display(Array(path[...i])), errno: errno)
                }
                fd = openat(current.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                // Exactly 0755 whatever our umask: these directories show up inside containers.
                if fd >= 0 { fchmod(fd, 0o755) }
            }
            if fd < 0 {
                let e = errno
                let prefix = path[...i].joined(separator: "/")
                if let st = statAt(current.raw, component) {
                    if st.st_mode & S_IFMT == S_IFLNK {
                        throw unsafe(display, "parent \"\(prefix)\" is a symlink, which extraction never follows")
                    }
                    if !isDirectory(st) { throw unsafe(display, "parent \"\(prefix)\" is not a directory") }
                }
                throw .system(operation: "open", path: self.display(Array(path[...i])), errno: e)
            }
            current = FileDescriptor(fd)
        }
        cachedParent = (path, current)
        return current
    }

    // MARK: metadata

    private func applyOwnerAndMode(fd: Int32, _ entry: TarEntry, display: String) throws(ImageError) {
        try check(fchown(fd, uid_t(entry.uid), gid_t(entry.gid)), "chown", display)
        try check(fchmod(fd, mode_t(entry.mode)), "chmod", display)
    }

    /// Image xattrs except overlay's own: a layer forging `trusted.overlay.*` (redirects,
    /// metacopy, opacity) would change how overlayfs reads the other layers.
    private func imageXattrs(_ entry: TarEntry) -> [(name: String, value: [UInt8])] {
        entry.xattrs.filter { !$0.name.hasPrefix("trusted.overlay.") }
    }

    private func applyXattrs(fd: Int32, _ entry: TarEntry, display: String) throws(ImageError) {
        for (name, value) in imageXattrs(entry) {
            do throws(ImageError) {
                try setXattr(fd: fd, name: name, value: value, display: display)
            } catch {
                if !ignorable(error, name) { throw error }
            }
        }
    }

    private func applyXattrs(dir: Int32, name entryName: String, _ entry: TarEntry, display: String) throws(ImageError) {
        for (name, value) in imageXattrs(entry) where !name.hasPrefix("user.") {
            // user.* is not allowed on symlinks and devices (EPERM), so such entries skip it.
            do throws(ImageError) {
                try setXattr(dir: dir, entry: entryName, name: name, value: value, display: display)
            } catch {
                if !ignorable(error, name) { throw error }
            }
        }
    }

    /// A filesystem without user xattrs, or a host without SELinux, is no reason to fail a pull.
    private func ignorable(_ error: ImageError, _ name: String) -> Bool {
        guard case let .system(_, _, code) = error else { return false }
        if code == EOPNOTSUPP && name.hasPrefix("user.") { return true }
        return name == "security.selinux" && (code == EOPNOTSUPP || code == EINVAL || code == EACCES || code == EPERM)
    }

    private func timespecs(_ mtime: TarTime, _ atime: TarTime?) -> [timespec] {
        let a = atime ?? mtime
        return [timespec(tv_sec: Int(a.seconds), tv_nsec: a.nanoseconds),
                timespec(tv_sec: Int(mtime.seconds), tv_nsec: mtime.nanoseconds)]
    }

    private func setTimes(fd: Int32, mtime: TarTime, atime: TarTime?, display: String) throws(ImageError) {
        let ts = timespecs(mtime, atime)
        try check(futimens(fd, ts), "utimens", display)
    }

    private func setTimes(dir: Int32, name: String?, mtime: TarTime, atime: TarTime?, display: String) throws(ImageError) {
        let ts = timespecs(mtime, atime)
        if let name {
            try check(utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW), "utimens", display)
        } else {
            try check(futimens(dir, ts), "utimens", display)
        }
    }
}

/// glibc's makedev encoding (a macro, so not imported).
func makeDevice(_ major: UInt32, _ minor: UInt32) -> dev_t {
    let ma = UInt64(major), mi = UInt64(minor)
    return dev_t((ma & 0xfffff000) << 32 | (ma & 0xfff) << 8 | (mi & 0xffffff00) << 12 | (mi & 0xff))
}
