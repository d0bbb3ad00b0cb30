import ArgumentParser
import Foundation
import Logging
import ShoalAPI
import ShoalImage
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// `shoal bench-spawn` (hidden): the cost of one bare container spawn through the runtime API,
/// against a plain fork+exec of the same program, measured in one process, run after run.
///
/// It creates one pod sandbox (the `shoal-sandbox` process, its namespaces, pod cgroup and
/// /dev/shm), then N times: builds the container's launch from a pod spec exactly as the agent
/// does (`ContainerConfigurator`: image defaults, capabilities, the runtime/default seccomp
/// filter, masked paths, /etc/hosts & co.), makes the instance's upper/work/rootfs directories,
/// starts it with `PodSandbox.startContainer` (container cgroup, clone into new mount and PID
/// namespaces, overlay rootfs, bind mounts, pivot_root, exec; returns once exec succeeded),
/// waits for the sandbox's exit report, and removes the container's cgroup and instance
/// directory. Each run is paired with a `posix_spawn` + `waitpid` of the same binary on the
/// host. Prints one line per run (milliseconds):
///
///     run container config start wait cleanup full forkexec
///
/// where `container` = start + wait (namespaces + overlay rootfs + exec + exit seen),
/// `full` = config + start + wait + cleanup.
struct BenchSpawnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-spawn",
        abstract: "Benchmark: spawn a container running /bin/true N times in one pod sandbox, beside a plain fork+exec.",
        shouldDisplay: false)

    @OptionGroup var data: DataDirOption

    @Option(help: "Image to run (must be in the store of --data-dir).")
    var image: String = "busybox"

    @Option(help: "Program to run, inside the container and (for the baseline) on the host.")
    var program: String = "/bin/true"

    @Option(help: "Timed runs.")
    var runs: Int = 50

    @Option(help: "Untimed runs first.")
    var warmup: Int = 5

    @Option(name: .customLong("cgroup-parent"), help: "The cgroup, below this process' own, for the benchmark's pod.")
    var cgroupParent: String = "shoal-bench-spawn"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "warning"

    func run() async throws {
        guard getuid() == 0 else { fail("bench-spawn creates namespaces, mounts and cgroups, which needs root") }
        let logger = makeLogger("shoal.bench", level: logLevel)
        let store = try ImageStore(dataDir: data.path, logger: logger)
        let resolved = try store.resolve(image)
        let info = ImageInfo(reference: image, id: resolved.id.description, layers: resolved.layerDirectories, config: resolved.config)

        let uid = "bench-spawn-\(getpid())"
        // Not under pods/: an agent on the same data dir must not adopt it.
        let dir = data.path + "/bench-spawn/" + uid
        let podJSON = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-spawn","namespace":"default","uid":"\(uid)"},
             "spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"\(image)","command":["\(program)"]}]}}
            """
        let pod = try JSONDecoder().decode(Pod.self, from: Data(podJSON.utf8))
        let cgroups = try Cgroups.detect(parent: cgroupParent)
        let config = PodSandboxConfig(uid: uid, hostname: "bench-spawn", hostNetwork: false, shareProcessNamespace: false, directory: dir + "/pod")
        try FileSystem.createDirectory(dir, mode: 0o700)
        let sandbox: PodSandbox
        do {
            sandbox = try await PodSandbox.create(config, cgroups: cgroups, launcher: SandboxLauncher.besideExecutable(), logger: logger)
        } catch {
            try? FileSystem.removeTree(dir)
            cgroups.removeRoot()
            fail("create pod sandbox: \(error)")
        }
        let exits = ExitMailbox()
        sandbox.client.onExit { exits.deliver($0) }

        var failure: String?
        do {
            try await runAll(sandbox: sandbox, pod: pod, image: info, dir: dir, exits: exits)
        } catch {
            failure = "\(error)"
        }
        await sandbox.destroy()
        try? FileSystem.removeTree(dir)
        try? FileSystem.removeTree(data.path + "/bench-spawn")
        cgroups.removeRoot()
        if let failure { fail(failure) }
    }

    private func runAll(sandbox: PodSandbox, pod: Pod, image: ImageInfo, dir: String, exits: ExitMailbox) async throws {
        // The pod files the agent would write (their content does not matter for the cost).
        let podDir = sandbox.config.directory
        try FileSystem.writeAtomically(podDir + "/etc-hosts", "127.0.0.1\tlocalhost\n")
        try FileSystem.writeAtomically(podDir + "/etc-hostname", "bench-spawn\n")
        try FileSystem.writeAtomically(podDir + "/resolv.conf", "")
        let configurator = ContainerConfigurator(seccompProfileRoot: data.path + "/seccomp")
        let context = PodContext(
            pod: pod, nodeName: "bench", hostIP: "127.0.0.1", podIP: "", volumes: [:],
            hostsFile: podDir + "/etc-hosts", hostnameFile: podDir + "/etc-hostname", resolvConf: podDir + "/resolv.conf",
            sharedMemory: sandbox.config.shmPath)
        let logPath = dir + "/c.log"
        let program = self.program
        print("# shoal bench-spawn: image \(image.reference) (\(image.layers.count) layer\(image.layers.count == 1 ? "" : "s")), program \(program), \(warmup) warm-up + \(runs) runs, ms")
        print("# run container config start wait cleanup full forkexec")
        var containerTimes: [Double] = [], forkTimes: [Double] = [], fullTimes: [Double] = []
        for i in 1...(warmup + runs) {
            let instance = "c-\(i)"
            let instanceDir = "\(podDir)/containers/c.\(i)"
            let t0 = monotonicNanos()
            let launch = try configurator.launch(
                container: pod.spec.containers[0], fieldPath: "spec.containers{c}", image: image, context: context,
                rootfs: (instanceDir + "/upper", instanceDir + "/work", instanceDir + "/rootfs"), terminationLog: nil)
            let t1 = monotonicNanos()
            for d in ["upper", "work", "rootfs"] { try FileSystem.createDirectory(instanceDir + "/" + d, mode: 0o755) }
            let spawned = try await sandbox.startContainer(name: "c", instanceID: instance, launch: launch, resources: CgroupResources(),
                                                           log: .log(path: logPath, maxSize: 1 << 20, maxFiles: 1))
            let t2 = monotonicNanos()
            let exited = await exits.wait(instance)
            let t3 = monotonicNanos()
            sandbox.removeContainerCgroup("c")
            try FileSystem.removeTree(instanceDir)
            let t4 = monotonicNanos()
            try? await sandbox.client.forget(instance)
            spawned.pidfd.close()
            guard exited.exitCode == 0 else { throw ValidationError("container run \(i) exited \(exited.exitCode), see \(logPath)") }

            let f0 = monotonicNanos()
            try forkExec(program)
            let f1 = monotonicNanos()

            let ms = { (a: UInt64, b: UInt64) in Double(b - a) / 1e6 }
            let container = ms(t1, t3)
            let full = ms(t0, t4)
            let fork = ms(f0, f1)
            if i > warmup {
                containerTimes.append(container)
                fullTimes.append(full)
                forkTimes.append(fork)
            }
            print(String(format: "%@%d %.3f %.3f %.3f %.3f %.3f %.3f %.3f", i > warmup ? "" : "# warm-up ", i - warmup, container,
                         ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, t4), full, fork))
            fflush(nil)
        }
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            guard !s.isEmpty else { return 0 }
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let mc = median(containerTimes), mf = median(forkTimes)
        print(String(format: "# median: container %.3f ms (full cycle %.3f ms), fork+exec %.3f ms, ratio %.2f", mc, median(fullTimes), mf, mf > 0 ? mc / mf : 0))
    }

    /// posix_spawn + waitpid of `path` with this process' environment.
    private func forkExec(_ path: String) throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        defer { for p in argv { free(p) } }
        let rc = argv.withUnsafeBufferPointer { posix_spawn(&pid, path, nil, nil, $0.baseAddress!, environ) }
        guard rc == 0 else { throw SystemError("posix_spawn \(path)", errno: rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError("waitpid", errno: errno) }
        }
    }
}

/// Exit reports of the sandbox by instance id, for a waiter that may come before or after.
private final class ExitMailbox: @unchecked Sendable {
    private struct State {
        var arrived: [String: SandboxProcess] = [:]
        var waiting: [String: CheckedContinuation<SandboxProcess, Never>] = [:]
    }
    private let state = Locked(State())

    func deliver(_ p: SandboxProcess) {
        let waiter = state.withLock { s -> CheckedContinuation<SandboxProcess, Never>? in
            if let c = s.waiting.removeValue(forKey: p.id) { return c }
            s.arrived[p.id] = p
            return nil
        }
        waiter?.resume(returning: p)
    }

    func wait(_ id: String) async -> SandboxProcess {
        await withCheckedContinuation { c in
            let early = state.withLock { s -> SandboxProcess? in
                if let p = s.arrived.removeValue(forKey: id) { return p }
                s.waiting[id] = c
                return nil
            }
            if let early { c.resume(returning: early) }
        }
    }
}
