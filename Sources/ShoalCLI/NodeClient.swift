import ShoalHTTP
import Foundation
import ShoalAgent
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// A failed call to the agent's node API, with the agent's message.
struct NodeClientError: Error, CustomStringConvertible {
    var status: Int
    var message: String
    var description: String { message }
}

/// A blocking HTTP/1.1 client for the agent's unix socket. The CLI does one call and exits,
/// so plain blocking I/O is the simplest correct thing.
struct NodeClient: Sendable {
    let socketPath: String

    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
    }

    func connect() throws -> FileDescriptor {
        do {
            return try UnixSocket.connect(path: socketPath, type: Int32(SOCK_STREAM.rawValue))
        } catch {
            throw NodeClientError(status: 0, message: "cannot reach the shoal agent at \(socketPath): \(error) (is `shoal agent` running with this --data-dir?)")
        }
    }

    func requestBytes(method: String, path: String, body: [UInt8]? = nil, extraHeaders: [(String, String)] = []) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: shoal\r\nConnection: close\r\n"
        for (k, v) in extraHeaders { text += "\(k): \(v)\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + (body ?? [])
    }

    /// A request whose whole response is read into memory.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil) throws -> Response {
        let fd = try connect()
        try fd.write(requestBytes(method: method, path: path, body: body))
        var reader = HTTPResponseReader(fd: fd)
        let (status, headers) = try reader.readHead()
        var out: [UInt8] = []
        try reader.readBody(headers: headers) { out += $0 }
        return Response(status: status, headers: headers, body: out)
    }

    /// A request whose body is streamed to `sink` as it arrives (logs -f).
    func stream(_ method: String, _ path: String, sink: ([UInt8]) throws -> Void) throws -> Int {
        let fd = try connect()
        try fd.write(requestBytes(method: method, path: path))
        var reader = HTTPResponseReader(fd: fd)
        let (status, headers) = try reader.readHead()
        if status >= 300 {
            var out: [UInt8] = []
            try reader.readBody(headers: headers) { out += $0 }
            throw NodeClientError(status: status, message: NodeClient.errorMessage(out))
        }
        try reader.readBody(headers: headers, sink)
        return status
    }

    /// Upgrades a connection to the framed stream protocol; returns the socket after the 101.
    func upgrade(_ path: String) throws -> (FileDescriptor, [UInt8]) {
        let fd = try connect()
        try fd.write(requestBytes(method: "POST", path: path, extraHeaders: [("Connection", "Upgrade"), ("Upgrade", StreamProtocol.name)]))
        var reader = HTTPResponseReader(fd: fd)
        let (status, headers) = try reader.readHead()
        if status != 101 {
            var out: [UInt8] = []
            try reader.readBody(headers: headers) { out += $0 }
            throw NodeClientError(status: status, message: NodeClient.errorMessage(out))
        }
        return (fd, reader.leftover)
    }

    /// The `message` of a Kubernetes Status body, or the body itself.
    static func errorMessage(_ body: [UInt8]) -> String {
        let text = String(decoding: body, as: UTF8.self)
        if let range = text.range(of: "\"message\":\"") {
            var message = ""
            var escaped = false
            for c in text[range.upperBound...] {
                if escaped {
                    message.append(c == "n" ? "\n" : c)
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    break
                } else {
                    message.append(c)
                }
            }
            return message
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Reads an HTTP/1.1 response head and body (Content-Length, chunked, or to EOF).
struct HTTPResponseReader {
    let fd: FileDescriptor
    var leftover: [UInt8] = []

    init(fd: FileDescriptor) { self.fd = fd }

    mutating func fill() throws -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd.raw, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SystemError("read from agent") }
            if n == 0 { return false }
            leftover += buf[0..<n]
            return true
        }
    }

    mutating func readLine() throws -> String? {
        while true {
            if let i = leftover.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(leftover[..<i])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                leftover.removeFirst(i + 1)
                return String(decoding: line, as: UTF8.self)
            }
            if try !fill() { return nil }
        }
    }

    mutating func readHead() throws -> (Int, [(String, String)]) {
        guard let statusLine = try readLine() else { throw NodeClientError(status: 0, message: "the agent closed the connection") }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw NodeClientError(status: 0, message: "bad response from agent: \(statusLine)") }
        var headers: [(String, String)] = []
        while let line = try readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return (status, headers)
    }

    mutating func readBody(headers: [(String, String)], _ sink: ([UInt8]) throws -> Void) throws {
        if headers.contains(where: { $0.0 == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            while let sizeLine = try readLine() {
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { return }
                if size == 0 { return }
                while leftover.count < size + 2 { if try !fill() { break } }
                let n = min(size, leftover.count)
                try sink(Array(leftover[..<n]))
                leftover.removeFirst(min(leftover.count, size + 2))
            }
            return
        }
        if let length = headers.first(where: { $0.0 == "content-length" }).flatMap({ Int($0.1) }) {
            while leftover.count < length { if try !fill() { break } }
            try sink(Array(leftover.prefix(length)))
            leftover.removeFirst(min(length, leftover.count))
            return
        }
        repeat {
            if !leftover.isEmpty { try sink(leftover) }
            leftover = []
        } while try fill()
    }
}
