import ShoalOS

/// Everything the runtime needs to start one container process, already resolved by the
/// agent (image layers, volume sources on the host, ids, capabilities, the seccomp filter).
public struct ContainerLaunch: Sendable, Equatable {
    public struct Rootfs: Sendable, Equatable {
        /// Image layer directories, bottom → top (the OCI order).
        public var layers: [String]
        public var upper: String
        public var work: String
        /// Where the overlay is mounted inside the container's own mount namespace.
        public var mountpoint: String
        public var readOnly: Bool

        public init(layers: [String], upper: String, work: String, mountpoint: String, readOnly: Bool = false) {
            self.layers = layers
            self.upper = upper
            self.work = work
            self.mountpoint = mountpoint
            self.readOnly = readOnly
        }
    }

    /// Kubernetes' mountPropagation, as mount propagation types.
    public enum Propagation: String, Sendable, Equatable {
        case none = "None"  // private: nothing crosses
        case hostToContainer = "HostToContainer"  // slave: host mounts appear inside
        case bidirectional = "Bidirectional"  // shared with the host in both directions
    }

    public struct Mount: Sendable, Equatable {
        public var source: String
        public var destination: String
        public var isDirectory: Bool
        public var readOnly: Bool
        public var recursiveReadOnly: Bool
        public var propagation: Propagation

        public init(source: String, destination: String, isDirectory: Bool = true, readOnly: Bool = false,
                    recursiveReadOnly: Bool = false, propagation: Propagation = .none) {
            self.source = source
            self.destination = destination
            self.isDirectory = isDirectory
            self.readOnly = readOnly
            self.recursiveReadOnly = recursiveReadOnly
            self.propagation = propagation
        }
    }

    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var groups: [UInt32]
        public init(uid: UInt32 = 0, gid: UInt32 = 0, groups: [UInt32] = []) {
            self.uid = uid
            self.gid = gid
            self.groups = groups
        }
    }

    public struct Security: Sendable, Equatable {
        public var privileged: Bool
        /// Bounding/permitted/effective/inheritable set (the kernel clears the effective set at
        /// exec for a non-root uid, as Kubernetes expects without ambient capabilities).
        public var capabilities: UInt64
        public var lastCapability: Int
        public var noNewPrivileges: Bool
        /// A compiled BPF program, or nil for Unconfined.
        public var seccomp: [UInt8]?
        public var maskedPaths: [String]
        public var readonlyPaths: [String]
        /// The devices the container's cgroup allows; nil (privileged) leaves them unrestricted.
        public var devices: [DeviceRule]?

        public init(privileged: Bool = false, capabilities: UInt64, lastCapability: Int, noNewPrivileges: Bool = true,
                    seccomp: [UInt8]?, maskedPaths: [String] = Security.defaultMaskedPaths,
                    readonlyPaths: [String] = Security.defaultReadonlyPaths, devices: [DeviceRule]? = Security.defaultDeviceRules) {
            self.privileged = privileged
            self.capabilities = capabilities
            self.lastCapability = lastCapability
            self.noNewPrivileges = noNewPrivileges
            self.seccomp = seccomp
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.devices = devices
        }

        /// containerd's default device rules: any node may be created (CAP_MKNOD is in the
        /// default set), but only the standard character devices and terminals opened. Without
        /// them a container with CAP_MKNOD could make and read the host's disks.
        public static let defaultDeviceRules: [DeviceRule] = [
            DeviceRule(.char, nil, nil, .mknod), DeviceRule(.block, nil, nil, .mknod),
            DeviceRule(.char, 1, 3), DeviceRule(.char, 1, 5), DeviceRule(.char, 1, 7),  // null, zero, full
            DeviceRule(.char, 1, 8), DeviceRule(.char, 1, 9),  // random, urandom
            DeviceRule(.char, 5, 0), DeviceRule(.char, 5, 1), DeviceRule(.char, 5, 2),  // tty, console, ptmx
            DeviceRule(.char, 136, nil),  // the pty slaves of /dev/pts
        ]

        /// containerd's defaults (pkg/oci/spec.go), which the kubelet relies on.
        public static let defaultMaskedPaths = [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
        ]
        public static let defaultReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    }

    public var rootfs: Rootfs
    /// Volumes and the pod's files (/etc/hosts, /etc/hostname, /etc/resolv.conf, the termination
    /// log), in mount order.
    public var mounts: [Mount]
    /// Host device nodes bound into the container's /dev at the same path.
    public var devices: [String]
    /// The pod's shared /dev/shm (a tmpfs on the host), or nil for a private one.
    public var sharedMemory: String?
    public var argv: [String]
    public var env: [String]
    public var workingDir: String
    public var identity: Identity
    public var security: Security
    public var tty: Bool
    /// cgroup v1 `cgroup.procs` files the child enters first (passed as program fds 0…n-1).
    public var cgroupProcsFiles: Int

    public init(rootfs: Rootfs, mounts: [Mount], devices: [String] = ContainerLaunch.defaultDevices, sharedMemory: String?,
                argv: [String], env: [String], workingDir: String, identity: Identity, security: Security, tty: Bool = false,
                cgroupProcsFiles: Int) {
        self.rootfs = rootfs
        self.mounts = mounts
        self.devices = devices
        self.sharedMemory = sharedMemory
        self.argv = argv
        self.env = env
        self.workingDir = workingDir
        self.identity = identity
        self.security = security
        self.tty = tty
        self.cgroupProcsFiles = cgroupProcsFiles
    }

    /// The OCI default device set.
    public static let defaultDevices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
}

/// Turns a `ContainerLaunch` into the ordered program the sandbox's child runs.
///
/// The order follows runc's (libcontainer/rootfs_linux.go and standard_init_linux.go):
/// cgroup first so all setup is accounted to the container; detached clones of Bidirectional
/// sources before the mount namespace turns slave; then rootfs, the API filesystems, volumes,
/// pivot_root, masked paths; credentials last, with seccomp as close to exec as it can be.
public enum ContainerProgramBuilder {
    static let rwFlags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)

    public static func build(_ c: ContainerLaunch) -> Program {
        var ops: [ProgramOp] = []
        for i in 0..<c.cgroupProcsFiles { ops.append(.cgroupEnter(fdIndex: i)) }

        // Clones of shared sources must be taken while our copies are still peers of the host's.
        var slots: [Int: Int] = [:]
        for (i, m) in c.mounts.enumerated() where m.propagation == .bidirectional {
            slots[i] = slots.count
            ops.append(.openTree(source: m.source, slot: slots[i] ?? 0, recursive: true))
        }
        // rslave: host mounts keep propagating in; nothing we mount leaks out to the host.
        ops.append(.mount(source: nil, target: "/", fstype: nil, flags: UInt(MS_REC | MS_SLAVE), data: nil, inRoot: false))

        ops += rootfsOps(c.rootfs)
        ops += apiFilesystemOps(c)
        for (i, m) in c.mounts.enumerated() { ops += volumeOps(m, slot: slots[i]) }
        // runc creates a missing working directory rather than failing.
        if c.workingDir != "/" { ops.append(.mkdir(path: c.workingDir, mode: 0o755, inRoot: true)) }

        ops.append(.pivotRoot)
        if !c.security.privileged {
            for path in c.security.maskedPaths { ops.append(.mask(path: path)) }
            for path in c.security.readonlyPaths { ops.append(.readonly(path: path)) }
        }
        if c.rootfs.readOnly {
            ops.append(.mountAttr(target: "/", set: MOUNT_ATTR_RDONLY, clear: 0, propagation: 0, recursive: false, inRoot: false))
        }
        // As root, before the uid change (a directory only the container user can enter still works: runc does the same).
        ops.append(.chdir(path: c.workingDir))
        ops.append(.umask(0o022))
        if c.tty { ops.append(.setsid(controllingTerminal: true)) }
        ops += credentialOps(c.identity, c.security)
        ops.append(.exec(file: c.argv.first ?? "", argv: c.argv, env: c.env))
        return Program(ops)
    }

    static func rootfsOps(_ r: ContainerLaunch.Rootfs) -> [ProgramOp] {
        // Overlay stacks the leftmost lowerdir on top; OCI lists layers bottom first.
        let lower = r.layers.reversed().joined(separator: ":")
        let data = "lowerdir=\(lower),upperdir=\(r.upper),workdir=\(r.work)"
        return [
            .mount(source: "overlay", target: r.mountpoint, fstype: "overlay", flags: 0, data: data, inRoot: false),
            .setRoot(path: r.mountpoint),
        ]
    }

    static func apiFilesystemOps(_ c: ContainerLaunch) -> [ProgramOp] {
        var ops: [ProgramOp] = []
        func dir(_ path: String, mode: UInt32 = 0o755) { ops.append(.mkdir(path: path, mode: mode, inRoot: true)) }
        func mount(_ source: String?, _ target: String, _ fstype: String?, _ flags: UInt, _ data: String?) {
            ops.append(.mount(source: source, target: target, fstype: fstype, flags: flags, data: data, inRoot: true))
        }
        dir("/proc")
        mount("proc", "/proc", "proc", rwFlags, nil)
        dir("/dev")
        mount("tmpfs", "/dev", "tmpfs", UInt(MS_NOSUID), "mode=755,size=65536k")
        for device in c.devices {
            ops.append(.mkfile(path: device, mode: 0o644, inRoot: true))
            mount(device, device, nil, UInt(MS_BIND), nil)
        }
        dir("/dev/pts")
        mount("devpts", "/dev/pts", "devpts", UInt(MS_NOSUID | MS_NOEXEC), "newinstance,ptmxmode=0666,mode=0620,gid=5")
        dir("/dev/shm", mode: 0o1777)
        if let shm = c.sharedMemory {
            mount(shm, "/dev/shm", nil, UInt(MS_BIND), nil)
        } else {
            mount("shm", "/dev/shm", "tmpfs", rwFlags, "mode=1777,size=65536k")
        }
        dir("/dev/mqueue")
        mount("mqueue", "/dev/mqueue", "mqueue", rwFlags, nil)
        for (content, link) in [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
                                ("/proc/self/fd/2", "/dev/stderr"), ("pts/ptmx", "/dev/ptmx"), ("/proc/kcore", "/dev/core")] {
            ops.append(.symlink(content: content, path: link, inRoot: true))
        }
        dir("/sys")
        mount("sysfs", "/sys", "sysfs", rwFlags | (c.security.privileged ? 0 : UInt(MS_RDONLY)), nil)
        return ops
    }

    static func volumeOps(_ m: ContainerLaunch.Mount, slot: Int?) -> [ProgramOp] {
        var ops: [ProgramOp] = []
        ops.append(m.isDirectory
            ? .mkdir(path: m.destination, mode: 0o755, inRoot: true)
            : .mkfile(path: m.destination, mode: 0o644, inRoot: true))
        if let slot {
            ops.append(.moveMount(slot: slot, target: m.destination, inRoot: true))
        } else {
            ops.append(.mount(source: m.source, target: m.destination, fstype: nil, flags: UInt(MS_BIND | MS_REC), data: nil, inRoot: true))
            let propagation = m.propagation == .none ? UInt64(MS_PRIVATE) : UInt64(MS_SLAVE)
            ops.append(.mountAttr(target: m.destination, set: 0, clear: 0, propagation: propagation, recursive: true, inRoot: true))
        }
        if m.readOnly {
            ops.append(.mountAttr(target: m.destination, set: MOUNT_ATTR_RDONLY, clear: 0, propagation: 0,
                                  recursive: m.recursiveReadOnly, inRoot: true))
        }
        return ops
    }

    /// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it goes before the
    /// capabilities drop; with it, as late as possible so setup syscalls are not filtered.
    static func credentialOps(_ id: ContainerLaunch.Identity, _ s: ContainerLaunch.Security) -> [ProgramOp] {
        var ops: [ProgramOp] = []
        if let bpf = s.seccomp, !s.noNewPrivileges { ops.append(.seccomp(bpf: bpf)) }
        ops.append(.boundingSet(keep: s.capabilities, lastCap: s.lastCapability))
        ops.append(.setIDs(uid: id.uid, gid: id.gid, groups: id.groups))
        ops.append(.capabilities(effective: s.capabilities, permitted: s.capabilities, inheritable: s.capabilities, ambient: 0))
        if s.noNewPrivileges { ops.append(.noNewPrivileges) }
        if let bpf = s.seccomp, s.noNewPrivileges { ops.append(.seccomp(bpf: bpf)) }
        return ops
    }

    /// A process joining a running container (`exec`): its mount namespace (the pid namespace
    /// is entered by the sandbox before clone), its cgroup, its credentials.
    public static func buildExec(argv: [String], env: [String], workingDir: String, identity: ContainerLaunch.Identity,
                                 security: ContainerLaunch.Security, tty: Bool, cgroupProcsFiles: Int, mountNamespaceFD: Int) -> Program {
        var ops: [ProgramOp] = []
        for i in 0..<cgroupProcsFiles { ops.append(.cgroupEnter(fdIndex: i)) }
        ops.append(.setns(fdIndex: mountNamespaceFD, type: Int32(CLONE_NEWNS)))
        ops.append(.chdir(path: workingDir))
        ops.append(.umask(0o022))
        if tty { ops.append(.setsid(controllingTerminal: true)) }
        ops += credentialOps(identity, security)
        ops.append(.exec(file: argv.first ?? "", argv: argv, env: env))
        return Program(ops)
    }
}
