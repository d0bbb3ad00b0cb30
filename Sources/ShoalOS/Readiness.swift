import CShims

#if canImport(Glibc)
import Glibc
#endif

/// Waits, without blocking a thread of Swift's pool, until `fd` is readable (data, EOF, a
/// hang-up, or a pidfd's process exited), or the task is cancelled. Regular files, which
/// epoll refuses, count as readable at once.
public func waitReadable(_ fd: Int32) async {
    await Reactor.shared.waitReadable(fd)
}

/// One thread in epoll_wait for every readiness wait of the process.
///
/// Each wait registers a private dup of the caller's fd, one-shot. So a caller that closes its
/// fd, or a second waiter on the same fd, never disturbs the registration; a finished wait
/// removes its registration and closes its dup. libdispatch's read sources were
/// used here first; closing an fd under one of them crashed its event loop.
final class Reactor: @unchecked Sendable {
    static let shared = Reactor()

    private enum Wait {
        /// Not registered yet; a cancellation now removes it, and registering then finds it gone.
        case pending
        case registered(fd: Int32, continuation: CheckedContinuation<Void, Never>)
    }

    private let epfd: Int32
    private let lock = Lock()
    private var waits: [UInt64: Wait] = [:]
    private var nextToken: UInt64 = 1

    private init() {
        epfd = sh_epoll_create()
        precondition(epfd >= 0, "epoll_create1 failed: \(-epfd)")
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            Unmanaged<Reactor>.fromOpaque(arg).takeRetainedValue().run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    func waitReadable(_ fd: Int32) async {
        let token: UInt64 = lock.withLock {
            defer { nextToken += 1 }
            waits[nextToken] = .pending
            return nextToken
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in register(fd, token, c) }
        } onCancel: {
            finish(token)
        }
    }

    private func register(_ fd: Int32, _ token: UInt64, _ c: CheckedContinuation<Void, Never>) {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { return c.resume() }  // not an open fd: nothing to wait for
        let cancelled: Bool = lock.withLock {
            guard waits[token] != nil else { return true }
            waits[token] = .registered(fd: copy, continuation: c)
            return false
        }
        if cancelled {
            close(copy)
            return c.resume()
        }
        // EPERM: a regular file, always readable. Any other failure: don't hang the caller.
        if sh_epoll_add_oneshot(epfd, copy, token) < 0 { finish(token) }
    }

    /// Ends a wait: readiness, cancellation, or a failed registration; whichever comes first.
    private func finish(_ token: UInt64) {
        let wait = lock.withLock { waits.removeValue(forKey: token) }
        guard case let .registered(fd, continuation)? = wait else { return }
        // Closing a dup does not drop its registration while the original fd stays open.
        _ = sh_epoll_del(epfd, fd)
        close(fd)
        continuation.resume()
    }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        while true {
            let n = tokens.withUnsafeMutableBufferPointer { sh_epoll_wait_tokens(epfd, $0.baseAddress, Int32($0.count)) }
            if n < 0 { continue }
            for i in 0..<Int(n) { finish(tokens[i]) }
        }
    }
}
