/// `kubectl describe pod` output (pkg/describe: describePod), for the fields Shoal fills.
public enum PodDescriber {
    public static func describe(_ pod: Pod, events: [Event], now: Int64) -> String {
        var w = Writer()
        let status = pod.status ?? PodStatus()
        w.line(0, "Name:", pod.metadata.name ?? "")
        w.line(0, "Namespace:", pod.metadata.namespace ?? "default")
        w.line(0, "Priority:", String(pod.spec.priority ?? 0))
        if let sa = pod.spec.serviceAccountName { w.line(0, "Service Account:", sa) }
        w.line(0, "Node:", [pod.spec.nodeName, status.hostIP].compactMap { $0 }.joined(separator: "/").ifEmpty("<none>"))
        if let start = status.startTime { w.line(0, "Start Time:", start.rfc3339) }
        w.map(0, "Labels:", pod.metadata.labels)
        w.map(0, "Annotations:", pod.metadata.annotations)
        if pod.metadata.deletionTimestamp != nil {
            w.line(0, "Status:", "Terminating (lasts \(pod.metadata.deletionGracePeriodSeconds ?? 0)s)")
        } else {
            w.line(0, "Status:", status.phase?.rawValue ?? "Unknown")
        }
        if let reason = status.reason { w.line(0, "Reason:", reason) }
        if let message = status.message { w.line(0, "Message:", message) }
        w.line(0, "IP:", status.podIP ?? "")
        w.text(0, "IPs:")
        if let ips = status.podIPs, !ips.isEmpty {
            for ip in ips { w.line(2, "IP:", ip.ip) }
        } else {
            w.text(2, "<none>")
        }
        let initStatuses = Dictionary((status.initContainerStatuses ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let statuses = Dictionary((status.containerStatuses ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let inits = pod.spec.initContainers, !inits.isEmpty {
            w.text(0, "Init Containers:")
            for c in inits { container(&w, c, initStatuses[c.name]) }
        }
        w.text(0, "Containers:")
        for c in pod.spec.containers { container(&w, c, statuses[c.name]) }
        if let ephemeral = pod.spec.ephemeralContainers, !ephemeral.isEmpty {
            let ephemeralStatuses = Dictionary((status.ephemeralContainerStatuses ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            w.text(0, "Ephemeral Containers:")
            for e in ephemeral { container(&w, e.container, ephemeralStatuses[e.container.name]) }
        }
        w.text(0, "Conditions:")
        w.table(2, [["Type", "Status"]] + (status.conditions ?? []).map { [$0.type.rawValue, $0.status.rawValue] })
        w.text(0, "Volumes:")
        if let volumes = pod.spec.volumes, !volumes.isEmpty {
            for v in volumes {
                w.text(2, "\(v.name):")
                if let e = v.emptyDir {
                    w.line(4, "Type:", "EmptyDir (a temporary directory that shares a pod's lifetime)")
                    w.line(4, "Medium:", e.medium?.rawValue ?? "")
                    w.line(4, "SizeLimit:", e.sizeLimit?.description ?? "<unset>")
                } else if let h = v.hostPath {
                    w.line(4, "Type:", "HostPath (bare host directory volume)")
                    w.line(4, "Path:", h.path)
                    w.line(4, "HostPathType:", h.type?.rawValue ?? "")
                } else {
                    w.line(4, "Type:", v.sourceNames.first ?? "<unknown>")
                }
            }
        } else {
            w.text(2, "<none>")
        }
        w.line(0, "QoS Class:", status.qosClass?.rawValue ?? "")
        w.line(0, "Node-Selectors:", (pod.spec.nodeSelector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n").ifEmpty("<none>"))
        w.line(0, "Tolerations:", (pod.spec.tolerations ?? []).map { t in
            var s = t.key ?? ""
            if let v = t.value { s += "=" + v }
            if let e = t.effect { s += ":" + e.rawValue }
            if t.operator == .exists && t.key == nil { s = "op=Exists" }
            if let secs = t.tolerationSeconds { s += " for \(secs)s" }
            return s
        }.joined(separator: "\n").ifEmpty("<none>"))
        if events.isEmpty {
            w.line(0, "Events:", "<none>")
        } else {
            w.text(0, "Events:")
            var rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
            for e in events.sorted(by: { ($0.lastTimestamp?.secondsSinceEpoch ?? 0) < ($1.lastTimestamp?.secondsSinceEpoch ?? 0) }) {
                let last = e.lastTimestamp?.secondsSinceEpoch ?? now
                var age = PodPrinter.humanDuration(seconds: now - last)
                if let count = e.count, count > 1, let first = e.firstTimestamp?.secondsSinceEpoch {
                    age += " (x\(count) over \(PodPrinter.humanDuration(seconds: now - first)))"
                }
                rows.append([e.type ?? "Normal", e.reason ?? "", age, e.source?.component ?? e.reportingComponent ?? "", e.message ?? ""])
            }
            w.table(2, rows)
        }
        return w.out
    }

    static func container(_ w: inout Writer, _ c: Container, _ s: ContainerStatus?) {
        w.text(2, "\(c.name):")
        if let id = s?.containerID { w.line(4, "Container ID:", id) }
        w.line(4, "Image:", c.image ?? "")
        w.line(4, "Image ID:", s?.imageID ?? "")
        let ports = (c.ports ?? []).map { "\($0.containerPort)/\($0.protocol?.rawValue ?? "TCP")" }
        w.line(4, "Port:", ports.isEmpty ? "<none>" : ports.joined(separator: ", "))
        w.line(4, "Host Port:", (c.ports ?? []).compactMap { $0.hostPort.map { "\($0)" } }.joined(separator: ", ").ifEmpty("<none>"))
        if let command = c.command {
            w.text(4, "Command:")
            for a in command { w.text(6, a) }
        }
        if let args = c.args {
            w.text(4, "Args:")
            for a in args { w.text(6, a) }
        }
        state(&w, "State:", s?.state)
        if let last = s?.lastState, last.running != nil || last.terminated != nil || last.waiting != nil {
            state(&w, "Last State:", last)
        }
        w.line(4, "Ready:", s?.ready == true ? "True" : "False")
        w.line(4, "Restart Count:", String(s?.restartCount ?? 0))
        if let limits = c.resources?.limits, !limits.isEmpty {
            w.text(4, "Limits:")
            for (k, v) in limits.sorted(by: { $0.key < $1.key }) { w.line(6, "\(k):", v.description) }
        }
        if let requests = c.resources?.requests, !requests.isEmpty {
            w.text(4, "Requests:")
            for (k, v) in requests.sorted(by: { $0.key < $1.key }) { w.line(6, "\(k):", v.description) }
        }
        for (label, probe) in [("Liveness:", c.livenessProbe), ("Readiness:", c.readinessProbe), ("Startup:", c.startupProbe)] {
            if let probe { w.line(4, label, ProbeText.describe(probe)) }
        }
        if let env = c.env, !env.isEmpty {
            w.text(4, "Environment:")
            for e in env {
                if let v = e.value {
                    w.line(6, "\(e.name):", v)
                } else if let f = e.valueFrom?.fieldRef {
                    w.line(6, "\(e.name):", "(\(f.apiVersion ?? "v1"):\(f.fieldPath))")
                } else if let r = e.valueFrom?.resourceFieldRef {
                    w.line(6, "\(e.name):", "\(r.resource)")
                } else {
                    w.line(6, "\(e.name):", "")
                }
            }
        } else {
            w.line(4, "Environment:", "<none>")
        }
        if let mounts = c.volumeMounts, !mounts.isEmpty {
            w.text(4, "Mounts:")
            for m in mounts {
                var flags: [String] = [m.readOnly == true ? "ro" : "rw"]
                if let sub = m.subPath, !sub.isEmpty { flags.append("path=\"\(sub)\"") }
                if let p = m.mountPropagation { flags.append(p.rawValue) }
                w.text(6, "\(m.mountPath) from \(m.name) (\(flags.joined(separator: ",")))")
            }
        } else {
            w.line(4, "Mounts:", "<none>")
        }
    }

    static func state(_ w: inout Writer, _ label: String, _ state: ContainerState?) {
        if let r = state?.running {
            w.line(4, label, "Running")
            w.line(6, "Started:", r.startedAt?.rfc3339 ?? "")
        } else if let t = state?.terminated {
            w.line(4, label, "Terminated")
            if let reason = t.reason { w.line(6, "Reason:", reason) }
            if let message = t.message, !message.isEmpty { w.line(6, "Message:", message) }
            w.line(6, "Exit Code:", String(t.exitCode))
            if let s = t.signal, s != 0 { w.line(6, "Signal:", String(s)) }
            w.line(6, "Started:", t.startedAt?.rfc3339 ?? "")
            w.line(6, "Finished:", t.finishedAt?.rfc3339 ?? "")
        } else if let wt = state?.waiting {
            w.line(4, label, "Waiting")
            if let reason = wt.reason { w.line(6, "Reason:", reason) }
            if let message = wt.message, !message.isEmpty { w.line(6, "Message:", message) }
        } else {
            w.line(4, label, "Waiting")
        }
    }

    /// Left-aligned label/value lines with the indentation kubectl uses.
    struct Writer {
        var out = ""
        mutating func text(_ indent: Int, _ s: String) { out += String(repeating: " ", count: indent) + s + "\n" }
        mutating func line(_ indent: Int, _ label: String, _ value: String) {
            let pad = max(1, 18 - indent - label.count)
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            out += String(repeating: " ", count: indent) + label + String(repeating: " ", count: pad) + (lines.first.map(String.init) ?? "") + "\n"
            for extra in lines.dropFirst() { out += String(repeating: " ", count: indent + label.count + pad) + extra + "\n" }
        }
        mutating func map(_ indent: Int, _ label: String, _ m: [String: String]?) {
            let text = (m ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
            line(indent, label, text.ifEmpty("<none>"))
        }
        mutating func table(_ indent: Int, _ rows: [[String]]) {
            for l in TextTable.render(rows).split(separator: "\n") { text(indent, String(l)) }
        }
    }
}

/// Probe descriptions as kubectl prints them: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`.
public enum ProbeText {
    public static func describe(_ p: Probe) -> String {
        var handler = ""
        if let e = p.exec {
            handler = "exec [\((e.command ?? []).joined(separator: " "))]"
        } else if let h = p.httpGet {
            handler = "http-get \((h.scheme?.rawValue ?? "HTTP").lowercased())://\(h.host ?? ""):\(h.port.description)\(h.path ?? "/")"
        } else if let t = p.tcpSocket {
            handler = "tcp-socket \(t.host ?? ""):\(t.port.description)"
        } else if let g = p.grpc {
            handler = "grpc <pod>:\(g.port) \(g.service ?? "")"
        }
        return "\(handler) delay=\(p.initialDelaySeconds ?? 0)s timeout=\(p.timeoutSeconds ?? 1)s period=\(p.periodSeconds ?? 10)s #success=\(p.successThreshold ?? 1) #failure=\(p.failureThreshold ?? 3)"
    }
}

extension String {
    func ifEmpty(_ fallback: String) -> String { isEmpty ? fallback : self }
}
