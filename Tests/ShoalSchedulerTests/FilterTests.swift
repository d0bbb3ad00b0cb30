import Testing
import ShoalAPI
@testable import ShoalScheduler

/// Each filter, with kube-scheduler's message for it.
@Suite struct FilterTests {
    let three = [makeNode("node-a"), makeNode("node-b"), makeNode("node-c")]

    @Test func noNodesAtAll() {
        #expect(outcome(makePod(), []) == "no nodes available to schedule pods")
    }

    @Test func nodeName() {
        #expect(outcome(makePod { $0.nodeName = "node-b" }, three) == "bound:node-b")
        #expect(outcome(makePod { $0.nodeName = "node-z" }, three)
            == "0/3 nodes are available: 3 node(s) didn't match the requested node name.")
    }

    @Test func nodeUnschedulable() {
        let cordoned = makeNode("node-a", unschedulable: true)
        #expect(outcome(makePod(), [cordoned]) == "0/1 nodes are available: 1 node(s) were unschedulable.")
        #expect(outcome(makePod(), [cordoned, makeNode("node-b")]) == "bound:node-b")
        // Tolerating the unschedulable taint (as DaemonSet pods do) lets the pod in.
        let tolerant = makePod { $0.tolerations = [Toleration(key: WellKnownTaint.unschedulable, operator: .exists, effect: .noSchedule)] }
        #expect(outcome(tolerant, [cordoned]) == "bound:node-a")
        // A toleration for another effect does not.
        let wrongEffect = makePod { $0.tolerations = [Toleration(key: WellKnownTaint.unschedulable, operator: .exists, effect: .noExecute)] }
        #expect(outcome(wrongEffect, [cordoned]) == "0/1 nodes are available: 1 node(s) were unschedulable.")
    }

    @Test func taintToleration() {
        let gpu = makeNode("node-a", taints: [Taint(key: "dedicated", value: "gpu", effect: .noSchedule)])
        #expect(outcome(makePod(), [gpu]) == "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.")
        let tolerant = makePod { $0.tolerations = [Toleration(key: "dedicated", operator: .equal, value: "gpu", effect: .noSchedule)] }
        #expect(outcome(tolerant, [gpu]) == "bound:node-a")
        // NoExecute filters too; PreferNoSchedule never does.
        let evicting = makeNode("node-a", taints: [Taint(key: "maintenance", effect: .noExecute)])
        #expect(outcome(makePod(), [evicting]) == "0/1 nodes are available: 1 node(s) had untolerated taint {maintenance: }.")
        let soft = makeNode("node-a", taints: [Taint(key: "spot", value: "true", effect: .preferNoSchedule)])
        #expect(outcome(makePod(), [soft]) == "bound:node-a")
    }

    @Test func taintToleratioReportsTheFirstUntoleratedTaint() {
        let node = makeNode("node-a", taints: [
            Taint(key: "a", value: "1", effect: .noSchedule),
            Taint(key: "soft", effect: .preferNoSchedule),
            Taint(key: "b", value: "2", effect: .noExecute),
            Taint(key: "c", value: "3", effect: .noSchedule),
        ])
        let pod = makePod { $0.tolerations = [Toleration(key: "a", operator: .exists)] }
        #expect(outcome(pod, [node]) == "0/1 nodes are available: 1 node(s) had untolerated taint {b: 2}.")
    }

    @Test func nodesThatAreNotReady() {
        let notReady = makeNode("node-a", conditions: [NodeCondition(type: .ready, status: .false)])
        let unreported = makeNode("node-b", conditions: nil)
        let unreachable = makeNode("node-c", conditions: [NodeCondition(type: .ready, status: .unknown)])
        #expect(outcome(makePod(), [notReady, unreported])
            == "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.")
        #expect(outcome(makePod(), [unreachable])
            == "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.")
        #expect(outcome(makePod(), [notReady, makeNode("node-d")]) == "bound:node-d")
        // A pod tolerating the taint goes there, as a DaemonSet pod would.
        let tolerant = makePod { $0.tolerations = [Toleration(key: WellKnownTaint.notReady, operator: .exists)] }
        #expect(outcome(tolerant, [notReady]) == "bound:node-a")
    }

    @Test func notReadyTaintAlreadyOnTheNodeCountsOnce() {
        let node = makeNode("node-a", taints: [Taint(key: WellKnownTaint.notReady, effect: .noSchedule)],
                            conditions: [NodeCondition(type: .ready, status: .false)])
        let message = "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
        #expect(outcome(makePod(), [node]) == message)
        #expect(outcome(makePod(), [node], runAllFilters: true) == message)
        // Its NoExecute variant, tolerated for a while, does not stop scheduling (the NoSchedule one would).
        let executing = makeNode("node-a", taints: [Taint(key: WellKnownTaint.notReady, effect: .noExecute)],
                                 conditions: [NodeCondition(type: .ready, status: .false)])
        let tolerant = makePod { $0.tolerations = [Toleration(key: WellKnownTaint.notReady, operator: .exists, effect: .noExecute, tolerationSeconds: 300)] }
        #expect(outcome(tolerant, [executing]) == "bound:node-a")
    }

    @Test func pressureConditionsTaintTheNode() {
        let node = makeNode("node-a", conditions: [NodeCondition(type: .ready, status: .true), NodeCondition(type: .memoryPressure, status: .true)])
        #expect(outcome(makePod(), [node]) == "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }.")
        let relieved = makeNode("node-a", conditions: [NodeCondition(type: .ready, status: .true), NodeCondition(type: .memoryPressure, status: .false)])
        #expect(outcome(makePod(), [relieved]) == "bound:node-a")
    }

    @Test func insufficientResources() {
        let small = [makeNode("node-a", memory: "1Gi"), makeNode("node-b", memory: "1Gi"), makeNode("node-c", memory: "1Gi")]
        #expect(outcome(makePod(memory: "2Gi"), small) == "0/3 nodes are available: 3 Insufficient memory.")
        #expect(outcome(makePod(cpu: "5"), three) == "0/3 nodes are available: 3 Insufficient cpu.")
        // Both on the same node: one node, two reasons.
        #expect(outcome(makePod(cpu: "8", memory: "16Gi"), [makeNode("node-a")])
            == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.")
        // Exactly what is left fits.
        let full = ["node-a": [makePod("x", cpu: "3", memory: "6Gi")]]
        #expect(outcome(makePod(cpu: "1", memory: "2Gi"), [makeNode("node-a")], bound: full) == "bound:node-a")
        #expect(outcome(makePod(cpu: "1001m"), [makeNode("node-a")], bound: full) == "0/1 nodes are available: 1 Insufficient cpu.")
        #expect(outcome(makePod(memory: "2049Mi"), [makeNode("node-a")], bound: full) == "0/1 nodes are available: 1 Insufficient memory.")
    }

    @Test func ephemeralStorageAndExtendedResources() {
        let node = makeNode("node-a", extra: ["ephemeral-storage": "10Gi", "example.com/gpu": "1"])
        let disk = makePod { $0.containers[0].resources = resources(requests: ["ephemeral-storage": "20Gi"]) }
        #expect(outcome(disk, [node]) == "0/1 nodes are available: 1 Insufficient ephemeral-storage.")
        let twoGPUs = makePod { $0.containers[0].resources = resources(limits: ["example.com/gpu": "2"]) }
        #expect(outcome(twoGPUs, [node]) == "0/1 nodes are available: 1 Insufficient example.com/gpu.")
        let oneGPU = makePod { $0.containers[0].resources = resources(limits: ["example.com/gpu": "1"]) }
        #expect(outcome(oneGPU, [node]) == "bound:node-a")
        #expect(outcome(oneGPU, [node], bound: ["node-a": [oneGPU]]) == "0/1 nodes are available: 1 Insufficient example.com/gpu.")
        // A node without the resource has none of it.
        #expect(outcome(oneGPU, [makeNode("node-b")]) == "0/1 nodes are available: 1 Insufficient example.com/gpu.")
    }

    @Test func tooManyPods() {
        let node = makeNode("node-a", pods: "2")
        #expect(outcome(makePod(), [node], bound: ["node-a": [makePod("x")]]) == "bound:node-a")
        #expect(outcome(makePod(), [node], bound: ["node-a": [makePod("x"), makePod("y")]])
            == "0/1 nodes are available: 1 Too many pods.")
        // With a request that does not fit either, both reasons.
        #expect(outcome(makePod(memory: "9Gi"), [node], bound: ["node-a": [makePod("x"), makePod("y")]])
            == "0/1 nodes are available: 1 Insufficient memory, 1 Too many pods.")
    }

    @Test func nodeSelectorAndRequiredAffinity() {
        let nodes = [makeNode("node-a", labels: ["disk": "ssd"]), makeNode("node-b", labels: ["disk": "hdd"]), makeNode("node-c")]
        #expect(outcome(makePod { $0.nodeSelector = ["disk": "ssd"] }, nodes) == "bound:node-a")
        #expect(outcome(makePod { $0.nodeSelector = ["disk": "nvme"] }, nodes)
            == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
        let affinity = affinityJSON("""
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [hdd]}]}]
            """)
        #expect(outcome(makePod { $0.affinity = affinity }, nodes) == "bound:node-b")
        // nodeSelector and affinity must both hold.
        #expect(outcome(makePod { $0.affinity = affinity; $0.nodeSelector = ["disk": "ssd"] }, nodes)
            == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
        // matchFields selects by node name.
        let byName = affinityJSON("""
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [node-c]}]}]
            """)
        #expect(outcome(makePod { $0.affinity = byName }, nodes) == "bound:node-c")
        // An affinity that is not an Affinity matches no node.
        #expect(outcome(makePod { $0.affinity = ["nodeAffinity": "everywhere"] }, nodes)
            == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
    }

    @Test func hostPorts() {
        let web = makePod("web") { $0.containers[0].ports = [ContainerPort(hostPort: 80, containerPort: 8080)] }
        let bound = ["node-a": [web]]
        #expect(outcome(web, [makeNode("node-a")], bound: bound)
            == "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.")
        #expect(outcome(web, [makeNode("node-a"), makeNode("node-b")], bound: bound) == "bound:node-b")
    }

    /// The message: each reason prefixed by its count, sorted as strings (so by count first), joined by ", ".
    @Test func messageWithSeveralReasons() {
        let nodes = [
            makeNode("node-a", cpu: "1", labels: ["disk": "ssd"]),
            makeNode("node-b", cpu: "1", labels: ["disk": "ssd"]),
            makeNode("node-c", cpu: "8"),
        ]
        let pod = makePod(cpu: "2") { $0.nodeSelector = ["disk": "ssd"] }
        #expect(outcome(pod, nodes) == "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.")

        let error = FitError(numAllNodes: 12, reasons: [FitReason.insufficient("cpu"): 2, FitReason.nodeAffinity: 10, FitReason.unschedulable: 2])
        #expect(error.description == "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu, 2 node(s) were unschedulable.")
    }

    @Test func aNodeStopsAtItsFirstFailingFilterUnlessAllAreRun() {
        let node = makeNode("node-a", memory: "1Gi", labels: ["disk": "hdd"], unschedulable: true)
        let pod = makePod(memory: "2Gi") { $0.nodeSelector = ["disk": "ssd"] }
        #expect(outcome(pod, [node]) == "0/1 nodes are available: 1 node(s) were unschedulable.")
        #expect(outcome(pod, [node], runAllFilters: true)
            == "0/1 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable.")
        let result = Scheduler(runAllFilters: true).filterReasons(pod, node: node, bound: [])
        #expect(result == [FitReason.unschedulable, FitReason.nodeAffinity, FitReason.insufficient("memory")])
        #expect(Scheduler().filterReasons(makePod(), node: makeNode("node-b"), bound: []).isEmpty)
    }

    @Test func resultCarriesTheCounts() {
        var scheduler = Scheduler()
        let nodes = [makeNode("node-a", memory: "1Gi"), makeNode("node-b", unschedulable: true)]
        let result = scheduler.schedule(makePod(memory: "2Gi"), nodes: nodes, bound: [:])
        #expect(result == .unschedulable(FitError(numAllNodes: 2, reasons: ["Insufficient memory": 1, "node(s) were unschedulable": 1])))
    }
}
