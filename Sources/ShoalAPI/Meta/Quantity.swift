/// resource.Quantity: a fixed-point number with an SI, binary-SI or exponent suffix
/// (`100m`, `1.5Gi`, `129e6`), exactly as Kubernetes parses, rounds and prints it.
///
/// The value is held as an exact count of nano-units (10⁻⁹), which is the finest precision
/// Kubernetes keeps: anything smaller is rounded up (away from zero), and magnitudes are capped
/// at 2⁶³−1, as in `resource.ParseQuantity`. No floating point is involved.
public struct Quantity: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// How the quantity prints: the suffix family it was written with.
    public enum Format: String, Sendable, Hashable {
        /// `12e6`
        case decimalExponent = "DecimalExponent"
        /// `12Mi`
        case binarySI = "BinarySI"
        /// `12M`, `100m`
        case decimalSI = "DecimalSI"
    }

    /// The value × 10⁹.
    public private(set) var nanos: Int128
    public private(set) var format: Format
    /// The text this quantity was parsed from, kept so that encoding writes back what was read.
    public private(set) var original: String?
    /// Kubernetes reuses the input as its String() when it is already canonical; this records
    /// whether it would.
    private var originalIsCanonical: Bool

    static let nanoPerUnit: Int128 = 1_000_000_000
    /// Kubernetes caps every quantity at ±(2⁶³−1).
    static let maxNanos = Int128(Int64.max) * nanoPerUnit

    public static let zero = Quantity(nanos: 0, format: .decimalSI)

    init(nanos: Int128, format: Format) {
        self.nanos = max(-Self.maxNanos, min(Self.maxNanos, nanos))
        self.format = format
        self.original = nil
        self.originalIsCanonical = false
    }

    /// A whole number of units (bytes, cores, …).
    public init(integer value: Int64, format: Format = .decimalSI) {
        self.init(nanos: Int128(value) * Self.nanoPerUnit, format: format)
    }

    /// A number of thousandths of a unit (`Quantity(milli: 250)` is `250m`).
    public init(milli value: Int64, format: Format = .decimalSI) {
        self.init(nanos: Int128(value) * 1_000_000, format: format)
    }

    /// Parses a quantity string; throws `QuantityError` with Kubernetes' messages.
    public init(_ text: String) throws(QuantityError) {
        self = try QuantityParser.parse(text)
    }

    init(parsedNanos: Int128, format: Format, original: String, canonical: Bool) {
        self.init(nanos: parsedNanos, format: format)
        self.original = original
        self.originalIsCanonical = canonical
    }

    // MARK: - Values

    public var isZero: Bool { nanos == 0 }
    public var sign: Int { nanos == 0 ? 0 : (nanos < 0 ? -1 : 1) }

    /// The value in whole units, rounded up (away from zero): `100m` → 1, `1.5Gi` → 1610612736.
    public func value() -> Int64 { scaledValue(0) }

    /// The value in thousandths, rounded up (away from zero): `0.5` → 500, `500u` → 1.
    public func milliValue() -> Int64 { scaledValue(-3) }

    /// The value in units of 10^`scale`, rounded up (away from zero), clamped to Int64.
    public func scaledValue(_ scale: Int) -> Int64 {
        let exponent = 9 + scale
        var v = nanos
        if exponent >= 0 {
            let divisor = Self.pow10(exponent)
            let (q, r) = v.quotientAndRemainder(dividingBy: divisor)
            v = q + (r > 0 ? 1 : (r < 0 ? -1 : 0))
        } else {
            let (product, overflow) = v.multipliedReportingOverflow(by: Self.pow10(-exponent))
            v = overflow ? (nanos < 0 ? Int128.min : Int128.max) : product
        }
        return Int64(clamping: v)
    }

    static func pow10(_ n: Int) -> Int128 {
        var r: Int128 = 1
        for _ in 0..<max(0, min(n, 38)) { r *= 10 }
        return r
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos < rhs.nanos }

    /// Numeric equality: `1Gi == 1073741824`, as `Quantity.Cmp` and Kubernetes' semantic equality.
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos == rhs.nanos }

    public func hash(into hasher: inout Hasher) { hasher.combine(nanos) }

    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity {
        Quantity(nanos: lhs.nanos + rhs.nanos, format: lhs.isZero ? rhs.format : lhs.format)
    }

    public static func - (lhs: Quantity, rhs: Quantity) -> Quantity {
        Quantity(nanos: lhs.nanos - rhs.nanos, format: lhs.isZero ? rhs.format : lhs.format)
    }

    /// Rounds up (away from zero) to a multiple of 10^`scale`, as `Quantity.RoundUp`.
    /// Returns self unchanged when already exact, so a canonical original text survives.
    public func roundedUp(toScale scale: Int) -> Quantity {
        let exponent = 9 + scale
        guard exponent > 0 else { return self }
        let unit = Self.pow10(exponent)
        let (q, r) = nanos.quotientAndRemainder(dividingBy: unit)
        guard r != 0 else { return self }
        return Quantity(nanos: (q + (r > 0 ? 1 : -1)) * unit, format: format)
    }

    // MARK: - Printing

    /// The string Kubernetes prints (`Quantity.String()`): the input when it was already
    /// canonical, else the canonical form (`0.5` → `500m`, `1.5Gi` → `1536Mi`).
    public var description: String {
        if originalIsCanonical, let original { return original }
        return canonical
    }

    /// The canonical form, computed from the value.
    public var canonical: String {
        if nanos == 0 { return "0" }
        var format = self.format
        if format == .binarySI {
            // Binary suffixes only for whole values of at least 1Ki, so nothing is rounded.
            if nanos > -1024 * Self.nanoPerUnit && nanos < 1024 * Self.nanoPerUnit || nanos % Self.nanoPerUnit != 0 {
                format = .decimalSI
            }
        }
        switch format {
        case .binarySI:
            var mantissa = nanos / Self.nanoPerUnit
            var exponent = 0
            while mantissa % 1024 == 0 && exponent < 6 {
                mantissa /= 1024
                exponent += 1
            }
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            return String(mantissa) + suffixes[exponent]
        case .decimalSI, .decimalExponent:
            var mantissa = nanos
            var exponent = -9
            while mantissa % 10 == 0 {
                mantissa /= 10
                exponent += 1
            }
            // Exponents are printed in steps of three.
            switch ((exponent % 3) + 3) % 3 {
            case 1:
                mantissa *= 10
                exponent -= 1
            case 2:
                mantissa *= 100
                exponent -= 2
            default:
                break
            }
            if format == .decimalExponent {
                return String(mantissa) + (exponent == 0 ? "" : "e\(exponent)")
            }
            let suffixes: [Int: String] = [-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"]
            return String(mantissa) + (suffixes[exponent] ?? "e\(exponent)")
        }
    }

    // MARK: - Codable

    public init(from decoder: any Decoder) throws {
        let text: String
        if let valueDecoder = decoder as? JSONValueDecoder {
            // Like Quantity.UnmarshalJSON: any JSON token but null is taken as the quantity's
            // text (quotes removed, spaces trimmed), so `true` or `{}` fail as bad quantities.
            switch valueDecoder.value {
            case .string(let s): text = s.trimmingASCIIWhitespace()
            case .int(let i): text = String(i)
            case .double(let d): text = JSONWriter.formatDouble(d)
            case .null:
                self = .zero
                return
            case let other: text = goJSONText(other)
            }
        } else {
            let container = try decoder.singleValueContainer()
            if let s = try? container.decode(String.self) {
                text = s
            } else if let i = try? container.decode(Int64.self) {
                text = String(i)
            } else {
                text = JSONWriter.formatDouble(try container.decode(Double.self))
            }
        }
        self = try QuantityParser.parse(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(original ?? description)
    }
}

/// Why a quantity string was rejected, with Kubernetes' exact messages.
public enum QuantityError: Error, Sendable, Hashable, CustomStringConvertible {
    case formatWrong
    case numeric
    case suffix

    public var description: String {
        switch self {
        case .formatWrong:
            return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        case .numeric:
            return "unable to parse quantity's numeric part"
        case .suffix:
            return "unable to parse quantity's suffix"
        }
    }
}

extension Quantity: DecodingPlaceholder {
    static var decodingPlaceholder: Quantity { .zero }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
