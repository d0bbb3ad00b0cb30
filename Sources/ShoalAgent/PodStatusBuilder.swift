import ShoalAPI

/// Computes a pod's status from the worker's records, as the kubelet does
/// (pkg/kubelet/kubelet_pods.go: getPhase, generateAPIPodStatus; status/generate.go).
enum PodStatusBuilder {
    struct Input {
        var pod: Pod
        var containers: [ContainerRecord]
        var previousConditions: [PodCondition]
        var sandboxReady: Bool
        var restarting: Bool
        var restartCause: String?
        var startTime: Time?
        var hostIP: String
        var podIP: String?
        var uid: String
        var now: Time
        var terminalMessage: String?
        var terminalReason: String?
    }

    static func status(_ input: Input) -> PodStatus {
        let records = Dictionary(input.containers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func status(for c: Container) -> ContainerStatus {
            let r = records[c.name] ?? ContainerRecord(name: c.name, kind: .regular, image: c.image ?? "")
            // A container whose postStart hook still runs is not Running yet (as the kubelet shows it).
            let state = r.isRunning && r.hookPending == true ? ContainerState(waiting: ContainerStateWaiting(reason: "ContainerCreating")) : r.state
            return ContainerStatus(
                name: c.name, state: state, lastState: r.lastState ?? ContainerState(), ready: r.ready, restartCount: r.restartCount,
                image: c.image ?? "", imageID: r.imageID, containerID: r.instanceID.map { "shoal://\(input.uid)/\($0)" },
                started: r.isRunning ? r.started : false)
        }
        let pod = input.pod
        let initStatuses = (pod.spec.initContainers ?? []).map(status)
        let appStatuses = pod.spec.containers.map(status)
        let ephemeral = (pod.spec.ephemeralContainers ?? []).map { status(for: $0.container) }

        let phase = self.phase(pod, initStatuses: initStatuses, appStatuses: appStatuses)
        var conditions: [PodCondition] = []
        func condition(_ type: PodConditionType, _ ok: Bool, reason: String? = nil, message: String? = nil) {
            let status: ConditionStatus = ok ? .true : .false
            let previous = input.previousConditions.first { $0.type == type }
            let transition = previous?.status == status ? previous?.lastTransitionTime : input.now
            conditions.append(PodCondition(type: type, status: status, lastProbeTime: nil, lastTransitionTime: transition,
                                           reason: ok ? nil : reason, message: ok ? nil : message))
        }
        let terminal = phase == .succeeded || phase == .failed
        condition(.podReadyToStartContainers, input.sandboxReady && !terminal)
        let pendingInit = (pod.spec.initContainers ?? []).filter { !initComplete(records[$0.name]) }.map(\.name)
        let initialized = pendingInit.isEmpty
        condition(.initialized, initialized, reason: "ContainersNotInitialized",
                  message: "containers with incomplete status: [\(pendingInit.joined(separator: " "))]")
        let unready = pod.spec.containers.filter { !(records[$0.name]?.ready ?? false) }.map(\.name)
            + (pod.spec.initContainers ?? []).filter { records[$0.name]?.kind == .sidecar && !(records[$0.name]?.ready ?? false) }.map(\.name)
        let ready = unready.isEmpty && !terminal
        let unreadyMessage = "containers with unready status: [\(unready.joined(separator: " "))]"
        condition(.containersReady, ready, reason: terminal ? "PodCompleted" : "ContainersNotReady", message: terminal ? nil : unreadyMessage)
        condition(.ready, ready, reason: terminal ? "PodCompleted" : "ContainersNotReady", message: terminal ? nil : unreadyMessage)
        condition(.podScheduled, true)
        if input.restarting {
            let previous = input.previousConditions.first { $0.type == "AllContainersRestarting" }
            conditions.append(PodCondition(type: "AllContainersRestarting", status: .true, lastProbeTime: nil,
                                           lastTransitionTime: previous?.status == .true ? previous?.lastTransitionTime : input.now,
                                           reason: "ContainerExited",
                                           message: "container \(input.restartCause ?? "?") ended; restarting every container of the pod"))
        }
        let ip = input.podIP ?? ""
        return PodStatus(
            phase: phase, conditions: conditions, message: input.terminalMessage, reason: input.terminalReason,
            hostIP: input.hostIP, hostIPs: [HostIP(ip: input.hostIP)],
            podIP: ip.isEmpty ? nil : ip, podIPs: ip.isEmpty ? nil : [PodIP(ip: ip)],
            startTime: input.startTime,
            initContainerStatuses: initStatuses.isEmpty ? nil : initStatuses,
            containerStatuses: appStatuses,
            ephemeralContainerStatuses: ephemeral.isEmpty ? nil : ephemeral,
            qosClass: qosClass(pod))
    }

    /// An init container completed (regular) or started (sidecar) in the current run.
    static func initComplete(_ r: ContainerRecord?) -> Bool {
        guard let r else { return false }
        if r.kind == .sidecar { return r.started }
        return r.terminated?.exitCode == 0
    }

    /// The kubelet's getPhase.
    static func phase(_ pod: Pod, initStatuses: [ContainerStatus], appStatuses: [ContainerStatus]) -> PodPhase {
        let policy = pod.spec.restartPolicy ?? .always
        var pendingInitialization = 0
        var failedInitialization = 0
        let sidecars = Set((pod.spec.initContainers ?? []).filter { $0.restartPolicy == .always }.map(\.name))
        for s in initStatuses {
            if sidecars.contains(s.name) {
                // A sidecar that ran (and was stopped when the app containers completed) no
                // longer holds initialization back.
                if s.state?.running == nil && s.started != true && s.state?.terminated == nil && s.lastState?.terminated == nil {
                    pendingInitialization += 1
                }
                continue
            }
            if let t = s.state?.terminated {
                if t.exitCode != 0 { failedInitialization += 1 }
            } else if s.state?.running != nil || s.state?.waiting != nil {
                if s.lastState?.terminated == nil || s.state?.running != nil || s.state?.waiting != nil { pendingInitialization += 1 }
            } else {
                pendingInitialization += 1
            }
        }
        var unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0
        for s in appStatuses {
            if s.state?.running != nil {
                running += 1
            } else if let t = s.state?.terminated {
                stopped += 1
                if t.exitCode == 0 { succeeded += 1 }
            } else if s.state?.waiting != nil {
                if s.lastState?.terminated != nil { stopped += 1 } else { waiting += 1 }
            } else {
                unknown += 1
            }
        }
        if failedInitialization > 0 && policy == .never { return .failed }
        if pendingInitialization > 0 || failedInitialization > 0 {
            // Init containers restarting after a failure keep the pod Pending.
            if running == 0 || policy != .always { return .pending }
        }
        if waiting > 0 { return .pending }
        if running > 0 && unknown == 0 { return .running }
        if running == 0 && stopped > 0 && unknown == 0 {
            if policy == .always { return .running }
            if stopped == succeeded { return .succeeded }
            if policy == .never { return .failed }
            return .running
        }
        return .pending
    }

    static func qosClass(_ pod: Pod) -> PodQOSClass { PodQOS.classify(pod) }
}
