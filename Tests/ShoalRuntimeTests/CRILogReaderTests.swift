import Foundation
import ShoalOS
import ShoalRuntime
import Testing

/// `tailLines` over CRI log files: every line counts, empty ones too, and a line split into
/// partial records counts once.
struct CRILogReaderTests {
    static func read(_ records: [String], tail: Int) async throws -> String {
        let dir = NSTemporaryDirectory() + "shoal-crilog-\(UUID().uuidString)"
        try FileSystem.createDirectory(dir)
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/0.log"
        try FileSystem.writeAtomically(path, records.map { "2026-01-01T00:00:00.000000000Z stdout \($0)\n" }.joined())
        let out = Locked<[UInt8]>([])
        try await CRILogReader(path: path).read(LogReadOptions(tailLines: tail)) { bytes in out.withLock { $0 += bytes } }
        return String(decoding: out.withLock { $0 }, as: UTF8.self)
    }

    @Test(arguments: [
        (["F run 2", "F ", "F after blank"], 2, "\nafter blank\n"),
        (["F run 2", "F ", "F after blank"], 3, "run 2\n\nafter blank\n"),
        (["F run 2", "F ", "F after blank"], 9, "run 2\n\nafter blank\n"),
        (["F one"], 1, "one\n"),
        (["P ha", "F lf", "F next"], 2, "half\nnext\n"),
        (["P ha", "F lf", "F next"], 1, "next\n"),
        (["F a", "P ha", "F lf"], 1, "half\n"),
        (["F a"], 0, ""),
    ])
    func tailCountsLines(records: [String], tail: Int, expected: String) async throws {
        #expect(try await Self.read(records, tail: tail) == expected)
    }
}
