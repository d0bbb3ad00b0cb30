#if canImport(Glibc)
import Glibc
#endif
import CShims

/// Limits Shoal applies to a pod or container cgroup, in Kubernetes' terms already converted.
public struct CgroupResources: Sendable, Equatable {
    /// Bytes; nil means unlimited.
    public var memoryLimit: Int64?
    /// Relative CPU weight as cgroup v1 `cpu.shares` (2…262144); converted for v2.
    public var cpuShares: UInt64?
    /// CFS quota in microseconds per `cpuPeriod`; nil means unlimited.
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64
    public var pidsLimit: Int64?
    /// The devices the cgroup's processes may use; nil leaves device access as the parent
    /// cgroup has it (a privileged container, or a pod cgroup).
    public var devices: [DeviceRule]?

    public init(memoryLimit: Int64? = nil, cpuShares: UInt64? = nil, cpuQuota: Int64? = nil, cpuPeriod: UInt64 = 100_000, pidsLimit: Int64? = nil,
                devices: [DeviceRule]? = nil) {
        self.memoryLimit = memoryLimit
        self.cpuShares = cpuShares
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.pidsLimit = pidsLimit
        self.devices = devices
    }
}

/// How a child process enters its cgroup: v1 writes "0" to each controller's `cgroup.procs`
/// (the child does it as its first step), v2 uses `clone3(CLONE_INTO_CGROUP)` with a directory fd.
public struct CgroupPlacement: Sendable {
    public var procsFiles: [FileDescriptor]
    public var directory: FileDescriptor?
}

public enum CgroupVersion: String, Sendable { case v1, v2 }

/// The cgroup operations Shoal needs; v1 (legacy and hybrid hosts) and v2 (unified hosts)
/// differ only in paths, file names and how a process is placed.
public protocol CgroupDriver: Sendable {
    var version: CgroupVersion { get }
    /// Creates `path` (relative to the driver's root) and its parents.
    func create(_ path: String) throws(SystemError)
    func apply(_ path: String, _ resources: CgroupResources) throws(SystemError)
    func placement(_ path: String) throws(SystemError) -> CgroupPlacement
    /// Removes the leaf and then each empty parent up to the root; an already removed path is fine.
    func remove(_ path: String) throws(SystemError)
    /// How many times the kernel's OOM killer killed a process in this cgroup.
    func oomKills(_ path: String) -> Int
    /// The pids in the cgroup (its own processes only).
    func processes(_ path: String) -> [Int32]
    /// Whether the cgroup directory exists.
    func exists(_ path: String) -> Bool
    /// Absolute directories backing `path`, for diagnostics and leftover checks.
    func directories(_ path: String) -> [String]
    /// Removes the driver's root directory if it is empty.
    func removeRoot()
}

extension CgroupDriver {
    public func removeRoot() {
        for dir in directories("") { rmdir(dir) }
    }
}

public enum Cgroups {
    static let cgroup2Magic: Int64 = 0x6367_7270

    /// The driver for this host, rooted at `<the agent's own cgroup>/<parent>`, so that pods
    /// nest inside whatever the agent was started in.
    public static func detect(parent: String, mountRoot: String = "/sys/fs/cgroup") throws(SystemError) -> CgroupDriver {
        let selfCgroups = (try? FileSystem.readString("/proc/self/cgroup")) ?? ""
        if sh_statfs_type(mountRoot) == cgroup2Magic {
            let own = ProcCgroup.parse(selfCgroups).first { $0.hierarchyID == 0 }?.path ?? "/"
            return try CgroupV2Driver(mountRoot: mountRoot, ownPath: own, parent: parent)
        }
        let mountinfo = (try? FileSystem.readString("/proc/self/mountinfo")) ?? ""
        return CgroupV1Driver(mounts: CgroupV1Driver.controllerMounts(mountinfo), own: ProcCgroup.parse(selfCgroups), parent: parent)
    }
}

extension Cgroups {
    /// The directories `detect(parent:)` would root its driver at, without creating or moving
    /// anything: where a process started from here nests its cgroups (for a lab, which kills
    /// and removes a node's processes from outside the node).
    public static func directories(parent: String, mountRoot: String = "/sys/fs/cgroup") -> [String] {
        let own = ProcCgroup.parse((try? FileSystem.readString("/proc/self/cgroup")) ?? "")
        if sh_statfs_type(mountRoot) == cgroup2Magic {
            return [joinPath(mountRoot, own.first { $0.hierarchyID == 0 }?.path ?? "/", parent)]
        }
        let mounts = CgroupV1Driver.controllerMounts((try? FileSystem.readString("/proc/self/mountinfo")) ?? "")
        return CgroupV1Driver(mounts: mounts, own: own, parent: parent).directories("")
    }

    /// SIGKILLs every process in `directory` and the cgroups below it, until none is left (or
    /// five seconds pass): a machine losing power.
    public static func killTree(_ directory: String) async {
        let deadline = monotonicNanos() + 5_000_000_000
        while monotonicNanos() < deadline {
            let pids = tree(directory).flatMap { dir in
                (readControl(dir + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
            }
            if pids.isEmpty { break }
            for pid in pids { HostProcess.current(pid)?.signal(SIGKILL) }
            for pid in pids { _ = await HostProcess.current(pid)?.waitExit(timeout: 1) }
        }
    }

    /// Removes `directory` and the cgroups below it, deepest first; returns those that could
    /// not be removed (still holding a process).
    public static func removeTree(_ directory: String) -> [String] {
        var left: [String] = []
        for dir in tree(directory).reversed() where rmdir(dir) != 0 && errno != ENOENT { left.append(dir) }
        return left
    }

    /// `directory` and every cgroup below it, parents before children.
    static func tree(_ directory: String) -> [String] {
        guard FileSystem.isDirectory(directory) else { return [] }
        var out = [directory]
        var i = 0
        while i < out.count {
            for entry in (try? FileSystem.listDirectory(out[i])) ?? [] where FileSystem.isDirectory(out[i] + "/" + entry) {
                out.append(out[i] + "/" + entry)
            }
            i += 1
        }
        return out
    }
}

/// One line of /proc/self/cgroup: `hierarchy-ID:controller-list:path`.
public struct ProcCgroup: Sendable, Equatable {
    public var hierarchyID: Int
    public var controllers: [String]
    public var path: String

    public static func parse(_ text: String) -> [ProcCgroup] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let id = Int(parts[0]) else { return nil }
            let controllers = parts[1].isEmpty ? [] : parts[1].split(separator: ",").map(String.init)
            return ProcCgroup(hierarchyID: id, controllers: controllers, path: String(parts[2]))
        }
    }
}

func writeControl(_ file: String, _ value: String) throws(SystemError) {
    let fd = try FileDescriptor.open(file, O_WRONLY)
    defer { fd.close() }
    try fd.write(value)
}

func readControl(_ file: String) -> String? {
    (try? FileSystem.readString(file))?.trimmingWhitespace()
}

func joinPath(_ parts: String...) -> String {
    var out = ""
    for part in parts where !part.isEmpty && part != "/" {
        let trimmed = part.hasPrefix("/") ? String(part.dropFirst()) : part
        out += "/" + (trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed)
    }
    return out.isEmpty ? "/" : out
}

/// A counter line such as `oom_kill 3` from memory.oom_control / memory.events.
func counter(_ text: String?, _ key: String) -> Int {
    guard let text else { return 0 }
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count == 2, fields[0] == key, let v = Int(fields[1]) { return v }
    }
    return 0
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

func removeUpward(_ base: String, _ path: String) throws(SystemError) {
    var rel = path
    while !rel.isEmpty && rel != "/" {
        let dir = joinPath(base, rel)
        if rmdir(dir) != 0 {
            switch errno {
            case ENOENT: break
            case EBUSY, ENOTEMPTY:
                // A sibling pod (or a process still exiting) keeps the parent alive; only the leaf must go.
                if rel == path { throw SystemError("rmdir cgroup", errno: EBUSY, path: dir) }
                return
            default: throw SystemError("rmdir cgroup", path: dir)
            }
        }
        rel = FileSystem.dirname(rel)
        if rel == "." { return }
    }
}

/// cgroup v1: one hierarchy per controller (or co-mounted set, like `cpu,cpuacct`).
public struct CgroupV1Driver: CgroupDriver {
    public var version: CgroupVersion { .v1 }
    /// The controllers Shoal uses, and the directory each of our paths lives under.
    public let roots: [String: String]
    static let controllers = ["memory", "cpu", "pids", "devices"]

    init(mounts: [String: String], own: [ProcCgroup], parent: String) {
        var roots: [String: String] = [:]
        for controller in CgroupV1Driver.controllers {
            guard let mount = mounts[controller] else { continue }
            let ownPath = own.first { $0.controllers.contains(controller) }?.path ?? "/"
            roots[controller] = joinPath(mount, ownPath, parent)
        }
        self.roots = roots
    }

    /// controller → mount point, from mountinfo lines of type `cgroup` (super options list the controllers).
    static func controllerMounts(_ mountinfo: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in mountinfo.split(separator: "\n") {
            // Optional fields end at a lone "-"; the filesystem type and super options follow it.
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let pre = fields[..<dash], post = Array(fields[(dash + 1)...])
            guard pre.count > 4, post.count >= 3, post[0] == "cgroup" else { continue }
            for option in post[2].split(separator: ",") where controllers.contains(String(option)) {
                out[String(option)] = HostMounts.unescapeMountinfo(String(pre[4]))
            }
        }
        return out
    }

    public func create(_ path: String) throws(SystemError) {
        for root in roots.values { try FileSystem.createDirectory(joinPath(root, path)) }
    }

    public func apply(_ path: String, _ r: CgroupResources) throws(SystemError) {
        if let memory = roots["memory"] {
            let dir = joinPath(memory, path)
            let limit = r.memoryLimit.map(String.init) ?? "-1"
            // memsw must stay >= the limit: raise order matters when lowering from unlimited.
            try writeControl(dir + "/memory.limit_in_bytes", limit)
            if FileSystem.exists(dir + "/memory.memsw.limit_in_bytes") {
                try writeControl(dir + "/memory.memsw.limit_in_bytes", limit)
            }
        }
        if let cpu = roots["cpu"] {
            let dir = joinPath(cpu, path)
            if let shares = r.cpuShares { try writeControl(dir + "/cpu.shares", String(shares)) }
            try writeControl(dir + "/cpu.cfs_period_us", String(r.cpuPeriod))
            try writeControl(dir + "/cpu.cfs_quota_us", String(r.cpuQuota ?? -1))
        }
        if let pids = roots["pids"] {
            try writeControl(joinPath(pids, path) + "/pids.max", r.pidsLimit.map(String.init) ?? "max")
        }
        if let devices = roots["devices"], let rules = r.devices {
            // Deny everything, then allow the rules: a fresh cgroup inherits its parent's list.
            let dir = joinPath(devices, path)
            try writeControl(dir + "/devices.deny", "a")
            for rule in rules { try writeControl(dir + "/devices.allow", rule.line) }
        }
    }

    public func placement(_ path: String) throws(SystemError) -> CgroupPlacement {
        var files: [FileDescriptor] = []
        for root in roots.values.sorted() {
            files.append(try FileDescriptor.open(joinPath(root, path) + "/cgroup.procs", O_WRONLY))
        }
        return CgroupPlacement(procsFiles: files, directory: nil)
    }

    public func remove(_ path: String) throws(SystemError) {
        for root in roots.values.sorted() { try removeUpward(root, path) }
    }

    public func oomKills(_ path: String) -> Int {
        guard let memory = roots["memory"] else { return 0 }
        return counter(try? FileSystem.readString(joinPath(memory, path) + "/memory.oom_control"), "oom_kill")
    }

    public func processes(_ path: String) -> [Int32] {
        guard let root = roots["pids"] ?? roots.values.first else { return [] }
        return (readControl(joinPath(root, path) + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    public func exists(_ path: String) -> Bool {
        roots.values.contains { FileSystem.isDirectory(joinPath($0, path)) }
    }

    public func directories(_ path: String) -> [String] { roots.values.sorted().map { joinPath($0, path) } }
}

/// cgroup v2: one tree. Controllers must be enabled in every ancestor's `cgroup.subtree_control`,
/// and a cgroup with enabled controllers may hold no processes itself ("no internal processes"),
/// so the agent first moves itself into a leaf of its own cgroup.
public struct CgroupV2Driver: CgroupDriver {
    public var version: CgroupVersion { .v2 }
    public let root: String
    let controllers = ["memory", "cpu", "pids"]

    init(mountRoot: String, ownPath: String, parent: String) throws(SystemError) {
        let own = joinPath(mountRoot, ownPath)
        root = joinPath(own, parent)
        try CgroupV2Driver.prepare(own: own, controllers: controllers)
        try FileSystem.createDirectory(root)
        try enableControllers(in: root)
    }

    /// Moves the agent out of its own cgroup into `<own>/shoal-agent` when that cgroup holds
    /// processes, so controllers can be enabled below it.
    static func prepare(own: String, controllers: [String]) throws(SystemError) {
        let procs = readControl(own + "/cgroup.procs") ?? ""
        if !procs.isEmpty && own != "/sys/fs/cgroup" {
            let leaf = own + "/shoal-agent"
            try FileSystem.createDirectory(leaf)
            for pid in procs.split(separator: "\n") {
                // Processes may have exited meanwhile.
                try? writeControl(leaf + "/cgroup.procs", String(pid))
            }
        }
        let available = Set((readControl(own + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init))
        let wanted = controllers.filter { available.contains($0) }.map { "+" + $0 }.joined(separator: " ")
        if !wanted.isEmpty { try writeControl(own + "/cgroup.subtree_control", wanted) }
    }

    func enableControllers(in dir: String) throws(SystemError) {
        let available = Set((readControl(dir + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init))
        let wanted = controllers.filter { available.contains($0) }.map { "+" + $0 }.joined(separator: " ")
        if !wanted.isEmpty { try writeControl(dir + "/cgroup.subtree_control", wanted) }
    }

    public func create(_ path: String) throws(SystemError) {
        // Each intermediate level must delegate the controllers to the next.
        var rel = ""
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() {
            rel += "/" + part
            let dir = joinPath(root, rel)
            try FileSystem.createDirectory(dir)
            if i < parts.count - 1 { try enableControllers(in: dir) }
        }
    }

    public func apply(_ path: String, _ r: CgroupResources) throws(SystemError) {
        let dir = joinPath(root, path)
        if FileSystem.exists(dir + "/memory.max") {
            try writeControl(dir + "/memory.max", r.memoryLimit.map(String.init) ?? "max")
            if FileSystem.exists(dir + "/memory.swap.max") {
                try writeControl(dir + "/memory.swap.max", r.memoryLimit == nil ? "max" : "0")
            }
            // Kill the whole container on OOM, as Kubernetes expects of a container.
            if FileSystem.exists(dir + "/memory.oom.group") { try writeControl(dir + "/memory.oom.group", "1") }
        }
        if FileSystem.exists(dir + "/cpu.max") {
            if let shares = r.cpuShares { try writeControl(dir + "/cpu.weight", String(CgroupV2Driver.weight(fromShares: shares))) }
            try writeControl(dir + "/cpu.max", "\(r.cpuQuota.map(String.init) ?? "max") \(r.cpuPeriod)")
        }
        if FileSystem.exists(dir + "/pids.max") {
            try writeControl(dir + "/pids.max", r.pidsLimit.map(String.init) ?? "max")
        }
        if let rules = r.devices { try CgroupV2Driver.attachDeviceFilter(dir, rules) }
    }

    /// cgroup v2's device control: the rules as an eBPF program on the cgroup directory. It
    /// goes when the cgroup is removed.
    public static func attachDeviceFilter(_ dir: String, _ rules: [DeviceRule]) throws(SystemError) {
        let fd = try FileDescriptor.open(dir, O_RDONLY | O_DIRECTORY)
        let code = DeviceFilter.program(rules).flatMap(\.bytes)
        var log = [CChar](repeating: 0, count: 16 << 10)
        let rc = code.withUnsafeBytes { sh_attach_device_filter(fd.raw, $0.baseAddress, UInt32(code.count / 8), &log, UInt32(log.count)) }
        if rc < 0 {
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SystemError(verifier.isEmpty ? "attach device filter" : "attach device filter (verifier: \(verifier))", errno: -rc, path: dir)
        }
    }

    /// The conversion the kubelet and runc use (shares 2…262144 → weight 1…10000).
    public static func weight(fromShares shares: UInt64) -> UInt64 {
        let s = min(max(shares, 2), 262_144)
        return 1 + ((s - 2) * 9999) / 262_142
    }

    public func placement(_ path: String) throws(SystemError) -> CgroupPlacement {
        CgroupPlacement(procsFiles: [], directory: try FileDescriptor.open(joinPath(root, path), O_RDONLY | O_DIRECTORY))
    }

    public func remove(_ path: String) throws(SystemError) { try removeUpward(root, path) }

    public func oomKills(_ path: String) -> Int {
        counter(try? FileSystem.readString(joinPath(root, path) + "/memory.events"), "oom_kill")
    }

    public func processes(_ path: String) -> [Int32] {
        (readControl(joinPath(root, path) + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    public func exists(_ path: String) -> Bool { FileSystem.isDirectory(joinPath(root, path)) }

    public func directories(_ path: String) -> [String] { [joinPath(root, path)] }
}
