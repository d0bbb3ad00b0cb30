import Testing
import ShoalAPI
import ShoalScheduler

/// Choosing among feasible nodes: free memory first, then cpu/memory balance, preferred node
/// affinity and PreferNoSchedule taints; ties rotate.
@Suite struct ScoringTests {
    func placements(_ pod: Pod, _ nodes: [Node], bound: [String: [Pod]] = [:], times: Int = 4) -> [String] {
        var scheduler = Scheduler()
        return (0..<times).map { _ in
            if case .bound(let name) = scheduler.schedule(pod, nodes: nodes, bound: bound) { return name }
            return "unschedulable"
        }
    }

    @Test func prefersTheNodeWithMoreFreeMemory() {
        let nodes = [makeNode("node-a"), makeNode("node-b"), makeNode("node-c")]
        let bound = ["node-a": [makePod("x", memory: "6Gi")], "node-b": [makePod("y", memory: "2Gi")], "node-c": [makePod("z", memory: "4Gi")]]
        #expect(placements(makePod(memory: "1Gi"), nodes, bound: bound) == ["node-b", "node-b", "node-b", "node-b"])
        // Pods without requests count as 200Mi when scoring, so they spread as well.
        let busy = ["node-a": (0..<5).map { makePod("x\($0)") }, "node-b": [], "node-c": [makePod("z")]]
        #expect(placements(makePod(), nodes, bound: busy) == ["node-b", "node-b", "node-b", "node-b"])
    }

    @Test func balanceBreaksNearTies() {
        // Same memory left on both; node-b's cpu use matches its memory use, node-a's does not.
        let nodes = [makeNode("node-a"), makeNode("node-b")]
        let bound = ["node-a": [makePod("x", cpu: "0", memory: "4Gi")], "node-b": [makePod("y", cpu: "2", memory: "4Gi")]]
        #expect(placements(makePod(cpu: "1", memory: "1Gi"), nodes, bound: bound) == ["node-b", "node-b", "node-b", "node-b"])
        let s = Scheduler().scores(makePod(cpu: "1", memory: "1Gi"), nodes: nodes, bound: bound)
        #expect(s[1] > s[0])
    }

    @Test func freeMemoryOutweighsBalance() {
        // node-a: cpu full after placement but memory mostly free; node-b: balanced-ish but memory nearly full.
        let nodes = [makeNode("node-a"), makeNode("node-b")]
        let bound = ["node-a": [makePod("x", cpu: "3", memory: "1Gi")], "node-b": [makePod("y", cpu: "0", memory: "6Gi")]]
        #expect(placements(makePod(cpu: "1", memory: "1Gi"), nodes, bound: bound) == ["node-a", "node-a", "node-a", "node-a"])
    }

    @Test func preferredNodeAffinityDecidesBetweenComparableNodes() {
        let preferZoneA = affinityJSON("""
            nodeAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
              - {weight: 50, preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}}
              - {weight: 10, preference: {matchExpressions: [{key: disk, operator: In, values: [ssd]}]}}
            """)
        let pod = makePod(memory: "512Mi") { $0.affinity = preferZoneA }
        let nodes = [makeNode("node-a", labels: ["zone": "b", "disk": "ssd"]), makeNode("node-b", labels: ["zone": "a"])]
        #expect(placements(pod, nodes) == ["node-b", "node-b", "node-b", "node-b"])
        // Somewhat less free memory does not outweigh the preference…
        let bound = ["node-a": [makePod("x", memory: "2Gi")], "node-b": [makePod("y", memory: "3Gi")]]
        #expect(placements(pod, nodes, bound: bound) == ["node-b", "node-b", "node-b", "node-b"])
        // …a nearly full preferred node does.
        let full = ["node-a": [makePod("x", memory: "1Gi")], "node-b": [makePod("y", memory: "7Gi")]]
        #expect(placements(pod, nodes, bound: full) == ["node-a", "node-a", "node-a", "node-a"])
    }

    @Test func preferNoScheduleTaintsAreAvoided() {
        let nodes = [makeNode("node-a", taints: [Taint(key: "spot", value: "true", effect: .preferNoSchedule)]), makeNode("node-b")]
        #expect(placements(makePod(), nodes) == ["node-b", "node-b", "node-b", "node-b"])
        // Tolerated, the nodes are equal again and the pods alternate.
        let tolerant = makePod { $0.tolerations = [Toleration(key: "spot", operator: .exists, effect: .preferNoSchedule)] }
        #expect(placements(tolerant, nodes) == ["node-a", "node-b", "node-a", "node-b"])
        // A NoSchedule toleration does not cover PreferNoSchedule.
        let wrong = makePod { $0.tolerations = [Toleration(key: "spot", operator: .exists, effect: .noSchedule)] }
        #expect(placements(wrong, nodes) == ["node-b", "node-b", "node-b", "node-b"])
    }

    @Test func tiesRotateOverIdenticalNodes() {
        let nodes = [makeNode("node-b"), makeNode("node-a")]
        var scheduler = Scheduler()
        var counts: [String: Int] = [:]
        var order: [String] = []
        for i in 0..<4 {
            guard case .bound(let name) = scheduler.schedule(makePod("p\(i)", cpu: "100m", memory: "10Mi"), nodes: nodes, bound: [:]) else {
                Issue.record("not scheduled")
                return
            }
            counts[name, default: 0] += 1
            order.append(name)
        }
        #expect(counts == ["node-a": 2, "node-b": 2])
        #expect(order == ["node-a", "node-b", "node-a", "node-b"])
    }

    @Test func aSchedulingLoopSpreadsIdenticalPods() {
        let nodes = [makeNode("node-a"), makeNode("node-b"), makeNode("node-c")]
        var scheduler = Scheduler()
        var bound: [String: [Pod]] = [:]
        for i in 0..<6 {
            let pod = makePod("p\(i)", cpu: "500m", memory: "1Gi")
            guard case .bound(let name) = scheduler.schedule(pod, nodes: nodes, bound: bound) else {
                Issue.record("not scheduled")
                return
            }
            bound[name, default: []].append(pod)
        }
        #expect(bound.mapValues(\.count) == ["node-a": 2, "node-b": 2, "node-c": 2])
        // The nodes are full now: 2 × 1Gi + 7Gi does not fit in 8Gi.
        guard case .unschedulable(let error) = scheduler.schedule(makePod("big", memory: "7Gi"), nodes: nodes, bound: bound) else {
            Issue.record("scheduled")
            return
        }
        #expect(error.description == "0/3 nodes are available: 3 Insufficient memory.")
    }

    @Test func aSingleFeasibleNodeIsChosen() {
        let nodes = [makeNode("node-a", memory: "1Gi"), makeNode("node-b")]
        #expect(placements(makePod(memory: "2Gi"), nodes) == ["node-b", "node-b", "node-b", "node-b"])
    }
}
