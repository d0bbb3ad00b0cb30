#if canImport(Glibc)
import Glibc
#endif

/// Event-driven file watching. Reading waits on the fd's readiness, never polls.
public final class Inotify: @unchecked Sendable {
    public struct Event: Sendable, Equatable {
        public var watch: Int32
        public var mask: UInt32
        public var name: String
    }

    public static let modify = UInt32(IN_MODIFY), create = UInt32(IN_CREATE), delete = UInt32(IN_DELETE)
    public static let movedTo = UInt32(IN_MOVED_TO), movedFrom = UInt32(IN_MOVED_FROM), closeWrite = UInt32(IN_CLOSE_WRITE)
    public static let deleteSelf = UInt32(IN_DELETE_SELF), moveSelf = UInt32(IN_MOVE_SELF), attrib = UInt32(IN_ATTRIB)

    public let fd: FileDescriptor

    public init() throws(SystemError) {
        fd = FileDescriptor(try sysCall("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) })
    }

    @discardableResult
    public func watch(_ path: String, _ mask: UInt32) throws(SystemError) -> Int32 {
        try sysCall("inotify_add_watch", path: path) { inotify_add_watch(fd.raw, path, mask) }
    }

    public func remove(_ wd: Int32) { _ = inotify_rm_watch(fd.raw, wd) }

    /// Waits for and returns the next batch of events; empty once the task is cancelled.
    public func next() async -> [Event] {
        while !Task.isCancelled {
            let events = drain()
            if !events.isEmpty { return events }
            await waitReadable(fd.raw)
        }
        return []
    }

    /// Whatever events are queued now, without waiting.
    public func drain() -> [Event] {
        var buf = [UInt8](repeating: 0, count: 16384)
        var out: [Event] = []
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= n {
                let (wd, mask, len) = buf.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    let ev = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (ev.wd, ev.mask, Int(ev.len))
                }
                let nameBytes = buf[(offset + header)..<min(n, offset + header + len)].prefix { $0 != 0 }
                out.append(Event(watch: wd, mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
                offset += header + len
            }
        }
    }
}
