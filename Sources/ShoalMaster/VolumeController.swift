import Foundation
import ShoalAPI
import ShoalScheduler

/// The PersistentVolume controller, with k3s's local-path provisioner built in:
/// - a claim without a class gets the default class (as the DefaultStorageClass admission and
///   its retroactive assignment do);
/// - a claim binds to the volume it names or that names it, else to the smallest Available
///   volume of its class that holds its request and its access modes (static binding);
/// - with no such volume and the `shoal.io/local-path` class, a hostPath volume is made for it
///   on a node (the node of its first pod under WaitForFirstConsumer, the default), pinned to
///   that node by node affinity, in the node's `shoal.io/local-path-root` directory;
/// - a volume whose claim went is Released (Retain) or deleted (Delete; the node's agent then
///   removes the directory of a volume it provisioned);
/// - a claim in use by a pod keeps its `kubernetes.io/pvc-protection` finalizer until no
///   running pod uses it.
extension Master {
    static let localPathProvisioner = "shoal.io/local-path"
    static let localPathRootAnnotation = "shoal.io/local-path-root"
    static let pvcProtection = "kubernetes.io/pvc-protection"

    func runVolumeController() async {
        await onChanges([Resources.persistentVolumes, Resources.persistentVolumeClaims, Resources.storageClasses, Resources.pods]
            .map { Registry.prefix($0, namespace: nil) }) { [self] in syncVolumes() }
    }

    /// k3s's default class: made at start when the cluster has none of that name.
    func ensureDefaultStorageClass() throws {
        guard (try? registry.get(Resources.storageClasses, namespace: nil, name: "local-path")) == nil else { return }
        let sc = StorageClass(metadata: ObjectMeta(name: "local-path", annotations: [StorageClass.defaultAnnotation: "true"]),
                              provisioner: Self.localPathProvisioner, reclaimPolicy: "Delete", volumeBindingMode: "WaitForFirstConsumer")
        _ = try registry.create(Resources.storageClasses, namespace: nil, object: try JSONValue.encoding(sc), strict: false)
    }

    func syncVolumes() {
        guard let claims = listAll(Resources.persistentVolumeClaims, as: PersistentVolumeClaim.self),
              let volumes = listAll(Resources.persistentVolumes, as: PersistentVolume.self), !(claims.isEmpty && volumes.isEmpty) else { return }
        let classes = listAll(Resources.storageClasses, as: StorageClass.self) ?? []
        let pods = listAll(Resources.pods, as: Pod.self) ?? []
        var free = volumes.filter { $0.spec.claimRef == nil && $0.metadata.deletionTimestamp == nil }
        for claim in claims {
            if claim.metadata.deletionTimestamp != nil {
                releaseProtection(claim, pods: pods)
                continue
            }
            if !(claim.metadata.finalizers ?? []).contains(Self.pvcProtection) { addProtection(claim) }
            if claim.spec.storageClassName == nil, claim.spec.volumeName == nil, let d = classes.first(where: \.isDefault) {
                modifyClaim(claim) { $0["spec"]?["storageClassName"] = .string(d.metadata.name ?? "") }
                continue
            }
            if let name = claim.spec.volumeName {
                let pv = volumes.first { $0.metadata.name == name }
                if let pv, expand(claim, pv, classes: classes) { continue }
                completeBinding(claim, volume: pv)
                continue
            }
            // A volume that already names this claim (pre-bound by its author, or provisioned
            // for it by an earlier pass that did not finish) is the claim's.
            if let pv = volumes.first(where: { v in
                v.spec.claimRef.map { $0.namespace == claim.metadata.namespace && $0.name == claim.metadata.name && ($0.uid == nil || $0.uid == claim.metadata.uid) } ?? false
            }) {
                bind(claim, to: pv)
            } else if let pv = Self.bestMatch(for: claim, in: free) {
                free.removeAll { $0.metadata.name == pv.metadata.name }
                bind(claim, to: pv)
            } else if let cls = classes.first(where: { $0.metadata.name == claim.spec.storageClassName }), cls.provisioner == Self.localPathProvisioner,
                      let node = provisioningNode(for: claim, class: cls, pods: pods) {
                provision(claim, class: cls, on: node)
            }
        }
        let live = Dictionary(claims.map { ("\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")", $0) }) { a, _ in a }
        for pv in volumes where pv.metadata.deletionTimestamp == nil {
            guard let ref = pv.spec.claimRef else { continue }
            let claim = live["\(ref.namespace ?? "")/\(ref.name ?? "")"]
            if let claim, ref.uid == nil || ref.uid == claim.metadata.uid { continue }
            reclaim(pv)
        }
    }

    /// The smallest free volume of the claim's class holding its request and access modes.
    static func bestMatch(for claim: PersistentVolumeClaim, in volumes: [PersistentVolume]) -> PersistentVolume? {
        guard let request = claim.requestedStorage else { return nil }
        let modes = Set(claim.spec.accessModes ?? [])
        return volumes.filter { pv in
            (pv.status?.phase ?? "Available") == "Available"
                && (pv.spec.storageClassName ?? "") == (claim.spec.storageClassName ?? "")
                && modes.isSubset(of: Set(pv.spec.accessModes ?? []))
                && (pv.spec.capacity?["storage"]).map { $0 >= request } ?? false
                && (pv.spec.volumeMode ?? "Filesystem") == (claim.spec.volumeMode ?? "Filesystem")
                && claim.spec.selector.map { $0.matches(pv.metadata.labels) } ?? true
        }.min { ($0.spec.capacity?["storage"] ?? .zero) < ($1.spec.capacity?["storage"] ?? .zero) }
    }

    func bind(_ claim: PersistentVolumeClaim, to pv: PersistentVolume) {
        let ref: JSONValue = ["kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": .string(claim.metadata.namespace ?? "default"),
                              "name": .string(claim.metadata.name ?? ""), "uid": .string(claim.metadata.uid ?? "")]
        _ = try? registry.modify(Resources.persistentVolumes, namespace: nil, name: pv.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            obj["spec"]?["claimRef"] = ref
            return obj
        }
        modifyClaim(claim) { $0["spec"]?["volumeName"] = .string(pv.metadata.name ?? "") }
    }

    /// The claim names its volume: both report Bound (or the claim Lost, its volume gone).
    func completeBinding(_ claim: PersistentVolumeClaim, volume pv: PersistentVolume?) {
        guard let pv else {
            if claim.status?.phase == "Bound" { writeStatus(Resources.persistentVolumeClaims, claim.metadata, PersistentVolumeClaimStatus(phase: "Lost")) }
            return
        }
        if pv.spec.claimRef == nil {
            bind(claim, to: pv)
            return
        }
        guard pv.spec.claimRef?.uid == claim.metadata.uid else { return }
        if pv.status?.phase != "Bound" { writeStatus(Resources.persistentVolumes, pv.metadata, PersistentVolumeStatus(phase: "Bound")) }
        let status = PersistentVolumeClaimStatus(phase: "Bound", accessModes: pv.spec.accessModes, capacity: pv.spec.capacity)
        if claim.status != status { writeStatus(Resources.persistentVolumeClaims, claim.metadata, status) }
    }

    /// A bound claim that asks for more than its volume holds, in a class that allows
    /// expansion (admission refused it otherwise): the volume grows, and the claim's capacity
    /// follows on the next pass. A directory needs no resizing of a file system.
    func expand(_ claim: PersistentVolumeClaim, _ pv: PersistentVolume, classes: [StorageClass]) -> Bool {
        guard claim.status?.phase == "Bound", pv.spec.claimRef?.uid == claim.metadata.uid, let want = claim.requestedStorage,
              let have = pv.spec.capacity?["storage"], want > have,
              classes.first(where: { $0.metadata.name == claim.spec.storageClassName })?.allowVolumeExpansion == true else { return false }
        let grown = (try? registry.modify(Resources.persistentVolumes, namespace: nil, name: pv.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            obj["spec"]?["capacity"]?["storage"] = .string(want.description)
            return obj
        }) != nil
        if grown {
            recordEvent(kind: "PersistentVolumeClaim", apiVersion: "v1", claim.metadata, type: "Normal", reason: "VolumeResizeSuccessful",
                        message: "resize volume \"\(pv.metadata.name ?? "")\" from \(have) to \(want) succeeded", component: "volume_expand")
        }
        return grown
    }

    /// Where a local-path volume goes: under WaitForFirstConsumer the node of a pod using the
    /// claim once one is scheduled; under Immediate the first Ready node.
    func provisioningNode(for claim: PersistentVolumeClaim, class cls: StorageClass, pods: [Pod]) -> Node? {
        let nodes = listAll(Resources.nodes, as: Node.self) ?? []
        if (cls.volumeBindingMode ?? "Immediate") == "WaitForFirstConsumer" {
            let user = pods.first { p in
                p.metadata.namespace == claim.metadata.namespace && p.spec.nodeName != nil
                    && (p.spec.volumes ?? []).contains { $0.persistentVolumeClaim?.claimName == claim.metadata.name }
            }
            return user.flatMap { p in nodes.first { $0.metadata.name == p.spec.nodeName } }
        }
        return nodes.filter { n in n.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
            .min { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
    }

    func provision(_ claim: PersistentVolumeClaim, class cls: StorageClass, on node: Node) {
        guard let uid = claim.metadata.uid, let nodeName = node.metadata.name, let request = claim.requestedStorage else { return }
        let root = node.metadata.annotations?[Self.localPathRootAnnotation] ?? "/var/lib/shoal/storage"
        let name = "pvc-" + uid
        let term = NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: .in, values: [nodeName])])
        var pv = PersistentVolume(metadata: ObjectMeta(name: name, annotations: ["pv.kubernetes.io/provisioned-by": Self.localPathProvisioner]),
                                  spec: PersistentVolumeSpec(
                                    capacity: ["storage": request], accessModes: claim.spec.accessModes,
                                    persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? "Delete", storageClassName: cls.metadata.name,
                                    claimRef: ObjectReference(kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace ?? "default",
                                                              name: claim.metadata.name, uid: uid, apiVersion: "v1"),
                                    nodeAffinity: VolumeNodeAffinity(required: NodeSelector(nodeSelectorTerms: [term])),
                                    hostPath: HostPathVolumeSource(path: "\(root)/\(name)_\(claim.metadata.namespace ?? "default")_\(claim.metadata.name ?? "")",
                                                                   type: .directoryOrCreate)))
        pv.spec.volumeMode = "Filesystem"
        do {
            _ = try registry.create(Resources.persistentVolumes, namespace: nil, object: try JSONValue.encoding(pv), strict: false)
        } catch {
            logger.warning("provisioning failed", metadata: ["claim": "\(claim.metadata.namespace ?? "")/\(claim.metadata.name ?? "")", "error": "\(error)"])
            return
        }
        modifyClaim(claim) { $0["spec"]?["volumeName"] = .string(name) }
        recordEvent(kind: "PersistentVolumeClaim", apiVersion: "v1", claim.metadata, type: "Normal", reason: "ProvisioningSucceeded",
                    message: "Successfully provisioned volume \(name) on \(nodeName)", component: Self.localPathProvisioner)
    }

    /// The claim is gone: Delete removes the volume, Retain keeps it Released with its data.
    func reclaim(_ pv: PersistentVolume) {
        if (pv.spec.persistentVolumeReclaimPolicy ?? "Retain") == "Delete" {
            _ = try? registry.delete(Resources.persistentVolumes, namespace: nil, name: pv.metadata.name ?? "", options: Registry.DeleteOptions())
        } else if pv.status?.phase != "Released" {
            writeStatus(Resources.persistentVolumes, pv.metadata, PersistentVolumeStatus(phase: "Released"))
        }
    }

    func addProtection(_ claim: PersistentVolumeClaim) {
        modifyClaim(claim) { obj in
            var finalizers = obj["metadata"]?["finalizers"]?.arrayValue ?? []
            finalizers.append(.string(Self.pvcProtection))
            obj["metadata"]?["finalizers"] = .array(finalizers)
        }
    }

    /// A deleted claim goes once no pod that is not finished uses it.
    func releaseProtection(_ claim: PersistentVolumeClaim, pods: [Pod]) {
        let inUse = pods.contains { p in
            p.metadata.namespace == claim.metadata.namespace && p.status?.phase != .succeeded && p.status?.phase != .failed
                && (p.spec.volumes ?? []).contains { $0.persistentVolumeClaim?.claimName == claim.metadata.name }
        }
        guard !inUse, (claim.metadata.finalizers ?? []).contains(Self.pvcProtection) else { return }
        modifyClaim(claim) { obj in
            let finalizers = (obj["metadata"]?["finalizers"]?.arrayValue ?? []).filter { $0.stringValue != Self.pvcProtection }
            obj["metadata"]?["finalizers"] = finalizers.isEmpty ? nil : .array(finalizers)
        }
    }

    func modifyClaim(_ claim: PersistentVolumeClaim, _ change: @escaping @Sendable (inout JSONValue) -> Void) {
        _ = try? registry.modify(Resources.persistentVolumeClaims, namespace: claim.metadata.namespace, name: claim.metadata.name ?? "") { (obj) throws(APIError) -> JSONValue in
            var obj = obj
            change(&obj)
            return obj
        }
    }
}

/// The claims, volumes and classes as the scheduler sees them in one pass (the scheduler's
/// VolumeBinding plugin): a pod goes where its bound volumes are, and waits for claims that
/// are missing or unbound without WaitForFirstConsumer.
struct StorageView {
    enum Fit { case nodes([Node]), wait(String) }

    let claims: [String: PersistentVolumeClaim]
    let volumes: [String: PersistentVolume]
    let classes: [String: StorageClass]

    init(_ m: Master) {
        claims = Dictionary((m.listAll(Resources.persistentVolumeClaims, as: PersistentVolumeClaim.self) ?? [])
            .map { ("\($0.metadata.namespace ?? "default")/\($0.metadata.name ?? "")", $0) }) { a, _ in a }
        volumes = Dictionary((m.listAll(Resources.persistentVolumes, as: PersistentVolume.self) ?? []).map { ($0.metadata.name ?? "", $0) }) { a, _ in a }
        classes = Dictionary((m.listAll(Resources.storageClasses, as: StorageClass.self) ?? []).map { ($0.metadata.name ?? "", $0) }) { a, _ in a }
    }

    init(claims: [String: PersistentVolumeClaim], volumes: [String: PersistentVolume], classes: [String: StorageClass]) {
        self.claims = claims
        self.volumes = volumes
        self.classes = classes
    }

    func fit(_ pod: Pod, nodes: [Node]) -> Fit {
        var allowed = nodes
        let ns = pod.metadata.namespace ?? "default"
        for source in (pod.spec.volumes ?? []).compactMap(\.persistentVolumeClaim) {
            guard let claim = claims["\(ns)/\(source.claimName)"], claim.metadata.deletionTimestamp == nil else {
                return .wait("0/\(nodes.count) nodes are available: persistentvolumeclaim \"\(source.claimName)\" not found.")
            }
            guard let volumeName = claim.spec.volumeName else {
                let mode = claim.spec.storageClassName.flatMap { classes[$0] }?.volumeBindingMode ?? "Immediate"
                if mode == "WaitForFirstConsumer" { continue }
                return .wait("0/\(nodes.count) nodes are available: pod has unbound immediate PersistentVolumeClaims.")
            }
            if let required = volumes[volumeName]?.spec.nodeAffinity?.required {
                allowed = allowed.filter { required.matches($0) }
            }
        }
        return .nodes(allowed)
    }
}
