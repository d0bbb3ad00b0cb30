import Foundation
import ShoalAPI
import ShoalOS

#if canImport(Glibc)
import Glibc
#endif

/// What the agent reports about its machine: identity, capacity and pressure (the kubelet's
/// cadvisor machine info, node status setters and eviction signals, read from /proc and statvfs).
struct NodeFacts: Sendable, Equatable {
    var cpus: Int
    /// MemTotal and MemAvailable of /proc/meminfo, in KiB.
    var memoryTotalKiB: Int64
    var memoryAvailableKiB: Int64?
    /// The data directory's filesystem.
    var diskTotalBytes: Int64
    var diskAvailableBytes: Int64
    /// /proc/sys/kernel/pid_max and the tasks (threads) that exist now.
    var pidMax: Int64?
    var tasks: Int64?
    var machineID: String
    /// The DMI product UUID (readable by root), empty when the machine has none.
    var systemUUID: String = ""
    var bootID: String
    var kernelVersion: String
    var osImage: String
    var architecture: String

    /// Reads the running machine's facts; unreadable values are zero or empty.
    static func read(dataDir: String) -> NodeFacts {
        let meminfo = (try? FileSystem.readString("/proc/meminfo")).map(parseMeminfo) ?? [:]
        var vfs = statvfs()
        let haveVFS = statvfs(dataDir, &vfs) == 0
        let pidMax = (try? FileSystem.readString("/proc/sys/kernel/pid_max")).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let tasks = (try? FileSystem.readString("/proc/loadavg")).flatMap(parseLoadavgTasks)
        let names = uname()
        return NodeFacts(
            cpus: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
            memoryTotalKiB: meminfo["MemTotal"] ?? 0,
            memoryAvailableKiB: meminfo["MemAvailable"],
            diskTotalBytes: haveVFS ? Int64(vfs.f_blocks) * Int64(vfs.f_frsize) : 0,
            diskAvailableBytes: haveVFS ? Int64(vfs.f_bavail) * Int64(vfs.f_frsize) : 0,
            pidMax: pidMax, tasks: tasks,
            machineID: readTrimmed("/etc/machine-id"),
            systemUUID: readTrimmed("/sys/class/dmi/id/product_uuid").lowercased(),
            bootID: readTrimmed("/proc/sys/kernel/random/boot_id"),
            kernelVersion: names.release,
            osImage: (try? FileSystem.readString("/etc/os-release")).flatMap(parseOSRelease) ?? "Linux",
            architecture: goArch(names.machine))
    }

    static func readTrimmed(_ path: String) -> String {
        ((try? FileSystem.readString(path)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `MemTotal:  16318908 kB` → ["MemTotal": 16318908] (KiB).
    static func parseMeminfo(_ text: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard let first = fields.first, let value = Int64(first) else { continue }
            out[String(line[..<colon])] = value
        }
        return out
    }

    /// The total of `/proc/loadavg`'s fourth field (`running/total`): tasks that exist.
    static func parseLoadavgTasks(_ text: String) -> Int64? {
        let fields = text.split(separator: " ")
        guard fields.count >= 4, let slash = fields[3].firstIndex(of: "/") else { return nil }
        return Int64(fields[3][fields[3].index(after: slash)...])
    }

    /// PRETTY_NAME of /etc/os-release, unquoted.
    static func parseOSRelease(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            var value = Substring(line.dropFirst("PRETTY_NAME=".count))
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = value.dropFirst().dropLast()
            }
            return String(value)
        }
        return nil
    }

    /// uname(2)'s release and machine.
    static func uname() -> (release: String, machine: String) {
        var u = utsname()
        guard Glibc.uname(&u) == 0 else { return ("", "") }
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (release, machine)
    }

    /// GOARCH names, as `kubernetes.io/arch` uses them.
    static func goArch(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i386", "i686": return "386"
        case "armv7l", "armv6l": return "arm"
        default: return machine
        }
    }

    // MARK: pressure (the kubelet's default hard eviction thresholds)

    /// memory.available < 100Mi.
    var memoryPressure: Bool { (memoryAvailableKiB ?? Int64.max) < 100 * 1024 }
    /// nodefs.available < 10%.
    var diskPressure: Bool { diskTotalBytes > 0 && diskAvailableBytes * 10 < diskTotalBytes }
    /// Fewer than 5% of pid_max free.
    var pidPressure: Bool {
        guard let pidMax, let tasks, pidMax > 0 else { return false }
        return (pidMax - tasks) * 20 < pidMax
    }
}

/// The Node object and its status as the agent registers and refreshes them
/// (the kubelet's initialNode and node status setters).
enum NodeBuilder {
    static let kubeletVersion = "v1.32.0-shoal"
    static let runtimeVersion = "shoal://0.1"
    static let nodeAPIAnnotation = "shoal.io/node-api"
    /// Where the master's local-path provisioner puts this node's volumes.
    static let localPathRootAnnotation = "shoal.io/local-path-root"
    static let maxPods: Int64 = 110

    struct Identity: Sendable {
        var nodeName: String
        var hostname: String
        var internalIP: String
        var nodeAPIURL: String?
        var labels: [String: String] = [:]
        var localPathRoot: String?
    }

    /// The annotations the agent owns on its Node.
    static func annotations(_ id: Identity) -> [String: String] {
        var out: [String: String] = [:]
        if let url = id.nodeAPIURL { out[nodeAPIAnnotation] = url }
        if let root = id.localPathRoot { out[localPathRootAnnotation] = root }
        return out
    }

    static func metadata(_ id: Identity, facts: NodeFacts) -> ObjectMeta {
        var labels = id.labels
        labels[WellKnownNodeLabel.hostname] = id.hostname
        labels[WellKnownNodeLabel.os] = "linux"
        labels[WellKnownNodeLabel.arch] = facts.architecture
        let annotations = annotations(id)
        return ObjectMeta(name: id.nodeName, labels: labels, annotations: annotations.isEmpty ? nil : annotations)
    }

    static func node(_ id: Identity, facts: NodeFacts, conditions: [NodeCondition]) -> Node {
        Node(metadata: metadata(id, facts: facts), spec: NodeSpec(), status: status(id, facts: facts, conditions: conditions))
    }

    static func status(_ id: Identity, facts: NodeFacts, conditions: [NodeCondition]) -> NodeStatus {
        var capacity: [String: Quantity] = [
            "cpu": Quantity(integer: Int64(facts.cpus)),
            "memory": Quantity(integer: facts.memoryTotalKiB * 1024, format: .binarySI),
            "pods": Quantity(integer: maxPods),
        ]
        if facts.diskTotalBytes > 0 {
            capacity["ephemeral-storage"] = Quantity(integer: facts.diskTotalBytes, format: .binarySI)
        }
        var addresses = [NodeAddress(type: .internalIP, address: id.internalIP)]
        if !id.hostname.isEmpty { addresses.append(NodeAddress(type: .hostname, address: id.hostname)) }
        return NodeStatus(
            capacity: capacity, allocatable: capacity, conditions: conditions, addresses: addresses,
            daemonEndpoints: NodeDaemonEndpoints(kubeletEndpoint: DaemonEndpoint(port: 0)),
            nodeInfo: NodeSystemInfo(
                machineID: facts.machineID, systemUUID: facts.systemUUID, bootID: facts.bootID, kernelVersion: facts.kernelVersion,
                osImage: facts.osImage, containerRuntimeVersion: runtimeVersion, kubeletVersion: kubeletVersion,
                kubeProxyVersion: "", operatingSystem: "linux", architecture: facts.architecture))
    }

    /// Ready and the three pressure conditions, with heartbeat `now`; a condition keeps its
    /// transition time while its status stays what `previous` had.
    static func conditions(_ facts: NodeFacts, previous: [NodeCondition], now: Time) -> [NodeCondition] {
        func make(_ type: NodeConditionType, _ on: Bool, _ reasons: (String, String), _ messages: (String, String)) -> NodeCondition {
            let status: ConditionStatus = on ? .true : .false
            let before = previous.first { $0.type == type }
            let transition = before?.status == status ? (before?.lastTransitionTime ?? now) : now
            return NodeCondition(type: type, status: status, lastHeartbeatTime: now, lastTransitionTime: transition,
                                 reason: on ? reasons.0 : reasons.1, message: on ? messages.0 : messages.1)
        }
        return [
            make(.memoryPressure, facts.memoryPressure, ("KubeletHasInsufficientMemory", "KubeletHasSufficientMemory"),
                 ("kubelet has insufficient memory available", "kubelet has sufficient memory available")),
            make(.diskPressure, facts.diskPressure, ("KubeletHasDiskPressure", "KubeletHasNoDiskPressure"),
                 ("kubelet has disk pressure", "kubelet has no disk pressure")),
            make(.pidPressure, facts.pidPressure, ("KubeletHasInsufficientPID", "KubeletHasSufficientPID"),
                 ("kubelet has insufficient PID available", "kubelet has sufficient PID available")),
            make(.ready, true, ("KubeletReady", "KubeletNotReady"), ("shoal agent is posting ready status", "")),
        ]
    }
}
