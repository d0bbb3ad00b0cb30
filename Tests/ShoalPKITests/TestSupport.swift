import Foundation
import Testing

/// A scratch directory under /tmp/shoal-pki-test-*, removed when the test body returns or throws.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = "/tmp/shoal-pki-test-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct MissingTool: Error, CustomStringConvertible {
    var name: String
    var description: String { "\(name) is not installed (apt-get install \(name)); these tests check files with it" }
}

/// Runs a real tool (openssl, kubectl) so the files are judged by the software that will consume them.
/// `executable` is a name looked up in the usual bin directories, or an absolute path.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ProcessResult {
    let name = (executable as NSString).lastPathComponent
    let candidates =
        executable.hasPrefix("/") && FileManager.default.isExecutableFile(atPath: executable)
        ? [executable] : ["/usr/local/bin", "/usr/bin", "/bin"].map { "\($0)/\(name)" }
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw MissingTool(name: name)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain stderr on another thread while reading stdout, so a chatty tool cannot block on a full pipe.
    let stderrBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        stderrBox.set(err.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let stderrData = stderrBox.get()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: stdoutData, as: UTF8.self),
        stderr: String(decoding: stderrData, as: UTF8.self))
}

func fileMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

func readText(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

/// The PEM blocks of a text, in order.
func pemBlocks(_ text: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring] = []
    for line in text.split(separator: "\n") {
        if line.hasPrefix("-----BEGIN") { current = [] }
        current.append(line)
        if line.hasPrefix("-----END") { blocks.append(current.joined(separator: "\n") + "\n") }
    }
    return blocks
}

/// A value handed from one thread (or event loop callback) to the test.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
}

typealias DataBox = Box<Data>
extension Box where Value == Data {
    convenience init() { self.init(Data()) }
}
