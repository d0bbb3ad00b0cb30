import Foundation
import ShoalAPI
@testable import ShoalMaster
import Testing

/// Services, endpoints and endpoint slices through the real kubectl, against a master in this
/// process. No node runs the pods here: the test writes their status (IP, readiness) itself,
/// as an agent would, and watches the endpoints follow.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs kubectl"))
struct ServiceAPITests {
    static let pods = """
    apiVersion: v1
    kind: Pod
    metadata: {name: web-1, labels: {app: web}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web-2, labels: {app: web}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        ports: [{name: http, containerPort: 8080}]
    """

    /// What an agent reports for a running pod: its IP and whether it is ready.
    func setStatus(_ m: MasterHarness, _ pod: String, ip: String, ready: Bool) async throws {
        let patch = #"{"status":{"phase":"Running","podIP":"\#(ip)","podIPs":[{"ip":"\#(ip)"}],"conditions":[{"type":"Ready","status":"\#(ready ? "True" : "False")"}]}}"#
        _ = try await m.ok("patch", "pod", pod, "--subresource=status", "--type=merge", "-p", patch)
    }

    @Test func servicesGetAddressesAndEndpointsFollowReadyPods() async throws {
        try await withMaster("svc") { m in
            // The API server's own service, and cluster-info, which looks for it.
            let kube = try await m.ok("get", "svc", "kubernetes", "--no-headers")
            #expect(Array(kube.split(separator: " ", omittingEmptySubsequences: true).prefix(5)) == ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP"], "\(kube)")
            let info = try await m.ok("cluster-info")
            #expect(info.contains("Kubernetes control plane") && info.contains("is running at") && info.contains(m.master.serverURL), "\(info)")

            #expect(try await m.ok("apply", "-f", "-", stdin: Self.pods) == "pod/web-1 created\npod/web-2 created\n")
            #expect(try await m.ok("create", "service", "nodeport", "web", "--tcp=80:http") == "service/web created\n")
            let svc = try await m.ok("get", "svc", "web", "-o", "wide", "--no-headers").split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            try #require(svc.count == 7, "\(svc)")
            #expect(svc[1] == "NodePort", "\(svc)")
            let clusterIP = try #require(IPv4Address(svc[2]))
            #expect(try IPv4CIDR(parsing: "10.43.0.0/16").contains(clusterIP))
            let nodePort = try #require(Int(svc[4].dropFirst(3).prefix { $0 != "/" }))  // "80:NNNNN/TCP"
            #expect((30000...32767).contains(nodePort), "\(svc[4])")

            // Endpoints follow the pods: none until a pod has an IP, not-ready ones held back.
            #expect(try await m.ok("get", "endpoints", "web", "--no-headers").contains("<none>"))
            try await setStatus(m, "web-1", ip: "10.42.0.5", ready: true)
            try await setStatus(m, "web-2", ip: "10.42.0.6", ready: false)
            try await waitUntil { try await m.kubectl("get", "endpoints", "web", "--no-headers").out.contains("10.42.0.5:8080 ") }
            #expect(!(try await m.ok("get", "endpoints", "web")).contains("10.42.0.6"))
            let slice = try await m.ok("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json")
            let sliceJSON = try JSONValue.parse(Array(slice.utf8))
            let endpoints = sliceJSON["items"]?[0]?["endpoints"]?.arrayValue ?? []
            #expect(endpoints.map { $0["addresses"]?[0]?.stringValue } == ["10.42.0.5", "10.42.0.6"])
            #expect(endpoints.map { $0["conditions"]?["ready"] } == [true, false])
            #expect(sliceJSON["items"]?[0]?["ports"]?[0]?["port"] == 8080, "the named targetPort resolved to the container port")
            #expect(sliceJSON["items"]?[0]?["metadata"]?["ownerReferences"]?[0]?["name"] == "web")

            try await setStatus(m, "web-2", ip: "10.42.0.6", ready: true)
            try await waitUntil { try await m.kubectl("get", "endpoints", "web", "--no-headers").out.contains("10.42.0.5:8080,10.42.0.6:8080") }
            let described = try await m.ok("describe", "svc", "web")
            func field(_ name: String) -> String {
                described.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) } ?? ""
            }
            #expect(field("Selector") == "app=web" && field("Type") == "NodePort" && field("IP") == clusterIP.description, "\(described)")
            #expect(field("Port").hasSuffix(" 80/TCP") && field("TargetPort") == "http/TCP" && field("NodePort").hasSuffix(" \(nodePort)/TCP"), "\(described)")
            #expect(field("Endpoints") == "10.42.0.5:8080,10.42.0.6:8080", "\(described)")
            #expect(field("Session Affinity") == "None" && field("External Traffic Policy") == "Cluster", "\(described)")
            let all = try await m.ok("get", "svc,endpointslices,endpoints", "-o", "wide")
            #expect(all.contains("service/web") && all.contains("endpointslice.discovery.k8s.io/web-") && all.contains("endpoints/web"), "\(all)")

            // expose takes the selector from the pod's labels.
            #expect(try await m.ok("expose", "pod", "web-1", "--name=web1", "--port=81", "--target-port=8080") == "service/web1 exposed\n")
            #expect(try await m.ok("get", "svc", "web1", "-o", "jsonpath={.spec.selector.app} {.spec.ports[0].targetPort}") == "web 8080")

            // Deleting the service takes its endpoints and slices, and frees its node port.
            _ = try await m.ok("delete", "svc", "web")
            try await waitUntil { try await m.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "name").out.isEmpty }
            try await waitUntil { try await m.kubectl("get", "endpoints", "web").code != 0 }
            #expect(try await m.ok("create", "service", "nodeport", "again", "--tcp=80", "--node-port=\(nodePort)") == "service/again created\n")
        }
    }

    @Test func takenOrOutOfRangeAddressesAndPortsAreRefused() async throws {
        try await withMaster("svc-bad") { m in
            #expect(try await m.ok("create", "service", "clusterip", "fixed", "--clusterip=10.43.0.50", "--tcp=80") == "service/fixed created\n")
            let taken = try await m.kubectl("create", "service", "clusterip", "dup", "--clusterip=10.43.0.50", "--tcp=80")
            #expect(taken.code == 1)
            #expect(taken.err == "error: failed to create ClusterIP service: Service \"dup\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.43.0.50\"}: failed to allocate IP 10.43.0.50: provided IP is already allocated\n", "\(taken.err)")
            let outside = try await m.kubectl("create", "service", "clusterip", "far", "--clusterip=10.99.0.1", "--tcp=80")
            #expect(outside.err.contains("spec.clusterIPs: Invalid value: []string{\"10.99.0.1\"}: failed to allocate IP 10.99.0.1: the provided IP (10.99.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16"), "\(outside.err)")
            let low = try await m.kubectl("create", "service", "nodeport", "low", "--tcp=80", "--node-port=80")
            #expect(low.err.contains("spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"), "\(low.err)")
            #expect(try await m.ok("create", "service", "nodeport", "np", "--tcp=80", "--node-port=30080") == "service/np created\n")
            let twice = try await m.kubectl("create", "service", "nodeport", "np2", "--tcp=80", "--node-port=30080")
            #expect(twice.err.contains("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"), "\(twice.err)")
            let name = try await m.kubectl("create", "service", "clusterip", "Bad_Name", "--tcp=80")
            #expect(name.code != 0)
            // A failed create holds nothing: the refused names are absent, the address is still the first one's.
            #expect(try await m.ok("get", "svc", "-o", "name").split(separator: "\n").sorted() == ["service/fixed", "service/kubernetes", "service/np"])

            // An update may not move the address; one that leaves the node port out keeps it.
            let moved = try await m.kubectl("patch", "svc", "fixed", "--type=merge", "-p", #"{"spec":{"clusterIP":"10.43.0.51","clusterIPs":["10.43.0.51"]}}"#)
            #expect(moved.err.contains("spec.clusterIPs[0]: Invalid value: []string{\"10.43.0.51\"}: may not change once set"), "\(moved.err)")
            let replaced = try await m.ok("get", "svc", "np", "-o", "json")
            var obj = try JSONValue.parse(Array(replaced.utf8))
            obj["spec"]?["ports"]?[0]?["nodePort"] = nil
            obj["spec"]?["clusterIP"] = nil
            obj["spec"]?["clusterIPs"] = nil
            _ = try await m.ok("replace", "-f", "-", stdin: obj.description)
            #expect(try await m.ok("get", "svc", "np", "-o", "jsonpath={.spec.ports[0].nodePort}") == "30080")
        }
    }
}
