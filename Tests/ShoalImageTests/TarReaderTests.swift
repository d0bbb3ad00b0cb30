import Testing
@testable import ShoalImage

private let longDir = String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60)
private let longPath = longDir + "/" + String(repeating: "f", count: 80)

@Test(arguments: [TarWriter.LongNames.pax, .gnu])
func longNamesAndLinks(style: TarWriter.LongNames) throws {
    var t = TarWriter(longNames: style)
    t.add(longPath, .file(Array("long".utf8)))
    t.add("short-link", .symlink(longPath))
    t.add(longPath + ".hard", .hardlink(longPath))
    let entries = try readTar(t.finish())
    #expect(entries.count == 3)
    #expect(entries[0].entry.path == longPath)
    #expect(entries[0].data == Array("long".utf8))
    #expect(entries[1].entry.linkName == longPath)
    #expect(entries[2].entry.path == longPath + ".hard")
    #expect(entries[2].entry.kind == .hardlink)
    #expect(entries[2].entry.linkName == longPath)
}

@Test func paxRecordsApply() throws {
    var t = TarWriter()
    let cap: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    t.add("f", .file([1, 2, 3]), uid: 1, gid: 2, xattrs: [("security.capability", cap)],
          pax: [("uid", "3000000"), ("gid", "3000001"), ("mtime", "1700000000.25"), ("uname", "x"), ("path", "renamed")])
    // A global header applies to every later entry until overridden.
    t.appendEntry(name: "g", type: UInt8(ascii: "g"), data: TarWriter.paxData([("mtime", Array("5".utf8))]))
    t.file("after-global", "x")
    let entries = try readTar(t.finish())
    #expect(entries.count == 2)
    let e = entries[0].entry
    #expect(e.path == "renamed")
    #expect(e.uid == 3_000_000 && e.gid == 3_000_001)
    #expect(e.mtime == TarTime(seconds: 1_700_000_000, nanoseconds: 250_000_000))
    #expect(e.xattrs.count == 1 && e.xattrs[0].name == "security.capability" && e.xattrs[0].value == cap)
    #expect(entries[0].data == [1, 2, 3])
    #expect(entries[1].entry.mtime.seconds == 5)
}

@Test func paxTimes() {
    #expect(parsePaxTime("12") == TarTime(seconds: 12, nanoseconds: 0))
    #expect(parsePaxTime("12.000000001") == TarTime(seconds: 12, nanoseconds: 1))
    #expect(parsePaxTime("-1.5") == TarTime(seconds: -2, nanoseconds: 500_000_000))
    #expect(parsePaxTime("x") == nil)
    #expect(parsePaxTime("1.") == nil)
}

@Test func bigFileSizesAcrossBufferBoundaries() throws {
    // Sizes around the 512-byte block and the reader's chunk sizes.
    let sizes = [0, 1, 511, 512, 513, 7919, 262_144, 262_145, 700_001]
    var t = TarWriter()
    for (i, n) in sizes.enumerated() { t.add("f\(i)", .file((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })) }
    let entries = try readTar(t.finish())
    #expect(entries.map(\.data.count) == sizes)
    for (i, n) in sizes.enumerated() {
        #expect(entries[i].data == (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
    }
}

@Test func skippingUnreadData() throws {
    var t = TarWriter()
    t.add("a", .file([UInt8](repeating: 7, count: 100_000)))
    t.file("b", "bee")
    let reader = TarReader(BufferedReader(MemorySource(t.finish())), what: "t")
    #expect(try reader.next()?.path == "a")
    let b = try reader.next() // skips a's data without reading it
    #expect(b?.path == "b")
    var data: [UInt8] = []
    try reader.readData { data += $0 }
    #expect(data == Array("bee".utf8))
    #expect(try reader.next() == nil)
}

@Test(arguments: ["checksum", "truncated-data", "truncated-header", "bad-pax", "garbage", "huge-pax", "bad-type", "bad-octal", "lone-zero-block"])
func malformedTarsAreErrors(kind: String) {
    var t = TarWriter()
    t.add("file", .file([UInt8](repeating: 1, count: 1000)))
    var bytes = t.finish()
    switch kind {
    case "checksum": bytes[0] ^= 0x20
    case "truncated-data": bytes = Array(bytes.prefix(512 + 300))
    case "truncated-header": bytes = Array(bytes.prefix(200))
    case "bad-pax":
        var w = TarWriter()
        w.appendEntry(name: "x", type: UInt8(ascii: "x"), data: Array("99 path=oops\n".utf8))
        w.file("f", "x")
        bytes = w.finish()
    case "garbage": bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
    case "huge-pax":
        var w = TarWriter()
        w.appendEntry(name: "x", type: UInt8(ascii: "x"), data: [UInt8](repeating: 0x31, count: 2 << 20))
        bytes = w.finish()
    case "bad-type":
        var w = TarWriter()
        w.add("odd", .raw(UInt8(ascii: "Z"), []))
        bytes = w.finish()
    case "bad-octal":
        bytes[124] = UInt8(ascii: "9") // in the size field
        // Fix the checksum so the octal check is what fails.
        for i in 148..<156 { bytes[i] = 0x20 }
        let sum = bytes[0..<512].reduce(0) { $0 + Int($1) }
        let s = Array(String(String(sum, radix: 8)).leftPadded(to: 6).utf8) + [0, 0x20]
        for (i, b) in s.enumerated() { bytes[148 + i] = b }
    case "lone-zero-block":
        bytes = [UInt8](repeating: 0, count: 512) + bytes
    default: break
    }
    let input = bytes
    #expect { _ = try readTar(input) } throws: { isMalformed($0) }
}

@Test func missingEndBlocksAreTolerated() throws {
    var t = TarWriter()
    t.file("a", "x")
    #expect(try readTar(t.bytes).count == 1)
}

@Test func gzipConcatenatedMembersAndPadding() throws {
    let a = Array("hello ".utf8), b = Array("world".utf8)
    let stream = gzipStored(a) + gzipStored(b) + [0, 0, 0, 0]
    let gz = try GzipSource(MemorySource(stream, chunk: 3), what: "test")
    let out = try BufferedReader(gz).read(1000)
    #expect(out == a + b)

    for bad in [Array(gzipStored(a).dropLast(3)), gzipStored(a) + [0x42], [0x1f, 0x8b, 8, 0, 0, 0]] {
        let g = try GzipSource(MemorySource(bad), what: "test")
        #expect { _ = try BufferedReader(g).read(1000) } throws: { error in
            if let e = error as? ImageError, case .gzip = e { return true }
            return false
        }
    }
}
