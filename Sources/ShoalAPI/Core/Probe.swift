/// A liveness, readiness or startup probe: one handler plus timing.
public struct Probe: Sendable, Hashable, Codable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int32?
    public var timeoutSeconds: Int32?
    public var periodSeconds: Int32?
    public var successThreshold: Int32?
    public var failureThreshold: Int32?
    public var terminationGracePeriodSeconds: Int64?

    public init(
        exec: ExecAction? = nil,
        httpGet: HTTPGetAction? = nil,
        tcpSocket: TCPSocketAction? = nil,
        grpc: GRPCAction? = nil,
        initialDelaySeconds: Int32? = nil,
        timeoutSeconds: Int32? = nil,
        periodSeconds: Int32? = nil,
        successThreshold: Int32? = nil,
        failureThreshold: Int32? = nil,
        terminationGracePeriodSeconds: Int64? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.grpc = grpc
        self.initialDelaySeconds = initialDelaySeconds
        self.timeoutSeconds = timeoutSeconds
        self.periodSeconds = periodSeconds
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
    }

    /// The handler fields as one value (Kubernetes embeds ProbeHandler inline).
    public var handler: ProbeHandler {
        get { ProbeHandler(exec: exec, httpGet: httpGet, tcpSocket: tcpSocket, grpc: grpc) }
        set {
            exec = newValue.exec
            httpGet = newValue.httpGet
            tcpSocket = newValue.tcpSocket
            grpc = newValue.grpc
        }
    }
}

/// The action a probe runs; exactly one is set.
public struct ProbeHandler: Sendable, Hashable, Codable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?

    public init(
        exec: ExecAction? = nil,
        httpGet: HTTPGetAction? = nil,
        tcpSocket: TCPSocketAction? = nil,
        grpc: GRPCAction? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.grpc = grpc
    }
}

/// Runs a command in the container; exit status 0 is success.
public struct ExecAction: Sendable, Hashable, Codable {
    public var command: [String]?

    public init(
        command: [String]? = nil
    ) {
        self.command = command
    }
}

/// An HTTP GET; a status in 200..<400 is success.
public struct HTTPGetAction: Sendable, Hashable, Codable {
    public var path: String?
    public var port: IntOrString
    public var host: String?
    public var scheme: URIScheme?
    public var httpHeaders: [HTTPHeader]?

    public init(
        path: String? = nil,
        port: IntOrString,
        host: String? = nil,
        scheme: URIScheme? = nil,
        httpHeaders: [HTTPHeader]? = nil
    ) {
        self.path = path
        self.port = port
        self.host = host
        self.scheme = scheme
        self.httpHeaders = httpHeaders
    }
}

/// A header sent with an HTTP probe.
public struct HTTPHeader: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(
        name: String,
        value: String
    ) {
        self.name = name
        self.value = value
    }
}

/// Opens a TCP connection; connecting is success.
public struct TCPSocketAction: Sendable, Hashable, Codable {
    public var port: IntOrString
    public var host: String?

    public init(
        port: IntOrString,
        host: String? = nil
    ) {
        self.port = port
        self.host = host
    }
}

/// A gRPC health check (grpc.health.v1).
public struct GRPCAction: Sendable, Hashable, Codable {
    public var port: Int32
    public var service: String?

    public init(
        port: Int32,
        service: String? = nil
    ) {
        self.port = port
        self.service = service
    }
}

/// Hooks run after a container starts and before it stops.
public struct Lifecycle: Sendable, Hashable, Codable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    public var stopSignal: String?

    public init(
        postStart: LifecycleHandler? = nil,
        preStop: LifecycleHandler? = nil,
        stopSignal: String? = nil
    ) {
        self.postStart = postStart
        self.preStop = preStop
        self.stopSignal = stopSignal
    }
}

/// The action a lifecycle hook runs; exactly one is set.
public struct LifecycleHandler: Sendable, Hashable, Codable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?

    public init(
        exec: ExecAction? = nil,
        httpGet: HTTPGetAction? = nil,
        tcpSocket: TCPSocketAction? = nil,
        sleep: SleepAction? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.sleep = sleep
    }
}

/// Sleeps for a number of seconds.
public struct SleepAction: Sendable, Hashable, Codable {
    public var seconds: Int64

    public init(
        seconds: Int64
    ) {
        self.seconds = seconds
    }
}
