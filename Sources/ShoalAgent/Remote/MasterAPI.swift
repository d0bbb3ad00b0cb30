import Foundation
import ShoalAPI
import ShoalHTTP

/// How the agent reaches its master.
public struct MasterConnection: Sendable {
    /// The master's API (`unix:///…/api.sock` or `https://host:port`, with its token).
    public var client: HTTPClient
    /// The name the node registers under (normally the agent's `nodeName`).
    public var nodeName: String
    /// Where the master reaches this agent's node API for logs and exec (the `shoal.io/node-api`
    /// annotation), if it can.
    public var nodeAPIURL: String?

    public init(client: HTTPClient, nodeName: String, nodeAPIURL: String? = nil) {
        self.client = client
        self.nodeName = nodeName
        self.nodeAPIURL = nodeAPIURL
    }
}

/// How often the agent reports (the kubelet's defaults).
public struct NodeReportOptions: Sendable {
    /// Node status heartbeat (the kubelet's nodeStatusUpdateFrequency).
    public var nodeStatusUpdateFrequency: Double
    /// Lease renewal (the kubelet renews every quarter of the 40 s lease).
    public var leaseRenewInterval: Double
    public var leaseDurationSeconds: Int32
    /// A request that takes longer is abandoned (and retried).
    public var requestTimeout: Double
    /// The longest wait between retries while the master is unreachable.
    public var maxRetryDelay: Double
    /// The shortest time between two rounds of pod status updates (bursts are coalesced).
    public var statusBatchInterval: Double
    /// Extra labels on the node (`kubernetes.io/hostname`, `/os` and `/arch` are always set).
    public var nodeLabels: [String: String]
    /// The Hostname address and `kubernetes.io/hostname` label (default: the node name).
    public var hostname: String?
    /// Forward the agent's pod events to the master's events API.
    public var postEvents: Bool

    public init(nodeStatusUpdateFrequency: Double = 10, leaseRenewInterval: Double = 10, leaseDurationSeconds: Int32 = 40,
                requestTimeout: Double = 30, maxRetryDelay: Double = 30, statusBatchInterval: Double = 0.01,
                nodeLabels: [String: String] = [:], hostname: String? = nil, postEvents: Bool = true) {
        self.nodeStatusUpdateFrequency = nodeStatusUpdateFrequency
        self.leaseRenewInterval = leaseRenewInterval
        self.leaseDurationSeconds = leaseDurationSeconds
        self.requestTimeout = requestTimeout
        self.maxRetryDelay = maxRetryDelay
        self.statusBatchInterval = statusBatchInterval
        self.nodeLabels = nodeLabels
        self.hostname = hostname
        self.postEvents = postEvents
    }
}

/// A call to the master that failed: what the agent was doing, the request, and either the
/// transport problem or the API's answer (`Status` reason and message).
public struct MasterError: Error, CustomStringConvertible, Sendable {
    /// What the agent was doing (`register node n1`, `renew lease`, …).
    public var operation: String
    public var method: String
    public var path: String
    /// The HTTP status, nil when no answer came (connection refused, timeout, …).
    public var code: Int?
    public var reason: String?
    public var message: String

    public var description: String {
        if let code {
            return "\(operation): \(method) \(path): \(code)\(reason.map { " \($0)" } ?? ""): \(message)"
        }
        return "\(operation): \(method) \(path): \(message)"
    }

    public var isConflict: Bool { code == 409 }
    public var isNotFound: Bool { code == 404 }
    public var isGone: Bool { code == 410 }
}

/// One answer of the master.
struct MasterResponse: Sendable {
    var status: Int
    var body: [UInt8]
    var ok: Bool { (200..<300).contains(status) }

    func json() throws -> JSONValue { try JSONValue.parse(body) }
}

/// Typed calls to the master's Kubernetes API, each bounded by a timeout.
struct MasterAPI: Sendable {
    let client: HTTPClient
    let timeout: Double

    static let mergePatch = "application/merge-patch+json"

    /// Sends a request; any HTTP answer is returned, a transport failure or a timeout throws.
    /// A connection that fails mid-request is tried once more at once: every call the agent
    /// makes is safe to repeat (a repeated create answers 409, a repeated delete 404, status
    /// patches and lease updates are idempotent or precondition-checked), and a one-off
    /// broken connection should not cost a whole retry period.
    func send(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
              operation: String) async throws(MasterError) -> MasterResponse {
        do {
            return try await sendOnce(method, path, body: body, contentType: contentType, operation: operation)
        } catch let error where error.code == nil && error.reason == nil && !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 50_000_000)
            return try await sendOnce(method, path, body: body, contentType: contentType, operation: operation)
        }
    }

    private func sendOnce(_ method: String, _ path: String, body: [UInt8]?, contentType: String?,
                          operation: String) async throws(MasterError) -> MasterResponse {
        let client = self.client
        let timeout = self.timeout
        do {
            let response = try await withThrowingTaskGroup(of: HTTPClientResponse?.self) { group in
                group.addTask { try await client.request(method, path, body: body, contentType: contentType) }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw MasterError(operation: operation, method: method, path: path, code: nil, reason: "Timeout",
                                      message: "no answer within \(Int(timeout)) s")
                }
                return response
            }
            return MasterResponse(status: response.status, body: response.body)
        } catch let error as MasterError {
            throw error
        } catch is CancellationError {
            throw MasterError(operation: operation, method: method, path: path, code: nil, reason: "Cancelled", message: "cancelled")
        } catch {
            throw MasterError(operation: operation, method: method, path: path, code: nil, reason: nil, message: "\(error)")
        }
    }

    /// Sends and requires a 2xx answer; other answers throw with the API's Status message.
    @discardableResult
    func call(_ method: String, _ path: String, json body: JSONValue? = nil, contentType: String? = nil,
              operation: String) async throws(MasterError) -> JSONValue {
        let response = try await send(method, path, body: body?.serialized, contentType: contentType, operation: operation)
        guard response.ok else { throw MasterAPI.error(response, method: method, path: path, operation: operation) }
        do {
            return response.body.isEmpty ? .object([:]) : try response.json()
        } catch {
            throw MasterError(operation: operation, method: method, path: path, code: response.status, reason: "BadResponse",
                              message: "the answer is not JSON: \(error)")
        }
    }

    /// The error of a non-2xx answer, with the `Status` it carries when it does.
    static func error(_ r: MasterResponse, method: String, path: String, operation: String) -> MasterError {
        let status = try? r.json().decode(Status.self)
        let text = String(decoding: r.body.prefix(300), as: UTF8.self)
        return MasterError(operation: operation, method: method, path: path, code: r.status, reason: status?.reason,
                           message: status?.message ?? (text.isEmpty ? "HTTP \(r.status)" : text))
    }

    // MARK: paths

    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static let nodes = "/api/v1/nodes"
    static func node(_ name: String) -> String { "/api/v1/nodes/\(escape(name))" }
    static func pods(_ namespace: String) -> String { "/api/v1/namespaces/\(escape(namespace))/pods" }
    static func pod(_ namespace: String, _ name: String) -> String { pods(namespace) + "/" + escape(name) }
    static func lease(_ name: String) -> String {
        "/apis/coordination.k8s.io/v1/namespaces/\(Lease.nodeLeaseNamespace)/leases/\(escape(name))"
    }
    static func events(_ namespace: String) -> String { "/api/v1/namespaces/\(escape(namespace))/events" }

    /// The pods bound to a node, in every namespace.
    static func boundPods(_ node: String) -> String { "/api/v1/pods?fieldSelector=" + escape("spec.nodeName=" + node) }

    /// The kubelet's final delete: the object goes at once, and only if it is still the same pod.
    static func finalDelete(uid: String) -> JSONValue {
        ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]]
    }
}

/// Doubling retry delays, reset on success.
struct RetryDelay: Sendable {
    var initial: Double = 1
    var maximum: Double = 30
    private(set) var current: Double = 0

    init(initial: Double = 1, maximum: Double = 30) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next delay after a failure.
    mutating func next() -> Double {
        current = current == 0 ? initial : min(maximum, current * 2)
        return current
    }

    mutating func reset() { current = 0 }
}
