import ArgumentParser
import Dispatch
import Foundation
import Logging
import ShoalAgent
import ShoalImage
import ShoalOS
import ShoalRuntime

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: the pods of the manifests in a directory (static pods), re-read on every change.")

    @OptionGroup var data: DataDirOption

    @Option(help: "A directory of v1 Pod manifests (*.yaml, *.yml, *.json; several documents per file).")
    var manifests: String?

    @Option(name: .customLong("node-name"), help: "The node's name (default: the host name).")
    var nodeName: String?

    @Option(name: .customLong("max-backoff"), help: "The longest crash-loop back-off, e.g. 0s, 2s, 5m (the kubelet's is 300s).")
    var maxBackoff: String = "300s"

    @Option(name: .customLong("cgroup-parent"), help: "The cgroup, below the agent's own, that holds every pod's cgroup.")
    var cgroupParent: String = "shoal"

    @Option(name: .customLong("container-log-max-size"), help: "Rotate a container's log file at this size (bytes, or with Ki/Mi suffix).")
    var logMaxSize: String = "10Mi"

    @Option(name: .customLong("container-log-max-files"), help: "How many log files to keep per container.")
    var logMaxFiles: UInt32 = 5

    @Flag(help: "On exit, stop every pod and remove what the agent made (else pods keep running and the next agent re-adopts them).")
    var cleanup = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard getuid() == 0 else { fail("the agent runs pods with namespaces and cgroups, which needs root") }
        let logger = makeLogger("shoal.agent", level: logLevel)
        let dataDir = data.path
        let store = try ImageStore(dataDir: dataDir, logger: logger)
        let config = AgentConfig(
            dataDir: dataDir, nodeName: nodeName ?? hostName(), maxBackoff: try parseDuration(maxBackoff),
            containerLogMaxSize: UInt64(try parseSize(logMaxSize)), containerLogMaxFiles: logMaxFiles, cgroupParent: cgroupParent,
            hostIP: HostAddress.primaryIPv4() ?? "127.0.0.1", cleanupOnExit: cleanup)
        let agent = try Agent(config: config, images: StoreImageResolver(store: store), logger: logger)
        try await agent.start(manifestsDir: manifests.map(absolute))
        print("shoal agent running: node \(config.nodeName), data dir \(dataDir), API \(config.socketPath)")
        await waitForTermination()
        await agent.stop()
    }

    func parseSize(_ text: String) throws -> Int64 {
        guard let q = try? ShoalAPI.Quantity(text) else { throw ValidationError("invalid size \"\(text)\"") }
        return q.value()
    }
}

/// Waits for SIGTERM or SIGINT (event-driven, through dispatch signal sources).
func waitForTermination() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let once = Locked(false)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let first = once.withLock { fired -> Bool in
                    defer { fired = true }
                    return !fired
                }
                if first { c.resume() }
            }
            source.resume()
            sources.append(source)
        }
        // Keep the sources alive for the process' lifetime.
        SignalSources.keep(sources)
    }
}

enum SignalSources {
    nonisolated(unsafe) static var kept: [DispatchSourceSignal] = []
    static func keep(_ s: [DispatchSourceSignal]) { kept += s }
}

func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, buf.count)
    return string(fromCBuffer: buf).lowercased()
}

import ShoalAPI
