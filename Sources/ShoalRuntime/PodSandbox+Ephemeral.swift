import CShims
import CShimsWire
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// How a container's stdio is wired when it is not only a log: an agent-kept terminal, or a
/// stdin pipe (Kubernetes' `tty` and `stdin` of a container).
public enum ContainerStdio: Sendable {
    /// stdout and stderr go to the CRI log (the sandbox writes it); stdin is this pipe's read
    /// end, or /dev/null.
    case log(SpawnRequest.Output, stdin: FileDescriptor?)
    /// A terminal opened inside the container's own devpts (as runc's console socket does): the
    /// slave is its stdin, stdout and stderr; the master comes back to the caller, which keeps
    /// it and writes the log from it. `rows`/`cols` of 0 leave the size unset.
    case terminal(rows: UInt16, cols: UInt16)
}

extension PodSandbox {
    /// Starts a container whose stdio is `stdio` (ephemeral containers with `stdin`/`tty`),
    /// optionally in the PID namespace of `target` (a running container's pidfd: the
    /// ephemeral container's `targetContainerName`). Returns the process and, for a terminal,
    /// the pty master.
    public func startContainer(name: String, instanceID: String, launch: ContainerLaunch, resources: CgroupResources,
                               stdio: ContainerStdio, joinPIDNamespaceOf target: FileDescriptor?) async throws -> (SpawnedProcess, FileDescriptor?) {
        let path = config.cgroupPath(container: name)
        try? cgroups.remove(path)
        try cgroups.create(path)
        do {
            var resources = resources
            resources.devices = launch.security.devices
            try cgroups.apply(path, resources)
            let placement = try cgroups.placement(path)
            var launch = launch
            launch.cgroupProcsFiles = placement.procsFiles.count
            var flags = LinuxFlags.newNS
            if !config.shareProcessNamespace && target == nil { flags |= LinuxFlags.newPID }
            var program = ContainerProgramBuilder.build(launch)
            var fds = placement.procsFiles
            var consoleSocket: FileDescriptor?
            let output: SpawnRequest.Output
            var stdin: FileDescriptor?
            switch stdio {
            case let .log(log, input):
                output = log
                stdin = input
            case let .terminal(rows, cols):
                var pair: [Int32] = [-1, -1]
                let rc = socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
                if rc < 0 { throw SystemError("socketpair") }
                let ours = FileDescriptor(pair[0]), theirs = FileDescriptor(pair[1])
                _ = fcntl(ours.raw, F_SETFL, fcntl(ours.raw, F_GETFL) | O_NONBLOCK)
                consoleSocket = ours
                fds.append(theirs)
                let op = ProgramOp.console(fdIndex: fds.count - 1, rows: rows, cols: cols)
                // Right before setsid(), which makes the new slave (fd 0) the controlling terminal.
                let at = program.ops.firstIndex { if case .setsid = $0 { return true } else { return false } }
                    ?? program.ops.firstIndex { if case .boundingSet = $0 { return true } else { return false } }
                    ?? max(0, program.ops.count - 1)
                program.ops.insert(op, at: at)
                if !launch.tty { program.ops.insert(.setsid(controllingTerminal: true), at: at + 1) }
                output = .fds(stdout: nil, stderr: nil)
            }
            let request = SpawnRequest(
                id: instanceID, cloneFlags: flags, program: program,
                programFDs: fds, pidNamespace: target, cgroupDirectory: placement.directory,
                stdin: stdin, output: output, controllingTerminal: consoleSocket != nil || launch.tty)
            let process = try await client.spawn(request)
            guard let consoleSocket else { return (process, nil) }
            // The exec succeeded, so the console step ran and its message is waiting.
            var tag: UInt8 = 0
            var received = [Int32](repeating: -1, count: Int(SH_MAX_FDS))
            var count: Int32 = 0
            let n = sh_recv_msg(consoleSocket.raw, &tag, 1, &received, &count)
            consoleSocket.close()
            guard n > 0, count >= 1 else {
                _ = sh_pidfd_send_signal(process.pidfd.raw, SIGKILL)
                throw SandboxError.request("the container's terminal did not arrive", errno: n < 0 ? Int32(-n) : EPROTO)
            }
            for extra in received[1..<Int(count)] { close(extra) }
            return (process, FileDescriptor(received[0]))
        } catch {
            try? cgroups.remove(path)
            throw error
        }
    }
}
