/// core/v1 Container: a regular, init or (wrapped in `EphemeralContainer`) ephemeral container.
public struct Container: Sendable, Hashable, Codable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort]?
    public var envFrom: [EnvFromSource]?
    public var env: [EnvVar]?
    public var resources: ResourceRequirements?
    public var resizePolicy: JSONValue?
    /// `Always` on an init container makes it a sidecar.
    public var restartPolicy: ContainerRestartPolicy?
    /// KEP-5307/KEP-5532: per-exit-code restart actions.
    public var restartPolicyRules: [ContainerRestartRule]?
    public var volumeMounts: [VolumeMount]?
    public var volumeDevices: JSONValue?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    public var terminationMessagePath: String?
    public var terminationMessagePolicy: TerminationMessagePolicy?
    public var imagePullPolicy: PullPolicy?
    public var securityContext: SecurityContext?
    public var stdin: Bool?
    public var stdinOnce: Bool?
    public var tty: Bool?

    public init(
        name: String,
        image: String? = nil,
        command: [String]? = nil,
        args: [String]? = nil,
        workingDir: String? = nil,
        ports: [ContainerPort]? = nil,
        envFrom: [EnvFromSource]? = nil,
        env: [EnvVar]? = nil,
        resources: ResourceRequirements? = nil,
        resizePolicy: JSONValue? = nil,
        restartPolicy: ContainerRestartPolicy? = nil,
        restartPolicyRules: [ContainerRestartRule]? = nil,
        volumeMounts: [VolumeMount]? = nil,
        volumeDevices: JSONValue? = nil,
        livenessProbe: Probe? = nil,
        readinessProbe: Probe? = nil,
        startupProbe: Probe? = nil,
        lifecycle: Lifecycle? = nil,
        terminationMessagePath: String? = nil,
        terminationMessagePolicy: TerminationMessagePolicy? = nil,
        imagePullPolicy: PullPolicy? = nil,
        securityContext: SecurityContext? = nil,
        stdin: Bool? = nil,
        stdinOnce: Bool? = nil,
        tty: Bool? = nil
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.workingDir = workingDir
        self.ports = ports
        self.envFrom = envFrom
        self.env = env
        self.resources = resources
        self.resizePolicy = resizePolicy
        self.restartPolicy = restartPolicy
        self.restartPolicyRules = restartPolicyRules
        self.volumeMounts = volumeMounts
        self.volumeDevices = volumeDevices
        self.livenessProbe = livenessProbe
        self.readinessProbe = readinessProbe
        self.startupProbe = startupProbe
        self.lifecycle = lifecycle
        self.terminationMessagePath = terminationMessagePath
        self.terminationMessagePolicy = terminationMessagePolicy
        self.imagePullPolicy = imagePullPolicy
        self.securityContext = securityContext
        self.stdin = stdin
        self.stdinOnce = stdinOnce
        self.tty = tty
    }
}

/// A port a container exposes.
public struct ContainerPort: Sendable, Hashable, Codable {
    public var name: String?
    public var hostPort: Int32?
    public var containerPort: Int32
    public var `protocol`: PortProtocol?
    public var hostIP: String?

    public init(
        name: String? = nil,
        hostPort: Int32? = nil,
        containerPort: Int32,
        `protocol`: PortProtocol? = nil,
        hostIP: String? = nil
    ) {
        self.name = name
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostIP = hostIP
    }
}

/// A rule deciding what happens when a container exits (KEP-5307, KEP-5532).
public struct ContainerRestartRule: Sendable, Hashable, Codable {
    public var action: ContainerRestartRuleAction
    public var exitCodes: ContainerRestartRuleOnExitCodes?

    public init(
        action: ContainerRestartRuleAction,
        exitCodes: ContainerRestartRuleOnExitCodes? = nil
    ) {
        self.action = action
        self.exitCodes = exitCodes
    }
}

/// The exit codes a restart rule matches.
public struct ContainerRestartRuleOnExitCodes: Sendable, Hashable, Codable {
    public var `operator`: ContainerRestartRuleOnExitCodesOperator
    public var values: [Int32]?

    public init(
        `operator`: ContainerRestartRuleOnExitCodesOperator,
        values: [Int32]? = nil
    ) {
        self.operator = `operator`
        self.values = values
    }
}
