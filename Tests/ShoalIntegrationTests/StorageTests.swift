import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// PersistentVolumes and claims through kubectl on `shoal up`: the default local-path class
/// provisions on the pod's node, data outlives the pod, its restarts and its re-creation,
/// static volumes bind by class, size and access modes, and each reclaim policy does its part.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct StorageTests {
    static func writer(_ claim: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: writer}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "echo hello >> /data/log; trap 'exit 0' TERM; sleep 3600 & wait"]
            volumeMounts: [{name: d, mountPath: /data}]
          volumes: [{name: d, persistentVolumeClaim: {claimName: \(claim)}}]
        """
    }

    @Test func claimsProvisionBindKeepDataAndReclaim() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        #expect(try await cli.kubectl("get", "storageclass").out.contains("local-path (default)   shoal.io/local-path   Delete          WaitForFirstConsumer"))

        // The default class: a volume made on the pod's node when the pod is scheduled.
        let claim = """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 1Gi}}
            """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: claim).code == 0)
        #expect(try await cli.kubectl("get", "pvc", "data", "-o", "jsonpath={.status.phase}").out == "Pending")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: Self.writer("data")).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=30s").code == 0)
        let pvName = try await cli.kubectl("get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}").out
        let pv = try await cli.kubectl("get", "pv", pvName, "-o",
                                       "jsonpath={.status.phase} {.spec.claimRef.name} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.spec.hostPath.path}").out
        let fields = pv.split(separator: " ").map(String.init)
        try #require(fields.count == 4, "\(pv)")
        #expect(fields[0] == "Bound" && fields[1] == "data" && fields[2] == "node-1" && fields[3].hasPrefix(cli.dataDir + "/storage/pvc-"), "\(pv)")
        #expect(try await cli.kubectl("get", "pvc", "data").out.contains("Bound    \(pvName)   1Gi        RWO            local-path"))

        // Data outlives a restart-together and the pod's re-creation.
        #expect(try await cli.kubectl("exec", "writer", "--", "killall", "sleep").code == 0)
        try await waitUntil(timeout: 20) {
            try await cli.kubectl("get", "pod", "writer", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}").out == "1 true"
        }
        #expect(try await cli.kubectl("delete", "pod", "writer").code == 0)
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: Self.writer("data")).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=30s").code == 0)
        #expect(try await cli.kubectl("exec", "writer", "--", "cat", "/data/log").out == "hello\nhello\nhello\n")

        // A claim in use stays (Terminating) until its pod goes; then Delete removes the volume and its directory.
        #expect(try await cli.kubectl("delete", "pvc", "data", "--wait=false").code == 0)
        #expect(try await cli.kubectl("get", "pvc", "data").out.contains("Terminating"))
        #expect(try await cli.kubectl("delete", "pod", "writer").code == 0)
        try await waitUntil(timeout: 20) {
            try await cli.kubectl("get", "pv", pvName).code != 0 && !FileSystem.exists(fields[3])
        }
        #expect(try await cli.kubectl("get", "pvc", "data").code != 0)

        // Static volumes: the smallest that fits the class, size and modes; Retain keeps the data.
        let dirs = (cli.dataDir + "/static-small", cli.dataDir + "/static-big")
        let statics = """
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: big}
            spec:
              capacity: {storage: 5Gi}
              accessModes: [ReadWriteOnce]
              storageClassName: manual
              hostPath: {path: \(dirs.1), type: DirectoryOrCreate}
            ---
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: small}
            spec:
              capacity: {storage: 1Gi}
              accessModes: [ReadWriteOnce, ReadOnlyMany]
              storageClassName: manual
              hostPath: {path: \(dirs.0), type: DirectoryOrCreate}
            ---
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: other-class}
            spec:
              capacity: {storage: 1Gi}
              accessModes: [ReadWriteOnce]
              storageClassName: fast
              hostPath: {path: \(dirs.1)}
            ---
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: manual}
            spec:
              storageClassName: manual
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 500Mi}}
            """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: statics).code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "pvc", "manual", "-o", "jsonpath={.status.phase}").out == "Bound" }
        #expect(try await cli.kubectl("get", "pvc", "manual", "-o", "jsonpath={.spec.volumeName} {.status.capacity.storage}").out == "small 1Gi")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: Self.writer("manual")).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/writer", "--timeout=30s").code == 0)
        #expect(try await cli.kubectl("delete", "pod", "writer").code == 0)
        #expect(try await cli.kubectl("delete", "pvc", "manual").code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "pv", "small", "-o", "jsonpath={.status.phase}").out == "Released" }
        #expect(try FileSystem.readString(dirs.0 + "/log") == "hello\n")
        #expect(try await cli.kubectl("get", "pv", "big", "-o", "jsonpath={.status.phase}").out == "Available")

        // A volume that names its claim is that claim's, though a smaller one would fit.
        let reserved = """
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: reserved}
            spec:
              capacity: {storage: 10Gi}
              accessModes: [ReadWriteOnce]
              storageClassName: manual
              claimRef: {namespace: default, name: reserved}
              hostPath: {path: \(dirs.1), type: DirectoryOrCreate}
            ---
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: reserved}
            spec:
              storageClassName: manual
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 100Mi}}
            """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: reserved).code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "pvc", "reserved", "-o", "jsonpath={.status.phase} {.spec.volumeName}").out == "Bound reserved" }

        // A claim grows only in a class that allows expansion: "manual" names no class at all.
        let grow = #"{"spec":{"resources":{"requests":{"storage":"200Mi"}}}}"#
        let refused = try await cli.kubectl("patch", "pvc", "reserved", "-p", grow)
        #expect(refused.code != 0 && refused.err.contains("persistentvolumeclaims \"reserved\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"), "\(refused)")
        let growing = """
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: growing}
            provisioner: shoal.io/local-path
            allowVolumeExpansion: true
            ---
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: grows}
            spec:
              storageClassName: growing
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 100Mi}}
            """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: growing).code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "pvc", "grows", "-o", "jsonpath={.status.phase} {.status.capacity.storage}").out == "Bound 100Mi" }
        #expect(try await cli.kubectl("patch", "pvc", "grows", "-p", grow).code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "pvc", "grows", "-o", "jsonpath={.status.capacity.storage}").out == "200Mi" }
        let volume = try await cli.kubectl("get", "pvc", "grows", "-o", "jsonpath={.spec.volumeName}").out
        #expect(try await cli.kubectl("get", "pv", volume, "-o", "jsonpath={.spec.capacity.storage}").out == "200Mi")
        let shrink = try await cli.kubectl("patch", "pvc", "grows", "-p", #"{"spec":{"resources":{"requests":{"storage":"100Mi"}}}}"#)
        #expect(shrink.code != 0 && shrink.err.contains("spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"), "\(shrink)")

        // Bad input: the API server's messages; a pod whose claim is missing waits, saying why.
        let bad = try await cli.kubectl("apply", "-f", "-", stdin: """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: bad}
            spec: {accessModes: [ReadWriteOnce]}
            """)
        #expect(bad.code != 0 && bad.err.contains("PersistentVolumeClaim \"bad\" is invalid: spec.resources[storage]: Required value"), "\(bad.err)")
        let twoSources = try await cli.kubectl("apply", "-f", "-", stdin: """
            apiVersion: v1
            kind: PersistentVolume
            metadata: {name: bad}
            spec:
              capacity: {storage: 1Gi}
              accessModes: [ReadWriteOnce]
              hostPath: {path: /tmp/x}
              local: {path: /tmp/y}
              nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-1]}]}]}}
            """)
        #expect(twoSources.code != 0 && twoSources.err.contains("spec.local: Forbidden: may not specify more than 1 volume type"), "\(twoSources.err)")
        let block = try await cli.kubectl("apply", "-f", "-", stdin: """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: block}
            spec: {accessModes: [ReadWriteOnce], volumeMode: Block, resources: {requests: {storage: 1Gi}}}
            """)
        #expect(block.code != 0 && block.err.contains("spec.volumeMode: Forbidden: raw block volumes are not supported by Shoal"), "\(block.err)")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: Self.writer("nope")).code == 0)
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("get", "pod", "writer", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}").out
                .contains("persistentvolumeclaim \"nope\" not found")
        }
    }
}
