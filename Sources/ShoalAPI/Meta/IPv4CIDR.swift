/// An IPv4 address as a number, so ranges can be counted and walked.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Strict dotted-quad (no leading zeros beyond a lone 0), as Go's netip parses it.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  part.utf8.count == 1 || part.utf8.first != 0x30, let n = UInt32(part), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR notation: the service range, the cluster's pod range, a node's share.
public struct IPv4CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    public init(network: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.network = IPv4Address(network.value & Self.mask(prefixLength))
    }

    /// `10.43.0.0/16`. Host bits must be zero, as kube-apiserver requires of its ranges.
    public init(parsing text: String) throws(CIDRError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(parts[1]), (0...32).contains(length)
        else { throw CIDRError.invalid(text) }
        let cidr = IPv4CIDR(network: address, prefixLength: length)
        guard cidr.network == address else { throw CIDRError.hostBitsSet(text, cidr) }
        self = cidr
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << (32 - length) }

    /// How many addresses the network spans, network and broadcast included.
    public var size: UInt64 { UInt64(1) << (32 - prefixLength) }
    public var last: IPv4Address { IPv4Address(network.value | ~Self.mask(prefixLength)) }

    public func contains(_ address: IPv4Address) -> Bool { address.value & Self.mask(prefixLength) == network.value }

    public func overlaps(_ other: IPv4CIDR) -> Bool { contains(other.network) || other.contains(network) }

    /// The address `offset` past the network address.
    public func address(_ offset: UInt32) -> IPv4Address { IPv4Address(network.value &+ offset) }

    /// The `index`th subnet of `length` inside this network, nil past the end.
    public func subnet(_ index: Int, length: Int) -> IPv4CIDR? {
        guard length >= prefixLength, length <= 32, index >= 0, UInt64(index) < UInt64(1) << (length - prefixLength) else { return nil }
        return IPv4CIDR(network: IPv4Address(network.value | UInt32(index) << (32 - length)), prefixLength: length)
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

public enum CIDRError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case hostBitsSet(String, IPv4CIDR)

    public var description: String {
        switch self {
        case .invalid(let text): return "invalid CIDR address: \(text) (want an IPv4 network such as 10.43.0.0/16)"
        case .hostBitsSet(let text, let network): return "\(text) has host bits set: did you mean \(network)?"
        }
    }
}
