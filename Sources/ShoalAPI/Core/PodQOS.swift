/// The pod QoS class Kubernetes derives from requests and limits.
public enum PodQOS {
    /// Guaranteed: every container has cpu and memory limits equal to its requests;
    /// BestEffort: nobody asks for anything; Burstable otherwise.
    public static func classify(_ pod: Pod) -> PodQOSClass {
        let all = (pod.spec.initContainers ?? []) + pod.spec.containers
        var anyResource = false
        var guaranteed = true
        for c in all {
            let requests = c.resources?.requests ?? [:], limits = c.resources?.limits ?? [:]
            for name in ["cpu", "memory"] {
                if requests[name] != nil || limits[name] != nil { anyResource = true }
                guard let limit = limits[name] else { guaranteed = false; continue }
                if let request = requests[name], request != limit { guaranteed = false }
            }
        }
        if !anyResource { return .bestEffort }
        return guaranteed ? .guaranteed : .burstable
    }
}
