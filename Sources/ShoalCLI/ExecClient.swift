import ShoalHTTP
import Dispatch
import Foundation
import ShoalAPI
import ShoalAgent
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// The CLI side of `exec` (and `attach-sidecar -it`): bridges the terminal and the agent's
/// framed stream, and returns the remote command's exit code.
struct ExecClient {
    /// Upgrades `path` to a stream session, bridges it, and exits with the remote exit code.
    static func runSession(_ client: NodeClient, path: String, stdin: Bool, tty: Bool) throws -> Never {
        let code: Int32
        do {
            let (socket, leftover) = try client.upgrade(path)
            code = ExecClient(socket: socket, initial: leftover, stdin: stdin, tty: tty).run()
        } catch {
            fail("\(error)")
        }
        exit(code)
    }

    /// `width=…&height=…` query items for the terminal on stdout (sent up front: the remote side
    /// sizes the terminal before the command can ask).
    static func terminalSizeQuery() -> [String] {
        var ws = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 else { return [] }
        return ["width=\(ws.ws_col)", "height=\(ws.ws_row)"]
    }

    let socket: FileDescriptor
    var initial: [UInt8]
    let stdin: Bool
    let tty: Bool

    private static let writeLock = Lock()

    func send(_ channel: UInt8, _ payload: [UInt8]) {
        ExecClient.writeLock.withLock { try? socket.write(StreamProtocol.frame(channel, payload)) }
    }

    func run() -> Int32 {
        // The stdin thread may still write after the agent closed the session: EPIPE, not death.
        signal(SIGPIPE, SIG_IGN)
        var saved = termios()
        let rawMode = tty && isatty(0) != 0
        if rawMode {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
        }
        defer { if rawMode { tcsetattr(0, TCSANOW, &saved) } }

        var winch: DispatchSourceSignal?
        if tty {
            sendSize()
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
            source.setEventHandler { sendSize() }
            source.resume()
            winch = source
        }
        if stdin {
            DispatchQueue.global().async {
                var buf = [UInt8](repeating: 0, count: 32768)
                while true {
                    let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    send(StreamProtocol.stdin, Array(buf[0..<n]))
                }
                send(StreamProtocol.close, [StreamProtocol.stdin])
            }
        }
        defer { winch?.cancel() }

        var decoder = StreamProtocol.Decoder()
        var pending = decoder.feed(initial)
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            for (channel, payload) in pending {
                switch channel {
                case StreamProtocol.stdout: writeAll(1, payload)
                case StreamProtocol.stderr: writeAll(2, payload)
                case StreamProtocol.status:
                    if rawMode { tcsetattr(0, TCSANOW, &saved) }
                    return ExecClient.exitCode(fromStatus: payload)
                default: break
                }
            }
            let n = buf.withUnsafeMutableBytes { read(socket.raw, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR {
                pending = []
                continue
            }
            if n <= 0 {
                writeAll(2, Array("error: connection to the agent closed before the command finished\n".utf8))
                return 1
            }
            pending = decoder.feed(Array(buf[0..<n]))
        }
    }

    func sendSize() {
        var ws = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &ws) == 0 else { return }
        send(StreamProtocol.resize, Array("{\"Width\":\(ws.ws_col),\"Height\":\(ws.ws_row)}".utf8))
    }

    /// A `v1.Status`: Success → 0; NonZeroExitCode → the code from its ExitCode cause; any
    /// other failure prints its message and gives 1, as kubectl does.
    static func exitCode(fromStatus payload: [UInt8]) -> Int32 {
        guard let status = try? JSONDecoder().decode(Status.self, from: Data(payload)) else {
            writeAll(2, Array("error: unreadable exit status from the agent\n".utf8))
            return 1
        }
        if status.status == "Success" { return 0 }
        if status.reason == "NonZeroExitCode",
           let code = status.details?.causes?.first(where: { $0.reason == "ExitCode" })?.message.flatMap({ Int32($0) }) {
            return code
        }
        writeAll(2, Array(("error: " + (status.message ?? "command failed") + "\n").utf8))
        return 1
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}
