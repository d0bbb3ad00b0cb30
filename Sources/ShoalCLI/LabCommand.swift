import ArgumentParser
import Foundation
import ShoalAPI
import ShoalLab

/// `shoal lab`: a multi-node cluster on this host, each node a network namespace of its own.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Run a multi-node lab on this host: a master and N nodes, each in its own network namespace.",
        subcommands: [Up.self, Down.self, Status.self, Load.self, NodeCommand.self])

    static func lab(_ data: DataDirOption) -> Lab {
        Lab(dataDir: data.path) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Lab errors are the user's to act on: printed plainly, exit 1.
    static func run(_ body: () async throws -> Void) async {
        do { try await body() } catch let e as LabError { fail(e.description) } catch { fail("\(error)") }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a lab: the switch and node namespaces, the master, the nodes joining it over TLS; waits until all are Ready.")
        @OptionGroup var data: DataDirOption
        @Option(help: "How many nodes.") var nodes = 3
        @Option(help: "The lab's name (part of its namespaces' and cgroups' names).") var name = "lab"
        @Option(help: "The switch's subnet: the master takes the first address, node N the tenth plus N-1.") var subnet = "172.30.0.0/24"
        @Option(name: .customLong("node-status-update-frequency"), help: "How often each node posts its status and renews its Lease.")
        var nodeStatusUpdateFrequency = "10s"
        @Option(name: .customLong("node-monitor-grace-period"), help: "How long a node may go without renewing its Lease before it is NotReady.")
        var nodeMonitorGracePeriod = "40s"
        @Option(name: .customLong("default-unreachable-toleration-seconds"), help: "How long pods stay on an unreachable node before they are evicted.")
        var defaultTolerationSeconds: Int64 = 300
        @Option(name: .customLong("load-balancer-ip-range"), help: "The range LoadBalancer addresses come from (default: the nodes' own addresses).")
        var loadBalancerIPRange: String?
        @Option(name: .customLong("log-level"), help: "The master's and agents' log level (their logs are in DATA_DIR/lab/).")
        var logLevel = "info"

        func run() async throws {
            guard getuid() == 0 else { fail("a lab makes network namespaces and cgroups, which needs root") }
            var o = LabOptions()
            o.name = name
            o.nodes = nodes
            o.subnet = subnet
            o.nodeStatusUpdateFrequency = nodeStatusUpdateFrequency
            o.nodeMonitorGracePeriod = nodeMonitorGracePeriod
            o.defaultUnreachableTolerationSeconds = defaultTolerationSeconds
            o.loadBalancerIPRange = loadBalancerIPRange
            o.logLevel = logLevel
            for (flag, value) in [("--node-status-update-frequency", nodeStatusUpdateFrequency), ("--node-monitor-grace-period", nodeMonitorGracePeriod)] {
                do { _ = try parseDuration(value) } catch { throw ValidationError("\(flag): \(error)") }
            }
            let lab = LabCommand.lab(data)
            FileHandle.standardError.write(Data("Creating lab \"\(name)\" with \(nodes) node\(nodes == 1 ? "" : "s") in \(data.path)\n".utf8))
            await LabCommand.run { try await lab.up(o) }
            print("lab \"\(name)\" is up; point kubectl at it: export KUBECONFIG=\(lab.paths.kubeconfig)")
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the lab and remove its namespaces, interfaces, mounts, cgroups, processes and files (the image store stays).")
        @OptionGroup var data: DataDirOption

        func run() async throws {
            await LabCommand.run { try await LabCommand.lab(data).down() }
            print("lab removed")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the lab's master and nodes: processes, addresses, readiness, pods.")
        @OptionGroup var data: DataDirOption

        func run() async throws {
            await LabCommand.run {
                let s = try await LabCommand.lab(data).status()
                print("LAB \(s.name)   master: \(s.master)   API: \(s.server ?? "-")   kubeconfig: \(s.kubeconfig)")
                var rows = [["NODE", "ADDRESS", "NAMESPACE", "AGENT", "STATUS", "PODS"]]
                for n in s.nodes { rows.append([n.name, n.address, n.namespace, n.agent, n.ready, String(n.pods)]) }
                print(TextTable.render(rows), terminator: "")
            }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import image archives into a running lab: every node uses the lab's one image store (as kind load image-archive).")
        @OptionGroup var data: DataDirOption
        @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
        @Argument(help: "OCI image-layout or docker-archive tarballs.") var files: [String]

        func run() async throws {
            await LabCommand.run {
                let s = try await LabCommand.lab(data).status()
                try ImageCommand.Import.importArchives(files, dataDir: data.path, quiet: quiet)
                print("available on \(s.nodes.map(\.name).joined(separator: ", "))")
            }
        }
    }

    struct NodeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "stop (graceful shutdown), start, or kill (abrupt power cut) one node of the lab.")
        @OptionGroup var data: DataDirOption
        @Argument(help: "stop, start or kill.") var action: String
        @Argument(help: "The node, e.g. node2.") var node: String

        func run() async throws {
            guard let a = Lab.NodeAction(rawValue: action) else {
                throw ValidationError("unknown action \"\(action)\": want \(Lab.NodeAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            await LabCommand.run { try await LabCommand.lab(data).node(a, node) }
        }
    }
}
