import Glibc
import Logging
import ShoalStore

/// A fresh directory under /tmp for one test's database files, removed afterwards.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() {
        var template = Array("/tmp/shoal-store-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var databasePath: String { path + "/state.db" }

    deinit {
        guard let directory = opendir(path) else { return }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." {
                unlink(path + "/" + name)
            }
        }
        closedir(directory)
        rmdir(path)
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "shoal.store.test")
    logger.logLevel = .warning
    return logger
}()

func openStore(_ directory: borrowing TemporaryDirectory, _ options: StoreOptions = .init()) throws -> Store {
    try Store(path: directory.databasePath, options: options, logger: testLogger)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : 0
}

struct TimedOut: Error {}

/// Reads events until `done` says so, failing rather than hanging if they do not come.
func collect(
    _ stream: AsyncThrowingStream<StoreEvent, Error>,
    timeout: Duration = .seconds(5),
    until done: @escaping @Sendable ([StoreEvent]) -> Bool
) async throws -> [StoreEvent] {
    try await withThrowingTaskGroup(of: [StoreEvent].self) { group in
        group.addTask {
            var events: [StoreEvent] = []
            if done(events) { return events }
            for try await event in stream {
                events.append(event)
                if done(events) { break }
            }
            return events
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut()
        }
        let events = try await group.next()!
        group.cancelAll()
        return events
    }
}

func collect(_ stream: AsyncThrowingStream<StoreEvent, Error>, count: Int) async throws -> [StoreEvent] {
    try await collect(stream) { $0.count >= count }
}

/// Waits for a condition another thread brings about, such as a background compaction.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return try condition()
}

struct Refused: Error, Equatable {}
