import ShoalAPI

/// A kind decoded to its type and checked by rules of its own (given the stored object on an
/// update), its status starting in a given phase: LimitRanges and ResourceQuotas
/// (Admission.swift), PersistentVolumes, claims and StorageClasses (here).
struct TypedStrategy<T: Codable & Sendable>: ResourceStrategy {
    let resource: ResourceInfo
    /// The phase a new object's status starts in (nil: the status is left as sent).
    var initialPhase: String? = nil
    let validate: @Sendable (T, _ raw: JSONValue, _ old: T?) -> [FieldError]

    func check(_ obj: inout JSONValue, strict: Bool, old: JSONValue?) throws(APIError) {
        try validateMeta(obj)
        let typed = try decodeTyped(T.self, obj, kind: resource.kind, version: resource.version, strict: strict)
        let previous = old.flatMap { try? $0.decode(T.self) }
        let errs = validate(typed, obj, previous)
        if !errs.isEmpty { throw APIError.invalid(resource, obj["metadata"]?["name"]?.stringValue ?? "", errs) }
    }

    func prepareCreate(_ obj: inout JSONValue, strict: Bool) throws(APIError) {
        try check(&obj, strict: strict, old: nil)
        if let initialPhase { obj["status"] = ["phase": .string(initialPhase)] }
    }

    func prepareUpdate(_ obj: inout JSONValue, old: JSONValue, subresource: String?, strict: Bool) throws(APIError) {
        splitStatus(&obj, old: old, subresource: subresource)
        try check(&obj, strict: strict, old: old)
    }
}

/// PersistentVolumes, PersistentVolumeClaims and StorageClasses, validated in the API
/// server's words, with their phases starting as the API server starts them.
extension TypedStrategy {
    static var persistentVolumes: TypedStrategy<PersistentVolume> {
        TypedStrategy<PersistentVolume>(resource: Resources.persistentVolumes, initialPhase: "Available") { pv, raw, _ in
            StorageValidation.validate(pv, spec: raw["spec"])
        }
    }

    static var persistentVolumeClaims: TypedStrategy<PersistentVolumeClaim> {
        TypedStrategy<PersistentVolumeClaim>(resource: Resources.persistentVolumeClaims, initialPhase: "Pending") { pvc, _, old in
            StorageValidation.validate(pvc, old: old)
        }
    }

    static var storageClasses: TypedStrategy<StorageClass> {
        TypedStrategy<StorageClass>(resource: Resources.storageClasses) { sc, _, old in
            StorageValidation.validate(sc, old: old)
        }
    }
}

enum StorageValidation {
    static let reclaimPolicies = ["Delete", "Retain"]

    static func validate(_ pv: PersistentVolume, spec raw: JSONValue?) -> [FieldError] {
        var errs: [FieldError] = []
        let spec = FieldPath("spec")
        if pv.spec.capacity?["storage"] == nil { errs.append(.required(spec.child("capacity"))) }
        if let q = pv.spec.capacity?["storage"], q.sign <= 0 {
            errs.append(.invalid(spec.child("capacity").key("storage"), .raw(q.description), "must be greater than zero"))
        }
        errs += accessModes(pv.spec.accessModes, spec.child("accessModes"))
        if let p = pv.spec.persistentVolumeReclaimPolicy, !reclaimPolicies.contains(p) {
            errs.append(.notSupported(spec.child("persistentVolumeReclaimPolicy"), .string(p), reclaimPolicies))
        }
        let others = PersistentVolumeSpec.otherSources.filter { raw?[$0] != nil }
        for name in others {
            errs.append(.forbidden(spec.child(name), "Shoal serves hostPath and local volumes only"))
        }
        let sources = [pv.spec.hostPath != nil ? "hostPath" : nil, pv.spec.local != nil ? "local" : nil].compactMap { $0 }
        if sources.isEmpty && others.isEmpty { errs.append(.required(spec, "must specify a volume type")) }
        if sources.count > 1 { errs.append(.forbidden(spec.child("local"), "may not specify more than 1 volume type")) }
        if let path = pv.path, !path.hasPrefix("/") {
            errs.append(.invalid(spec.child(sources.first ?? "hostPath", "path"), .string(path), "must be an absolute path"))
        }
        errs += volumeMode(pv.spec.volumeMode, spec.child("volumeMode"))
        if pv.spec.local != nil && pv.spec.nodeAffinity?.required == nil {
            errs.append(.required(spec.child("nodeAffinity"), "Local volume requires node affinity"))
        }
        return errs
    }

    static func validate(_ pvc: PersistentVolumeClaim, old: PersistentVolumeClaim?) -> [FieldError] {
        var errs: [FieldError] = []
        let spec = FieldPath("spec")
        errs += accessModes(pvc.spec.accessModes, spec.child("accessModes"))
        errs += volumeMode(pvc.spec.volumeMode, spec.child("volumeMode"))
        if let q = pvc.requestedStorage {
            if q.sign <= 0 { errs.append(.invalid(spec.child("resources").key("storage"), .raw(q.description), "must be greater than zero")) }
        } else {
            errs.append(.required(spec.child("resources").key("storage")))
        }
        if let old {
            // As the API server: only a bound claim's request may change (and only grow), and
            // volumeName and storageClassName be set once.
            var a = pvc.spec, b = old.spec
            if old.status?.phase == "Bound" {
                a.resources = nil
                b.resources = nil
            }
            if b.volumeName == nil { a.volumeName = nil }
            if b.storageClassName == nil { a.storageClassName = nil }
            if a != b {
                errs.append(.forbidden(spec, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
            }
            if let new = pvc.requestedStorage, let was = old.requestedStorage, new < was {
                errs.append(.forbidden(spec.child("resources", "requests", "storage"), "field can not be less than status.capacity"))
            }
        }
        return errs
    }

    static func validate(_ sc: StorageClass, old: StorageClass?) -> [FieldError] {
        var errs: [FieldError] = []
        if sc.provisioner.isEmpty { errs.append(.required(FieldPath("provisioner"))) }
        if let p = sc.reclaimPolicy, !reclaimPolicies.contains(p) { errs.append(.notSupported(FieldPath("reclaimPolicy"), .string(p), reclaimPolicies)) }
        if let m = sc.volumeBindingMode, !["Immediate", "WaitForFirstConsumer"].contains(m) {
            errs.append(.notSupported(FieldPath("volumeBindingMode"), .string(m), ["Immediate", "WaitForFirstConsumer"]))
        }
        if let old, old.provisioner != sc.provisioner || old.parameters != sc.parameters || old.reclaimPolicy != sc.reclaimPolicy
            || old.volumeBindingMode != sc.volumeBindingMode {
            errs.append(.forbidden(FieldPath("provisioner"), "updates to provisioner, parameters, reclaimPolicy and volumeBindingMode are forbidden"))
        }
        return errs
    }

    static func volumeMode(_ mode: String?, _ path: FieldPath) -> [FieldError] {
        guard let mode else { return [] }
        if !PersistentVolumeSpec.volumeModes.contains(mode) { return [.notSupported(path, .string(mode), PersistentVolumeSpec.volumeModes)] }
        return mode == "Block" ? [.forbidden(path, PersistentVolumeSpec.blockModeRefusal)] : []
    }

    /// PersistentVolumeClaimResize admission: a claim may grow only in a class that allows
    /// volume expansion.
    static func resizeRefusal(_ pvc: PersistentVolumeClaim, old: PersistentVolumeClaim, classes: [StorageClass]) -> String? {
        guard let new = pvc.requestedStorage, let was = old.requestedStorage, new > was else { return nil }
        let cls = classes.first { $0.metadata.name == (pvc.spec.storageClassName ?? "") }
        if cls?.allowVolumeExpansion == true { return nil }
        return "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
    }

    static func accessModes(_ modes: [String]?, _ path: FieldPath) -> [FieldError] {
        guard let modes, !modes.isEmpty else { return [.required(path, "at least 1 access mode is required")] }
        return modes.filter { !PersistentVolumeAccessMode.all.contains($0) }.map { .notSupported(path, .string($0), PersistentVolumeAccessMode.all) }
    }
}
