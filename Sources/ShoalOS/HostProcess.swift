import CShims

#if canImport(Glibc)
import Glibc
#endif

/// A process known by pid and start time (field 22 of /proc/PID/stat), so that a pid the
/// kernel reused for someone else is never signalled: what a lab records about its daemons.
public struct HostProcess: Sendable, Hashable, Codable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The process now running as `pid`; nil when there is none.
    public static func current(_ pid: Int32) -> HostProcess? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat"), let (state, start) = parseStat(stat) else { return nil }
        return state == "Z" ? nil : HostProcess(pid: pid, startTime: start)
    }

    /// The state letter and start time from a /proc/PID/stat line. The command name (field 2)
    /// may hold spaces and parentheses, so fields are counted from its last ')'.
    static func parseStat(_ line: String) -> (Character, UInt64)? {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    /// Still the same process (not exited, pid not reused).
    public var isAlive: Bool { HostProcess.current(pid) == self }

    /// Sends `signal` if it is still the same process; false when it is gone.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        let fd = sh_pidfd_open(pid)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Checked after the pidfd is held: from here on the pid cannot be reused under us.
        guard isAlive else { return false }
        return sh_pidfd_send_signal(fd, signal) == 0
    }

    /// Waits until it exits (a pidfd turns readable, also for a process that is not our child),
    /// at most `timeout` seconds; true once it is gone.
    public func waitExit(timeout: Double) async -> Bool {
        let fd = sh_pidfd_open(pid)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        guard isAlive else { return true }
        _ = await waitReadable(fd, deadline: monotonicNanos() + UInt64(max(0, timeout) * 1e9))
        return !isAlive
    }
}
