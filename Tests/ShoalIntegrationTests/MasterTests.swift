import Foundation
import Logging
import ShoalAPI
import ShoalHTTP
import ShoalPKI
@testable import ShoalMaster
import Testing

/// A master in this process on a free port, driven by the real kubectl and by raw HTTP.
final class MasterHarness: @unchecked Sendable {
    let dataDir: String
    let master: Master
    let kubeconfig: String

    init(tag: String, configure: (inout MasterConfig) -> Void = { _ in }) async throws {
        dataDir = try scratchDirectory("master-\(tag)")
        var config = MasterConfig(dataDir: dataDir)
        config.bindAddress = "127.0.0.1"
        config.port = 0
        configure(&config)
        var logger = Logger(label: "shoal.test.master")
        logger.logLevel = .warning
        master = try Master(config: config, logger: logger)
        try await master.start()
        kubeconfig = config.kubeconfigPath
    }

    func kubectl(_ args: String..., stdin: String? = nil) async throws -> (code: Int32, out: String, err: String) {
        try await runProcess("/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + args, stdin: stdin)
    }

    /// kubectl's output, requiring success.
    func ok(_ args: String..., stdin: String? = nil) async throws -> String {
        let r = try await runProcess("/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + args, stdin: stdin)
        #expect(r.code == 0, "kubectl \(args.joined(separator: " ")): \(r.err)")
        return r.out
    }

    /// A raw client over TLS with a given bearer token (nil: none).
    func client(token: String?) throws -> HTTPClient {
        let port = master.serverURL.split(separator: ":").last.flatMap { Int($0) } ?? 0
        return try HTTPClient(endpoint: .tls(host: "127.0.0.1", port: port, configuration: try TLSConfigs.client(trustingCA: master.caPEM)), token: token)
    }

    func finish() async {
        await master.stop()
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}

/// Runs `body` against a fresh master and stops it afterwards, also when `body` throws.
func withMaster(_ tag: String, configure: (inout MasterConfig) -> Void = { _ in }, _ body: (MasterHarness) async throws -> Void) async throws {
    let m = try await MasterHarness(tag: tag, configure: configure)
    do {
        try await body(m)
    } catch {
        await m.finish()
        throw error
    }
    await m.finish()
}

let podManifest = """
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
"""

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs kubectl"))
struct MasterTests {
    @Test func kubectlCreatesListsLabelsAppliesAndDeletes() async throws {
        try await withMaster("kubectl") { m in

        #expect(try await m.ok("version").contains("Server Version: v1.32.0-shoal"))
        let ns = try await m.ok("get", "namespaces")
        #expect(ns.hasPrefix("NAME              STATUS   AGE\ndefault           Active   "), "\(ns)")
        let resources = try await m.ok("api-resources")
        let rows = resources.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.contains(["pods", "po", "v1", "true", "Pod"]), "\(resources)")
        #expect(rows.contains(["services", "svc", "v1", "true", "Service"]), "\(resources)")
        #expect(rows.contains(["endpointslices", "discovery.k8s.io/v1", "true", "EndpointSlice"]), "\(resources)")

        #expect(try await m.ok("apply", "-f", "-", stdin: podManifest) == "pod/web created\n")
        let wide = try await m.ok("get", "pods", "-o", "wide")
        #expect(wide.hasPrefix("NAME   READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES\nweb    0/1     Pending   0          "), "\(wide)")
        #expect(try await m.ok("label", "pod", "web", "tier=front") == "pod/web labeled\n")
        #expect(try await m.ok("get", "pods", "-l", "tier=front", "-o", "name") == "pod/web\n")
        #expect(try await m.ok("get", "pods", "-l", "tier in (back)", "-o", "name") == "")
        #expect(try await m.ok("get", "pods", "--field-selector", "metadata.name=web", "-o", "jsonpath={.items[0].spec.schedulerName}") == "default-scheduler")
        // The API server's defaults and the QoS class are filled in.
        let json = try JSONValue.parse(Array(try await m.ok("get", "pod", "web", "-o", "json").utf8))
        #expect(json["spec"]?["restartPolicy"] == "Always")
        #expect(json["status"]?["qosClass"] == "BestEffort")
        #expect(json["status"]?["phase"] == "Pending")

        // A second client-side apply that changes a label patches the live object.
        let relabelled = podManifest.replacingOccurrences(of: "{app: web}", with: "{app: web, version: v2}")
        #expect(try await m.ok("apply", "-f", "-", stdin: relabelled) == "pod/web configured\n")
        #expect(try await m.ok("get", "pod", "web", "-o", "jsonpath={.metadata.labels.version}") == "v2")

        // Server-side apply records its manager; a field another manager set differently is a conflict.
        let ssa = relabelled.replacingOccurrences(of: "version: v2", with: "version: v3")
        let conflict = try await m.kubectl("apply", "--server-side", "-f", "-", stdin: ssa)
        #expect(conflict.code != 0 && conflict.err.contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .metadata.labels.version"), "\(conflict)")
        #expect(try await m.ok("apply", "--server-side", "--force-conflicts", "-f", "-", stdin: ssa) == "pod/web serverside-applied\n")
        #expect(try await m.ok("get", "pod", "web", "-o", "jsonpath={.metadata.managedFields[*].manager}").contains("kubectl"))

        // Bad input: Kubernetes' messages.
        let invalid = try await m.kubectl("run", "Bad_Name", "--image=busybox")
        #expect(invalid.err.contains("The Pod \"Bad_Name\" is invalid: \n* metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "\(invalid)")
        let unknown = try await m.kubectl("apply", "-f", "-", stdin: podManifest.replacingOccurrences(of: "containers:", with: "bogus: 1\n  containers:"))
        #expect(unknown.err.contains("unknown field \"spec.bogus\""), "\(unknown)")
        let missing = try await m.kubectl("get", "pod", "nope")
        #expect(missing.code == 1 && missing.err.contains("Error from server (NotFound): pods \"nope\" not found"), "\(missing)")

        // An unbound pod has no node to wait for: it goes at once.
        #expect(try await m.ok("delete", "pod", "web") == "pod \"web\" deleted\n")
        #expect(try await m.ok("get", "pods", "-o", "name") == "")
        }
    }

    @Test func restConventionsOverRawHTTP() async throws {
        try await withMaster("rest", configure: { $0.store.retainedRevisions = 1 }) { m in
        let admin = try m.client(token: try Kubeconfig.token(in: String(contentsOfFile: m.kubeconfig, encoding: .utf8)) ?? "")

        // No token over TCP: 401.
        #expect(try await m.client(token: nil).request("GET", "/api/v1/pods").status == 401)
        #expect(try await m.client(token: "abcdef.0123456789abcdef").request("GET", "/api/v1/pods").status == 401)

        // Wrong content type, too large a body, malformed JSON, an unknown resource.
        let pod = Array(#"{"metadata":{"name":"p1","labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}"#.utf8)
        #expect(try await admin.request("POST", "/api/v1/namespaces/default/pods", body: pod, contentType: "text/plain").status == 415)
        #expect(try await admin.request("POST", "/api/v1/namespaces/default/pods", body: Array(repeating: 32, count: 4 << 20)).status == 413)
        let malformed = try await admin.request("POST", "/api/v1/namespaces/default/pods", body: Array("{\"metadata\":".utf8))
        #expect(malformed.status == 400)
        #expect(try JSONValue.parse(malformed.body)["kind"] == "Status")
        let unknown = try await admin.request("GET", "/api/v1/widgets")
        #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("the server could not find the requested resource"))

        // Create; a stale resourceVersion on update is 409; 422 lists every cause with its field.
        let created = try await admin.request("POST", "/api/v1/namespaces/default/pods", body: pod)
        #expect(created.status == 201)
        let rv = try JSONValue.parse(created.body)["metadata"]?["resourceVersion"]?.stringValue ?? ""
        _ = try await admin.request("PATCH", "/api/v1/namespaces/default/pods/p1", body: Array(#"{"metadata":{"labels":{"b":"2"}}}"#.utf8), contentType: "application/merge-patch+json")
        var stale = try JSONValue.parse(created.body)
        stale["metadata"]?["resourceVersion"] = .string(rv)
        let conflict = try await admin.request("PUT", "/api/v1/namespaces/default/pods/p1", body: stale.serialized)
        #expect(conflict.status == 409)
        #expect(try JSONValue.parse(conflict.body)["reason"] == "Conflict")
        let bad = Array(#"{"metadata":{"name":"p2"},"spec":{"containers":[{"name":"c"},{"name":"c","image":"busybox"}]}}"#.utf8)
        let invalid = try JSONValue.parse(try await admin.request("POST", "/api/v1/namespaces/default/pods", body: bad).body)
        #expect(invalid["code"] == 422)
        let fields = (invalid["details"]?["causes"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        #expect(fields.contains("spec.containers[0].image") && fields.contains("spec.containers[1].name"), "\(invalid)")

        // generateName, paging with limit/continue.
        for _ in 0..<5 {
            let r = try await admin.request("POST", "/api/v1/namespaces/default/pods",
                                            body: Array(#"{"metadata":{"generateName":"gen-"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}"#.utf8))
            #expect(r.status == 201)
            #expect(try JSONValue.parse(r.body)["metadata"]?["name"]?.stringValue?.hasPrefix("gen-") == true)
        }
        var names: [String] = []
        var token = ""
        repeat {
            let page = try JSONValue.parse(try await admin.request("GET", "/api/v1/namespaces/default/pods?limit=2" + (token.isEmpty ? "" : "&continue=\(token)")).body)
            names += (page["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect((page["items"]?.arrayValue ?? []).count <= 2)
            token = page["metadata"]?["continue"]?.stringValue ?? ""
        } while !token.isEmpty
        #expect(names.count == 6 && Set(names).count == 6)

        // Watch from a revision: the later change arrives; from a compacted one: ERROR 410.
        let start = try JSONValue.parse(try await admin.request("GET", "/api/v1/namespaces/default/pods").body)["metadata"]?["resourceVersion"]?.stringValue ?? ""
        let (status, lines) = try await admin.lines("/api/v1/namespaces/default/pods?watch=true&resourceVersion=\(start)&labelSelector=a%3D1")
        #expect(status == 200)
        _ = try await admin.request("PATCH", "/api/v1/namespaces/default/pods/p1", body: Array(#"{"metadata":{"labels":{"c":"3"}}}"#.utf8), contentType: "application/merge-patch+json")
        var iterator = lines.makeAsyncIterator()
        let event = try JSONValue.parse(try #require(try await iterator.next()))
        #expect(event["type"] == "MODIFIED" && event["object"]?["metadata"]?["labels"]?["c"] == "3", "\(event)")
        _ = try m.master.store.compact(upTo: m.master.store.revision)
        let (_, old) = try await admin.lines("/api/v1/namespaces/default/pods?watch=true&resourceVersion=1")
        var oldIterator = old.makeAsyncIterator()
        let expired = try JSONValue.parse(try #require(try await oldIterator.next()))
        #expect(expired["type"] == "ERROR" && expired["object"]?["code"] == 410, "\(expired)")
        }
    }

    @Test func schedulerBindsAndANodeThatStopsRenewingTurnsNotReady() async throws {
        try await withMaster("nodes", configure: { c in
            c.nodeMonitorGracePeriod = .seconds(2)
            c.defaultTolerationSeconds = 1
        }) { m in
        let node = try m.client(token: try m.master.nodeToken(for: "n1"))
        let other = try m.client(token: try m.master.nodeToken(for: "n2"))
        let nodeJSON = #"{"metadata":{"name":"n1"},"status":{"capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}"#
        #expect(try await node.request("POST", "/api/v1/nodes", body: Array(nodeJSON.utf8)).status == 201)
        // A node may not register another node.
        #expect(try await other.request("POST", "/api/v1/nodes", body: Array(nodeJSON.utf8)).status == 403)
        let lease = #"{"metadata":{"name":"n1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"n1","leaseDurationSeconds":40,"renewTime":"\#(MicroTime.now().rfc3339)"}}"#
        #expect(try await node.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", body: Array(lease.utf8)).status == 201)
        // The node heartbeats as an agent does until the test stops it: it renews the lease and
        // re-posts Ready=True, so a pause longer than the 2 s grace on a loaded machine (the
        // controller marks the node Unknown) heals, as it does with a real agent.
        let heartbeat = Task {
            while !Task.isCancelled {
                let renew = #"{"spec":{"renewTime":"\#(MicroTime.now().rfc3339)"}}"#
                _ = try? await node.request("PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1",
                                            body: Array(renew.utf8), contentType: "application/merge-patch+json")
                let ready = #"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}"#
                _ = try? await node.request("PATCH", "/api/v1/nodes/n1/status", body: Array(ready.utf8), contentType: "application/merge-patch+json")
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        defer { heartbeat.cancel() }

        // The scheduler binds a fitting pod, and reports one that fits nowhere as kube-scheduler does.
        _ = try await m.ok("run", "small", "--image=busybox")
        _ = try await m.ok("apply", "-f", "-", stdin: """
            apiVersion: v1
            kind: Pod
            metadata: {name: huge}
            spec:
              containers:
              - {name: c, image: busybox, resources: {requests: {memory: 64Gi}}}
            """)
        try await waitUntil(timeout: 30) { try await m.kubectl("get", "pod", "small", "-o", "jsonpath={.spec.nodeName}").out == "n1" }
        try await waitUntil(timeout: 30) {
            try await m.kubectl("get", "pod", "huge", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}").out == "0/1 nodes are available: 1 Insufficient memory."
        }
        #expect(try await m.ok("get", "events", "--field-selector", "reason=FailedScheduling", "-o", "name").contains("event/huge."))

        // Node restriction: n2 cannot write the status of a pod bound to n1; n1 can.
        let status = Array(#"{"status":{"phase":"Running"}}"#.utf8)
        #expect(try await other.request("PATCH", "/api/v1/namespaces/default/pods/small/status", body: status, contentType: "application/merge-patch+json").status == 403)
        #expect(try await node.request("PATCH", "/api/v1/namespaces/default/pods/small/status", body: status, contentType: "application/merge-patch+json").status == 200)
        #expect(try await node.request("DELETE", "/api/v1/namespaces/default/pods/huge").status == 403)

        // No more renewals: NotReady (Unknown), tainted unreachable, the pod evicted after its toleration.
        heartbeat.cancel()
        try await waitUntil(timeout: 15) { try await m.kubectl("get", "nodes").out.contains("n1     NotReady") }
        let taints = try await m.ok("get", "node", "n1", "-o", "json")
        #expect(taints.contains("node.kubernetes.io/unreachable"), "\(taints)")
        try await waitUntil(timeout: 15) { try await m.kubectl("get", "pod", "small", "-o", "jsonpath={.metadata.deletionTimestamp}").out != "" }
        }
    }
}
