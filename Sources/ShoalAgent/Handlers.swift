import CShims
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// How a command run in a container for a probe or hook ended.
enum CommandResult: Sendable, Equatable {
    /// Exit code and the combined stdout and stderr (at most 10 KiB, the kubelet's limit).
    case exited(Int32, String)
    case timedOut
    /// Not started (the container is not running, say), or cancelled.
    case failed(String)
}

/// Where a probe or hook connects: the pod's network namespace and the address standing for
/// the pod there, or the host's for hostNetwork pods.
struct ProbeNetTarget: Sendable, Equatable {
    var namespace: NetNamespace
    var host: String

    /// An explicit `host:` is reached from the node, as the kubelet dials it; the default (the
    /// pod's IP for the kubelet) is the pod itself, 127.0.0.1 inside its namespace.
    func resolve(_ explicitHost: String?) -> (host: String, namespace: NetNamespace) {
        guard let h = explicitHost, !h.isEmpty else { return (host, namespace) }
        return (h, .host)
    }
}

extension PodWorker {
    /// Where this pod's probes and hooks connect.
    func probeNetTarget() -> ProbeNetTarget {
        if pod.spec.hostNetwork == true { return ProbeNetTarget(namespace: .host, host: ctx.config.hostIP) }
        return ProbeNetTarget(namespace: .process(sandbox?.pid ?? 0), host: "127.0.0.1")
    }

    /// Runs a command in a running container through the exec path (as `kubectl exec`, with the
    /// container's identity and security), collecting its output; it is killed at the timeout
    /// or when the calling task is cancelled. Never blocks a thread.
    nonisolated func runCommand(_ container: String, _ command: [String], timeout: Double?) async -> CommandResult {
        let process: ExecProcess
        do {
            process = try await exec(container: container, command: command, stdin: false, tty: false)
        } catch {
            return .failed("\(error)")
        }
        let output = CapturedOutput(limit: 10 << 10)
        let readers = Task {
            async let out: Void = output.drain(process.stdout)
            async let err: Void = output.drainIfPresent(process.stderr)
            _ = await (out, err)
        }
        let pidfd = process.pidfd
        let code: Int32? = await withTaskCancellationHandler {
            await raceTimeout(timeout) { await process.exit.wait() }
        } onCancel: {
            _ = sh_pidfd_send_signal(pidfd.raw, SIGKILL)
        }
        var result: CommandResult
        if let code {
            result = .exited(code, "")
        } else {
            _ = sh_pidfd_send_signal(pidfd.raw, SIGKILL)
            // Killed: its exit follows at once (bounded, should the sandbox be gone too).
            _ = await raceTimeout(5) { await process.exit.wait() }
            result = Task.isCancelled ? .failed("cancelled") : .timedOut
        }
        // Output that a leftover child still holds open ends here.
        _ = await raceTimeout(0.5) { await readers.value }
        readers.cancel()
        await finishExec(process.id)
        if case let .exited(code, _) = result { result = .exited(code, output.text) }
        return result
    }

    /// `$(VAR)` in an exec probe's or hook's command, from the container's static env only
    /// (the kubelet's ExpandContainerCommandOnlyStatic).
    nonisolated static func expandCommand(_ command: [String], _ c: Container) -> [String] {
        var env: [String: String] = [:]
        for e in c.env ?? [] where e.valueFrom == nil { env[e.name] = e.value ?? "" }
        return command.map { ContainerConfigurator.expand($0, env) }
    }

    /// A probe port: a number, or the name of one of the container's ports.
    nonisolated static func resolvePort(_ port: IntOrString, _ c: Container) -> Result<Int, ProbeHandlerError> {
        let number: Int
        switch port {
        case let .int(n): number = Int(n)
        case let .string(name):
            guard let p = (c.ports ?? []).first(where: { $0.name == name }) else {
                return .failure(ProbeHandlerError(description: "couldn't find port: \(name) in container \(c.name)"))
            }
            number = Int(p.containerPort)
        }
        guard number > 0 && number < 65536 else { return .failure(ProbeHandlerError(description: "invalid port number: \(number)")) }
        return .success(number)
    }

    /// Runs a probe's handler once (pkg/kubelet/prober: runProbe).
    nonisolated func runProbeHandler(_ probe: Probe, container c: Container, target: ProbeNetTarget) async -> ProbeOutcome {
        let timeout = Double(max(1, probe.timeoutSeconds ?? 1))
        if let exec = probe.exec {
            let command = PodWorker.expandCommand(exec.command ?? [], c)
            switch await runCommand(c.name, command, timeout: timeout) {
            case let .exited(0, out): return .success(out)
            case let .exited(_, out): return .failure(out)
            case .timedOut: return .failure("command \"\(command.joined(separator: " "))\" timed out")
            case let .failed(message): return .error(message)
            }
        }
        if let http = probe.httpGet {
            guard (http.scheme ?? .http) == .http else {
                return .error("scheme \(http.scheme?.rawValue ?? "") is not supported: this agent probes over plain HTTP only")
            }
            let port: Int
            switch PodWorker.resolvePort(http.port, c) {
            case let .success(p): port = p
            case let .failure(e): return .error(e.description)
            }
            let (host, ns) = target.resolve(http.host)
            var path = http.path ?? "/"
            if !path.hasPrefix("/") { path = "/" + path }
            return await HTTPProbe.probe(HTTPProbe.Request(
                host: host, port: port, path: path, headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) },
                namespace: ns, timeout: timeout))
        }
        if let tcp = probe.tcpSocket {
            let port: Int
            switch PodWorker.resolvePort(tcp.port, c) {
            case let .success(p): port = p
            case let .failure(e): return .error(e.description)
            }
            let (host, ns) = target.resolve(tcp.host)
            return await TCPProbe.probe(host: host, port: port, namespace: ns, timeout: timeout)
        }
        if let grpc = probe.grpc {
            guard grpc.port > 0 && grpc.port < 65536 else { return .error("invalid port number: \(grpc.port)") }
            return await GRPCHealthCheck.probe(host: target.host, port: Int(grpc.port), service: grpc.service ?? "",
                                               namespace: target.namespace, timeout: timeout,
                                               userAgent: "kube-probe/\(KubeletVersion.majorMinor)")
        }
        return .error("missing probe handler")
    }

    /// Runs a lifecycle hook (pkg/kubelet/lifecycle: handlerRunner.Run). Returns nil on success,
    /// else the kubelet's message for the log. `deadline` (epoch seconds) bounds it; without one
    /// it runs until it ends or the task is cancelled, as the kubelet's postStart does.
    nonisolated func runLifecycleHandler(_ h: LifecycleHandler, container c: Container, target: ProbeNetTarget,
                                         deadline: Double?, podName: String) async -> String? {
        let remaining = deadline.map { max(0, $0 - ShoalClock.now()) }
        if let exec = h.exec {
            let command = PodWorker.expandCommand(exec.command ?? [], c)
            let result = await runCommand(c.name, command, timeout: remaining)
            let error: String
            var output = ""
            switch result {
            case .exited(0, _): return nil
            case let .exited(code, out):
                output = out
                error = "command '\(command.joined(separator: " "))' exited with \(code): \(out)"
            case .timedOut: error = "command '\(command.joined(separator: " "))' timed out"
            case let .failed(message): error = message
            }
            return "Exec lifecycle hook ([\(command.joined(separator: " "))]) for Container \"\(c.name)\" in Pod \"\(podName)\" failed - error: \(error), message: \(goQuote(output))"
        }
        if let http = h.httpGet {
            let path = (http.path ?? "/").hasPrefix("/") ? (http.path ?? "/") : "/" + (http.path ?? "")
            func failed(_ e: String) -> String { "HTTP lifecycle hook (\(http.path ?? "")) for Container \"\(c.name)\" in Pod \"\(podName)\" failed - error: \(e)" }
            guard (http.scheme ?? .http) == .http else { return failed("scheme \(http.scheme?.rawValue ?? "") is not supported") }
            let port: Int
            switch PodWorker.resolvePort(http.port, c) {
            case let .success(p): port = p
            case let .failure(e): return failed(e.description)
            }
            let (host, ns) = target.resolve(http.host)
            let request = HTTPProbe.Request(
                host: host, port: port, path: path, headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) },
                namespace: ns, timeout: remaining ?? 86400, userAgent: "kube-lifecycle/\(KubeletVersion.majorMinor)")
            // Any answer will do: a hook fails only when no answer comes (the kubelet ignores the status).
            do {
                _ = try await HTTPProbe.get(request, deadline: monotonicNanos() + UInt64((remaining ?? 86400) * 1e9))
                return nil
            } catch {
                return failed("Get \"http://\(HTTPProbe.hostPort(host, port))\(path)\": \(error.description)")
            }
        }
        if let sleep = h.sleep {
            let seconds = min(Double(max(0, sleep.seconds)), remaining ?? .infinity)
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        return "Cannot run handler: invalid handler: tcpSocket is not supported as a lifecycle handler"
    }

    /// Runs the container's preStop hook before its stop signal, within the grace period;
    /// returns the deadline for the signal, at least 2 s after the hook (the kubelet's minimum).
    func runPreStop(_ name: String, instanceID: String, until: Double) async -> Double {
        guard let c = pod.allContainers.first(where: { $0.name == name }), let hook = c.lifecycle?.preStop,
              until > ShoalClock.now() else { return until }
        let failure = await runLifecycleHandler(hook, container: c, target: probeNetTarget(), deadline: until, podName: podName)
        if let failure {
            logger.warning("preStop hook failed", metadata: ["container": "\(name)", "error": "\(failure)"])
            // As the kubelet: the event does not carry the hook's output, which may hold secrets.
            ctx.events.record(pod, type: "Warning", reason: "FailedPreStopHook", message: "PreStopHook failed", fieldPath: fieldPath(name))
        }
        return max(until, ShoalClock.now() + 2)
    }

    /// The container was spawned: runs its postStart hook (it is not started until that ends;
    /// a failing hook kills it) and then starts its probers.
    func containerDidStart(_ c: Container, instanceID: String) async {
        guard runningIndex(instanceID) != nil else { return }
        if let hook = c.lifecycle?.postStart {
            if let i = runningIndex(instanceID) { record.containers[i].hookPending = true }
            let target = probeNetTarget(), podName = self.podName
            let task = Task { await self.runLifecycleHandler(hook, container: c, target: target, deadline: nil, podName: podName) }
            probes.hooks[instanceID] = task
            let failure = await task.value
            probes.hooks[instanceID] = nil
            if let j = record.containers.firstIndex(where: { $0.instanceID == instanceID }) { record.containers[j].hookPending = nil }
            guard let i = runningIndex(instanceID), !terminating else { return }
            if let failure {
                logger.warning("postStart hook failed", metadata: ["container": "\(c.name)", "error": "\(failure)"])
                ctx.events.record(pod, type: "Warning", reason: "FailedPostStartHook", message: "PostStartHook failed", fieldPath: fieldPath(c.name))
                persist()
                await killInstance(instanceID, message: "FailedPostStartHook", grace: nil)
                return
            }
            record.containers[i].started = c.startupProbe == nil
            record.containers[i].ready = c.startupProbe == nil && c.readinessProbe == nil
            persist()
        }
        startProbers(c, instanceID: instanceID, startedAt: ShoalClock.now())
    }

    /// Ends a postStart hook in flight (the pod is being killed).
    func cancelHooks() {
        for task in probes.hooks.values { task.cancel() }
    }

    /// Stops a running instance as the kubelet's killContainer does for a failed probe or
    /// hook: preStop, the stop signal, SIGKILL at the end of the grace period. Its exit then
    /// counts as the container's own failure (the restart policy applies).
    func killInstance(_ instanceID: String, message: String, grace: Int64?) async {
        guard let i = runningIndex(instanceID) else { return }
        let name = record.containers[i].name
        ctx.events.record(pod, reason: "Killing", message: message, fieldPath: fieldPath(name))
        let seconds = Double(grace ?? gracePeriodOverride ?? pod.spec.terminationGracePeriodSeconds ?? 30)
        let waiter = ExitWaiter()
        exitWaiters[instanceID, default: []].append(waiter)
        let until = await runPreStop(name, instanceID: instanceID, until: ShoalClock.now() + seconds)
        if let fd = pidfds[instanceID] { _ = sh_pidfd_send_signal(fd.raw, stopSignal(name)) }
        if await waiter.wait(timeout: max(0, until - ShoalClock.now())) { return }
        logger.info("grace period over, killing", metadata: ["container": "\(name)"])
        if let fd = pidfds[instanceID] { _ = sh_pidfd_send_signal(fd.raw, SIGKILL) }
        _ = await waiter.wait(timeout: nil)
    }

    /// The record index of a running instance.
    func runningIndex(_ instanceID: String) -> Int? {
        record.containers.firstIndex { $0.instanceID == instanceID && $0.isRunning }
    }

    /// `started` and `ready` of a container just spawned: a postStart hook or a startupProbe
    /// holds `started` back, and a readinessProbe (or a held-back start) holds `ready` back.
    nonisolated static func startsStarted(_ c: Container) -> Bool { c.startupProbe == nil && c.lifecycle?.postStart == nil }
    nonisolated static func startsReady(_ c: Container) -> Bool { startsStarted(c) && c.readinessProbe == nil }
}

struct ProbeHandlerError: Error, CustomStringConvertible, Equatable {
    var description: String
}

/// Output of a command, both streams into one buffer, capped; drained to EOF so the command
/// never blocks on a full pipe.
final class CapturedOutput: Sendable {
    private let bytes = Locked<[UInt8]>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var text: String { String(decoding: bytes.current, as: UTF8.self) }

    func drainIfPresent(_ fd: FileDescriptor?) async {
        if let fd { await drain(fd) }
    }

    /// Reads until EOF or cancellation.
    func drain(_ fd: FileDescriptor) async {
        let raw = fd.raw
        let flags = fcntl(raw, F_GETFL)
        if flags >= 0 { _ = fcntl(raw, F_SETFL, flags | O_NONBLOCK) }
        var buf = [UInt8](repeating: 0, count: 16384)
        while !Task.isCancelled {
            let n = buf.withUnsafeMutableBytes { read(raw, $0.baseAddress, $0.count) }
            if n > 0 {
                let chunk = buf[0..<n]
                bytes.withLock { b in
                    if b.count < limit { b += chunk.prefix(limit - b.count) }
                }
                continue
            }
            if n == 0 { return }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { return }
            await waitReadable(raw)
        }
    }
}

/// Waits for `op` at most `seconds` (nil: without limit); nil when time ran out. `op` goes on
/// running in its own task then: the caller ends what it waits for (kills the process).
func raceTimeout<T: Sendable>(_ seconds: Double?, _ op: @escaping @Sendable () async -> T) async -> T? {
    guard let seconds else { return await op() }
    let once = OnceResume<T?>()
    var timer: Task<Void, Never>?
    let result: T? = await withCheckedContinuation { c in
        once.install(c)
        Task { once.resume(await op()) }
        timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            once.resume(nil)
        }
    }
    timer?.cancel()
    return result
}

/// A continuation resumed once, by whichever comes first; later resumes are dropped.
/// `install` runs before anything can resume (inside withCheckedContinuation's body).
final class OnceResume<T: Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var continuation: CheckedContinuation<T, Never>?

    func install(_ c: CheckedContinuation<T, Never>) { lock.withLock { continuation = c } }

    func resume(_ value: T) {
        let c: CheckedContinuation<T, Never>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: value)
    }
}
