/// Just enough unsigned big-integer arithmetic to turn a quantity's decimal digits into an exact
/// count of nano-units, whatever the number of digits the user typed.
struct BigUInt: Equatable {
    /// Little-endian base-2^32 limbs, no trailing zero limbs.
    private(set) var limbs: [UInt32] = []

    init() {}

    /// Parses a string of ASCII digits (the caller has validated them).
    init(digits: Substring) {
        for c in digits.utf8 {
            multiply(by: 10)
            add(UInt32(c - UInt8(ascii: "0")))
        }
    }

    var isZero: Bool { limbs.isEmpty }

    mutating func multiply(by m: UInt32) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let product = UInt64(limbs[i]) * UInt64(m) + carry
            limbs[i] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
        normalize()
    }

    mutating func add(_ a: UInt32) {
        var carry = UInt64(a)
        var i = 0
        while carry != 0 {
            if i == limbs.count { limbs.append(0) }
            let sum = UInt64(limbs[i]) + carry
            limbs[i] = UInt32(truncatingIfNeeded: sum)
            carry = sum >> 32
            i += 1
        }
    }

    /// Divides in place and returns the remainder.
    mutating func divide(by d: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for i in limbs.indices.reversed() {
            let current = (remainder << 32) | UInt64(limbs[i])
            limbs[i] = UInt32(current / UInt64(d))
            remainder = current % UInt64(d)
        }
        normalize()
        return UInt32(remainder)
    }

    private mutating func normalize() {
        while let last = limbs.last, last == 0 { limbs.removeLast() }
    }

    /// The value, when it fits in 127 bits.
    var int128: Int128? {
        guard limbs.count <= 4 else { return nil }
        var v: UInt128 = 0
        for limb in limbs.reversed() { v = (v << 32) | UInt128(limb) }
        return v > UInt128(Int128.max) ? nil : Int128(v)
    }
}
