import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Waits, without blocking a thread, until `fd` is readable (data, EOF, or a pidfd's process
/// exited). The fd must stay open until this returns.
public func waitReadable(_ fd: Int32, queue: DispatchQueue = .global()) async {
    await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        let once = Locked(false)
        source.setEventHandler {
            let first = once.withLock { fired -> Bool in
                defer { fired = true }
                return !fired
            }
            if first {
                source.cancel()
                cont.resume()
            }
        }
        source.resume()
    }
}

/// Sleeps for a duration given in seconds, honouring cancellation.
public func sleep(seconds: Double) async throws {
    try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
}

/// A monotonic clock reading in nanoseconds.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Wall clock time in nanoseconds since the epoch.
public func realtimeNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
