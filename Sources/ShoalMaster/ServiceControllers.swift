import Foundation
import ShoalAPI
import ShoalOS

/// The controllers behind Services: endpoint slices and endpoints in step with the pods the
/// selectors match, pod CIDRs for nodes, and the API server's own `kubernetes` service.
extension Master {
    // MARK: endpoints

    func runEndpointsController() async {
        await onChanges(["/registry/services/", "/registry/pods/"]) { [self] in
            syncEndpoints()
        }
    }

    func listAll<T: Decodable>(_ r: ResourceInfo, as type: T.Type) -> [T]? {
        guard let items = try? registry.list(r, namespace: nil, labels: .everything, fields: FieldSelector(), limit: nil, continueToken: nil).items
        else { return nil }
        return items.compactMap { try? $0.decode(T.self) }
    }

    func syncEndpoints() {
        guard let services = listAll(Resources.services, as: Service.self), let pods = listAll(Resources.pods, as: Pod.self),
              let allSlices = listAll(Resources.endpointSlices, as: EndpointSlice.self),
              let endpoints = listAll(Resources.endpoints, as: Endpoints.self)
        else { return }
        let slices = allSlices.filter { $0.metadata.labels?[EndpointSlice.managedByLabel] == EndpointsBuilder.controllerName }
        let podsByNamespace = Dictionary(grouping: pods) { $0.metadata.namespace ?? "default" }
        var slicesByService = Dictionary(grouping: slices) { "\($0.metadata.namespace ?? "")/\($0.metadata.labels?[EndpointSlice.serviceNameLabel] ?? "")" }
        var endpointsByService = Dictionary(uniqueKeysWithValues: endpoints.map { ("\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")", $0) })
        for s in services where EndpointsBuilder.manages(s) {
            let key = "\(s.metadata.namespace ?? "")/\(s.metadata.name ?? "")"
            let groups = EndpointsBuilder.groups(for: s, pods: podsByNamespace[s.metadata.namespace ?? "default"] ?? [])
            syncSlices(for: s, groups: groups, existing: slicesByService.removeValue(forKey: key) ?? [])
            syncEndpointsObject(for: s, groups: groups, existing: endpointsByService.removeValue(forKey: key))
        }
        // What is left belongs to services that went or stopped selecting pods.
        for slice in slicesByService.values.joined() { delete(Resources.endpointSlices, slice.metadata) }
        let serviceKeys = Set(services.map { "\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")" })
        for (key, e) in endpointsByService where e.metadata.labels?[Self.skipMirrorLabel] == "true" && !serviceKeys.contains(key) {
            delete(Resources.endpoints, e.metadata)
        }
    }

    /// The endpoints controller marks what it writes, so the slice mirroring of hand-made
    /// Endpoints leaves them alone; Shoal uses it to know which Endpoints are its own.
    static let skipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror"

    func syncSlices(for s: Service, groups: [EndpointsBuilder.Group], existing: [EndpointSlice]) {
        // A service without endpoints still has one (empty) slice, as the controller keeps.
        let wanted = groups.isEmpty ? [EndpointsBuilder.Group(ports: [], endpoints: [])] : groups
        var reusable = existing.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        let ns = s.metadata.namespace ?? "default"
        for group in wanted {
            var slice = reusable.isEmpty ? EndpointSlice(metadata: ObjectMeta(generateName: "\(s.metadata.name ?? "")-", namespace: ns))
                                         : reusable.removeFirst()
            let before = slice
            slice.metadata.labels = EndpointsBuilder.labels(for: s)
            slice.metadata.ownerReferences = [EndpointsBuilder.owner(s)]
            slice.addressType = "IPv4"
            slice.endpoints = group.endpoints
            slice.ports = group.ports.isEmpty ? nil : group.ports
            if slice.metadata.name != nil && slice == before { continue }
            write(Resources.endpointSlices, slice, name: slice.metadata.name)
        }
        for surplus in reusable { delete(Resources.endpointSlices, surplus.metadata) }
    }

    func syncEndpointsObject(for s: Service, groups: [EndpointsBuilder.Group], existing: Endpoints?) {
        var e = existing ?? Endpoints(metadata: ObjectMeta(name: s.metadata.name, namespace: s.metadata.namespace))
        let before = e
        var labels = s.metadata.labels ?? [:]
        labels[Self.skipMirrorLabel] = "true"
        e.metadata.labels = labels
        let subsets = EndpointsBuilder.subsets(groups)
        e.subsets = subsets.isEmpty ? nil : subsets
        if existing != nil && e == before { return }
        write(Resources.endpoints, e, name: existing == nil ? nil : e.metadata.name)
    }

    /// Creates (name nil) or replaces an object the controllers own; conflicts resolve on the next pass.
    func write<T: Encodable>(_ r: ResourceInfo, _ value: T, name: String?) {
        do {
            var obj = try JSONValue.encoding(value)
            let ns = obj["metadata"]?["namespace"]?.stringValue
            if let name {
                _ = try registry.modify(r, namespace: ns, name: name) { (old) throws(APIError) -> JSONValue in
                    obj["metadata"]?["resourceVersion"] = old["metadata"]?["resourceVersion"]
                    return obj
                }
            } else {
                _ = try registry.create(r, namespace: ns, object: obj, strict: false)
            }
        } catch {
            logger.warning("writing \(r.kind) failed", metadata: ["error": "\(error)"])
        }
    }

    func delete(_ r: ResourceInfo, _ meta: ObjectMeta) {
        _ = try? registry.delete(r, namespace: meta.namespace, name: meta.name ?? "", options: Registry.DeleteOptions())
    }

    // MARK: node pod CIDRs

    /// Like the node IPAM controller's range allocator: each node gets the lowest free block of
    /// the cluster CIDR as spec.podCIDR, once, and keeps it until it is deleted.
    func runNodeIPAM() async {
        await onChanges(["/registry/nodes/"]) { [self] in
            assignPodCIDRs()
        }
    }

    func assignPodCIDRs() {
        guard let nodes = listAll(Resources.nodes, as: Node.self) else { return }
        var used = Set(nodes.compactMap { $0.spec.podCIDR })
        var next = 0
        for node in nodes.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) where (node.spec.podCIDR ?? "").isEmpty {
            var block: IPv4CIDR?
            while block == nil, let candidate = clusterCIDR.subnet(next, length: config.nodeCIDRMaskSize) {
                next += 1
                if !used.contains(candidate.description) { block = candidate }
            }
            guard let block else {
                logger.error("the cluster CIDR has no pod CIDR left for this node", metadata: ["node": "\(node.metadata.name ?? "")", "cluster-cidr": "\(clusterCIDR)"])
                return
            }
            used.insert(block.description)
            _ = try? registry.modify(Resources.nodes, namespace: nil, name: node.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
                var obj = obj
                if !(obj["spec"]?["podCIDR"]?.stringValue ?? "").isEmpty { return obj }
                var spec = obj["spec"] ?? [:]
                spec["podCIDR"] = .string(block.description)
                spec["podCIDRs"] = [.string(block.description)]
                obj["spec"] = spec
                return obj
            }
        }
    }

    // MARK: load balancers

    /// Like k3s's service load balancer: a LoadBalancer service's status.loadBalancer.ingress
    /// is an address from --load-balancer-ip-range or, without one, the Ready nodes' addresses.
    /// The agents' proxies then take traffic to it like a NodePort.
    func runLoadBalancerController() async {
        await onChanges(["/registry/services/", "/registry/nodes/"]) { [self] in
            syncLoadBalancers()
        }
    }

    func syncLoadBalancers() {
        guard let services = listAll(Resources.services, as: Service.self), let nodes = listAll(Resources.nodes, as: Node.self) else { return }
        let nodeIPs = nodes.filter(\.isReady).flatMap { n in (n.status?.addresses ?? []).filter { $0.type == "InternalIP" }.map(\.address) }
        let wanted = LoadBalancerAllocator.ingress(services, pool: loadBalancerPool, nodeIPs: nodeIPs.sorted())
        for s in services {
            let key = LoadBalancerAllocator.key(s)
            let want = wanted[key] ?? []
            let have = (s.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
            guard want != have else { continue }
            _ = try? registry.modify(Resources.services, namespace: s.metadata.namespace, name: s.metadata.name ?? "", subresource: "status") { (obj) throws(APIError) -> JSONValue in
                var obj = obj
                obj["status"] = ["loadBalancer": want.isEmpty ? [:] : ["ingress": .array(want.map { ["ip": .string($0), "ipMode": "VIP"] })]]
                return obj
            }
        }
    }

    // MARK: the kubernetes service

    /// `default/kubernetes`: the API server at the first service address, its endpoints this
    /// master's address and port, so pods reach the API as they would in any cluster.
    func ensureKubernetesService() throws {
        var port = Int32(boundPort.withLock { $0 })
        var address = (config.bindAddress == "0.0.0.0" || config.bindAddress == "::") ? (HostAddress.primaryIPv4() ?? "127.0.0.1") : config.bindAddress
        if let advertised = config.advertiseAddress {
            address = advertised
            if config.advertiseNetworkNamespace != nil { port = Int32(config.advertisePort) }
        }
        let labels = ["component": "apiserver", "provider": "kubernetes"]
        var service = Service(metadata: ObjectMeta(name: "kubernetes", namespace: "default", labels: labels),
                              spec: ServiceSpec(type: .clusterIP, ports: [ServicePort(name: "https", protocol: "TCP", port: 443, targetPort: .int(port))],
                                                clusterIP: services.kubernetesServiceIP.description))
        service.spec.sessionAffinity = "None"
        if let existing = try? registry.get(Resources.services, namespace: "default", name: "kubernetes").decode(Service.self) {
            if existing.spec.ports != service.spec.ports {
                var updated = existing
                updated.spec.ports = service.spec.ports
                write(Resources.services, updated, name: "kubernetes")
            }
        } else {
            _ = try registry.create(Resources.services, namespace: "default", object: try JSONValue.encoding(service), strict: false)
        }
        let endpointPort = EndpointPort(name: "https", protocol: "TCP", port: port)
        var slice = (try? registry.get(Resources.endpointSlices, namespace: "default", name: "kubernetes").decode(EndpointSlice.self))
        let exists = slice != nil
        if slice == nil { slice = EndpointSlice(metadata: ObjectMeta(name: "kubernetes", namespace: "default")) }
        slice!.metadata.labels = [EndpointSlice.serviceNameLabel: "kubernetes", EndpointSlice.managedByLabel: "endpointslicemirroring-controller.k8s.io"]
        slice!.endpoints = [Endpoint(addresses: [address], conditions: EndpointConditions(ready: true))]
        slice!.ports = [endpointPort]
        write(Resources.endpointSlices, slice!, name: exists ? "kubernetes" : nil)
        let existingEndpoints = try? registry.get(Resources.endpoints, namespace: "default", name: "kubernetes").decode(Endpoints.self)
        var endpoints = existingEndpoints ?? Endpoints(metadata: ObjectMeta(name: "kubernetes", namespace: "default"))
        endpoints.metadata.labels = [Self.skipMirrorLabel: "true"]
        endpoints.subsets = [EndpointSubset(addresses: [EndpointAddress(ip: address)], ports: [endpointPort])]
        write(Resources.endpoints, endpoints, name: existingEndpoints == nil ? nil : "kubernetes")
    }
}
