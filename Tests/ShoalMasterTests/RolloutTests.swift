import ShoalAPI
import Testing
@testable import ShoalMaster

@Suite struct RolloutTests {
    func deployment(replicas: Int32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment(spec: DeploymentSpec(replicas: replicas, strategy: DeploymentStrategy(type: "RollingUpdate",
                                                                                          rollingUpdate: RollingUpdateDeployment(maxUnavailable: unavailable, maxSurge: surge))))
    }

    @Test func limitsRoundSurgeUpAndUnavailabilityDown() {
        #expect(Rollout.limits(deployment(replicas: 3, surge: .string("25%"), unavailable: .string("25%"))) == .init(maxSurge: 1, maxUnavailable: 0))
        #expect(Rollout.limits(deployment(replicas: 10, surge: .int(2), unavailable: .string("30%"))) == .init(maxSurge: 2, maxUnavailable: 3))
        // Both zero would never move: one may be unavailable.
        #expect(Rollout.limits(deployment(replicas: 1, surge: .string("10%"), unavailable: .string("10%"))) == .init(maxSurge: 1, maxUnavailable: 0))
    }

    @Test func aRollingUpdateOfThreeWithOneSurge() {
        let limits = Rollout.Limits(maxSurge: 1, maxUnavailable: 0)
        // Start: old 3, new 0 -> new grows to 1 (4 in all).
        #expect(Rollout.newReplicas(desired: 3, newCurrent: 0, allCurrent: 3, limits: limits) == 1)
        // No room while 4 run.
        #expect(Rollout.newReplicas(desired: 3, newCurrent: 1, allCurrent: 4, limits: limits) == 1)
        // The new pod not yet available: no old pod may go.
        #expect(Rollout.oldScaleDown(desired: 3, allCurrent: 4, newCurrent: 1, newAvailable: 0, allAvailable: 3, limits: limits) == 0)
        // Available: one old pod goes.
        #expect(Rollout.oldScaleDown(desired: 3, allCurrent: 4, newCurrent: 1, newAvailable: 1, allAvailable: 4, limits: limits) == 1)
        // Scaling down a ReplicaSet that is ahead.
        #expect(Rollout.newReplicas(desired: 2, newCurrent: 5, allCurrent: 5, limits: limits) == 2)
    }

    @Test func aResizeMidRolloutIsSharedInProportion() {
        func sizes(_ desired: Int32, surge: Int32, _ sets: [(Int32, Int32?, Int)], status: Int32 = 0) -> [Int32] {
            Rollout.proportionalSizes(desired: desired, maxSurge: surge, statusReplicas: status,
                                      sets: sets.map { Rollout.Share(replicas: $0.0, maxReplicasBefore: $0.1, revision: $0.2) })
        }
        // The documentation's example: 10 replicas, maxSurge 3, stuck at 8 old + 5 new; scaled
        // to 15, the old set gets 3 more and the new one 2.
        #expect(sizes(15, surge: 3, [(8, 13, 1), (5, 13, 2)]) == [11, 7])
        // Back down to 5: 10 fewer, larger sets first.
        #expect(sizes(5, surge: 3, [(11, 18, 1), (7, 18, 2)]) == [5, 3])
        // To zero: everything goes.
        #expect(sizes(0, surge: 3, [(11, 18, 1), (7, 18, 2)]) == [0, 0])
        // Equal sizes: the newer set grows first, the older shrinks first.
        #expect(sizes(5, surge: 1, [(3, 6, 1), (3, 6, 2)]) == [3, 3])
        #expect(sizes(6, surge: 0, [(3, 5, 1), (3, 5, 2)]) == [3, 3])
        #expect(sizes(7, surge: 0, [(3, 6, 1), (3, 6, 2)]) == [3, 4])
        #expect(sizes(5, surge: 0, [(3, 6, 1), (3, 6, 2)]) == [2, 3])
        // No annotation: the Deployment's pod count stands in for the size before.
        #expect(sizes(20, surge: 0, [(6, nil, 1), (4, nil, 2)], status: 10) == [12, 8])
        // Sets at zero stay there.
        #expect(sizes(20, surge: 0, [(0, 10, 1), (6, 10, 2), (4, 10, 3)]) == [0, 12, 8])
    }

    @Test func templatesCompareWithoutTheHashLabelOrEmptyValues() {
        var a = PodTemplateSpec(metadata: ObjectMeta(labels: ["app": "web"]), spec: PodSpec(containers: [Container(name: "c", image: "busybox")]))
        var b = a
        b.metadata?.labels?[Deployment.templateHashLabel] = "abc"
        b.spec?.containers[0].resources = ResourceRequirements()
        #expect(Rollout.sameTemplate(a, b))
        #expect(Rollout.templateHash(a) == Rollout.templateHash(b))
        a.spec?.containers[0].image = "busybox:1"
        #expect(!Rollout.sameTemplate(a, b))
        #expect(Rollout.templateHash(a) != Rollout.templateHash(b))
        #expect(Rollout.templateHash(a).allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
    }

    @Test func podsGoUnscheduledFirstThenNotReadyThenNewest() {
        func pod(_ name: String, node: String?, ready: Bool, since: Int64) -> Pod {
            var p = Pod(metadata: ObjectMeta(name: name), spec: PodSpec(nodeName: node))
            p.status = PodStatus(phase: .running, conditions: [PodCondition(type: .ready, status: ready ? .true : .false,
                                                                             lastTransitionTime: Time(secondsSinceEpoch: since))])
            return p
        }
        let pods = [pod("old-ready", node: "n", ready: true, since: 100), pod("new-ready", node: "n", ready: true, since: 200),
                    pod("not-ready", node: "n", ready: false, since: 300), pod("unscheduled", node: nil, ready: false, since: 50)]
        #expect(pods.sorted { Rollout.rank($0) < Rollout.rank($1) }.map { $0.metadata.name ?? "" } == ["unscheduled", "not-ready", "new-ready", "old-ready"])
    }
}
