import Testing
import ShoalAPI
@testable import ShoalScheduler

/// The effective requests of a pod: what NodeResourcesFit reserves for it.
@Suite struct RequestsTests {
    func container(_ name: String, cpu: String, memory: String, sidecar: Bool = false) -> Container {
        Container(name: name, resources: resources(requests: ["cpu": cpu, "memory": memory]),
                  restartPolicy: sidecar ? .always : nil)
    }

    func requests(init initContainers: [Container] = [], _ containers: [Container], overhead: [String: String]? = nil) -> (Int64, Int64) {
        let pod = Pod(spec: PodSpec(initContainers: initContainers, containers: containers, overhead: overhead?.mapValues(q)))
        let r = effectiveRequests(pod)
        return (r.milliCPU, r.memory)
    }

    @Test func appContainersAddUp() {
        #expect(requests([container("a", cpu: "100m", memory: "64Mi"), container("b", cpu: "0.25", memory: "128Mi")])
            == (350, 192 * 1024 * 1024))
    }

    @Test func aLargerInitContainerSetsTheRequest() {
        #expect(requests(init: [container("init", cpu: "1", memory: "1Gi")], [container("app", cpu: "100m", memory: "64Mi")])
            == (1000, 1024 * 1024 * 1024))
        // Per resource: cpu from the init container, memory from the app.
        #expect(requests(init: [container("init", cpu: "1", memory: "1Mi")], [container("app", cpu: "100m", memory: "64Mi")])
            == (1000, 64 * 1024 * 1024))
    }

    @Test func sidecarsAddToTheAppsAndToLaterInitContainers() {
        // sidecar 200m/128Mi, then init 500m/256Mi (runs beside the sidecar: 700m/384Mi), app 100m/64Mi.
        // Running: app + sidecar = 300m/192Mi. Peak during init: 700m/384Mi.
        let mi: Int64 = 1024 * 1024
        #expect(requests(init: [container("proxy", cpu: "200m", memory: "128Mi", sidecar: true), container("migrate", cpu: "500m", memory: "256Mi")],
                         [container("app", cpu: "100m", memory: "64Mi")]) == (700, 384 * mi))
        // An init container before the sidecar runs without it: 500m/256Mi; running 300m/192Mi.
        #expect(requests(init: [container("migrate", cpu: "500m", memory: "256Mi"), container("proxy", cpu: "200m", memory: "128Mi", sidecar: true)],
                         [container("app", cpu: "100m", memory: "64Mi")]) == (500, 256 * mi))
        // Sidecars and app outgrowing every init container.
        #expect(requests(init: [container("proxy", cpu: "1", memory: "1Gi", sidecar: true), container("migrate", cpu: "100m", memory: "64Mi")],
                         [container("app", cpu: "1", memory: "1Gi")]) == (2000, 2048 * mi))
        // Two sidecars accumulate for an init container after both.
        #expect(requests(init: [container("s1", cpu: "100m", memory: "10Mi", sidecar: true), container("s2", cpu: "100m", memory: "10Mi", sidecar: true),
                                container("late", cpu: "1", memory: "10Mi")],
                         [container("app", cpu: "100m", memory: "10Mi")]) == (1200, 30 * mi))
    }

    @Test func limitsStandForMissingRequests() {
        let c = Container(name: "app", resources: resources(requests: ["cpu": "100m"], limits: ["cpu": "1", "memory": "512Mi"]))
        #expect(requests([c]) == (100, 512 * 1024 * 1024))
        #expect(requests([Container(name: "app")]) == (0, 0))
    }

    @Test func overheadIsAdded() {
        #expect(requests([container("app", cpu: "100m", memory: "64Mi")], overhead: ["cpu": "10m", "memory": "16Mi"])
            == (110, 80 * 1024 * 1024))
    }

    @Test func podLevelResourcesReplaceTheContainers() {
        var pod = Pod(spec: PodSpec(containers: [container("app", cpu: "100m", memory: "64Mi")]))
        pod.spec.resources = resources(requests: ["cpu": "2"], limits: ["memory": "1Gi"])
        let r = effectiveRequests(pod)
        #expect(r.milliCPU == 2000 && r.memory == 1024 * 1024 * 1024)
    }

    @Test func boundPodsAreAccountedWithTheSameMath() {
        // A bound pod whose init container peaks at 3 cpu leaves 1 of 4.
        let peaky = Pod(metadata: ObjectMeta(name: "x"), spec: PodSpec(initContainers: [container("init", cpu: "3", memory: "1Mi")],
                                                                     containers: [container("app", cpu: "100m", memory: "1Mi")]))
        #expect(outcome(makePod(cpu: "1"), [makeNode("node-a")], bound: ["node-a": [peaky]]) == "bound:node-a")
        #expect(outcome(makePod(cpu: "1001m"), [makeNode("node-a")], bound: ["node-a": [peaky]])
            == "0/1 nodes are available: 1 Insufficient cpu.")
    }

    @Test func scoringAssumesDefaultsForMissingRequests() {
        let r = podRequests(makePod(), nonZero: true)
        #expect(r.milliCPU == 100 && r.memory == 200 * 1024 * 1024)
        // An explicit zero stays zero.
        let zero = podRequests(makePod(cpu: "0", memory: "0"), nonZero: true)
        #expect(zero.milliCPU == 0 && zero.memory == 0)
    }
}
