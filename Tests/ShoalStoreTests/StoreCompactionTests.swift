import ShoalStore
import Testing

@Suite("Store: compaction and file size")
struct StoreCompactionTests {
    /// The k3s failure mode: a few objects updated over and over. The file must track what is kept
    /// (10 live values plus retainedRevisions of history), not everything ever written.
    @Test func fileStaysSmallUnderChurn() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(compactInterval: .zero, retainedRevisions: 200))
        defer { store.close() }
        let keys = 10
        let updates = 20_000
        let value = [UInt8](repeating: 0x61, count: 2048)
        for key in 0..<keys {
            _ = try store.create("/churn/\(key)") { _ in value }
        }

        let clock = ContinuousClock()
        let started = clock.now
        var peaks: [Int] = []
        for index in 0..<updates {
            _ = try store.update("/churn/\(index % keys)") { _, revision in
                // Vary the bytes so nothing could be deduplicated away.
                var next = value
                next[index % value.count] = UInt8(truncatingIfNeeded: revision)
                return next
            }
            if index % 1000 == 999 {
                // Measured at the peak: just before compaction trims history and the WAL.
                peaks.append(footprint(directory.databasePath))
                try store.compact(upTo: store.revision)
            }
        }
        let elapsed = clock.now - started

        let written = updates * value.count
        let database = fileSize(directory.databasePath)
        print(
            "churn: \(updates) updates of 2 KiB in \(elapsed) (\(Int(Double(updates) / seconds(elapsed))) writes/s "
                + "incl. compaction); wrote \(written / 1_048_576) MiB, file \(database) bytes, "
                + "file+WAL before each compaction \(peaks.map { $0 / 1024 }) KiB")
        #expect(store.revision == Int64(keys + updates))
        #expect(store.compactedRevision == store.revision - 200)
        #expect(try store.count(prefix: "/churn/") == keys)
        // 200 retained events + 10 values of 2 KiB are under 1 MiB of payload.
        #expect(database < 2 * 1_048_576)
        // Between compactions 1000 events of history (one 4 KiB page each) wait to be dropped and
        // the WAL grows up to its 4 MiB auto-checkpoint: a few MiB at the peak, against 40 MiB
        // written, and no growth from one cycle to the next because freed pages are reused.
        #expect(peaks.count == 20)
        #expect(peaks.allSatisfy { $0 < 10 * 1_048_576 })
        #expect(peaks.suffix(5).max()! <= peaks.prefix(5).max()! + 512 * 1024)
    }

    @Test func compactionGivesFreedPagesBackToTheFileSystem() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(compactInterval: .zero, retainedRevisions: 0))
        defer { store.close() }
        let value = [UInt8](repeating: 7, count: 3000)
        _ = try store.create("big") { _ in value }
        for _ in 0..<2000 {
            _ = try store.update("big") { _, _ in value }
        }
        let grown = footprint(directory.databasePath)

        let result = try store.compact(upTo: store.revision)
        let shrunk = footprint(directory.databasePath)
        print("compaction of 2000 events of 3 KB: \(grown) -> \(shrunk) bytes, \(result.reclaimedPages) pages reclaimed")
        #expect(result.removedEvents == 2001)
        #expect(result.reclaimedPages > 1000)
        #expect(grown > 6 * 1_048_576)
        #expect(shrunk < 256 * 1024)
        // What remains is intact.
        #expect(try store.get("big")?.value == value)
    }

    @Test func automaticCompactionRunsInTheBackgroundAndStopsOnClose() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(compactInterval: .milliseconds(20), retainedRevisions: 5))
        for index in 1...30 {
            _ = try store.create("k\(index)") { _ in [] }
        }
        #expect(try await eventually { store.compactedRevision == 25 })
        #expect(throws: StoreError.compacted(requested: 24, compactedRevision: 25)) {
            _ = try store.watch(prefix: "", after: 24)
        }
        store.close()
        // Nothing touches the closed store afterwards: a compaction on it would throw and log, and
        // the reopened file shows exactly what the background run left.
        try await Task.sleep(for: .milliseconds(60))
        let reopened = try openStore(directory, StoreOptions(compactInterval: .zero))
        defer { reopened.close() }
        #expect(reopened.compactedRevision == 25)
        #expect(reopened.revision == 30)
    }
}

/// The database and its WAL together: what the store occupies on disk.
private func footprint(_ path: String) -> Int {
    fileSize(path) + fileSize(path + "-wal")
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
