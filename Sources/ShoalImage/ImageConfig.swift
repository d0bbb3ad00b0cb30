/// The runtime part of an image's config blob (`config` in the OCI image config), plus the
/// platform it was built for. Field meanings follow the OCI image spec.
public struct ImageConfig: Sendable, Hashable, Codable {
    /// nil when the image sets none; `[""]` is kept as written (Docker's way to clear a base
    /// image's entrypoint) and treated as absent by `processArgs`.
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// `NAME=value` strings, in image order.
    public var env: [String]
    public var workingDir: String?
    /// `user`, `uid`, `user:group` or `uid:gid`, unresolved: the runtime resolves names against
    /// the container's /etc/passwd.
    public var user: String?
    /// `80/tcp`, `53/udp`, sorted.
    public var exposedPorts: [String]
    public var labels: [String: String]
    public var stopSignal: String?
    /// Volume mount points the image declares, sorted.
    public var volumes: [String]
    public var architecture: String
    public var os: String
    /// RFC 3339, as written in the config.
    public var created: String?

    public init(
        entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workingDir: String? = nil,
        user: String? = nil, exposedPorts: [String] = [], labels: [String: String] = [:],
        stopSignal: String? = nil, volumes: [String] = [], architecture: String = "amd64",
        os: String = "linux", created: String? = nil
    ) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.exposedPorts = exposedPorts
        self.labels = labels
        self.stopSignal = stopSignal
        self.volumes = volumes
        self.architecture = architecture
        self.os = os
        self.created = created
    }

    /// containerd's default when neither the image nor the container sets PATH.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The process argv for a container, by the Kubernetes rules as containerd's CRI applies them:
    /// - `command` replaces the entrypoint, and the image's Cmd is then dropped unless `args` are given;
    /// - `args` replace the image's Cmd;
    /// - neither: entrypoint + Cmd.
    /// nil means "not set in the pod spec"; an empty array set explicitly still counts as set for
    /// `command` (it drops the entrypoint), as in containerd.
    public func processArgs(command: [String]?, args: [String]?) throws(ImageError) -> [String] {
        var command = command
        var args = args ?? []
        if command?.isEmpty ?? true {
            if args.isEmpty { args = cmd ?? [] }
            if command == nil, let entrypoint, entrypoint != [""] { command = entrypoint }
        }
        let argv = (command ?? []) + args
        guard !argv.isEmpty else { throw .noCommand }
        return argv
    }

    /// The container's environment as `NAME=value`: the image's variables first, in image order;
    /// a container variable with the same name replaces the image's value in place, others are
    /// appended in container order (a later duplicate replaces an earlier one). PATH defaults to
    /// `defaultPath` (first) when neither side sets it.
    public func mergedEnv(_ containerEnv: [(name: String, value: String)]) -> [String] {
        var result: [String] = []
        var position: [String: Int] = [:]
        func set(_ name: String, _ entry: String) {
            if let i = position[name] {
                result[i] = entry
            } else {
                position[name] = result.count
                result.append(entry)
            }
        }
        let pathSet = env.contains { Self.envName($0) == "PATH" } || containerEnv.contains { $0.name == "PATH" }
        if !pathSet { set("PATH", "PATH=" + Self.defaultPath) }
        for entry in env { set(Self.envName(entry), entry) }
        for (name, value) in containerEnv { set(name, name + "=" + value) }
        return result
    }

    private static func envName(_ entry: String) -> String {
        entry.firstIndex(of: "=").map { String(entry[..<$0]) } ?? entry
    }
}

extension ImageConfig {
    /// Reads the parts of an OCI/Docker image config blob that matter to a runtime.
    init(configJSON file: OCIImageConfigFile) {
        let c = file.config
        self.init(
            entrypoint: c?.Entrypoint, cmd: c?.Cmd, env: c?.Env ?? [],
            workingDir: c?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 },
            user: c?.User.flatMap { $0.isEmpty ? nil : $0 },
            exposedPorts: (c?.ExposedPorts?.keys).map { Array($0).sorted() } ?? [],
            labels: c?.Labels ?? [:], stopSignal: c?.StopSignal.flatMap { $0.isEmpty ? nil : $0 },
            volumes: (c?.Volumes?.keys).map { Array($0).sorted() } ?? [],
            architecture: file.architecture ?? "", os: file.os ?? "", created: file.created)
    }
}
