import ShoalAPI
import ShoalOS

/// The three probes, named as the kubelet's events name them.
enum ProbeKind: String, Sendable, CaseIterable {
    case liveness = "Liveness"
    case readiness = "Readiness"
    case startup = "Startup"
}

/// A probe's result over time (the kubelet's prober worker: lastResult, resultRun): the result
/// changes only after `successThreshold` successes or `failureThreshold` failures in a row.
/// Liveness starts as success, readiness as failure, startup as unknown. A probe run that
/// errored (could not run at all) is thrown away.
struct ProbeCounter: Sendable, Equatable {
    let kind: ProbeKind
    let successThreshold: Int
    let failureThreshold: Int
    /// The result the probe stands at; nil: unknown.
    private(set) var result: Bool?
    private var last: Bool?
    private var run = 0

    init(kind: ProbeKind, successThreshold: Int32? = nil, failureThreshold: Int32? = nil) {
        self.kind = kind
        self.successThreshold = Int(max(1, successThreshold ?? 1))
        self.failureThreshold = Int(max(1, failureThreshold ?? 3))
        switch kind {
        case .liveness: result = true
        case .readiness: result = false
        case .startup: result = nil
        }
    }

    /// Records one run (true: success or warning, false: failure, nil: errored); returns the
    /// new result when this run changed it.
    mutating func observe(_ ok: Bool?) -> Bool? {
        guard let ok else { return nil }
        if last == ok {
            run += 1
        } else {
            last = ok
            run = 1
        }
        if (ok && run < successThreshold) || (!ok && run < failureThreshold) { return nil }
        let changed = result != ok
        result = ok
        // A failed liveness (the container is killed) and a passed startup probe stop counting.
        if (kind == .liveness && !ok) || (kind == .startup && ok) { run = 0 }
        return changed ? ok : nil
    }
}

/// The worker's probes and hooks in flight (one stored property of PodWorker).
struct ProbeBook {
    /// Prober tasks of running instances, by instance id: one per probe, cancelled when the
    /// instance exits.
    var tasks: [String: [ProbeKind: Task<Void, Never>]] = [:]
    /// postStart hooks in flight, by instance id (cancelled when the pod is killed).
    var hooks: [String: Task<String?, Never>] = [:]
}

/// One probe of one container instance: waits for the initial delay, then runs the handler
/// every period and reports each run to the worker, until the worker says stop or the task is
/// cancelled. Timers are Task.sleep; nothing blocks a thread.
struct ProbeLoop: Sendable {
    let kind: ProbeKind
    let probe: Probe
    let container: Container
    let instanceID: String
    /// Epoch seconds the instance started (initialDelaySeconds counts from then).
    let startedAt: Double
    let target: ProbeNetTarget
    weak var worker: PodWorker?

    func run() async {
        let period = Double(max(1, probe.periodSeconds ?? 10))
        let delay = startedAt + Double(max(0, probe.initialDelaySeconds ?? 0)) - ShoalClock.now()
        if delay > 0 {
            do { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) } catch { return }
        }
        var counter = ProbeCounter(kind: kind, successThreshold: probe.successThreshold, failureThreshold: probe.failureThreshold)
        while !Task.isCancelled {
            guard let worker else { return }
            let outcome = await worker.runProbeHandler(probe, container: container, target: target)
            if Task.isCancelled { return }
            let change = counter.observe(outcome.succeeded)
            guard await worker.probeObserved(instanceID, kind, outcome, newResult: change) else { return }
            do { try await Task.sleep(nanoseconds: UInt64(period * 1e9)) } catch { return }
        }
    }
}

extension PodWorker {
    /// Starts an instance's probers: the startup probe alone first, if there is one; liveness
    /// and readiness once it has passed.
    func startProbers(_ c: Container, instanceID: String, startedAt: Double) {
        if let p = c.startupProbe {
            launchProber(.startup, p, c, instanceID: instanceID, startedAt: startedAt)
            return
        }
        if let p = c.livenessProbe { launchProber(.liveness, p, c, instanceID: instanceID, startedAt: startedAt) }
        if let p = c.readinessProbe { launchProber(.readiness, p, c, instanceID: instanceID, startedAt: startedAt) }
    }

    private func launchProber(_ kind: ProbeKind, _ probe: Probe, _ c: Container, instanceID: String, startedAt: Double) {
        let loop = ProbeLoop(kind: kind, probe: probe, container: c, instanceID: instanceID, startedAt: startedAt,
                             target: probeNetTarget(), worker: self)
        probes.tasks[instanceID, default: [:]][kind]?.cancel()
        probes.tasks[instanceID, default: [:]][kind] = Task.detached { await loop.run() }
    }

    /// The instance exited: its probers end.
    func stopProbers(_ instanceID: String) {
        for task in (probes.tasks.removeValue(forKey: instanceID) ?? [:]).values { task.cancel() }
    }

    /// One probe run's outcome, with the new result when the thresholds changed it. Records
    /// `Unhealthy` events and acts on changes: readiness sets `ready`; a passed startup probe
    /// sets `started` and starts liveness and readiness; a failed liveness or startup probe
    /// kills the container. Returns whether the prober goes on.
    func probeObserved(_ instanceID: String, _ kind: ProbeKind, _ outcome: ProbeOutcome, newResult: Bool?) async -> Bool {
        guard !terminating, !finished, let i = runningIndex(instanceID) else { return false }
        let name = record.containers[i].name
        switch outcome {
        case let .failure(output):
            ctx.events.record(pod, type: "Warning", reason: "Unhealthy", message: "\(kind.rawValue) probe failed: \(output)",
                              fieldPath: fieldPath(name))
        case let .warning(output):
            ctx.events.record(pod, type: "Warning", reason: "ProbeWarning", message: "\(kind.rawValue) probe warning: \(output)",
                              fieldPath: fieldPath(name))
        case let .error(message):
            ctx.events.record(pod, type: "Warning", reason: "Unhealthy", message: "\(kind.rawValue) probe errored: \(message)",
                              fieldPath: fieldPath(name))
        case .success:
            break
        }
        guard let result = newResult, let c = pod.allContainers.first(where: { $0.name == name }) else { return true }
        switch kind {
        case .readiness:
            guard record.containers[i].ready != result else { return true }
            record.containers[i].ready = result
            persist()
            publish()
            return true
        case .startup where result:
            record.containers[i].started = true
            record.containers[i].ready = c.readinessProbe == nil
            persist()
            publish()
            if let p = c.livenessProbe { launchProber(.liveness, p, c, instanceID: instanceID, startedAt: startedAt(i)) }
            if let p = c.readinessProbe { launchProber(.readiness, p, c, instanceID: instanceID, startedAt: startedAt(i)) }
            // The next init container (after a sidecar) or the app containers may start now.
            requestSync()
            probes.tasks[instanceID]?[.startup] = nil
            return false
        case .liveness where !result, .startup:
            let restart = pod.spec.restartPolicy != .never || record.containers[i].kind == .sidecar
            let message = "Container \(name) failed \(kind.rawValue.lowercased()) probe" + (restart ? ", will be restarted" : "")
            let grace = (kind == .liveness ? c.livenessProbe : c.startupProbe)?.terminationGracePeriodSeconds
            // The prober's own task must not wait for the exit that cancels it.
            Task { await self.killInstance(instanceID, message: message, grace: grace) }
            return false
        default:
            return true
        }
    }

    /// After an agent restart: probers for the re-adopted running containers, which start over
    /// as the kubelet's do (not ready until the readiness probe passes, the startup probe again).
    func resumeProbers() {
        for i in record.containers.indices where record.containers[i].isRunning {
            guard let id = record.containers[i].instanceID, probes.tasks[id] == nil,
                  let c = pod.allContainers.first(where: { $0.name == record.containers[i].name }) else { continue }
            record.containers[i].hookPending = nil
            if c.startupProbe != nil { record.containers[i].started = false }
            if c.startupProbe != nil || c.readinessProbe != nil { record.containers[i].ready = false }
            startProbers(c, instanceID: id, startedAt: startedAt(i))
        }
    }

    private func startedAt(_ i: Int) -> Double {
        record.containers[i].state.running?.startedAt?.epochSeconds ?? ShoalClock.now()
    }
}
