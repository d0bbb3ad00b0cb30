import ArgumentParser
import Foundation
import ShoalAPI
import ShoalAgent
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// `shoal attach-sidecar`: adds an ephemeral container to a running pod, what
/// `kubectl debug -it POD --image=I --target=C` does.
struct AttachSidecarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach-sidecar",
        abstract: "Add an ephemeral container to a running pod (kubectl debug); with -it, attach to it.",
        discussion: """
        The container joins the pod's network, IPC and UTS namespaces, mounts the pod's volumes \
        named with --mount, and with --target shares that container's process namespace. It is \
        never restarted. Without -i the command returns once the container is started; with -i \
        (and -t for a terminal) it attaches to the container and exits with its exit code. \
        `shoal logs POD -c NAME` and `shoal exec POD -c NAME` work on it like on any container.
        """)

    @OptionGroup var data: DataDirOption
    @Option(name: .shortAndLong) var namespace: String = "default"
    @Option(help: "The ephemeral container's name.") var name: String
    @Option(help: "Its image (from the image store).") var image: String
    @Option(help: ArgumentHelp("A pod volume to mount: VOLUME:PATH, or VOLUME:PATH:ro for read-only (repeatable).", valueName: "volume:path[:ro]"))
    var mount: [String] = []
    @Option(help: "Share this container's process namespace.") var target: String?
    @Flag(name: [.customShort("i"), .customLong("stdin")], help: "Keep stdin open and attach to the container.") var stdin = false
    @Flag(name: .shortAndLong, help: "Give the container a terminal.") var tty = false
    @Option(help: ArgumentHelp("An environment variable, K=V (repeatable).", valueName: "k=v")) var env: [String] = []
    @Argument(help: "The pod's name (or pod/NAME).") var pod: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after -- (default: the image's).") var command: [String] = []

    func validate() throws {
        for m in mount {
            let parts = m.split(separator: ":", omittingEmptySubsequences: false)
            guard (parts.count == 2 || (parts.count == 3 && parts[2] == "ro")), !parts[0].isEmpty, parts[1].hasPrefix("/") else {
                throw ValidationError("--mount \(m): expected VOLUME:PATH or VOLUME:PATH:ro with an absolute PATH")
            }
        }
        for e in env where !e.contains("=") || e.hasPrefix("=") {
            throw ValidationError("--env \(e): expected NAME=VALUE")
        }
    }

    func container() -> EphemeralContainer {
        var c = Container(name: name)
        c.image = image
        if !command.isEmpty { c.command = command }
        if !env.isEmpty {
            c.env = env.map { e in
                let kv = e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return EnvVar(name: String(kv[0]), value: kv.count > 1 ? String(kv[1]) : "")
            }
        }
        if !mount.isEmpty {
            c.volumeMounts = mount.map { m in
                let parts = m.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                return VolumeMount(name: parts[0], mountPath: parts[1], readOnly: parts.count == 3 ? true : nil)
            }
        }
        if stdin { c.stdin = true }
        if tty { c.tty = true }
        return EphemeralContainer(container: c, targetContainerName: target)
    }

    func run() throws {
        let client = NodeClient(socketPath: data.socketPath)
        let podName = pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : pod
        let size = tty ? ExecClient.terminalSizeQuery() : []
        let created: Pod
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = Array(try encoder.encode(container()))
            let path = "/pods/\(namespace)/\(podName)/ephemeralcontainers" + (size.isEmpty ? "" : "?" + size.joined(separator: "&"))
            let response = try client.call("POST", path, body: body)
            guard response.status == 200 else {
                // A Status whose causes carry messages of their own: its top-level message says it all.
                fail((try? JSONDecoder().decode(Status.self, from: Data(response.body)))?.message ?? NodeClient.errorMessage(response.body))
            }
            created = try JSONDecoder().decode(Pod.self, from: Data(response.body))
        } catch {
            fail("\(error)")
        }
        // A container that could not start is final (ephemeral containers are not retried).
        let status = created.status?.ephemeralContainerStatuses?.first { $0.name == name }
        if let w = status?.state?.waiting, let reason = w.reason, reason != "ContainerCreating" {
            fail("\(reason): \(w.message ?? "")")
        }
        if let t = status?.state?.terminated, t.reason == "StartError" {
            fail(t.message ?? "the container failed to start")
        }
        guard stdin else { return }
        var query = ["container=\(name)", "stdin=true", "tty=\(tty)"] + size
        query.sort()
        try ExecClient.runSession(client, path: "/pods/\(namespace)/\(podName)/attach?" + query.joined(separator: "&"), stdin: true, tty: tty)
    }
}
