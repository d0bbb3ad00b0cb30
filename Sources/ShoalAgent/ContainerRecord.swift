import ShoalAPI

/// What role a container plays in its pod's lifecycle.
enum ContainerKind: String, Codable, Sendable {
    /// An init container that must run to completion, in order.
    case initContainer
    /// A native sidecar: an init container with `restartPolicy: Always`, kept running.
    case sidecar
    case regular
    case ephemeral
}

/// The worker's record of one container: what the status shows, plus what it needs to
/// re-adopt the container after an agent restart. Persisted in `status.json`.
struct ContainerRecord: Codable, Sendable, Equatable {
    var name: String
    var kind: ContainerKind
    var image: String
    var imageID: String = ""
    var restartCount: Int32 = 0
    /// Increments on every start; names the instance (`name.attempt`) in the sandbox.
    var attempt: Int = 0
    var instanceID: String?
    var pid: Int32?
    var state: ContainerState = ContainerState(waiting: ContainerStateWaiting(reason: "ContainerCreating"))
    var lastState: ContainerState?
    var ready: Bool = false
    var started: Bool = false
    /// Its postStart hook runs: the status shows it waiting (ContainerCreating) until the hook ends.
    var hookPending: Bool?
    /// Set once the instance that belongs to the current pod run has been started, so a
    /// restart-together knows who still has to start.
    var startedThisRun: Bool = false
    var backoff = Backoff()

    var isRunning: Bool { state.running != nil }
    var terminated: ContainerStateTerminated? { state.terminated }
    var everStarted: Bool { attempt > 0 }

    static func instanceID(_ name: String, _ attempt: Int) -> String { "\(name).\(attempt)" }
}

/// The kubelet's crash-loop back-off (client-go flowcontrol.Backoff as the kubelet uses it):
/// the first restart is immediate, then 10 s, doubling up to the maximum; a container that
/// stayed up for twice the maximum starts over.
struct Backoff: Codable, Sendable, Equatable {
    static let initial: Double = 10
    /// Seconds to wait after the next failure; 0 until the first failure was seen.
    var duration: Double = 0
    /// When the back-off was last advanced (epoch seconds).
    var lastUpdate: Double = 0

    /// Whether a restart after a failure at `finishedAt` must still wait, and until when.
    func waitUntil(finishedAt: Double, now: Double, max: Double) -> Double? {
        guard duration > 0, max > 0 else { return nil }
        if now - lastUpdate > 2 * max { return nil }  // expired: the next restart is immediate again
        let until = finishedAt + min(duration, max)
        return now < until ? until : nil
    }

    /// Records a restart at `now`.
    mutating func next(now: Double, max: Double) {
        if duration == 0 || now - lastUpdate > 2 * max {
            duration = min(Backoff.initial, max)
        } else {
            duration = min(duration * 2, max)
        }
        lastUpdate = now
    }
}

/// Everything the agent keeps about a pod on disk, to re-adopt it after a restart.
struct PodRecord: Codable, Sendable {
    var pod: Pod
    var containers: [ContainerRecord]
    var startTime: Time?
    var sandboxReady: Bool = false
    var conditions: [PodCondition] = []
    /// A pod-wide restart in progress: the container that caused it.
    var restartCause: String?
    var podBackoff = Backoff()
    var phase: PodPhase?
    var message: String?
    var reason: String?
    var podIP: String?
}
