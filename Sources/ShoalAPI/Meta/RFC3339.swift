/// RFC 3339 timestamps, parsed and formatted by hand.
///
/// ISO8601DateFormatter differs between platforms in how it treats fractional seconds and
/// offsets; the API's wire format is small enough to do exactly here.
enum RFC3339 {
    struct Components: Equatable {
        /// Seconds since the Unix epoch, UTC.
        var seconds: Int64
        /// Nanoseconds within the second, 0..<1_000_000_000.
        var nanoseconds: Int32
    }

    struct ParseError: Error, CustomStringConvertible {
        var input: String
        var reason: String
        var description: String { "parsing time \(goQuote(input)) as RFC 3339: \(reason)" }
    }

    /// Parses `2006-01-02T15:04:05Z`, `2006-01-02T15:04:05.999999999+07:00` and the like.
    static func parse(_ text: String) throws -> Components {
        let b = Array(text.utf8)
        var i = 0
        func fail(_ reason: String) -> ParseError { ParseError(input: text, reason: reason) }
        func digits(_ n: Int) throws -> Int {
            guard i + n <= b.count else { throw fail("truncated") }
            var v = 0
            for _ in 0..<n {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { throw fail("expected digit at offset \(i)") }
                v = v * 10 + Int(c - 0x30)
                i += 1
            }
            return v
        }
        func expect(_ chars: String) throws {
            guard i < b.count, chars.utf8.contains(b[i]) else { throw fail("expected '\(chars.prefix(1))' at offset \(i)") }
            i += 1
        }

        let year = try digits(4)
        try expect("-")
        let month = try digits(2)
        try expect("-")
        let day = try digits(2)
        try expect("Tt")
        let hour = try digits(2)
        try expect(":")
        let minute = try digits(2)
        try expect(":")
        let second = try digits(2)

        var nanos = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if count < 9 { nanos = nanos * 10 + Int(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { throw fail("expected fractional seconds after '.'") }
            for _ in count..<max(count, 9) { nanos *= 10 }
        }

        var offsetSeconds = 0
        guard i < b.count else { throw fail("missing time zone") }
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            let oh = try digits(2)
            try expect(":")
            let om = try digits(2)
            guard oh < 24, om < 60 else { throw fail("time zone offset out of range") }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            throw fail("expected 'Z' or an offset at offset \(i)")
        }
        guard i == b.count else { throw fail("extra text after the time zone") }

        guard (1...12).contains(month) else { throw fail("month out of range") }
        guard day >= 1, day <= daysInMonth(year: year, month: month) else { throw fail("day out of range") }
        guard hour < 24 else { throw fail("hour out of range") }
        guard minute < 60 else { throw fail("minute out of range") }
        guard second < 60 else { throw fail("second out of range") }

        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return Components(seconds: seconds, nanoseconds: Int32(nanos))
    }

    /// Formats in UTC with `fractionDigits` digits of fraction (0 for none), truncating.
    static func format(_ c: Components, fractionDigits: Int) -> String {
        let days = floorDiv(c.seconds, 86400)
        let secondOfDay = c.seconds - days * 86400
        let (year, month, day) = civilFromDays(Int(days))
        var s = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        s += pad(Int(secondOfDay / 3600), 2) + ":" + pad(Int(secondOfDay % 3600 / 60), 2) + ":" + pad(Int(secondOfDay % 60), 2)
        if fractionDigits > 0 {
            var frac = Int(c.nanoseconds)
            for _ in fractionDigits..<9 { frac /= 10 }
            s += "." + pad(frac, fractionDigits)
        }
        return s + "Z"
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let digits = String(v)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func isLeapYear(_ y: Int) -> Bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, exact.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
