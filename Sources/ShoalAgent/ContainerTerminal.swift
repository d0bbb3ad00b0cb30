import CShims
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// What the agent keeps of a container started with `stdin` or `tty` (ephemeral containers,
/// `kubectl debug -it`), so that `attach` can reach its primary process.
///
/// With a terminal the agent holds the pty master: one relay task reads it for as long as the
/// container runs, appends what it reads to the container's CRI log (the sandbox cannot: it
/// does not have the master) and copies it to every attached session. Output from before the
/// first attach is kept (up to `historyLimit`) and given to that first session, so a quick
/// command's output or the first prompt is not lost between starting and attaching. Without a
/// terminal the sandbox writes the log as for any container, and the agent keeps only the
/// write end of the container's stdin.
final class ContainerTerminal: @unchecked Sendable {
    /// The pty master (input, resize, output), nil without a terminal.
    let master: FileDescriptor?
    /// The write end of the container's stdin pipe (no terminal, `stdin: true`).
    let stdinPipe: FileDescriptor?
    let wantsStdin: Bool
    static let historyLimit = 256 * 1024

    private let lock = Lock()
    private var history: [UInt8] = []
    private var firstAttachDone = false
    private var subscribers: [FileDescriptor] = []
    private var ended = false

    init(master: FileDescriptor, stdin: Bool) {
        self.master = master
        self.stdinPipe = nil
        self.wantsStdin = stdin
    }

    init(stdinPipe: FileDescriptor?) {
        self.master = nil
        self.stdinPipe = stdinPipe
        self.wantsStdin = stdinPipe != nil
    }

    var isTerminal: Bool { master != nil }

    /// Whether a session attached already (the output from the start went to it).
    var hasAttached: Bool { lock.withLock { firstAttachDone } }

    /// Claims the "first attach" (which sees the output from the start); false afterwards.
    func claimFirstAttach() -> Bool {
        lock.withLock {
            defer { firstAttachDone = true }
            return !firstAttachDone
        }
    }

    /// Reads the master until the container's side is gone (EIO once every slave fd closed),
    /// logging and fanning out; then closes the log, so a `logs -f` follower ends.
    func startRelay(log: TerminalLog) {
        guard let master else { return }
        Task.detached { [self] in
            var buf = [UInt8](repeating: 0, count: 32768)
            while true {
                await waitReadable(master.raw)
                let n = buf.withUnsafeMutableBytes { read(master.raw, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 { break }
                let chunk = Array(buf[0..<n])
                log.append(chunk)
                deliver(chunk)
            }
            log.close()
            let waiting: [FileDescriptor] = lock.withLock {
                ended = true
                defer { subscribers = [] }
                return subscribers
            }
            for s in waiting { s.close() }
        }
    }

    private func deliver(_ chunk: [UInt8]) {
        lock.withLock {
            if !firstAttachDone {
                history += chunk
                if history.count > ContainerTerminal.historyLimit { history.removeFirst(history.count - ContainerTerminal.historyLimit) }
            }
            subscribers.removeAll { s in !ContainerTerminal.writeNonBlocking(s, chunk) }
        }
    }

    /// A pipe carrying the terminal's output from now on (after the history, for the first
    /// attach); it reaches EOF when the container's terminal closes.
    func subscribe() throws -> FileDescriptor {
        let pipe = try makePipe()
        _ = fcntl(pipe.write.raw, F_SETFL, fcntl(pipe.write.raw, F_GETFL) | O_NONBLOCK)
        // F_SETPIPE_SZ: room for the history and bursts of output while the client reads.
        _ = fcntl(pipe.write.raw, 1031, Int32(1 << 20))
        lock.withLock {
            if !firstAttachDone {
                firstAttachDone = true
                _ = ContainerTerminal.writeNonBlocking(pipe.write, history)
                history = []
            }
            if ended {
                pipe.write.close()
            } else {
                subscribers.append(pipe.write)
            }
        }
        return pipe.read
    }

    /// Writes everything to a non-blocking pipe, waiting (off the pool's threads) while it is
    /// full; throws once the reader is gone.
    static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd.raw, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                try await Task.sleep(nanoseconds: 5_000_000)
                continue
            }
            if n < 0 { throw SystemError("write") }
            offset += n
        }
    }

    /// False when the reader is gone (EPIPE); output it cannot take now is dropped.
    static func writeNonBlocking(_ fd: FileDescriptor, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd.raw, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno != EPIPE && errno != EBADF }
            offset += n
        }
        return true
    }
}

/// A CRI log file written by the agent from a terminal's output: one `stdout F` record per
/// line (the terminal's `\r\n` ends a line), a line longer than 16 KiB split into `P` records
/// as containerd does, and what is left at the end written as a last record.
final class TerminalLog: @unchecked Sendable {
    private var fd: FileDescriptor?
    private var line: [UInt8] = []
    static let maxLine = 16 * 1024

    init(path: String) {
        fd = try? FileDescriptor.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o640)
    }

    func append(_ bytes: [UInt8]) {
        var out: [UInt8] = []
        for b in bytes {
            if b == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                out += record(line, partial: false)
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(b)
                if line.count >= TerminalLog.maxLine {
                    out += record(line, partial: true)
                    line.removeAll(keepingCapacity: true)
                }
            }
        }
        if !out.isEmpty { try? fd?.write(out) }
    }

    func close() {
        if !line.isEmpty {
            try? fd?.write(record(line, partial: false))
            line = []
        }
        fd?.close()
        fd = nil
    }

    private func record(_ content: [UInt8], partial: Bool) -> [UInt8] {
        Array("\(TerminalLog.timestamp()) stdout \(partial ? "P" : "F") ".utf8) + content + [UInt8(ascii: "\n")]
    }

    /// RFC 3339 with nanoseconds, UTC, as CRI log records carry.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let nanos = String(ts.tv_nsec)
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))."
            + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos + "Z"
    }
}
