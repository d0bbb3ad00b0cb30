import ShoalAPI
import ShoalOS

/// One network attachment of a pod, as CNI plugins are told of it (CNI spec 1.0.0, the newest
/// Debian's containernetworking-plugins 1.1.1 speaks).
public struct CNIAttachment: Sendable, Equatable {
    /// The pod's UID: stable across sandbox re-creation, so an old attachment can be deleted
    /// before a new one is added.
    public var containerID: String
    public var netnsPath: String
    public var interfaceName = "eth0"
    public var podNamespace: String
    public var podName: String

    public init(containerID: String, netnsPath: String, podNamespace: String, podName: String) {
        self.containerID = containerID
        self.netnsPath = netnsPath
        self.podNamespace = podNamespace
        self.podName = podName
    }

    /// CNI_ARGS as the kubelet's CRI runtimes pass them.
    var cniArgs: String {
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=\(podNamespace);K8S_POD_NAME=\(podName);K8S_POD_INFRA_CONTAINER_ID=\(containerID)"
    }
}

/// A plugin's refusal, in the CNI error shape (`code`, `msg`, `details`) when it gave one.
public struct CNIError: Error, CustomStringConvertible, Sendable {
    public var plugin: String
    public var command: String
    public var code: Int?
    public var message: String

    public var description: String {
        "CNI plugin \(plugin) \(command) failed" + (code.map { " (code \($0))" } ?? "") + ": \(message)"
    }
}

/// Runs a network configuration list's plugins per the CNI spec: ADD in order, each given the
/// previous result; DEL in reverse order.
public struct CNIRunner: Sendable {
    public var list: JSONValue
    public var pluginDirectory: String
    /// The namespace the plugins act in (where the bridge and NAT rules go): the node's.
    public var networkNamespace: String?

    public init(list: JSONValue, pluginDirectory: String = "/usr/lib/cni", networkNamespace: String? = nil) {
        self.list = list
        self.pluginDirectory = pluginDirectory
        self.networkNamespace = networkNamespace
    }

    /// ADD: returns the final result (with `ips`).
    public func add(_ a: CNIAttachment) async throws -> JSONValue {
        var previous: JSONValue?
        for plugin in plugins {
            previous = try await invoke("ADD", plugin, a, previous: previous)
        }
        return previous ?? .object([:])
    }

    /// DEL, which the spec asks to succeed when there is nothing left to delete.
    public func delete(_ a: CNIAttachment) async throws {
        for plugin in plugins.reversed() {
            _ = try await invoke("DEL", plugin, a, previous: nil)
        }
    }

    /// The first IPv4 address of a result, without its prefix length.
    public static func firstIPv4(_ result: JSONValue) -> String? {
        for ip in result["ips"]?.arrayValue ?? [] {
            guard let address = ip["address"]?.stringValue, let slash = address.firstIndex(of: "/") else { continue }
            let host = String(address[..<slash])
            if IPv4Address(host) != nil { return host }
        }
        return nil
    }

    var plugins: [JSONValue] { list["plugins"]?.arrayValue ?? [] }

    /// The configuration one plugin reads on stdin: its own object, plus the list's name and
    /// version and the previous result.
    func pluginConfig(_ plugin: JSONValue, _ a: CNIAttachment, previous: JSONValue?) -> JSONValue {
        var c = plugin
        c["cniVersion"] = list["cniVersion"]
        c["name"] = list["name"]
        if let previous { c["prevResult"] = previous }
        return c
    }

    private func invoke(_ command: String, _ plugin: JSONValue, _ a: CNIAttachment, previous: JSONValue?) async throws -> JSONValue? {
        let type = plugin["type"]?.stringValue ?? ""
        let env = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(a.containerID)", "CNI_NETNS=\(a.netnsPath)",
            "CNI_IFNAME=\(a.interfaceName)", "CNI_PATH=\(pluginDirectory)", "CNI_ARGS=\(a.cniArgs)",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let config = pluginConfig(plugin, a, previous: previous)
        let out = try await HostCommand(pluginDirectory + "/" + type, environment: env, networkNamespace: networkNamespace)
            .run(stdin: config.serialized)
        let reply = try? JSONValue.parse(out.stdout)
        guard out.succeeded else {
            var code: Int?
            if case .int(let c) = reply?["code"] ?? .null { code = Int(c) }
            let msg = [reply?["msg"]?.stringValue, reply?["details"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
            throw CNIError(plugin: type, command: command, code: code,
                           message: msg.isEmpty ? (out.stderrText.isEmpty ? "exit status \(out.exitCode)" : out.stderrText) : msg.joined(separator: ": "))
        }
        return command == "ADD" ? reply : nil
    }
}
