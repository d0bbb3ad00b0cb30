import ArgumentParser
import Foundation
import ShoalAPI
import ShoalAgent
import ShoalOS

/// Reads a JSON body from the agent.
func fetch<T: Decodable>(_ client: NodeClient, _ path: String, as: T.Type) throws -> T {
    let response = try client.call("GET", path)
    guard response.status == 200 else { throw NodeClientError(status: response.status, message: NodeClient.errorMessage(response.body)) }
    return try JSONDecoder().decode(T.self, from: Data(response.body))
}

func nowSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }

struct PodsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pods", abstract: "List pods, as `kubectl get pods` does.")

    @OptionGroup var data: DataDirOption
    @Option(name: .shortAndLong, help: "Only this namespace.") var namespace: String?
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "Pods of every namespace (the default).") var allNamespaces = false
    @Option(name: .shortAndLong, help: "wide, json or name.") var output: String?

    func run() throws {
        let client = NodeClient(socketPath: data.socketPath)
        do {
            let list = try fetch(client, "/pods", as: List<Pod>.self)
            let pods = list.items.filter { namespace == nil || $0.metadata.namespace == namespace }
            let errors = try fetch(client, "/manifests/errors", as: [ManifestError].self)
            switch output {
            case "json":
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(List(apiVersion: "v1", kind: "List", items: pods)), as: UTF8.self))
            case "name":
                for p in pods { print("pod/\(p.metadata.name ?? "")") }
            default:
                let wide = output == "wide"
                var rows: [[String]] = [(namespace == nil ? ["NAMESPACE"] : []) + ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (wide ? ["IP", "NODE"] : [])]
                let now = nowSeconds()
                for p in pods {
                    let r = PodPrinter.row(p, now: now)
                    rows.append((namespace == nil ? [r.namespace] : []) + [r.name, r.ready, r.status, r.restarts, r.age] + (wide ? [r.ip, r.node] : []))
                }
                if pods.isEmpty {
                    FileHandle.standardError.write(Data("No resources found\n".utf8))
                } else {
                    print(TextTable.render(rows), terminator: "")
                }
            }
            for e in errors { FileHandle.standardError.write(Data("error: \(e.description)\n".utf8)) }
        } catch {
            fail("\(error)")
        }
    }
}

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a pod in detail, with its events, as `kubectl describe pod` does.")

    @OptionGroup var data: DataDirOption
    @Option(name: .shortAndLong) var namespace: String = "default"
    @Argument(help: "The pod's name (or pod/NAME).") var pod: String

    func run() throws {
        let client = NodeClient(socketPath: data.socketPath)
        let name = pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : pod
        do {
            let p = try fetch(client, "/pods/\(namespace)/\(name)", as: Pod.self)
            let events = try fetch(client, "/pods/\(namespace)/\(name)/events", as: List<Event>.self).items
            print(PodDescriber.describe(p, events: events, now: nowSeconds()), terminator: "")
        } catch {
            fail("\(error)")
        }
    }
}

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's logs, as `kubectl logs` does.")

    @OptionGroup var data: DataDirOption
    @Option(name: .shortAndLong) var namespace: String = "default"
    @Option(name: .shortAndLong, help: "The container (default: the pod's first).") var container: String?
    @Flag(name: .shortAndLong, help: "Keep printing new lines until the container ends.") var follow = false
    @Flag(name: .shortAndLong, help: "The previous instance's logs (before its last restart).") var previous = false
    @Option(help: "Only the last N lines.") var tail: Int?
    @Flag(help: "Prefix each line with its RFC 3339 timestamp.") var timestamps = false
    @Option(help: "Only lines newer than this duration, e.g. 5s, 2m.") var since: String?
    @Argument(help: "The pod's name (or pod/NAME).") var pod: String

    func run() throws {
        let client = NodeClient(socketPath: data.socketPath)
        let name = pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : pod
        var query = ["follow=\(follow)", "previous=\(previous)", "timestamps=\(timestamps)"]
        if let container { query.append("container=\(container)") }
        if let tail { query.append("tailLines=\(tail)") }
        if let since { query.append("sinceSeconds=\(Int(try parseDuration(since)))") }
        do {
            _ = try client.stream("GET", "/pods/\(namespace)/\(name)/log?" + query.joined(separator: "&")) { bytes in
                writeAll(1, bytes)
            }
        } catch {
            fail("\(error)")
        }
    }
}

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command in a running container; its exit code becomes shoal's.")

    @OptionGroup var data: DataDirOption
    @Option(name: .shortAndLong) var namespace: String = "default"
    @Option(name: .shortAndLong, help: "The container (default: the pod's first).") var container: String?
    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Pass stdin to the command.") var stdin = false
    @Flag(name: .shortAndLong, help: "Allocate a terminal.") var tty = false
    @Argument(help: "The pod's name.") var pod: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func run() throws {
        guard !command.isEmpty else { fail("you must specify at least one command for the container") }
        let client = NodeClient(socketPath: data.socketPath)
        let name = pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : pod
        var query = command.map { "command=" + (($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)) ?? $0) }
        query += ["stdin=\(stdin)", "tty=\(tty)"] + (tty ? ExecClient.terminalSizeQuery() : [])
        if let container { query.append("container=\(container)") }
        try ExecClient.runSession(client, path: "/pods/\(namespace)/\(name)/exec?" + query.joined(separator: "&"), stdin: stdin, tty: tty)
    }
}
