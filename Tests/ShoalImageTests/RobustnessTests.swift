import Foundation
import Glibc
import Logging
import Synchronization
import Testing
@testable import ShoalImage

/// A small deterministic PRNG, so a failing mutation can be replayed.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

private func sampleTar() -> [UInt8] {
    var t = TarWriter()
    t.dir("d/")
    t.file("d/f", "content")
    t.add("d/" + String(repeating: "n", count: 150), .file(Array("long".utf8)), xattrs: [("user.x", [1, 2])])
    t.add("d/l", .symlink("f"))
    t.add("d/h", .hardlink("d/f"))
    t.add("d/.wh.gone", .file([]))
    t.add("c", .characterDevice(1, 3))
    var g = TarWriter(longNames: .gnu)
    g.add(String(repeating: "g", count: 120), .file([9]))
    return t.bytes + g.finish()
}

/// Mutated archives must fail with an ImageError or succeed, never trap.
@Test func mutatedTarsNeverCrashTheReader() throws {
    let base = sampleTar()
    var rng = SplitMix(state: 42)
    for _ in 0..<3000 {
        var bytes = base
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<min(bytes.count, 3072), using: &rng)
            bytes[i] = [0, 0xff, 0x80, UInt8(ascii: "7"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8.random(in: 0...255, using: &rng)]
                .randomElement(using: &rng) ?? 0
        }
        if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
        do { _ = try readTar(bytes) } catch {}
    }
}

@Test func mutatedTarsNeverCrashTheUnpacker() throws {
    let dir = try TempDir("unpack-fuzz")
    defer { dir.cleanup() }
    let base = sampleTar()
    var rng = SplitMix(state: 7)
    for n in 0..<150 {
        var bytes = base
        let i = Int.random(in: 0..<min(bytes.count, 3072), using: &rng)
        bytes[i] = UInt8.random(in: 0...255, using: &rng)
        let target = dir.sub("\(n)")
        mkdir(target, 0o755)
        do { try unpackLayer(bytes, into: target) } catch {}
    }
    #expect(tree(dir.path).allSatisfy { !$0.hasPrefix("..") })
}

@Test func nulBytesInPaxPathsAreRejected() throws {
    let dir = try TempDir("unpack-nul")
    defer { dir.cleanup() }
    var t = TarWriter()
    t.add("x", .file(Array("pwned".utf8)), pax: [("path", "..\u{0}x/../../escape")])
    #expect { try unpackLayer(t.finish(), into: dir.path) } throws: { isMalformed($0) }
    var u = TarWriter()
    u.add("x", .file([]), pax: [("uid", "4294967295")])
    #expect { try unpackLayer(u.finish(), into: dir.path) } throws: { isMalformed($0) }
}

/// Imports and reads from several threads at once, as the CLI and the agent would.
@Test func concurrentImportsAndReads() throws {
    let dir = try TempDir("store-concurrent")
    defer { dir.cleanup() }
    let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    let shared = TestLayer(tar: { var t = TarWriter(); t.file("shared", "s"); return t.finish() }())
    var archives: [String] = []
    for i in 0..<4 {
        var t = TarWriter()
        t.file("own\(i)", "\(i)")
        try dir.write("a\(i).tar", ArchiveBuilder.oci([shared, TestLayer(tar: t.finish())], name: "docker.io/library/c:\(i)"))
        archives.append(dir.sub("a\(i).tar"))
    }
    let paths = archives
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 8) { i in
        do {
            // Each thread its own store object: locks are per open file, like separate processes.
            let store = try ImageStore(dataDir: dir.sub("data"), logger: quiet)
            if i < 4 {
                _ = try store.import(archive: paths[i])
            } else {
                for _ in 0..<20 { _ = try store.list() }
            }
        } catch {
            failures.withLock { $0.append("\(i): \(error)") }
        }
    }
    #expect(failures.withLock { $0 } == [])
    let store = try ImageStore(dataDir: dir.sub("data"), logger: quiet)
    #expect(try store.list().count == 4)
    for i in 0..<4 { #expect(try store.resolve("c:\(i)").layerDirectories.count == 2) }
    #expect(tree(store.root + "/layers").filter { !$0.contains("/") }.count == 5, "the shared layer is there once")
    #expect(tree(store.root + "/tmp").isEmpty)

    // A dead import's leftovers are collected.
    mkdir(store.root + "/tmp/import-dead", 0o700)
    try store.collectGarbage()
    #expect(tree(store.root + "/tmp").isEmpty)
    #expect(try store.list().count == 4)
}
