import ShoalAPI
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// What one run of a probe handler found (the kubelet's probe.Result with its output).
enum ProbeOutcome: Sendable, Equatable {
    case success(String)
    /// Counts as success (the kubelet's probe.Warning: a redirect it did not follow).
    case warning(String)
    case failure(String)
    /// The probe could not be run at all (a port name that does not resolve, say): the kubelet
    /// records "probe errored" and keeps the previous result.
    case error(String)

    var succeeded: Bool? {
        switch self {
        case .success, .warning: return true
        case .failure: return false
        case .error: return nil
        }
    }
}

/// The version the probes' User-Agent claims (`kube-probe/1.34`), as the kubelet sends its own.
enum KubeletVersion {
    static let majorMinor = "1.34"
}

/// The kubelet's HTTP probe (pkg/probe/http) and lifecycle HTTP hook: a GET with
/// `Connection: close`, redirects to the same host followed (up to 10), 200–399 healthy.
enum HTTPProbe {
    struct Request: Sendable {
        var host: String
        var port: Int
        var path: String
        var headers: [(String, String)]
        var namespace: NetNamespace
        var timeout: Double
        /// `kube-probe/1.34` for probes, `kube-lifecycle/1.34` for hooks.
        var userAgent = "kube-probe/\(KubeletVersion.majorMinor)"
    }

    /// The response's status line and headers, nothing of the body.
    struct Response: Sendable, Equatable {
        var status: Int
        var headers: [String: String]
    }

    /// Runs the probe and classifies the answer as the kubelet does.
    static func probe(_ request: Request) async -> ProbeOutcome {
        var request = request
        let deadline = monotonicNanos() + UInt64(max(0, request.timeout) * 1e9)
        for _ in 0...10 {
            let url = "http://\(hostPort(request.host, request.port))\(request.path)"
            let response: Response
            do {
                response = try await get(request, deadline: deadline)
            } catch {
                return .failure("Get \"\(url)\": \(error.description)")
            }
            if response.status >= 200 && response.status < 300 { return .success("") }
            if response.status >= 300 && response.status < 400 {
                guard [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["location"],
                      let next = redirect(location, from: request) else {
                    return .warning("Probe terminated redirects, Response body: ")
                }
                request = next
                continue
            }
            return .failure("HTTP probe failed with statuscode: \(response.status)")
        }
        return .failure("Get \"http://\(hostPort(request.host, request.port))\(request.path)\": stopped after 10 redirects")
    }

    /// The kubelet's CheckRedirect: follow only to the same host name (any port).
    static func redirect(_ location: String, from request: Request) -> Request? {
        var next = request
        if location.hasPrefix("/") {
            next.path = location
            return next
        }
        guard location.hasPrefix("http://") else { return nil }
        let rest = location.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count))
        var host = String(authority), port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? 80 }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? 80
        }
        guard host == request.host else { return nil }
        next.port = port
        next.path = path.isEmpty ? "/" : path
        return next
    }

    struct RequestError: Error, CustomStringConvertible {
        var description: String
    }

    /// One GET; throws with Go's words for what failed (the kubelet's message quotes them).
    static func get(_ r: Request, deadline: UInt64) async throws(RequestError) -> Response {
        let addr = hostPort(r.host, r.port)
        let remaining = Double(deadline > monotonicNanos() ? deadline - monotonicNanos() : 0) / 1e9
        let fd: FileDescriptor
        do {
            fd = try await TCPClient.connect(host: r.host, port: UInt16(clamping: r.port), in: r.namespace, timeout: remaining)
        } catch {
            if error.errno == ETIMEDOUT { throw RequestError(description: awaitingHeaders) }
            throw RequestError(description: dialError(error, addr))
        }
        defer { fd.close() }
        do {
            try await SocketIO.send(fd, requestBytes(r), deadline: deadline)
            var buffer: [UInt8] = []
            while true {
                let bytes = try await SocketIO.receive(fd, deadline: deadline)
                if bytes.isEmpty {
                    throw RequestError(description: buffer.isEmpty ? "EOF" : "net/http: HTTP/1.x transport connection broken: unexpected EOF")
                }
                buffer += bytes
                if let response = try parse(buffer) { return response }
                if buffer.count > 1 << 20 { throw RequestError(description: "net/http: server response headers exceeded 1048576 bytes; aborted") }
            }
        } catch let e as RequestError {
            throw e
        } catch let e as SystemError {
            if e.errno == ETIMEDOUT || e.errno == ECANCELED { throw RequestError(description: awaitingHeaders) }
            throw RequestError(description: "read tcp \(addr): \(e.operation): \(errnoText(e.errno))")
        } catch {
            throw RequestError(description: "\(error)")
        }
    }

    static let awaitingHeaders = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"

    /// The request as Go's client writes it for the kubelet: Host, User-Agent, Accept, the
    /// probe's own headers (a Host header replaces the host, User-Agent and Accept replace theirs).
    static func requestBytes(_ r: Request) -> [UInt8] {
        var host = hostPort(r.host, r.port)
        var headers: [(String, String)] = []
        var userAgent = r.userAgent, accept = "*/*"
        for (name, value) in r.headers {
            switch name.lowercased() {
            case "host": host = value
            case "user-agent": userAgent = value
            case "accept": accept = value
            default: headers.append((name, value))
            }
        }
        var text = "GET \(r.path) HTTP/1.1\r\nHost: \(host)\r\n"
        if !userAgent.isEmpty { text += "User-Agent: \(userAgent)\r\n" }
        if !accept.isEmpty { text += "Accept: \(accept)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// The status line and headers once they are complete; nil while more must come.
    static func parse(_ buffer: [UInt8]) throws(RequestError) -> Response? {
        guard let end = headerEnd(buffer) else { return nil }
        let text = String(decoding: buffer[..<end], as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status) else {
            throw RequestError(description: "net/http: HTTP/1.x transport connection broken: malformed HTTP response \"\(statusLine)\"")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces()
        }
        if status < 200 {
            // 1xx: an interim answer; the real one follows it.
            return try parse(Array(buffer[(end + 4)...]))
        }
        return Response(status: status, headers: headers)
    }

    static func headerEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    // MARK: Go's words

    static func hostPort(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `dial tcp 127.0.0.1:80: connect: connection refused`, as net.Dial says it.
    static func dialError(_ e: SystemError, _ addr: String) -> String {
        switch e.operation {
        case "connect":
            if e.errno == ETIMEDOUT { return "dial tcp \(addr): i/o timeout" }
            return "dial tcp \(addr): connect: \(errnoText(e.errno))"
        case "lookup":
            return "dial tcp: lookup \(e.path ?? addr): no such host"
        default:
            return "dial tcp \(addr): \(e.description)"
        }
    }

    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }

    /// A whole number of seconds as Go's time.Duration prints it.
    static func goDuration(_ seconds: Double) -> String {
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1000).rounded()))ms"
    }

    static func statusText(_ code: Int) -> String {
        switch code {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "status code \(code)"
        }
    }
}

/// The kubelet's TCP probe: a connection that opens is healthy.
enum TCPProbe {
    static func probe(host: String, port: Int, namespace: NetNamespace, timeout: Double) async -> ProbeOutcome {
        do {
            let fd = try await TCPClient.connect(host: host, port: UInt16(clamping: port), in: namespace, timeout: timeout)
            fd.close()
            return .success("")
        } catch {
            return .failure(HTTPProbe.dialError(error, HTTPProbe.hostPort(host, port)))
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingSpaces() -> String { String(self).trimmingSpaces() }
}
