import ShoalAPI
import Testing
@testable import ShoalMaster

@Suite struct VolumeBindingTests {
    func pv(_ name: String, _ size: String, modes: [String] = ["ReadWriteOnce"], cls: String? = "manual", node: String? = nil) -> PersistentVolume {
        var v = PersistentVolume(metadata: ObjectMeta(name: name), spec: PersistentVolumeSpec(
            capacity: ["storage": try! Quantity(size)], accessModes: modes, storageClassName: cls, hostPath: HostPathVolumeSource(path: "/x")))
        if let node {
            let term = NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: .in, values: [node])])
            v.spec.nodeAffinity = VolumeNodeAffinity(required: NodeSelector(nodeSelectorTerms: [term]))
        }
        return v
    }

    func claim(_ size: String, modes: [String] = ["ReadWriteOnce"], cls: String? = "manual", volume: String? = nil) -> PersistentVolumeClaim {
        PersistentVolumeClaim(metadata: ObjectMeta(name: "c", namespace: "default", uid: "u"), spec: PersistentVolumeClaimSpec(
            accessModes: modes, resources: VolumeResourceRequirements(requests: ["storage": try! Quantity(size)]), storageClassName: cls, volumeName: volume))
    }

    @Test func theSmallestFreeVolumeOfTheClassThatHoldsTheRequestAndModes() {
        let volumes = [pv("big", "5Gi"), pv("small", "1Gi"), pv("tiny", "100Mi"), pv("rox", "1Gi", modes: ["ReadOnlyMany"]), pv("fast", "1Gi", cls: "fast")]
        #expect(Master.bestMatch(for: claim("500Mi"), in: volumes)?.metadata.name == "small")
        #expect(Master.bestMatch(for: claim("2Gi"), in: volumes)?.metadata.name == "big")
        #expect(Master.bestMatch(for: claim("10Gi"), in: volumes) == nil)
        #expect(Master.bestMatch(for: claim("1Gi", modes: ["ReadOnlyMany"]), in: volumes)?.metadata.name == "rox")
        #expect(Master.bestMatch(for: claim("1Gi", cls: "fast"), in: volumes)?.metadata.name == "fast")
        var bound = pv("small", "1Gi")
        bound.status = PersistentVolumeStatus(phase: "Released")
        #expect(Master.bestMatch(for: claim("1Gi"), in: [bound]) == nil)
    }

    @Test func podsGoWhereTheirVolumesAreAndWaitForMissingOrImmediateClaims() {
        let nodes = ["n1", "n2"].map { Node(metadata: ObjectMeta(name: $0, labels: ["kubernetes.io/hostname": $0])) }
        var pod = Pod(metadata: ObjectMeta(name: "p", namespace: "default"), spec: PodSpec(containers: []))
        pod.spec.volumes = [Volume(name: "d", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: "c"))]
        let view = { (claims: [String: PersistentVolumeClaim]) in
            StorageView(claims: claims, volumes: ["v": self.pv("v", "1Gi", node: "n2")],
                        classes: ["wffc": StorageClass(metadata: ObjectMeta(name: "wffc"), provisioner: "x", volumeBindingMode: "WaitForFirstConsumer")])
        }
        if case .wait(let m) = view([:]).fit(pod, nodes: nodes) { #expect(m.contains("persistentvolumeclaim \"c\" not found")) } else { Issue.record("no wait") }
        if case .wait(let m) = view(["default/c": claim("1Gi")]).fit(pod, nodes: nodes) { #expect(m.contains("unbound immediate")) } else { Issue.record("no wait") }
        if case .nodes(let n) = view(["default/c": claim("1Gi", cls: "wffc")]).fit(pod, nodes: nodes) { #expect(n.count == 2) } else { Issue.record("waited") }
        if case .nodes(let n) = view(["default/c": claim("1Gi", volume: "v")]).fit(pod, nodes: nodes) { #expect(n.map { $0.metadata.name } == ["n2"]) } else { Issue.record("waited") }
    }

    @Test func validationSpeaksTheAPIServersWords() {
        var p = pv("x", "1Gi")
        p.spec.local = LocalVolumeSource(path: "/y")
        let errs = StorageValidation.validate(p, spec: nil).map(\.description)
        #expect(errs.contains("spec.local: Forbidden: may not specify more than 1 volume type"))
        #expect(errs.contains("spec.nodeAffinity: Required value: Local volume requires node affinity"))
        var c = claim("1Gi")
        c.spec.resources = nil
        #expect(StorageValidation.validate(c, old: nil).map(\.description) == ["spec.resources[storage]: Required value"])
        var grown = claim("2Gi")
        grown.spec.volumeName = "v"
        var bound = claim("1Gi")
        bound.status = PersistentVolumeClaimStatus(phase: "Bound")
        #expect(StorageValidation.validate(grown, old: bound).isEmpty)
        // An unbound claim's request is fixed.
        #expect(StorageValidation.validate(grown, old: claim("1Gi")).map(\.description)
            == ["spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"])
        #expect(!StorageValidation.validate(claim("1Gi", modes: ["ReadWriteMany"]), old: claim("1Gi")).isEmpty)
        var block = claim("1Gi")
        block.spec.volumeMode = "Block"
        #expect(StorageValidation.validate(block, old: nil).map(\.description) == ["spec.volumeMode: Forbidden: \(PersistentVolumeSpec.blockModeRefusal)"])
        block.spec.volumeMode = "Raw"
        #expect(StorageValidation.validate(block, old: nil).map(\.description) == [#"spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem""#])
    }

    @Test func claimsGrowOnlyInClassesThatAllowExpansion() {
        let fixed = StorageClass(metadata: ObjectMeta(name: "manual"), provisioner: "x")
        var growing = fixed
        growing.allowVolumeExpansion = true
        #expect(StorageValidation.resizeRefusal(claim("2Gi"), old: claim("1Gi"), classes: [fixed])?.hasPrefix("only dynamically provisioned pvc can be resized") == true)
        #expect(StorageValidation.resizeRefusal(claim("2Gi"), old: claim("1Gi"), classes: []) != nil)
        #expect(StorageValidation.resizeRefusal(claim("2Gi"), old: claim("1Gi"), classes: [growing]) == nil)
        #expect(StorageValidation.resizeRefusal(claim("1Gi"), old: claim("1Gi"), classes: [fixed]) == nil)
    }

    @Test func selectorsWithExpressionsAndVolumeModesNarrowTheMatch() {
        var fast = pv("fast", "1Gi"), slow = pv("slow", "1Gi")
        fast.metadata.labels = ["tier": "fast", "zone": "a"]
        slow.metadata.labels = ["tier": "slow"]
        var c = claim("1Gi")
        c.spec.selector = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "tier", operator: "NotIn", values: ["slow"])])
        #expect(Master.bestMatch(for: c, in: [slow, fast])?.metadata.name == "fast")
        c.spec.selector = LabelSelector(matchLabels: ["tier": "fast"], matchExpressions: [LabelSelectorRequirement(key: "zone", operator: "DoesNotExist")])
        #expect(Master.bestMatch(for: c, in: [slow, fast]) == nil)
        c.spec.selector = nil
        fast.spec.volumeMode = "Block"
        #expect(Master.bestMatch(for: c, in: [fast]) == nil)
    }
}
