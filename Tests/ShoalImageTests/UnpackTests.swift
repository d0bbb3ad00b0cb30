import Glibc
import Testing
@testable import ShoalImage

@Test func unpackPreservesMetadata() throws {
    let dir = try TempDir("unpack-meta")
    defer { dir.cleanup() }
    let cap: [UInt8] = [0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    var t = TarWriter()
    t.add("./", .directory, mode: 0o751, mtime: 1_600_000_000)
    t.add("etc/", .directory, mode: 0o700, uid: 5, gid: 6, mtime: 1_500_000_000)
    t.add("etc/suid", .file(Array("x".utf8)), mode: 0o4755, uid: 1000, gid: 1001, mtime: 1_400_000_000,
          xattrs: [("security.capability", cap), ("user.note", Array("hi".utf8))])
    t.add("etc/link", .symlink("suid"), mode: 0o777, uid: 7, gid: 8, mtime: 1_300_000_000)
    t.add("etc/hard", .hardlink("etc/suid"))
    t.add("dev/null", .characterDevice(1, 3), mode: 0o666, mtime: 1_200_000_000)
    t.add("dev/loop9", .blockDevice(7, 9), mode: 0o660, gid: 6)
    t.add("run/fifo", .fifo, mode: 0o620)
    t.add("sticky/", .directory, mode: 0o1777)
    try unpackLayer(t.finish(), into: dir.path)

    let root = try #require(lstatOf(dir.path))
    #expect(root.st_mode & 0o7777 == 0o751)
    #expect(root.st_mtim.tv_sec == 1_600_000_000)
    let etc = try #require(lstatOf(dir.sub("etc")))
    #expect(etc.st_mode & 0o7777 == 0o700 && etc.st_uid == 5 && etc.st_gid == 6)
    #expect(etc.st_mtim.tv_sec == 1_500_000_000, "directory times are set after their children")
    let suid = try #require(lstatOf(dir.sub("etc/suid")))
    #expect(suid.st_mode & 0o7777 == 0o4755, "setuid survives the chown")
    #expect(suid.st_uid == 1000 && suid.st_gid == 1001 && suid.st_mtim.tv_sec == 1_400_000_000)
    #expect(suid.st_nlink == 2)
    #expect(readXattr(path: dir.sub("etc/suid"), name: "security.capability") == cap)
    #expect(readXattr(path: dir.sub("etc/suid"), name: "user.note") == Array("hi".utf8))
    let link = try #require(lstatOf(dir.sub("etc/link")))
    #expect(link.st_mode & S_IFMT == S_IFLNK && link.st_uid == 7 && link.st_gid == 8)
    #expect(link.st_mtim.tv_sec == 1_300_000_000, "symlink times are set without following it")
    let hard = try #require(lstatOf(dir.sub("etc/hard")))
    #expect(hard.st_ino == suid.st_ino)
    let null = try #require(lstatOf(dir.sub("dev/null")))
    #expect(null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == makeDevice(1, 3) && null.st_mode & 0o777 == 0o666)
    let loop = try #require(lstatOf(dir.sub("dev/loop9")))
    #expect(loop.st_mode & S_IFMT == S_IFBLK && loop.st_rdev == makeDevice(7, 9) && loop.st_gid == 6)
    let fifo = try #require(lstatOf(dir.sub("run/fifo")))
    #expect(fifo.st_mode & S_IFMT == S_IFIFO && fifo.st_mode & 0o777 == 0o620)
    #expect(lstatOf(dir.sub("sticky")).map { $0.st_mode & 0o7777 } == 0o1777)
}

@Test func implicitParentsAreExactly0755() throws {
    let dir = try TempDir("unpack-umask")
    defer { dir.cleanup() }
    var t = TarWriter()
    t.file("not/listed/file", "x")
    let old = umask(0o077)
    defer { umask(old) }
    try unpackLayer(t.finish(), into: dir.path)
    #expect(lstatOf(dir.sub("not")).map { $0.st_mode & 0o7777 } == 0o755)
    #expect(lstatOf(dir.sub("not/listed")).map { $0.st_mode & 0o7777 } == 0o755)
}

@Test(arguments: [TarWriter.LongNames.pax, .gnu])
func unpackLongNames(style: TarWriter.LongNames) throws {
    let dir = try TempDir("unpack-long")
    defer { dir.cleanup() }
    let deep = String(repeating: "a", count: 90) + "/" + String(repeating: "b", count: 90)
    let file = deep + "/" + String(repeating: "c", count: 120)
    var t = TarWriter(longNames: style)
    t.add(file, .file(Array("deep".utf8)))
    t.add(deep + "/symlink-with-long-target", .symlink("../" + String(repeating: "b", count: 90) + "/" + String(repeating: "c", count: 120)))
    t.add(file + ".hard", .hardlink(file))
    try unpackLayer(t.finish(), into: dir.path)
    #expect(readString(dir.sub(file)) == "deep")
    #expect(readString(dir.sub(deep + "/symlink-with-long-target")) == "deep")
    #expect(lstatOf(dir.sub(file + ".hard"))?.st_ino == lstatOf(dir.sub(file))?.st_ino)
}

@Test func laterEntriesReplaceEarlierOnes() throws {
    let dir = try TempDir("unpack-replace")
    defer { dir.cleanup() }
    var t = TarWriter()
    t.file("x", "first")
    t.file("x", "second")
    t.dir("d/")
    t.file("d/inner", "i")
    t.file("d", "now a file")
    t.file("f", "file")
    t.dir("f/")
    t.file("f/inside", "y")
    t.dir("gone/sub/")
    t.add("gone", .symlink("x")) // a directory replaced by a symlink: its recorded times are skipped
    t.add("./s", .symlink("x"))
    t.file("s", "replaces the symlink, not its target")
    try unpackLayer(t.finish(), into: dir.path)
    #expect(readString(dir.sub("x")) == "second")
    #expect(readString(dir.sub("d")) == "now a file")
    #expect(readString(dir.sub("f/inside")) == "y")
    #expect(readString(dir.sub("s")) == "replaces the symlink, not its target")
    #expect(readString(dir.sub("x")) == "second")
    #expect(lstatOf(dir.sub("gone")).map { $0.st_mode & S_IFMT } == S_IFLNK)
}

@Test(arguments: [
    ("dotdot", ["../x"]),
    ("nested-dotdot", ["a/../../x"]),
    ("absolute", ["/etc/shoal-test-pwned"]),
    ("symlink-parent", ["esc -> OUT", "esc/pwned"]),
    ("symlink-parent-relative", ["up -> ../../..", "up/tmp/shoal-test-pwned"]),
    ("symlink-deep-parent", ["a/", "a/esc -> OUT", "a/esc/b/pwned"]),
    ("hardlink-out", ["hl => ../../etc/passwd"]),
    ("hardlink-via-symlink", ["esc -> OUT", "hl => esc/victim"]),
    ("whiteout-via-symlink", ["esc -> OUT", "esc/.wh.victim"]),
    ("opaque-via-symlink", ["esc -> OUT", "esc/.wh..wh..opq"]),
])
func pathEscapesAreRejected(name: String, entries: [String]) throws {
    let dir = try TempDir("unpack-escape")
    defer { dir.cleanup() }
    let layer = dir.sub("layer"), outside = dir.sub("outside")
    mkdir(layer, 0o755)
    mkdir(outside, 0o755)
    try dir.write("outside/victim", Array("safe".utf8))
    var t = TarWriter()
    for e in entries {
        if let r = e.range(of: " -> ") {
            t.add(String(e[..<r.lowerBound]), .symlink(String(e[r.upperBound...]).replacingOccurrences(of: "OUT", with: outside)))
        } else if let r = e.range(of: " => ") {
            t.add(String(e[..<r.lowerBound]), .hardlink(String(e[r.upperBound...])))
        } else if e.hasSuffix("/") {
            t.dir(e)
        } else {
            t.file(e, "pwned")
        }
    }
    let tar = t.finish()
    #expect(throws: (any Error).self) { try unpackLayer(tar, into: layer) }
    do { try unpackLayer(tar, into: dir.sub("layer")) } catch { #expect(isUnsafePath(error), "\(error)") }
    #expect(tree(outside) == ["victim"], "nothing was written outside the layer")
    #expect(readString(outside + "/victim") == "safe")
    #expect(lstatOf("/etc/shoal-test-pwned") == nil && lstatOf("/tmp/shoal-test-pwned") == nil)
    #expect(lstatOf(dir.sub("x")) == nil)
}

@Test func whiteoutsAndOpaqueDirectories() throws {
    let dir = try TempDir("unpack-whiteout")
    defer { dir.cleanup() }
    var t = TarWriter()
    t.add("etc/.wh.gone", .file([]))
    t.add("var/cache/.wh..wh..opq", .file([]))
    t.add(".wh..wh.plnk", .directory) // AUFS hardlink dir: ignored
    try unpackLayer(t.finish(), into: dir.path)
    let wh = try #require(lstatOf(dir.sub("etc/gone")))
    #expect(wh.st_mode & S_IFMT == S_IFCHR && wh.st_rdev == 0, "a whiteout is a 0:0 character device")
    #expect(lstatOf(dir.sub("etc/.wh.gone")) == nil)
    #expect(readXattr(path: dir.sub("var/cache"), name: "trusted.overlay.opaque") == Array("y".utf8))
    #expect(lstatOf(dir.sub("var/cache/.wh..wh..opq")) == nil)
    #expect(tree(dir.path) == ["etc", "etc/gone", "var", "var/cache"])
}

@Test func forgedOverlayXattrsAreDropped() throws {
    let dir = try TempDir("unpack-forged")
    defer { dir.cleanup() }
    var t = TarWriter()
    t.add("d/", .directory, xattrs: [("trusted.overlay.redirect", Array("/etc".utf8)), ("trusted.overlay.opaque", Array("y".utf8))])
    try unpackLayer(t.finish(), into: dir.path)
    #expect(readXattr(path: dir.sub("d"), name: "trusted.overlay.redirect") == nil)
    #expect(readXattr(path: dir.sub("d"), name: "trusted.overlay.opaque") == nil)
}
