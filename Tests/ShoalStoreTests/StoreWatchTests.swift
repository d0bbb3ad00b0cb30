import Glibc
import ShoalStore
import Synchronization
import Testing

@Suite("Store: watch")
struct StoreWatchTests {
    @Test func liveEventsArriveInOrderWithTheirKinds() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let stream = try store.watch(prefix: "/pods/", after: store.revision)

        _ = try store.create("/pods/a") { _ in bytes("v1") }
        _ = try store.update("/pods/a") { _, _ in bytes("v2") }
        _ = try store.delete("/pods/a") { _, revision in bytes("final@\(revision)") }

        let events = try await collect(stream, count: 3)
        #expect(
            events == [
                StoreEvent(kind: .added, key: "/pods/a", value: bytes("v1"), revision: 1),
                StoreEvent(kind: .modified, key: "/pods/a", value: bytes("v2"), revision: 2),
                StoreEvent(kind: .deleted, key: "/pods/a", value: bytes("final@3"), revision: 3),
            ])
    }

    @Test func prefixFilteringSkipsOtherKeysAndNearMisses() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let pods = try store.watch(prefix: "/pods/", after: 0)
        let everything = try store.watch(prefix: "", after: 0)

        for key in ["/nodes/n1", "/pods/a", "/podsx/b", "/pods", "/pods/b"] {
            _ = try store.create(key) { _ in [] }
        }
        #expect(try await collect(pods, count: 2).map(\.key) == ["/pods/a", "/pods/b"])
        #expect(try await collect(everything, count: 5).map(\.revision) == [1, 2, 3, 4, 5])
    }

    /// Replay comes from the in-memory cache when it reaches back far enough, else from the history
    /// table; both must join the live events seamlessly while writes keep coming.
    @Test(arguments: [1000, 10])
    func replayThenLiveHasNoGapOrDuplicateWhileWritesContinue(eventCacheSize: Int) async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(eventCacheSize: eventCacheSize))
        defer { store.close() }
        for index in 0..<10 {
            _ = try store.create("/k/\(index)") { _ in [] }
        }

        let stop = StopFlag()
        let writer = Task.detached {
            // Bounded, and yielding so it never starves the other tasks of the cooperative pool.
            for index in 0..<5000 where !stop.isSet {
                _ = try store.update("/k/\(index % 10)") { _, revision in bytes("\(revision)") }
                await Task.yield()
            }
        }
        // Subscribe in the middle of the writes, from a revision already in the past, and let
        // plenty more writes land before stopping the writer.
        try #require(try await eventually { store.revision >= 200 })
        let stream = try store.watch(prefix: "/k/", after: 50)
        let atSubscription = store.revision
        let writesContinued = try await eventually { store.revision >= atSubscription + 200 }
        stop.set()
        try await writer.value
        let total = store.revision
        #expect(writesContinued && atSubscription < total)

        let events = try await collect(stream) { $0.last?.revision == total }
        #expect(events.map(\.revision) == Array(51...total))
        #expect(events.dropFirst().allSatisfy { text($0.value) == "\($0.revision)" })
    }

    @Test func watchFromAFutureRevisionStartsThere() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let stream = try store.watch(prefix: "", after: 2)
        for index in 1...4 {
            _ = try store.create("k\(index)") { _ in [] }
        }
        #expect(try await collect(stream, count: 2).map(\.revision) == [3, 4])
    }

    @Test func deleteEventsCarryTheFinalValueLiveAndReplayed() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(eventCacheSize: 0))
        defer { store.close() }
        let live = try store.watch(prefix: "/pods/", after: 0)
        _ = try store.create("/pods/a") { _ in bytes("alive") }
        let deleted = try store.delete("/pods/a") { current, revision in
            current.value + bytes(" deleted at \(revision)")
        }
        #expect(deleted.value == bytes("alive deleted at 2"))

        let expected = StoreEvent(kind: .deleted, key: "/pods/a", value: bytes("alive deleted at 2"), revision: 2)
        #expect(try await collect(live, count: 2).last == expected)
        // With the cache off, this replay reads the history table.
        #expect(try await collect(try store.watch(prefix: "/pods/", after: 1), count: 1) == [expected])
    }

    @Test func watchingFromACompactedRevisionFailsLike410Gone() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(retainedRevisions: 5))
        defer { store.close() }
        for index in 1...20 {
            _ = try store.create("k\(index)") { _ in [] }
        }
        let result = try store.compact(upTo: 12)
        #expect(result.compactedRevision == 12 && result.removedEvents == 12)
        #expect(store.compactedRevision == 12)

        #expect(throws: StoreError.compacted(requested: 11, compactedRevision: 12)) {
            _ = try store.watch(prefix: "", after: 11)
        }
        #expect(throws: StoreError.compacted(requested: 0, compactedRevision: 12)) {
            _ = try store.watch(prefix: "", after: 0)
        }
        let fromCompacted = try store.watch(prefix: "", after: 12)
        #expect(try await collect(fromCompacted, count: 8).map(\.revision) == Array(13...20))

        // Asking for more than may be dropped is clamped: the newest retainedRevisions stay.
        #expect(try store.compact(upTo: 1000).compactedRevision == 15)
        #expect(try store.compact(upTo: 3).removedEvents == 0)
        #expect(store.compactedRevision == 15)
    }

    @Test func watchResumesAfterReopenFromPersistedHistory() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try openStore(directory)
            for index in 1...10 {
                _ = try store.create("/k/\(index)") { _ in bytes("\(index)") }
            }
            store.close()
        }
        let store = try openStore(directory)
        defer { store.close() }
        let stream = try store.watch(prefix: "/k/", after: 6)
        _ = try store.create("/k/11") { _ in bytes("11") }
        let events = try await collect(stream, count: 5)
        #expect(events.map(\.revision) == [7, 8, 9, 10, 11])
        #expect(events.map { text($0.value) } == ["7", "8", "9", "10", "11"])
    }

    @Test func aWatcherThatFallsBehindIsEndedWithTooSlow() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions(watchBuffer: 3))
        defer { store.close() }
        _ = try store.create("old") { _ in [] }
        // Replay does not count against the buffer, live lag does.
        let slow = try store.watch(prefix: "", after: 0)
        let keepingUp = try store.watch(prefix: "", after: 1)
        var keptUp: [Int64] = []
        var iterator = keepingUp.makeAsyncIterator()

        for index in 1...10 {
            _ = try store.create("k\(index)") { _ in [] }
            keptUp.append(try #require(try await iterator.next()).revision)
        }
        #expect(keptUp == Array(2...11))

        var received: [Int64] = []
        await #expect(throws: StoreError.tooSlow) {
            for try await event in slow {
                received.append(event.revision)
            }
        }
        // What was buffered before it fell behind is still delivered, in order, then the error.
        #expect(received == [1, 2, 3, 4])
        #expect(store.watcherCount == 1)
    }

    @Test func cancellingOrDroppingAWatchUnsubscribes() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }

        let consumer = Task {
            for try await _ in try store.watch(prefix: "", after: 0) {}
        }
        try #require(try await eventually { store.watcherCount == 1 })
        consumer.cancel()
        #expect(try await eventually { store.watcherCount == 0 })

        do {
            let stream = try store.watch(prefix: "", after: 0)
            var iterator = stream.makeAsyncIterator()
            _ = try store.create("k") { _ in [] }
            #expect(try await iterator.next()?.key == "k")
            #expect(store.watcherCount == 1)
        }
        // Dropping unsubscribes a moment later, off the stream's own lock.
        #expect(try await eventually { store.watcherCount == 0 })
    }

    @Test func closingTheStoreEndsWatches() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        let stream = try store.watch(prefix: "", after: 0)
        _ = try store.create("k") { _ in [] }
        store.close()
        var revisions: [Int64] = []
        for try await event in stream {
            revisions.append(event.revision)
        }
        #expect(revisions == [1])
    }

    /// The benchmark's shape: many watchers, each write must reach all of them quickly.
    @Test func eventsReachAHundredWatchersQuickly() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory)
        defer { store.close() }
        let watchers = 100
        let writes = 200
        let latencies = try await withThrowingTaskGroup(of: (revisions: [Int64], latencies: [Duration]).self) { group in
            for _ in 0..<watchers {
                let stream = try store.watch(prefix: "/bench/", after: store.revision)
                group.addTask {
                    var revisions: [Int64] = []
                    var mine: [Duration] = []
                    for try await event in stream {
                        mine.append(monotonicNow() - decodeInstant(event.value))
                        revisions.append(event.revision)
                        if revisions.count == writes { break }
                    }
                    return (revisions, mine)
                }
            }
            for index in 0..<writes {
                _ = try store.create("/bench/\(index)") { _ in encodeInstant(monotonicNow()) }
                // Paced like API traffic, not a burst that only measures queueing.
                try await Task.sleep(for: .milliseconds(1))
            }
            var latencies: [Duration] = []
            for try await watcher in group {
                #expect(watcher.revisions == Array(1...Int64(writes)))
                latencies += watcher.latencies
            }
            return latencies
        }

        let sorted = latencies.sorted()
        #expect(sorted.count == watchers * writes)
        let median = sorted[sorted.count / 2]
        let p99 = sorted[sorted.count * 99 / 100]
        print("watch delivery to \(watchers) watchers: median \(median), p99 \(p99)")
        // The 10 ms target is measured alone by scripts/bench/api. Here the whole suite shares
        // two cores with this test (a dozen clusters start pods meanwhile), so the bound only
        // says delivery keeps up rather than stalling behind the writes.
        #expect(median < .milliseconds(250))
    }
}

private func monotonicNow() -> Duration {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
}

private func encodeInstant(_ instant: Duration) -> [UInt8] {
    let nanoseconds = UInt64(instant.components.seconds) * 1_000_000_000 + UInt64(instant.components.attoseconds / 1_000_000_000)
    return withUnsafeBytes(of: nanoseconds.littleEndian) { Array($0) }
}

private func decodeInstant(_ bytes: [UInt8]) -> Duration {
    let nanoseconds = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    return .nanoseconds(Int64(nanoseconds))
}

private final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// A watch ended while a write is handing it an event: the stream's termination and the
/// store's commit take their locks in opposite orders, so unsubscribing must not wait for the
/// store's lock from inside the stream's callback (this deadlocked a master once).
@Suite struct StoreWatchCancellationTests {
    @Test func watchesEndingDuringWritesNeverDeadlock() async throws {
        let directory = TemporaryDirectory()
        let store = try openStore(directory, StoreOptions())
        defer { store.close() }
        let writer = Task.detached {
            for index in 0..<3000 {
                _ = try store.create("/churn/\(index)") { _ in [] }
                if index % 50 == 0 { await Task.yield() }
            }
        }
        for _ in 0..<300 {
            let stream = try store.watch(prefix: "/churn/", after: store.revision)
            let reader = Task { for try await _ in stream { } }
            await Task.yield()
            reader.cancel()
        }
        try await writer.value
        #expect(store.revision >= 3000)
    }
}
