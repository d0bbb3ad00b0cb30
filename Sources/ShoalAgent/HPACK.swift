/// HPACK (RFC 7541), as much as a gRPC health check needs: requests are sent as literals
/// without indexing (no encoder state), and answers are decoded completely (static and dynamic
/// table, size updates, Huffman-coded strings), since servers use all of that.
enum HPACK {
    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: encoding

    /// A header block of literal fields without indexing, new names, no Huffman.
    static func encode(_ headers: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in headers {
            out.append(0x00)
            encodeString(name, into: &out)
            encodeString(value, into: &out)
        }
        return out
    }

    static func encodeString(_ s: String, into out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        encodeInteger(bytes.count, prefixBits: 7, flags: 0, into: &out)
        out += bytes
    }

    /// An integer with an N-bit prefix (RFC 7541 5.1); `flags` are the bits above the prefix.
    static func encodeInteger(_ value: Int, prefixBits: Int, flags: UInt8, into out: inout [UInt8]) {
        let limit = (1 << prefixBits) - 1
        if value < limit {
            out.append(flags | UInt8(value))
            return
        }
        out.append(flags | UInt8(limit))
        var rest = value - limit
        while rest >= 128 {
            out.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    // MARK: decoding

    /// The decoding side of one connection: its dynamic table lives across header blocks.
    struct Decoder {
        /// Newest first, as HPACK indexes it.
        private(set) var dynamicTable: [(name: String, value: String)] = []
        private(set) var tableSize = 0
        /// SETTINGS_HEADER_TABLE_SIZE as this side advertised it (the default).
        var maxTableSize = 4096
        private var currentMaxSize = 4096

        init(maxTableSize: Int = 4096) {
            self.maxTableSize = maxTableSize
            self.currentMaxSize = maxTableSize
        }

        mutating func decode(_ block: [UInt8]) throws(DecodingError) -> [(String, String)] {
            var headers: [(String, String)] = []
            var i = 0
            while i < block.count {
                let b = block[i]
                if b & 0x80 != 0 {
                    // Indexed header field.
                    let index = try HPACK.decodeInteger(block, &i, prefixBits: 7)
                    headers.append(try entry(index))
                } else if b & 0xc0 == 0x40 {
                    // Literal with incremental indexing.
                    let field = try literal(block, &i, prefixBits: 6)
                    headers.append(field)
                    insert(field)
                } else if b & 0xe0 == 0x20 {
                    // Dynamic table size update.
                    let size = try HPACK.decodeInteger(block, &i, prefixBits: 5)
                    guard size <= maxTableSize else { throw DecodingError(description: "table size update \(size) above \(maxTableSize)") }
                    currentMaxSize = size
                    evict(to: size)
                } else {
                    // Literal without indexing (0000) or never indexed (0001).
                    headers.append(try literal(block, &i, prefixBits: 4))
                }
            }
            return headers
        }

        private func entry(_ index: Int) throws(DecodingError) -> (String, String) {
            if index >= 1 && index <= HPACK.staticTable.count { return HPACK.staticTable[index - 1] }
            let d = index - HPACK.staticTable.count - 1
            guard index > 0, d < dynamicTable.count else { throw DecodingError(description: "header index \(index) out of range") }
            return dynamicTable[d]
        }

        private func literal(_ block: [UInt8], _ i: inout Int, prefixBits: Int) throws(DecodingError) -> (String, String) {
            let index = try HPACK.decodeInteger(block, &i, prefixBits: prefixBits)
            let name = index == 0 ? try HPACK.decodeString(block, &i) : try entry(index).0
            let value = try HPACK.decodeString(block, &i)
            return (name, value)
        }

        private mutating func insert(_ field: (String, String)) {
            let size = field.0.utf8.count + field.1.utf8.count + 32
            guard size <= currentMaxSize else {
                // Larger than the table: it empties the table (RFC 7541 4.4).
                dynamicTable = []
                tableSize = 0
                return
            }
            evict(to: currentMaxSize - size)
            dynamicTable.insert((field.0, field.1), at: 0)
            tableSize += size
        }

        private mutating func evict(to limit: Int) {
            while tableSize > limit, let last = dynamicTable.popLast() {
                tableSize -= last.name.utf8.count + last.value.utf8.count + 32
            }
        }
    }

    static func decodeInteger(_ block: [UInt8], _ i: inout Int, prefixBits: Int) throws(DecodingError) -> Int {
        guard i < block.count else { throw DecodingError(description: "truncated integer") }
        let limit = (1 << prefixBits) - 1
        var value = Int(block[i]) & limit
        i += 1
        if value < limit { return value }
        var shift = 0
        while true {
            guard i < block.count else { throw DecodingError(description: "truncated integer") }
            let b = block[i]
            i += 1
            guard shift < 28 else { throw DecodingError(description: "integer too large") }
            value += Int(b & 0x7f) << shift
            shift += 7
            if b & 0x80 == 0 { return value }
        }
    }

    static func decodeString(_ block: [UInt8], _ i: inout Int) throws(DecodingError) -> String {
        guard i < block.count else { throw DecodingError(description: "truncated string") }
        let huffman = block[i] & 0x80 != 0
        let length = try decodeInteger(block, &i, prefixBits: 7)
        guard length <= block.count - i else { throw DecodingError(description: "truncated string") }
        let bytes = Array(block[i..<(i + length)])
        i += length
        if huffman { return String(decoding: try Huffman.decode(bytes), as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 7541 Appendix A.
    static let staticTable: [(String, String)] = [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ]
}

/// The HPACK Huffman code (RFC 7541 Appendix B).
enum Huffman {
    /// A binary tree over the codes: node 0 is the root; a child value c >= 0 is another node,
    /// c < 0 the leaf of symbol -c - 1.
    private static let tree: [(zero: Int32, one: Int32)] = {
        var nodes: [(zero: Int32, one: Int32)] = [(0, 0)]
        for symbol in 0..<codes.count {
            let code = codes[symbol], length = Int(lengths[symbol])
            var node = 0
            for bit in stride(from: length - 1, through: 0, by: -1) {
                let one = (code >> UInt32(bit)) & 1 == 1
                let last = bit == 0
                let child = one ? nodes[node].one : nodes[node].zero
                if last {
                    if one { nodes[node].one = Int32(-symbol - 1) } else { nodes[node].zero = Int32(-symbol - 1) }
                } else if child > 0 {
                    node = Int(child)
                } else {
                    nodes.append((0, 0))
                    let next = Int32(nodes.count - 1)
                    if one { nodes[node].one = next } else { nodes[node].zero = next }
                    node = Int(next)
                }
            }
        }
        return nodes
    }()

    static func decode(_ bytes: [UInt8]) throws(HPACK.DecodingError) -> [UInt8] {
        let tree = self.tree
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 8 / 5)
        var node = 0
        var depth = 0
        var allOnes = true
        for byte in bytes {
            for bit in stride(from: 7, through: 0, by: -1) {
                let one = (byte >> UInt8(bit)) & 1 == 1
                let child = one ? tree[node].one : tree[node].zero
                depth += 1
                allOnes = allOnes && one
                if child < 0 {
                    let symbol = Int(-child - 1)
                    guard symbol < 256 else { throw HPACK.DecodingError(description: "EOS in Huffman string") }
                    out.append(UInt8(symbol))
                    node = 0
                    depth = 0
                    allOnes = true
                } else if child == 0 {
                    throw HPACK.DecodingError(description: "invalid Huffman code")
                } else {
                    node = Int(child)
                }
            }
        }
        // What is left must be padding: the most significant bits of EOS (all ones), under a byte.
        guard depth < 8 && allOnes else { throw HPACK.DecodingError(description: "invalid Huffman padding") }
        return out
    }

    static let codes: [UInt32] = [
        0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
        0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0,
        0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9,
        0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa,
        0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb,
        0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
        0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3,
        0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9,
        0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7,
        0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde,
        0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4,
        0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb,
        0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb,
        0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2,
        0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7,
        0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1,
        0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4,
        0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed,
        0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5,
        0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
        0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, 0x3fffffff
    ]
    static let lengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28,
        28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15,
        6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22,
        20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23,
        23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22,
        22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26,
        27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27,
        26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30
    ]
}
