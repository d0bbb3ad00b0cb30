import ShoalAPI
import ShoalOS

/// Kubernetes resources as cgroup settings, with the kubelet's conversions
/// (pkg/kubelet/cm: MilliCPUToShares, MilliCPUToQuota).
enum PodResources {
    static let minShares: UInt64 = 2
    static let period: UInt64 = 100_000

    static func shares(milliCPU: Int64) -> UInt64 {
        max(minShares, UInt64(max(0, milliCPU)) * 1024 / 1000)
    }

    static func quota(milliCPU: Int64) -> Int64 {
        // The kernel refuses quotas under 1 ms.
        max(1000, milliCPU * Int64(period) / 1000)
    }

    static func container(_ c: Container) -> CgroupResources {
        let limits = c.resources?.limits ?? [:], requests = c.resources?.requests ?? [:]
        let cpuRequest = requests["cpu"] ?? limits["cpu"]
        return CgroupResources(
            memoryLimit: limits["memory"]?.value(),
            cpuShares: shares(milliCPU: cpuRequest?.milliValue() ?? 0),
            cpuQuota: limits["cpu"].map { quota(milliCPU: $0.milliValue()) },
            cpuPeriod: period)
    }

    /// The pod cgroup: limits only when every container sets one (else the pod is unbounded).
    static func pod(_ pod: Pod) -> CgroupResources {
        let cs = pod.spec.containers
        var memory: Int64? = 0, cpu: Int64? = 0, shares: Int64 = 0
        for c in cs {
            let limits = c.resources?.limits ?? [:], requests = c.resources?.requests ?? [:]
            if let m = limits["memory"], let total = memory { memory = total + m.value() } else { memory = nil }
            if let l = limits["cpu"], let total = cpu { cpu = total + l.milliValue() } else { cpu = nil }
            shares += (requests["cpu"] ?? limits["cpu"])?.milliValue() ?? 0
        }
        // Init containers run before the others: the pod needs at least the largest of them.
        for c in pod.spec.initContainers ?? [] where c.restartPolicy != .always {
            if let m = c.resources?.limits?["memory"]?.value(), let total = memory { memory = max(total, m) }
        }
        return CgroupResources(
            memoryLimit: memory.flatMap { $0 > 0 ? $0 : nil }, cpuShares: PodResources.shares(milliCPU: shares),
            cpuQuota: cpu.flatMap { $0 > 0 ? quota(milliCPU: $0) : nil }, cpuPeriod: period)
    }
}

/// The files the kubelet writes for every pod.
enum PodFiles {
    static func hosts(_ pod: Pod, hostname: String, podIP: String?) -> String {
        var text: String
        if pod.spec.hostNetwork == true {
            text = "# Kubernetes-managed hosts file (host network).\n" + ((try? FileSystem.readString("/etc/hosts")) ?? "")
        } else {
            text = """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters

            """
            if let ip = podIP, !ip.isEmpty {
                var names = hostname
                if let sub = pod.spec.subdomain, !sub.isEmpty {
                    names = "\(hostname).\(sub).\(pod.metadata.namespace ?? "default").svc.cluster.local\t\(hostname)"
                }
                text += "\(ip)\t\(names)\n"
            }
        }
        if let aliases = pod.spec.hostAliases, !aliases.isEmpty {
            text += "\n# Entries added by HostAliases.\n"
            for a in aliases { text += "\(a.ip)\t\((a.hostnames ?? []).joined(separator: "\t"))\n" }
        }
        return text
    }

    /// dnsPolicy Default (and ClusterFirst while there is no cluster DNS) takes the host's
    /// resolv.conf; None builds it from dnsConfig alone; dnsConfig merges in either case.
    /// As the kubelet writes it: with a cluster DNS server, ClusterFirst (for hostNetwork pods
    /// only ClusterFirstWithHostNet) gets it with the Kubernetes search path and ndots:5;
    /// Default, and ClusterFirst without one, get the host's; None only what dnsConfig says,
    /// which is merged into the others too.
    static func resolvConf(_ pod: Pod, clusterDNS: String?, domain: String = "cluster.local",
                           host: String = (try? FileSystem.readString("/etc/resolv.conf")) ?? "") -> String {
        var nameservers: [String] = [], searches: [String] = [], options: [String] = []
        let policy = pod.spec.dnsPolicy ?? .clusterFirst
        let hostNetwork = pod.spec.hostNetwork ?? false
        if let dns = clusterDNS, (policy == .clusterFirst && !hostNetwork) || (policy == .clusterFirstWithHostNet && hostNetwork) {
            let ns = pod.metadata.namespace ?? "default"
            nameservers = [dns]
            searches = ["\(ns).svc.\(domain)", "svc.\(domain)", domain]
            for line in host.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if f.first == "search" || f.first == "domain" { searches += f.dropFirst() }
            }
            options = ["ndots:5"]
        } else if policy != DNSPolicy.none {
            for line in host.split(separator: "\n") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true).flatMap { $0.split(separator: "\t") }.map(String.init)
                guard let key = f.first else { continue }
                switch key {
                case "nameserver": nameservers += f.dropFirst()
                case "search", "domain": searches += f.dropFirst()
                case "options": options += f.dropFirst()
                default: break
                }
            }
        }
        if let c = pod.spec.dnsConfig {
            nameservers += c.nameservers ?? []
            searches += c.searches ?? []
            for o in c.options ?? [] {
                let name = o.name ?? ""
                options.removeAll { $0 == name || $0.hasPrefix(name + ":") }
                options.append(o.value.map { "\(name):\($0)" } ?? name)
            }
        }
        var out = ""
        if !searches.isEmpty { out += "search \(searches.joined(separator: " "))\n" }
        for ns in nameservers.prefix(3) { out += "nameserver \(ns)\n" }
        if !options.isEmpty { out += "options \(options.joined(separator: " "))\n" }
        return out
    }
}
