import ShoalOS

/// User and group lookups in an image's /etc/passwd and /etc/group, read from the topmost
/// layer that has the file (what the container will see; whiteouts aside).
public enum PasswdFile {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
    }

    public static func lookup(user: String, layers: [String]) -> Entry? {
        entries(layers).first { $0.name == user }
    }

    public static func lookup(uid: UInt32, layers: [String]) -> Entry? {
        entries(layers).first { $0.uid == uid }
    }

    public static func lookupGroup(_ name: String, layers: [String]) -> UInt32? {
        for line in topmost("etc/group", layers).split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name, let gid = UInt32(f[2]) { return gid }
        }
        return nil
    }

    static func entries(_ layers: [String]) -> [Entry] {
        topmost("etc/passwd", layers).split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Entry(name: String(f[0]), uid: uid, gid: gid)
        }
    }

    static func topmost(_ relative: String, _ layers: [String]) -> String {
        for layer in layers.reversed() {
            let path = layer + "/" + relative
            // Resolve inside the layer only; a symlinked passwd pointing outside is ignored.
            if let text = try? FileSystem.readString(path), !isSymlink(path) { return text }
        }
        return ""
    }

    static func isSymlink(_ path: String) -> Bool {
        FileSystem.fileType(path) == nil || {
            var st = stat()
            return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
        }()
    }
}

#if canImport(Glibc)
import Glibc
#endif
