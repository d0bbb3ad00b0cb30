import ArgumentParser
import Foundation
import Logging
import ShoalAPI
import ShoalAgent
import ShoalImage
import ShoalOS

/// `shoal`: the node agent and the tools to see and use what it runs.
public struct Shoal: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Run Kubernetes pods on this Linux host: real namespaces, cgroups and overlay mounts.",
        subcommands: [UpCommand.self, AgentCommand.self, MasterCommand.self, LabCommand.self, TokenCommand.self, ImageCommand.self, PodsCommand.self, DescribeCommand.self, LogsCommand.self, ExecCommand.self, AttachSidecarCommand.self, BenchSpawnCommand.self, BenchNetworkCommand.self])

    public init() {}
}

public enum ShoalCLIMain {
    public static func main() async {
        await Shoal.main()
    }
}

/// `--data-dir`, shared by every command.
struct DataDirOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Where Shoal keeps images, pods and logs (default $SHOAL_DATA_DIR or /var/lib/shoal).")
    var dataDir: String?

    var path: String {
        if let dataDir { return absolute(dataDir) }
        if let env = ProcessInfo.processInfo.environment["SHOAL_DATA_DIR"], !env.isEmpty { return absolute(env) }
        return "/var/lib/shoal"
    }

    var socketPath: String { path + "/agent.sock" }
}

func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    return FileManager.default.currentDirectoryPath + "/" + path
}

/// Durations as Kubernetes flags take them: `0s`, `2s`, `500ms`, `5m`, `1h30m`.
func parseDuration(_ text: String) throws -> Double {
    var total = 0.0
    var number = ""
    var unit = ""
    func flush() throws {
        guard !number.isEmpty else { return }
        guard let v = Double(number) else { throw ValidationError("invalid duration \"\(text)\"") }
        switch unit {
        case "h": total += v * 3600
        case "m": total += v * 60
        case "s", "": total += v
        case "ms": total += v / 1000
        default: throw ValidationError("invalid duration \"\(text)\": unknown unit \"\(unit)\"")
        }
        number = ""
        unit = ""
    }
    for c in text {
        if c.isNumber || c == "." {
            if !unit.isEmpty { try flush() }
            number.append(c)
        } else {
            unit.append(c)
        }
    }
    try flush()
    return total
}

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(("error: " + message + "\n").data(using: .utf8) ?? Data())
    exit(code)
}

/// Logging to stderr at a chosen level.
func makeLogger(_ label: String, level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    return Logger(label: label)
}
