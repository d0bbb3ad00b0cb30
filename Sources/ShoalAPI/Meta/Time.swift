#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// metav1.Time: a timestamp with second precision, serialized as RFC 3339 in UTC
/// (`2024-05-01T10:00:00Z`). Parsing accepts fractional seconds and offsets, which are dropped
/// and normalized, as Kubernetes does.
public struct Time: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Seconds since the Unix epoch.
    public var secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    /// Truncates `date` to whole seconds.
    public init(_ date: Date) {
        secondsSinceEpoch = Int64(date.timeIntervalSince1970.rounded(.down))
    }

    public static func now() -> Time { Time(Date()) }

    /// Parses an RFC 3339 timestamp.
    public init(rfc3339 text: String) throws {
        secondsSinceEpoch = try RFC3339.parse(text).seconds
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }

    /// `2024-05-01T10:00:00Z`
    public var rfc3339: String {
        RFC3339.format(.init(seconds: secondsSinceEpoch, nanoseconds: 0), fractionDigits: 0)
    }

    public var description: String { rfc3339 }

    public static func < (lhs: Time, rhs: Time) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(rfc3339: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

/// metav1.MicroTime: a timestamp with microsecond precision (`2006-01-02T15:04:05.000000Z`),
/// used by `Event.eventTime`.
public struct MicroTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var secondsSinceEpoch: Int64
    /// 0..<1_000_000
    public var microseconds: Int32

    public init(secondsSinceEpoch: Int64, microseconds: Int32 = 0) {
        let carry = Int64(microseconds) / 1_000_000
        var micros = Int64(microseconds) % 1_000_000
        var seconds = secondsSinceEpoch + carry
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        self.secondsSinceEpoch = seconds
        self.microseconds = Int32(micros)
    }

    /// Truncates `date` to whole microseconds.
    public init(_ date: Date) {
        let t = date.timeIntervalSince1970
        let seconds = t.rounded(.down)
        // Rounding the fraction (not truncating) absorbs binary floating-point error.
        let micros = ((t - seconds) * 1_000_000).rounded()
        self.init(secondsSinceEpoch: Int64(seconds), microseconds: Int32(micros))
    }

    public static func now() -> MicroTime { MicroTime(Date()) }

    public init(rfc3339 text: String) throws {
        let c = try RFC3339.parse(text)
        secondsSinceEpoch = c.seconds
        microseconds = c.nanoseconds / 1000
    }

    public var date: Date {
        Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch) + TimeInterval(microseconds) / 1_000_000)
    }

    /// `2006-01-02T15:04:05.000000Z`
    public var rfc3339: String {
        RFC3339.format(.init(seconds: secondsSinceEpoch, nanoseconds: microseconds * 1000), fractionDigits: 6)
    }

    public var description: String { rfc3339 }

    public static func < (lhs: MicroTime, rhs: MicroTime) -> Bool {
        (lhs.secondsSinceEpoch, lhs.microseconds) < (rhs.secondsSinceEpoch, rhs.microseconds)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(rfc3339: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

extension Time: DecodingPlaceholder {
    static var decodingPlaceholder: Time { Time(secondsSinceEpoch: 0) }
}

extension MicroTime: DecodingPlaceholder {
    static var decodingPlaceholder: MicroTime { MicroTime(secondsSinceEpoch: 0) }
}
