import ShoalAPI

/// What the endpoint slice and endpoints controllers want for one service: its pods' addresses,
/// grouped by the ports they resolve to (a named targetPort may be a different number in each
/// pod), with readiness. Pure, so the rules are tested without a master.
enum EndpointsBuilder {
    /// One group of endpoints that share their ports: one EndpointSlice, one Endpoints subset.
    struct Group: Hashable {
        var ports: [EndpointPort]
        var endpoints: [Endpoint]
    }

    static let controllerName = "endpointslice-controller.k8s.io"

    /// Whether the controllers manage this service's endpoints: it selects pods and has addresses.
    static func manages(_ s: Service) -> Bool {
        s.spec.type != .externalName && !(s.spec.selector ?? [:]).isEmpty
    }

    static func groups(for s: Service, pods: [Pod]) -> [Group] {
        let selector = s.spec.selector ?? [:]
        var byPorts: [[EndpointPort]: [Endpoint]] = [:]
        var order: [[EndpointPort]] = []
        let candidates = pods.filter { pod in
            let labels = pod.metadata.labels ?? [:]
            return pod.metadata.namespace == s.metadata.namespace && selector.allSatisfy { labels[$0.key] == $0.value }
                && !(pod.status?.podIP ?? "").isEmpty && pod.status?.phase != .succeeded && pod.status?.phase != .failed
        }.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        for pod in candidates {
            let ports = (s.spec.ports ?? []).compactMap { resolve($0, in: pod) }
            if !(s.spec.ports ?? []).isEmpty && ports.isEmpty { continue }
            if byPorts[ports] == nil { order.append(ports) }
            byPorts[ports, default: []].append(endpoint(pod, service: s))
        }
        return order.map { Group(ports: $0, endpoints: byPorts[$0] ?? []) }
    }

    /// A service port as a pod serves it; nil when the pod has no container port of that name.
    static func resolve(_ port: ServicePort, in pod: Pod) -> EndpointPort? {
        let proto = port.protocol ?? "TCP"
        let number: Int32?
        switch port.targetPort {
        case .int(let n)?: number = n
        case nil: number = port.port
        case .string(let name)?:
            number = pod.spec.containers.flatMap { $0.ports ?? [] }
                .first { $0.name == name && ($0.protocol?.rawValue ?? "TCP") == proto }?.containerPort
        }
        guard let number else { return nil }
        return EndpointPort(name: port.name ?? "", protocol: proto, port: number)
    }

    static func endpoint(_ pod: Pod, service s: Service) -> Endpoint {
        let terminating = pod.metadata.deletionTimestamp != nil
        let ready = pod.status?.conditions?.contains { $0.type == .ready && $0.status == .true } == true
        let serves = s.spec.publishNotReadyAddresses == true || ready
        var e = Endpoint(addresses: [pod.status?.podIP ?? ""],
                         conditions: EndpointConditions(ready: serves && !terminating, serving: serves, terminating: terminating),
                         targetRef: ObjectReference(kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid),
                         nodeName: pod.spec.nodeName)
        if let sub = pod.spec.subdomain, sub == s.metadata.name, let host = pod.spec.hostname, !host.isEmpty { e.hostname = host }
        return e
    }

    /// The core/v1 form: ready addresses and not-ready ones per port group.
    static func subsets(_ groups: [Group]) -> [EndpointSubset] {
        groups.compactMap { g in
            let address = { (e: Endpoint) -> EndpointAddress in
                var a = EndpointAddress(ip: e.addresses.first ?? "", nodeName: e.nodeName, targetRef: e.targetRef)
                a.hostname = e.hostname
                return a
            }
            let ready = g.endpoints.filter { $0.conditions?.ready == true }.map(address)
            let notReady = g.endpoints.filter { $0.conditions?.ready != true }.map(address)
            if ready.isEmpty && notReady.isEmpty { return nil }
            return EndpointSubset(addresses: ready.isEmpty ? nil : ready, notReadyAddresses: notReady.isEmpty ? nil : notReady,
                                  ports: g.ports.isEmpty ? nil : g.ports)
        }
    }

    static func labels(for s: Service) -> [String: String] {
        var labels = s.metadata.labels ?? [:]
        labels[EndpointSlice.serviceNameLabel] = s.metadata.name ?? ""
        labels[EndpointSlice.managedByLabel] = controllerName
        return labels
    }

    static func owner(_ s: Service) -> OwnerReference {
        OwnerReference(apiVersion: "v1", kind: "Service", name: s.metadata.name ?? "", uid: s.metadata.uid ?? "",
                       controller: true, blockOwnerDeletion: true)
    }
}
