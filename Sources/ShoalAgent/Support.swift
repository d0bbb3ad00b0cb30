import Foundation
import ShoalAPI
import ShoalOS

extension Time {
    init(epochSeconds: Double) { self.init(secondsSinceEpoch: Int64(epochSeconds.rounded(.down))) }
    var epochSeconds: Double { Double(secondsSinceEpoch) }
}

/// JSON for the agent's own files and API bodies.
enum JSONCoding {
    static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// The last lines of a container's CRI log, as plain text (for FallbackToLogsOnError).
enum LogTail {
    static func lastLines(_ path: String, lines: Int, bytes: Int) -> String? {
        guard let raw = try? FileSystem.read(path), !raw.isEmpty else { return nil }
        var out: [String] = []
        for line in raw.split(separator: UInt8(ascii: "\n")) {
            guard let record = CRIRecordText.content(line) else { continue }
            out.append(record)
        }
        let text = out.suffix(lines).joined(separator: "\n")
        return String(text.suffix(bytes))
    }
}

enum CRIRecordText {
    /// The content of one CRI log line (after timestamp, stream and tag).
    static func content(_ line: ArraySlice<UInt8>) -> String? {
        var spaces = 0
        for i in line.indices where line[i] == UInt8(ascii: " ") {
            spaces += 1
            if spaces == 3 { return String(decoding: line[(i + 1)...], as: UTF8.self) }
        }
        return nil
    }
}
