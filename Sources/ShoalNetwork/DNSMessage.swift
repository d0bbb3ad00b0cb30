/// The parts of a DNS message (RFC 1035) a cluster DNS server reads and writes: the header, the
/// first question, and answer records, written without name compression.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    public var flags: UInt16
    public var question: Question?
    public var answers: [Record] = []

    public struct Question: Sendable, Equatable {
        /// Lower-cased, without the trailing dot.
        public var name: String
        public var type: UInt16
        public var qclass: UInt16
    }

    public struct Record: Sendable, Equatable {
        public var name: String
        public var type: UInt16
        public var ttl: UInt32
        public var data: [UInt8]

        public static func a(_ name: String, _ ip: IPv4Bytes, ttl: UInt32) -> Record {
            Record(name: name, type: DNSType.a, ttl: ttl, data: ip.bytes)
        }

        public static func cname(_ name: String, _ target: String, ttl: UInt32) -> Record {
            Record(name: name, type: DNSType.cname, ttl: ttl, data: DNSMessage.encodeName(target))
        }

        public static func srv(_ name: String, port: UInt16, target: String, ttl: UInt32) -> Record {
            // priority 0, weight 100 (CoreDNS's kubernetes plugin divides 100 among targets).
            Record(name: name, type: DNSType.srv, ttl: ttl, data: [0, 0, 0, 100] + DNSMessage.be16(port) + DNSMessage.encodeName(target))
        }
    }

    public static let rcodeNoError: UInt16 = 0
    public static let rcodeServerFailure: UInt16 = 2
    public static let rcodeNameError: UInt16 = 3
    public static let rcodeRefused: UInt16 = 5

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }

    /// Reads a query; nil when it is not a well-formed DNS message.
    public static func parse(_ b: [UInt8]) -> DNSMessage? {
        guard b.count >= 12 else { return nil }
        let id = UInt16(b[0]) << 8 | UInt16(b[1])
        let flags = UInt16(b[2]) << 8 | UInt16(b[3])
        let qd = UInt16(b[4]) << 8 | UInt16(b[5])
        var m = DNSMessage(id: id, flags: flags, question: nil)
        guard qd >= 1 else { return m }
        var i = 12
        guard let name = readName(b, &i), i + 4 <= b.count else { return nil }
        m.question = Question(name: name, type: UInt16(b[i]) << 8 | UInt16(b[i + 1]), qclass: UInt16(b[i + 2]) << 8 | UInt16(b[i + 3]))
        return m
    }

    /// The answer to `query`: authoritative for the names we own, with recursion available.
    /// Answers that would pass `limit` bytes are left out and the message marked truncated (TC).
    public static func response(to query: DNSMessage, rcode: UInt16, answers: [Record], authoritative: Bool, limit: Int = 65535) -> [UInt8] {
        var flags: UInt16 = 0x8000 | (query.flags & 0x7900)  // QR, the opcode and RD echoed
        flags |= 0x0080  // RA
        if authoritative { flags |= 0x0400 }
        flags |= rcode & 0xF
        var body: [UInt8] = []
        if let q = query.question { body += encodeName(q.name) + be16(q.type) + be16(q.qclass) }
        var count = 0
        for r in answers {
            let rr = encodeName(r.name) + be16(r.type) + be16(1) + be32(r.ttl) + be16(UInt16(r.data.count)) + r.data
            if 12 + body.count + rr.count > limit {
                flags |= 0x0200  // TC
                break
            }
            body += rr
            count += 1
        }
        return be16(query.id) + be16(flags) + be16(query.question == nil ? 0 : 1) + be16(UInt16(count)) + be16(0) + be16(0) + body
    }

    static func readName(_ b: [UInt8], _ i: inout Int) -> String? {
        var labels: [String] = []
        var pos = i
        var jumped = false
        var hops = 0
        while pos < b.count {
            let len = Int(b[pos])
            if len == 0 {
                if !jumped { i = pos + 1 }
                return labels.joined(separator: ".").lowercased()
            }
            if len & 0xC0 == 0xC0 {
                guard pos + 1 < b.count, hops < 16 else { return nil }
                if !jumped { i = pos + 2 }
                jumped = true
                hops += 1
                pos = (len & 0x3F) << 8 | Int(b[pos + 1])
                continue
            }
            guard len <= 63, pos + 1 + len <= b.count else { return nil }
            labels.append(String(decoding: b[(pos + 1)...(pos + len)], as: UTF8.self))
            pos += 1 + len
        }
        return nil
    }

    static func encodeName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") where !label.isEmpty {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        return out + [0]
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}

public enum DNSType {
    public static let a: UInt16 = 1
    public static let cname: UInt16 = 5
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let any: UInt16 = 255
}

/// Four address bytes, in network order.
public struct IPv4Bytes: Sendable, Hashable {
    public var bytes: [UInt8]
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var b: [UInt8] = []
        for p in parts {
            guard let v = UInt8(p) else { return nil }
            b.append(v)
        }
        bytes = b
    }
}
