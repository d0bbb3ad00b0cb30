import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// `shoal up` as a user runs it, driven by the real kubectl: the node registers, a pod made
/// with kubectl runs on it, its status and logs come back through the master, and a delete
/// stops it on the node before the API object goes.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct UpTests {
    @Test func kubectlRunsAPodThroughMasterAndAgent() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()

        let nodes = try await cli.kubectl("get", "nodes", "-o", "wide").out
        #expect(nodes.contains("node-1   Ready    <none>   "), "\(nodes)")
        let capacity = try await cli.kubectl("get", "node", "node-1", "-o", "jsonpath={.status.capacity.pods} {.status.nodeInfo.operatingSystem}").out
        #expect(capacity == "110 linux", "\(capacity)")
        #expect(try await cli.kubectl("get", "lease", "-n", "kube-node-lease", "node-1", "-o", "jsonpath={.spec.holderIdentity}").out == "node-1")

        let run = try await cli.kubectl("run", "hello", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hello from shoal; sleep 3600")
        #expect(run.out == "pod/hello created\n", "\(run)")
        try await waitUntil(timeout: 30) {
            try await cli.kubectl("get", "pods").out.contains("hello   1/1     Running   0          ")
        }
        let wide = try await cli.kubectl("get", "pod", "hello", "-o", "wide").out
        #expect(wide.contains("node-1"), "\(wide)")
        try await waitUntil { try await cli.kubectl("logs", "hello").out == "hello from shoal\n" }
        #expect(try await cli.kubectl("get", "pod", "hello", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}").out == "True")
        let waited = try await cli.kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=20s")
        #expect(waited.out == "pod/hello condition met\n", "\(waited)")

        // Graceful deletion: the agent stops the pod (sleep ignores SIGTERM as pid 1: the grace
        // period ends it), then removes the API object; the sandbox is gone from the host.
        let deleted = try await cli.kubectl("delete", "pod", "hello", "--grace-period=1")
        #expect(deleted.out == "pod \"hello\" deleted\n", "\(deleted)")
        #expect(try await cli.kubectl("get", "pods", "-o", "name").out == "")
        #expect(processesInState("", cgroup: cli.cgroupParent).isEmpty)

        // A static pod from the manifests directory appears as a mirror pod.
        try FileSystem.writeAtomically(cli.manifests + "/static.yaml", podYAML("static", containers: [("c", "sleep 3600")]))
        try await waitUntil(timeout: 30) {
            try await cli.kubectl("get", "pods").out.split(separator: "\n").contains { $0.hasPrefix("static") && $0.contains("1/1     Running") }
        }
        #expect(try await cli.stopAgent() == 0)
    }
}
