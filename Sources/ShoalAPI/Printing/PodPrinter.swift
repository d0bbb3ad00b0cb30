/// The columns `kubectl get pods` prints, computed as kubectl's printPod does
/// (pkg/printers/internalversion/printers.go), so Shoal's tables read the same.
public struct PodRow: Sendable, Equatable {
    public var name: String
    public var namespace: String
    public var ready: String
    public var status: String
    public var restarts: String
    public var age: String
    public var ip: String
    public var node: String
}

public enum PodPrinter {
    public static func row(_ pod: Pod, now: Int64) -> PodRow {
        let status = pod.status ?? PodStatus()
        var restarts: Int32 = 0
        var sidecarRestarts: Int32 = 0
        var total = pod.spec.containers.count
        var readyCount = 0
        var lastRestart: Int64 = 0
        var reason = status.reason ?? status.phase?.rawValue ?? ""
        let inits = Dictionary((pod.spec.initContainers ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        total += (pod.spec.initContainers ?? []).filter { $0.restartPolicy == .always }.count

        var initializing = false
        let initStatuses = status.initContainerStatuses ?? []
        for (i, c) in initStatuses.enumerated() {
            restarts += c.restartCount
            if let f = c.lastState?.terminated?.finishedAt, f.secondsSinceEpoch > lastRestart { lastRestart = f.secondsSinceEpoch }
            let restartable = inits[c.name]?.restartPolicy == .always
            if restartable {
                sidecarRestarts += c.restartCount
                if c.ready { readyCount += 1 }
            }
            if let t = c.state?.terminated, t.exitCode == 0 { continue }
            if restartable && c.started == true { continue }
            if let t = c.state?.terminated {
                if let r = t.reason, !r.isEmpty {
                    reason = "Init:" + r
                } else if let s = t.signal, s != 0 {
                    reason = "Init:Signal:\(s)"
                } else {
                    reason = "Init:ExitCode:\(t.exitCode)"
                }
            } else if let w = c.state?.waiting, let r = w.reason, !r.isEmpty, r != "PodInitializing" {
                reason = "Init:" + r
            } else {
                reason = "Init:\(i)/\((pod.spec.initContainers ?? []).count)"
            }
            initializing = true
            break
        }
        let initializedTrue = (status.conditions ?? []).contains { $0.type == .initialized && $0.status == .true }
        if !initializing || initializedTrue {
            restarts = sidecarRestarts
            var hasRunning = false
            for c in (status.containerStatuses ?? []).reversed() {
                restarts += c.restartCount
                if let f = c.lastState?.terminated?.finishedAt, f.secondsSinceEpoch > lastRestart { lastRestart = f.secondsSinceEpoch }
                if let w = c.state?.waiting, let r = w.reason, !r.isEmpty {
                    reason = r
                } else if let t = c.state?.terminated, let r = t.reason, !r.isEmpty {
                    reason = r
                } else if let t = c.state?.terminated {
                    reason = (t.signal ?? 0) != 0 ? "Signal:\(t.signal ?? 0)" : "ExitCode:\(t.exitCode)"
                } else if c.ready && c.state?.running != nil {
                    hasRunning = true
                    readyCount += 1
                }
            }
            if reason == "Completed" && hasRunning {
                reason = (status.conditions ?? []).contains { $0.type == .ready && $0.status == .true } ? "Running" : "NotReady"
            }
        }
        let phase = status.phase
        if pod.metadata.deletionTimestamp != nil && status.reason == "NodeLost" {
            reason = "Unknown"
        } else if pod.metadata.deletionTimestamp != nil && phase != .succeeded && phase != .failed {
            reason = "Terminating"
        }
        var restartText = String(restarts)
        if restarts != 0 && lastRestart != 0 {
            restartText = "\(restarts) (\(humanDuration(seconds: now - lastRestart)) ago)"
        }
        let age = pod.metadata.creationTimestamp.map { humanDuration(seconds: now - $0.secondsSinceEpoch) } ?? "<unknown>"
        return PodRow(name: pod.metadata.name ?? "", namespace: pod.metadata.namespace ?? "default", ready: "\(readyCount)/\(total)",
                      status: reason, restarts: restartText, age: age, ip: status.podIP ?? "<none>", node: pod.spec.nodeName ?? "<none>")
    }

    /// apimachinery's duration.HumanDuration.
    public static func humanDuration(seconds s: Int64) -> String {
        if s < -1 { return "<invalid>" }
        if s < 0 { return "0s" }
        if s < 120 { return "\(s)s" }
        let minutes = s / 60
        if minutes < 10 {
            let sec = s % 60
            return sec == 0 ? "\(minutes)m" : "\(minutes)m\(sec)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = s / 3600
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }
}

/// Left-aligned columns three spaces apart, as kubectl's tabwriter prints them.
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for r in rows {
            var line = ""
            for (i, cell) in r.enumerated() {
                line += cell
                if i < r.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 3) }
            }
            out += line + "\n"
        }
        return out
    }
}
