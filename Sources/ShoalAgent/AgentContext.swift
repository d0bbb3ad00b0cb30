import Logging
import ShoalAPI
import ShoalOS
import ShoalRuntime

/// Resolves a pod's `image:` to unpacked layers and config (the image store, or a test double).
public protocol ImageResolver: Sendable {
    func resolve(_ reference: String) throws -> ImageInfo
    /// Whether the reference names an image in the store (for validating manifests up front).
    func contains(_ reference: String) -> Bool
}

/// The agent's settings.
public struct AgentConfig: Sendable {
    public var dataDir: String
    public var nodeName: String
    /// The largest crash-loop back-off (the kubelet's is 300 s); tests and labs shorten it.
    public var maxBackoff: Double
    public var containerLogMaxSize: UInt64
    public var containerLogMaxFiles: UInt32
    /// A directory below the agent's own cgroup holding every pod's cgroup.
    public var cgroupParent: String
    public var hostIP: String
    /// Stop every pod and remove what the agent made when it stops (else pods keep running
    /// and the next agent re-adopts them, as with the kubelet).
    public var cleanupOnExit: Bool
    /// Pod networking; nil: loopback only.
    public var network: NodeNetworkOptions?

    public init(dataDir: String, nodeName: String, maxBackoff: Double = 300, containerLogMaxSize: UInt64 = 10 << 20,
                containerLogMaxFiles: UInt32 = 5, cgroupParent: String = "shoal", hostIP: String, cleanupOnExit: Bool = false,
                network: NodeNetworkOptions? = nil) {
        self.dataDir = dataDir
        self.nodeName = nodeName
        self.maxBackoff = maxBackoff
        self.containerLogMaxSize = containerLogMaxSize
        self.containerLogMaxFiles = containerLogMaxFiles
        self.cgroupParent = cgroupParent
        self.hostIP = hostIP
        self.cleanupOnExit = cleanupOnExit
        self.network = network
    }

    public var podsDir: String { dataDir + "/pods" }
    public var logsDir: String { dataDir + "/logs" }
    public var socketPath: String { dataDir + "/agent.sock" }
    public func podDir(_ uid: String) -> String { podsDir + "/" + uid }
    /// kubelet's layout: /var/log/pods/<namespace>_<name>_<uid>/<container>/<restart>.log
    public func podLogDir(_ pod: Pod) -> String {
        "\(logsDir)/\(pod.metadata.namespace ?? "default")_\(pod.metadata.name ?? "")_\(pod.metadata.uid ?? "")"
    }
}

/// What every pod worker shares.
struct AgentContext: Sendable {
    let config: AgentConfig
    let cgroups: CgroupDriver
    let launcher: SandboxLauncher
    let images: ImageResolver
    let configurator: ContainerConfigurator
    let events: EventRecorder
    let network: NodeNetwork
    let configs: ConfigCache
    let logger: Logger
    /// Called whenever a pod's status changes.
    let statusChanged: @Sendable (String, PodStatus) -> Void
}
