import Foundation
import ShoalAPI
import ShoalOS

/// What `lab up` made, saved in DATA_DIR/lab/state.json so that `down`, `status`, `load` and
/// `node` find it again from any shell.
public struct LabState: Codable, Sendable {
    public enum NodeState: String, Codable, Sendable {
        /// The agent runs (or should: `status` tells whether it still does).
        case running
        /// `lab node stop`: the agent stopped its pods and exited; the link is down.
        case stopped
        /// `lab node kill`: every process of the node was killed at once; the link is down.
        case killed
    }

    public struct NodeRecord: Codable, Sendable {
        public var name: String
        public var process: HostProcess?
        public var state: NodeState
        /// The agent's command line, to start it again the same way.
        public var arguments: [String]
        /// The node's cgroup directories (one per v1 hierarchy, or one v2 directory), resolved
        /// from where `lab up` ran, which is where the agent nests its pods.
        public var cgroupDirectories: [String]
    }

    public var name: String
    public var subnet: String
    public var executable: String
    public var master: HostProcess
    public var masterArguments: [String]
    /// Every node the lab has (`nodes` holds those whose agent was started).
    public var nodeNames: [String]
    public var nodes: [NodeRecord]
    public var created: Double

    public func layout() throws(LabError) -> LabLayout {
        let cidr: IPv4CIDR
        do { cidr = try IPv4CIDR(parsing: subnet) } catch { throw LabError("the lab's state names an invalid subnet \(subnet)") }
        return try LabLayout(name: name, nodes: nodeNames.count, subnet: cidr)
    }
}

/// Where a lab keeps its files inside the data dir. The master's own files (DATA_DIR/master,
/// DATA_DIR/kubeconfig) are where `shoal up` keeps them; the image store is the data dir's and
/// is shared by every node.
public struct LabPaths: Sendable {
    public var dataDir: String

    public init(dataDir: String) { self.dataDir = dataDir }

    public var labDir: String { dataDir + "/lab" }
    public var statePath: String { labDir + "/state.json" }
    public var masterLog: String { labDir + "/master.log" }
    public func agentLog(_ node: String) -> String { labDir + "/\(node).log" }
    public var masterDir: String { dataDir + "/master" }
    public var masterSocket: String { masterDir + "/api.sock" }
    public var kubeconfig: String { dataDir + "/kubeconfig" }
    public var nodesDir: String { dataDir + "/nodes" }
    public func nodeDir(_ node: String) -> String { nodesDir + "/" + node }

    public func load() throws -> LabState? {
        guard FileSystem.exists(statePath) else { return nil }
        do {
            return try JSONDecoder().decode(LabState.self, from: Data(try FileSystem.readString(statePath).utf8))
        } catch {
            throw LabError("\(statePath) is unreadable: \(error)")
        }
    }

    public func save(_ state: LabState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(statePath, Array(try encoder.encode(state)), mode: 0o600)
    }
}
