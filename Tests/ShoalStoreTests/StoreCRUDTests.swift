import ShoalStore
import Testing

@Suite("Store: keys and revisions")
struct StoreCRUDTests {
    @Test func createGetUpdateDeleteAdvanceOneGlobalRevision() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        #expect(store.revision == 0)

        var seenCreateRevision: Int64 = -1
        let created = try store.create("/pods/a") { revision in
            seenCreateRevision = revision
            return bytes("a@\(revision)")
        }
        #expect(seenCreateRevision == 1)
        #expect(created == StoreRecord(key: "/pods/a", value: bytes("a@1"), createRevision: 1, modRevision: 1))
        #expect(try store.get("/pods/a") == created)

        // Another key shares the same counter.
        let other = try store.create("/nodes/n1") { _ in bytes("n1") }
        #expect(other.createRevision == 2)

        let updated = try store.update("/pods/a") { current, revision in
            #expect(current == created)
            return bytes("a@\(revision)")
        }
        #expect(updated == StoreRecord(key: "/pods/a", value: bytes("a@3"), createRevision: 1, modRevision: 3))
        #expect(try store.get("/pods/a") == updated)

        let deleted = try store.delete("/pods/a") { current, revision in
            #expect(current == updated)
            return bytes("gone@\(revision)")
        }
        #expect(deleted == StoreRecord(key: "/pods/a", value: bytes("gone@4"), createRevision: 1, modRevision: 4))
        #expect(try store.get("/pods/a") == nil)
        #expect(store.revision == 4)

        // A deleted key can be created again, with a fresh createRevision.
        let again = try store.create("/pods/a") { _ in bytes("again") }
        #expect(again.createRevision == 5 && again.modRevision == 5)
    }

    @Test func creatingAnExistingKeyFailsWithoutCallingTheClosure() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        _ = try store.create("k") { _ in bytes("first") }

        var called = false
        #expect(throws: StoreError.alreadyExists(key: "k")) {
            _ = try store.create("k") { _ in
                called = true
                return bytes("second")
            }
        }
        #expect(!called)
        #expect(store.revision == 1)
        #expect(try store.get("k")?.value == bytes("first"))
    }

    @Test func staleExpectedRevisionConflictsAndMissingKeysAreNotFound() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let first = try store.create("k") { _ in bytes("v1") }
        let second = try store.update("k", expectedRevision: first.modRevision) { _, _ in bytes("v2") }
        #expect(second.modRevision == 2)

        #expect(throws: StoreError.conflict(key: "k", currentRevision: 2)) {
            _ = try store.update("k", expectedRevision: first.modRevision) { _, _ in bytes("stale") }
        }
        #expect(throws: StoreError.conflict(key: "k", currentRevision: 2)) {
            _ = try store.delete("k", expectedRevision: first.modRevision) { current, _ in current.value }
        }
        #expect(try store.get("k")?.value == bytes("v2"))

        #expect(throws: StoreError.notFound(key: "missing")) {
            _ = try store.update("missing") { _, _ in bytes("x") }
        }
        #expect(throws: StoreError.notFound(key: "missing")) {
            _ = try store.delete("missing") { _, _ in [] }
        }
        #expect(store.revision == 2)

        let deleted = try store.delete("k", expectedRevision: 2) { current, _ in current.value }
        #expect(deleted.modRevision == 3)
    }

    @Test func updateReturningNilUsesNoRevision() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let created = try store.create("k") { _ in bytes("v") }

        let unchanged = try store.update("k") { _, _ in nil }
        #expect(unchanged == created)
        #expect(store.revision == 1)

        // The revision the closure was offered is still the next one handed out.
        let next = try store.create("other") { _ in [] }
        #expect(next.createRevision == 2)
        #expect(try store.get("other")?.value == [])
    }

    @Test func throwingClosuresWriteNothing() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let created = try store.create("k") { _ in bytes("v") }

        #expect(throws: Refused()) { _ = try store.create("new") { _ in throw Refused() } }
        #expect(throws: Refused()) { _ = try store.update("k") { _, _ in throw Refused() } }
        #expect(throws: Refused()) { _ = try store.delete("k") { _, _ in throw Refused() } }

        #expect(store.revision == 1)
        #expect(try store.get("new") == nil)
        #expect(try store.get("k") == created)
        // History holds no trace of the refused writes either: the next event replayed is the next real write.
        _ = try store.update("k") { _, _ in bytes("v2") }
        let events = try await collect(try store.watch(prefix: "", after: 0), count: 2)
        #expect(events.map(\.revision) == [1, 2])
        #expect(events.map(\.kind) == [.added, .modified])
    }

    @Test func listFiltersByPrefixAndPagesWithStartAfterAndLimit() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let names = (1...25).map { "/pods/default/p\($0 < 10 ? "0" : "")\($0)" }
        for name in names.shuffled() {
            _ = try store.create(name) { _ in bytes(name) }
        }
        // Near misses that a naive prefix match would include.
        _ = try store.create("/pods/defaultx") { _ in [] }
        _ = try store.create("/pods/default") { _ in [] }
        _ = try store.create("/nodes/n1") { _ in [] }

        var seen: [String] = []
        var startAfter: String?
        var pages = 0
        repeat {
            let page = try store.list(prefix: "/pods/default/", startAfter: startAfter, limit: 10)
            #expect(page.revision == store.revision)
            seen += page.records.map(\.key)
            startAfter = page.records.last?.key
            pages += 1
            #expect(page.more == (pages < 3))
            #expect(page.records.count == (pages < 3 ? 10 : 5))
            if !page.more { break }
        } while pages < 10
        #expect(pages == 3)
        #expect(seen == names)
        #expect(try store.list(prefix: "/pods/default/").records.map(\.key) == names)

        let exact = try store.list(prefix: "/pods/default/", limit: 25)
        #expect(exact.records.count == 25 && !exact.more)

        // startAfter before the range starts at the range; records carry their values and revisions.
        let first = try store.list(prefix: "/pods/default/", startAfter: "/a", limit: 1)
        #expect(first.records.first?.key == "/pods/default/p01")
        #expect(first.records.first?.value == bytes("/pods/default/p01"))

        let everything = try store.list(prefix: "")
        #expect(everything.records.count == 28)
        #expect(everything.records.map(\.key) == everything.records.map(\.key).sorted())
        #expect(try store.count(prefix: "/pods/default/") == 25)
        #expect(try store.count(prefix: "/pods/") == 27)
        #expect(try store.count(prefix: "/services/") == 0)
    }

    @Test func revisionAndDataSurviveReopen() throws {
        let directory = TemporaryDirectory()
        do {
            let store = try openStore(directory)
            _ = try store.create("a") { _ in bytes("a") }
            _ = try store.create("b") { _ in bytes("b") }
            _ = try store.delete("b") { current, _ in current.value }
            store.close()
        }
        let store = try openStore(directory)
        defer { store.close() }
        #expect(store.revision == 3)
        #expect(try store.get("a") == StoreRecord(key: "a", value: bytes("a"), createRevision: 1, modRevision: 1))
        #expect(try store.get("b") == nil)
        #expect(try store.create("c") { _ in [] }.createRevision == 4)
    }

    @Test func revisionSurvivesReopenEvenWhenAllHistoryIsCompacted() throws {
        let directory = TemporaryDirectory()
        let options = StoreOptions(retainedRevisions: 0)
        do {
            let store = try openStore(directory, options)
            for index in 1...5 {
                _ = try store.create("k\(index)") { _ in [] }
            }
            try store.compact(upTo: 5)
            #expect(store.compactedRevision == 5)
            store.close()
        }
        let store = try openStore(directory, options)
        defer { store.close() }
        #expect(store.revision == 5)
        #expect(store.compactedRevision == 5)
        #expect(try store.create("next") { _ in [] }.createRevision == 6)
    }

    @Test func closedStoreRefusesWork() throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        _ = try store.create("k") { _ in [] }
        store.close()
        store.close()
        #expect(throws: StoreError.self) { try store.get("k") }
        #expect(throws: StoreError.self) { _ = try store.create("x") { _ in [] } }
    }

    @Test func concurrentWritersGetUniqueIncreasingRevisions() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        _ = try store.create("shared") { _ in bytes("0") }
        let writers = 4
        let writesEach = 150

        let perWriter = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var revisions: [Int64] = []
                    for index in 0..<writesEach {
                        // Alternate own keys and a key every writer fights over.
                        let record =
                            index.isMultiple(of: 2)
                            ? try store.create("w\(writer)/\(index)") { _ in bytes("\(index)") }
                            : try store.update("shared") { current, revision in
                                bytes("\(Int(text(current.value))! + 1)")
                            }
                        revisions.append(record.modRevision)
                    }
                    return revisions
                }
            }
            var all: [[Int64]] = []
            for try await revisions in group { all.append(revisions) }
            return all
        }

        for revisions in perWriter {
            #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count)
        }
        let all = perWriter.flatMap { $0 }.sorted()
        let total = Int64(writers * writesEach)
        #expect(all == Array(2...(total + 1)))
        #expect(store.revision == total + 1)
        // Read-modify-write under the lock: no increment of the shared counter was lost.
        #expect(try store.get("shared")?.value == bytes("\(writers * writesEach / 2)"))
    }
}

@Test func aSecondStoreOnTheSameFileIsRefused() throws {
    let directory = TemporaryDirectory()
    let store = try openStore(directory)
    _ = try store.create("k") { _ in [] }
    // Two stores would each count revisions on their own and hand out the same ones.
    #expect {
        _ = try openStore(directory)
    } throws: { error in
        guard case .sqlite(let operation, _, let message) = error as? StoreError else { return false }
        return operation.hasPrefix("open") && message.contains("locked")
    }
    store.close()
    // Once the first is closed the file opens normally, with its data.
    let reopened = try openStore(directory)
    defer { reopened.close() }
    #expect(reopened.revision == 1)
}
