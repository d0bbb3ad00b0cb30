import CShims
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

extension PodWorker {
    /// Reconnects to a pod a previous agent left running. Running containers are kept as they
    /// are; containers that ended meanwhile get the exit code and time the sandbox recorded,
    /// and then the restart policy applies. Returns false when the sandbox is gone.
    func adopt() async -> Bool {
        let adopted: PodSandbox
        do {
            adopted = try PodSandbox.adopt(sandboxConfig(), cgroups: ctx.cgroups, logger: logger)
        } catch {
            return false
        }
        sandbox = adopted
        attachSandboxEvents()
        do {
            volumes = try PodVolumes.setUp(pod, podDir: podDir)
        } catch {
            logger.warning("re-adopted pod's volumes", metadata: ["error": "\(error)"])
        }
        let listed: [SandboxClient.Listed]
        do {
            listed = try await adopted.client.list()
        } catch {
            sandbox = nil
            return false
        }
        let known = Set(record.containers.compactMap(\.instanceID))
        for l in listed where !known.contains(l.process.id) {
            // Exec sessions of the previous agent: nobody is attached to them any more.
            if l.process.running, let pidfd = l.pidfd { _ = sh_pidfd_send_signal(pidfd.raw, SIGKILL) } else { try? await adopted.client.forget(l.process.id) }
        }
        for i in record.containers.indices where record.containers[i].isRunning {
            guard let id = record.containers[i].instanceID else { continue }
            if let l = listed.first(where: { $0.process.id == id }) {
                let process = l.process
                if process.running, let pidfd = l.pidfd {
                    pidfds[id] = pidfd
                    if let held = l.held { restoreTerminal(record.containers[i].name, held: held) }
                } else {
                    await processExited(process)
                }
            } else {
                // The sandbox has no record of it: it ended and its record was dropped. The
                // kubelet reports such a container as ContainerStatusUnknown.
                record.containers[i].state = ContainerState(terminated: ContainerStateTerminated(
                    exitCode: 137, reason: "ContainerStatusUnknown",
                    message: "The container could not be located when the pod was re-adopted",
                    startedAt: record.containers[i].state.running?.startedAt, finishedAt: Time.now()))
                record.containers[i].pid = nil
            }
        }
        if let ip = record.podIP { await ctx.network.restore(pod, uid: uid, ip: ip) }
        resumeProbers()
        persist()
        requestSync()
        return true
    }

    /// Removes what is left of a pod whose sandbox is gone.
    static func cleanupOrphan(ctx: AgentContext, uid: String, pod: Pod?) async {
        let dir = ctx.config.podDir(uid)
        let config = PodSandboxConfig(uid: uid, hostname: "", hostNetwork: false, shareProcessNamespace: false, directory: dir)
        for path in ctx.cgroups.directories(config.cgroupPath) where FileSystem.isDirectory(path) {
            // Processes may linger in a container cgroup only if their sandbox died without
            // taking them along; they were ours, so end them.
            for child in (try? FileSystem.listDirectory(path)) ?? [] {
                for pid in ctx.cgroups.processes(config.cgroupPath + "/" + child) where pid > 0 {
                    if let fd = try? shimCall("pidfd_open", { sh_pidfd_open(pid) }) {
                        _ = sh_pidfd_send_signal(fd, SIGKILL)
                        close(fd)
                    }
                }
            }
        }
        for child in ((try? FileSystem.listDirectory(ctx.cgroups.directories(config.cgroupPath).first ?? "")) ?? []) {
            for _ in 0..<50 where ctx.cgroups.exists(config.cgroupPath + "/" + child) {
                if (try? ctx.cgroups.remove(config.cgroupPath + "/" + child)) != nil { break }
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        try? ctx.cgroups.remove(config.cgroupPath)
        try? HostMounts.unmount(config.shmPath)
        if let pod { await ctx.network.detach(pod, uid: uid) }
        try? PodVolumes.tearDown(podDir: dir)
        try? FileSystem.removeTree(dir)
        if let pod { try? FileSystem.removeTree(ctx.config.podLogDir(pod)) }
    }
}
