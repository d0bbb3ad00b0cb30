import Foundation
import Testing
import ShoalAPI

/// Node, Lease and the typed node affinity decode from Kubernetes' JSON (strictly: every field
/// is modelled) and encode back to exactly the same JSON.
@Suite struct APITypesRoundTripTests {
    static let nodeJSON = """
        {
          "apiVersion": "v1",
          "kind": "Node",
          "metadata": {
            "name": "node-1",
            "uid": "6f1c9a52-0d4e-4a53-9a43-6f4c2a1e8b10",
            "resourceVersion": "4711",
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", "disk": "ssd"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
          },
          "spec": {
            "podCIDR": "10.244.1.0/24",
            "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
            "providerID": "shoal://node-1",
            "unschedulable": true,
            "taints": [
              {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": "2024-05-01T10:05:00Z"},
              {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
            ]
          },
          "status": {
            "capacity": {"cpu": "4", "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0", "memory": "8028180Ki", "pods": "110"},
            "allocatable": {"cpu": "3800m", "ephemeral-storage": "56403987978", "hugepages-2Mi": "0", "memory": "7720980Ki", "pods": "110"},
            "phase": "Running",
            "conditions": [
              {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2024-05-01T10:10:00Z",
               "lastTransitionTime": "2024-05-01T10:00:00Z", "reason": "KubeletHasSufficientMemory",
               "message": "kubelet has sufficient memory available"},
              {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-05-01T10:10:00Z",
               "lastTransitionTime": "2024-05-01T10:00:30Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.11"}, {"type": "Hostname", "address": "node-1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
              "machineID": "ec2a8e5d1c7f4b0e9d3f5a6b7c8d9e0f",
              "systemUUID": "ec2a8e5d-1c7f-4b0e-9d3f-5a6b7c8d9e0f",
              "bootID": "0f0e0d0c-0b0a-0908-0706-050403020100",
              "kernelVersion": "6.1.0-18-amd64",
              "osImage": "Debian GNU/Linux 12 (bookworm)",
              "containerRuntimeVersion": "shoal://0.1.0",
              "kubeletVersion": "v1.31.0",
              "kubeProxyVersion": "",
              "operatingSystem": "linux",
              "architecture": "amd64"
            },
            "images": [{"names": ["docker.io/library/busybox:1.36"], "sizeBytes": 4261574}]
          }
        }
        """

    static let leaseJSON = """
        {
          "apiVersion": "coordination.k8s.io/v1",
          "kind": "Lease",
          "metadata": {
            "name": "node-1",
            "namespace": "kube-node-lease",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "6f1c9a52-0d4e-4a53-9a43-6f4c2a1e8b10"}]
          },
          "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 40,
            "acquireTime": "2024-05-01T10:00:00.000000Z",
            "renewTime": "2024-05-01T10:10:30.123456Z",
            "leaseTransitions": 2
          }
        }
        """

    static let affinityYAML = """
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: disk, operator: In, values: [ssd, nvme]}
              - {key: gpu, operator: DoesNotExist}
              matchFields:
              - {key: metadata.name, operator: NotIn, values: [node-9]}
            - matchExpressions:
              - {key: cores, operator: Gt, values: ["8"]}
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 20
            preference:
              matchExpressions: [{key: zone, operator: In, values: [a]}]
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
        """

    /// Strict decode, re-encode, and compare the trees; also back through Foundation's decoder.
    func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ text: String) throws -> T {
        let document = try ManifestDecoder.documents(text)[0]
        let value = try ManifestDecoder.decode(T.self, from: document)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        let reparsed = try ManifestDecoder.documents(String(decoding: data, as: UTF8.self))[0].value
        #expect(reparsed == document.value)
        #expect(try JSONDecoder().decode(T.self, from: data) == value)
        return value
    }

    @Test func nodeRoundTrips() throws {
        let node = try roundTrip(Node.self, Self.nodeJSON)
        #expect(node.metadata.name == "node-1")
        #expect(node.spec.podCIDRs == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(node.spec.unschedulable == true)
        #expect(node.spec.taints == [
            Taint(key: WellKnownTaint.unschedulable, effect: .noSchedule, timeAdded: Time(secondsSinceEpoch: 1_714_557_900)),
            Taint(key: "dedicated", value: "gpu", effect: .noExecute),
        ])
        let status = try #require(node.status)
        #expect(status.allocatable?["cpu"]?.milliValue() == 3800)
        #expect(status.capacity?["memory"]?.value() == Int64(8_028_180 * 1024))
        #expect(status.phase == .running)
        #expect(node.condition(.ready)?.reason == "KubeletReady")
        #expect(node.condition(.memoryPressure)?.status == .false)
        #expect(node.isReady)
        #expect(status.addresses == [NodeAddress(type: .internalIP, address: "10.0.0.11"), NodeAddress(type: .hostname, address: "node-1")])
        #expect(status.daemonEndpoints?.kubeletEndpoint?.port == 10250)
        #expect(status.nodeInfo?.kubeletVersion == "v1.31.0" && status.nodeInfo?.architecture == "amd64")
        #expect(status.images?.arrayValue?.count == 1)
    }

    @Test func daemonEndpointUsesTheCapitalPortKey() throws {
        let data = try JSONEncoder().encode(NodeDaemonEndpoints(kubeletEndpoint: DaemonEndpoint(port: 10250)))
        #expect(String(decoding: data, as: UTF8.self) == #"{"kubeletEndpoint":{"Port":10250}}"#)
        // A lower-case key is not the field: strict decoding reports it.
        let document = try ManifestDecoder.documents(#"{"kubeletEndpoint": {"port": 10250}}"#)[0]
        #expect(throws: ManifestDecodingError(messages: [#"unknown field "kubeletEndpoint.port""#])) {
            try ManifestDecoder.decode(NodeDaemonEndpoints.self, from: document)
        }
    }

    @Test func nodeSystemInfoAlwaysWritesEveryField() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(NodeSystemInfo(kubeletVersion: "v1.31.0")), as: UTF8.self)
        #expect(json == #"{"architecture":"","bootID":"","containerRuntimeVersion":"","kernelVersion":"","kubeProxyVersion":"","kubeletVersion":"v1.31.0","machineID":"","operatingSystem":"","osImage":"","systemUUID":""}"#)
    }

    @Test func leaseRoundTrips() throws {
        let lease = try roundTrip(Lease.self, Self.leaseJSON)
        #expect(lease.metadata.namespace == Lease.nodeLeaseNamespace)
        #expect(lease.spec.holderIdentity == "node-1")
        #expect(lease.spec.leaseDurationSeconds == 40)
        #expect(lease.spec.acquireTime == MicroTime(secondsSinceEpoch: 1_714_557_600))
        #expect(lease.spec.renewTime == MicroTime(secondsSinceEpoch: 1_714_558_230, microseconds: 123_456))
        #expect(lease.spec.leaseTransitions == 2)
        #expect(Lease().apiVersion == "coordination.k8s.io/v1" && Lease().kind == "Lease")
    }

    @Test func affinityRoundTripsThroughThePodsOpaqueField() throws {
        let tree = try ManifestDecoder.documents(Self.affinityYAML)[0].value
        let pod = Pod(spec: PodSpec(containers: [Container(name: "app")], affinity: tree))
        let affinity = try #require(try pod.spec.decodedAffinity())
        let required = try #require(affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution)
        #expect(required.nodeSelectorTerms.count == 2)
        #expect(required.nodeSelectorTerms[0].matchExpressions == [
            NodeSelectorRequirement(key: "disk", operator: .in, values: ["ssd", "nvme"]),
            NodeSelectorRequirement(key: "gpu", operator: .doesNotExist),
        ])
        #expect(required.nodeSelectorTerms[0].matchFields == [NodeSelectorRequirement(key: "metadata.name", operator: .notIn, values: ["node-9"])])
        #expect(required.nodeSelectorTerms[1].matchExpressions?[0].operator == .gt)
        #expect(affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution == [
            PreferredSchedulingTerm(weight: 20, preference: NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "zone", operator: .in, values: ["a"])])),
        ])
        // Pod anti-affinity is kept as it was.
        #expect(affinity.podAntiAffinity?["requiredDuringSchedulingIgnoredDuringExecution"]?.arrayValue?.count == 1)
        // And the typed value writes back the same tree.
        #expect(affinity.json == tree)
        #expect(try roundTrip(Affinity.self, Self.affinityYAML) == affinity)
    }

    @Test func affinityDecodingReportsBadShapes() throws {
        #expect(try PodSpec().decodedAffinity() == nil)
        #expect(try PodSpec(affinity: .null).decodedAffinity() == nil)
        let bad = PodSpec(affinity: ["nodeAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [["weight": "high"]]]])
        #expect(throws: ManifestDecodingError(messages: [
            #"nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: "high": cannot unmarshal string into Go value of type int32"#,
        ])) {
            try bad.decodedAffinity()
        }
    }
}
