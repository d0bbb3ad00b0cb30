import ShoalAPI
import ShoalOS

/// Pod events as the kubelet records them (Pulled, Created, Started, Killing, BackOff,
/// FailedMount, …), aggregated like the API server's event correlator: a repeat of the same
/// reason and message bumps `count` and `lastTimestamp` instead of adding a row.
final class EventRecorder: Sendable {
    private let events = Locked<[String: [Event]]>([:])
    private let nodeName: String
    private let listeners = Locked<[@Sendable (Event) -> Void]>([])
    static let maxPerPod = 100

    init(nodeName: String) { self.nodeName = nodeName }

    func onEvent(_ listener: @escaping @Sendable (Event) -> Void) { listeners.withLock { $0.append(listener) } }

    /// - Parameter fieldPath: the container the event is about (`spec.containers{app}`), as the kubelet writes it.
    func record(_ pod: Pod, type: String = "Normal", reason: String, message: String, fieldPath: String? = nil) {
        let uid = pod.metadata.uid ?? ""
        let now = Time.now()
        let event: Event = events.withLock { all in
            var list = all[uid] ?? []
            if let i = list.lastIndex(where: { $0.reason == reason && $0.message == message && $0.involvedObject.fieldPath == fieldPath }) {
                list[i].count = (list[i].count ?? 1) + 1
                list[i].lastTimestamp = now
                let updated = list[i]
                all[uid] = list
                return updated
            }
            let name = "\(pod.metadata.name ?? "").\(String(UInt64(realtimeNanos()), radix: 16))"
            let e = Event(
                metadata: ObjectMeta(name: name, namespace: pod.metadata.namespace ?? "default"),
                involvedObject: ObjectReference(kind: "Pod", namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name,
                                                uid: pod.metadata.uid, apiVersion: "v1", fieldPath: fieldPath),
                reason: reason, message: message, source: EventSource(component: "kubelet", host: nodeName),
                firstTimestamp: now, lastTimestamp: now, count: 1, type: type,
                reportingComponent: "kubelet", reportingInstance: nodeName)
            list.append(e)
            if list.count > EventRecorder.maxPerPod { list.removeFirst(list.count - EventRecorder.maxPerPod) }
            all[uid] = list
            return e
        }
        for listener in listeners.current { listener(event) }
    }

    func events(for uid: String) -> [Event] { events.withLock { $0[uid] ?? [] } }

    func all() -> [Event] { events.withLock { $0.values.flatMap { $0 } } }

    func forget(_ uid: String) { events.withLock { _ = $0.removeValue(forKey: uid) } }
}
