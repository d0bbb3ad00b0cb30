/// A port of `resource.ParseQuantity` (k8s.io/apimachinery/pkg/api/resource/quantity.go),
/// including its quirks: leading zeros and a lone sign are accepted, `1.` is allowed, and the
/// input is reused as the printed form only when it is already canonical.
enum QuantityParser {
    private struct Parts {
        var positive = true
        var num = ""
        var denom = ""
        var suffix = ""
    }

    static func parse(_ str: String) throws(QuantityError) -> Quantity {
        if str.isEmpty { throw .formatWrong }
        if str == "0" { return Quantity(parsedNanos: 0, format: .decimalSI, original: str, canonical: true) }

        let parts = try split(str)
        guard let (base, exponent, format) = interpret(parts.suffix) else { throw .suffix }

        let canonical = isCanonicalFastPath(parts: parts, base: base, exponent: exponent, format: format)

        // Exact value in nano-units: digits × base^exponent × 10^(9 − fraction digits).
        var digits = BigUInt(digits: Substring(parts.num + parts.denom))
        var exponent10 = 9 - parts.denom.count
        if base == 10 {
            exponent10 += Int(exponent)
        } else {
            for _ in 0..<exponent { digits.multiply(by: 2) }
        }

        var magnitude: Int128
        if digits.isZero {
            magnitude = 0
        } else if exponent10 >= 0 {
            if exponent10 > 40 {
                magnitude = Quantity.maxNanos
            } else {
                for _ in 0..<exponent10 { digits.multiply(by: 10) }
                magnitude = min(digits.int128 ?? Quantity.maxNanos, Quantity.maxNanos)
            }
        } else {
            // Below a nano-unit: round up, so that asking for a little gets a little.
            var inexact = false
            let shifts = -exponent10
            for _ in 0..<shifts {
                if digits.isZero { break }
                if digits.divide(by: 10) != 0 { inexact = true }
            }
            magnitude = min(digits.int128 ?? Quantity.maxNanos, Quantity.maxNanos)
            if inexact { magnitude += 1 }
        }

        var finalFormat = format
        if format == .binarySI, magnitude > 0, magnitude < Quantity.nanoPerUnit {
            // Fractions of a byte print as decimal rather than being rounded.
            finalFormat = .decimalSI
        }
        return Quantity(parsedNanos: parts.positive ? magnitude : -magnitude, format: finalFormat,
                        original: str, canonical: canonical)
    }

    /// parseQuantityString: sign, integer digits, fraction digits, suffix.
    private static func split(_ str: String) throws(QuantityError) -> Parts {
        let b = Array(str.utf8)
        var parts = Parts()
        var pos = 0
        let end = b.count
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func text(_ from: Int, _ to: Int) -> String { String(decoding: b[from..<to], as: UTF8.self) }

        if pos < end {
            switch b[0] {
            case UInt8(ascii: "-"):
                parts.positive = false
                pos += 1
            case UInt8(ascii: "+"):
                pos += 1
            default:
                break
            }
        }
        // Leading zeros; an input of only zeros (or only a sign) is zero.
        while pos < end, b[pos] == UInt8(ascii: "0") { pos += 1 }
        if pos >= end {
            parts.num = "0"
            return parts
        }
        let numStart = pos
        while pos < end, isDigit(b[pos]) { pos += 1 }
        parts.num = text(numStart, pos)
        if pos >= end { return parts }
        if parts.num.isEmpty { parts.num = "0" }

        if b[pos] == UInt8(ascii: ".") {
            pos += 1
            let denomStart = pos
            while pos < end, isDigit(b[pos]) { pos += 1 }
            parts.denom = text(denomStart, pos)
            if pos >= end { return parts }
        }

        let suffixStart = pos
        let suffixLetters = Array("eEinumkKMGTP".utf8)
        while pos < end, suffixLetters.contains(b[pos]) { pos += 1 }
        if pos < end, b[pos] == UInt8(ascii: "-") || b[pos] == UInt8(ascii: "+") { pos += 1 }
        while pos < end, isDigit(b[pos]) { pos += 1 }
        // Anything left over is neither suffix nor exponent.
        guard pos == end else { throw .formatWrong }
        parts.suffix = text(suffixStart, end)
        return parts
    }

    /// Maps a suffix to (base, exponent, format); nil when it is not a known suffix.
    private static func interpret(_ suffix: String) -> (Int, Int32, Quantity.Format)? {
        switch suffix {
        case "": return (10, 0, .decimalSI)
        case "n": return (10, -9, .decimalSI)
        case "u": return (10, -6, .decimalSI)
        case "m": return (10, -3, .decimalSI)
        case "k": return (10, 3, .decimalSI)
        case "M": return (10, 6, .decimalSI)
        case "G": return (10, 9, .decimalSI)
        case "T": return (10, 12, .decimalSI)
        case "P": return (10, 15, .decimalSI)
        case "E": return (10, 18, .decimalSI)
        case "Ki": return (2, 10, .binarySI)
        case "Mi": return (2, 20, .binarySI)
        case "Gi": return (2, 30, .binarySI)
        case "Ti": return (2, 40, .binarySI)
        case "Pi": return (2, 50, .binarySI)
        case "Ei": return (2, 60, .binarySI)
        default:
            guard suffix.count > 1, let first = suffix.first, first == "e" || first == "E",
                let parsed = Int64(suffix.dropFirst())
            else { return nil }
            // Go converts with int32(parsed), wrapping silently.
            return (10, Int32(truncatingIfNeeded: parsed), .decimalExponent)
        }
    }

    /// Whether ParseQuantity would keep the input string as the quantity's printed form.
    private static func isCanonicalFastPath(parts: Parts, base: Int, exponent: Int32, format: Quantity.Format) -> Bool {
        var precision: Int
        var scale: Int
        var mantissa: Int64 = 1
        switch format {
        case .decimalExponent, .decimalSI:
            scale = Int(exponent)
            precision = 18 - (parts.num.count + parts.denom.count)
        case .binarySI:
            scale = 0
            if exponent >= 0 && parts.denom.isEmpty {
                mantissa = Int64(1) << Int64(exponent)
                precision = 15 - parts.num.count - Int(Float(exponent) * 3 / 10) - 1
            } else {
                precision = -1
            }
        }
        guard precision >= 0 else { return false }
        scale -= parts.denom.count
        guard scale >= -9 else { return false }
        let shifted = parts.num + parts.denom
        guard let value = Int64(shifted) else { return false }
        guard !value.multipliedReportingOverflow(by: mantissa).overflow else { return false }
        switch format {
        case .binarySI:
            return exponent % 10 == 0 && value & 0x07 != 0
        case .decimalSI, .decimalExponent:
            return scale % 3 == 0 && !shifted.hasSuffix("000") && shifted.first != "0"
        }
    }
}
