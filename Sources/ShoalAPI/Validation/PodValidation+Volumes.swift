/// Volumes: ValidateVolumes and validateVolumeSource.
extension PodValidation {
    /// ValidateVolumes: the valid volumes by name (a volume with errors is left out, so mounts
    /// of it are "Not found" too, as in Kubernetes) and the errors.
    static func validateVolumes(_ volumes: [Volume], metadata: ObjectMeta?, path: FieldPath) -> (VolumeMap, [FieldError]) {
        var errs: [FieldError] = []
        var names = Set<String>()
        var valid = VolumeMap()
        let podName = metadata?.name ?? ""
        // The PVCs generic ephemeral volumes create are named <pod>-<volume>.
        let createdPVCs = podName.isEmpty ? Set<String>() : Set(volumes.filter { $0.ephemeral != nil }.map { podName + "-" + $0.name })
        for (i, volume) in volumes.enumerated() {
            let p = path.index(i)
            let namePath = p.child("name")
            var el = volumeSource(volume, p, podName: podName)
            if volume.name.isEmpty {
                el.append(.required(namePath))
            } else {
                el += ValidationRules.dns1123Label(volume.name, namePath)
            }
            if names.contains(volume.name) { el.append(.duplicate(namePath, .string(volume.name))) }
            if el.isEmpty {
                names.insert(volume.name)
                valid[volume.name] = volume
            } else {
                errs += el
            }
            if let claim = volume.persistentVolumeClaim, createdPVCs.contains(claim.claimName) {
                errs.append(.invalid(p.child("persistentVolumeClaim", "claimName"), .string(claim.claimName),
                                     "must not reference a PVC that gets created for an ephemeral volume"))
            }
        }
        return (valid, errs)
    }

    static let hostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]

    /// validateVolumeSource: exactly one source, each checked in Kubernetes' order (which is
    /// also the order "may not specify more than 1 volume type" is reported in; two of the
    /// paths carry Kubernetes' own spelling, `cephFS` and `downwarAPI`).
    static func volumeSource(_ v: Volume, _ path: FieldPath, podName: String) -> [FieldError] {
        typealias Check = () -> [FieldError]
        let sources: [(name: String, forbiddenName: String, isSet: Bool, check: Check)] = [
            ("emptyDir", "emptyDir", v.emptyDir != nil, { emptyDir(v.emptyDir!, path.child("emptyDir")) }),
            ("hostPath", "hostPath", v.hostPath != nil, { hostPath(v.hostPath!, path.child("hostPath")) }),
            ("gitRepo", "gitRepo", v.gitRepo != nil, {
                let p = path.child("gitRepo")
                var e = required(v.gitRepo, ["repository"], p)
                e += ValidationRules.localDescendingPath(v.gitRepo?["directory"]?.stringValue ?? "", p.child("directory"))
                return e
            }),
            // Kubernetes validates gcePersistentDisk under the path "persistentDisk".
            ("gcePersistentDisk", "gcePersistentDisk", v.gcePersistentDisk != nil, {
                disk(v.gcePersistentDisk, idKey: "pdName", path.child("persistentDisk"))
            }),
            ("awsElasticBlockStore", "awsElasticBlockStore", v.awsElasticBlockStore != nil, {
                disk(v.awsElasticBlockStore, idKey: "volumeID", path.child("awsElasticBlockStore"))
            }),
            ("secret", "secret", v.secret != nil, { secret(v.secret!, path.child("secret")) }),
            ("nfs", "nfs", v.nfs != nil, {
                let p = path.child("nfs")
                var e = required(v.nfs, ["server", "path"], p)
                let nfsPath = v.nfs?["path"]?.stringValue ?? ""
                if !nfsPath.hasPrefix("/") { e.append(.invalid(p.child("path"), .string(nfsPath), "must be an absolute path")) }
                return e
            }),
            ("iscsi", "iscsi", v.iscsi != nil, {
                let p = path.child("iscsi")
                var e = required(v.iscsi, ["targetPortal", "iqn"], p)
                if case .int(let lun)? = v.iscsi?["lun"], lun < 0 || lun > 255 {
                    e.append(.invalid(p.child("lun"), .int(lun), ValidationRules.inclusiveRangeError(0, 255)))
                }
                return e
            }),
            ("glusterfs", "glusterfs", v.glusterfs != nil, { required(v.glusterfs, ["endpoints", "path"], path.child("glusterfs")) }),
            ("flocker", "flocker", v.flocker != nil, { flocker(v.flocker, path.child("flocker")) }),
            ("persistentVolumeClaim", "persistentVolumeClaim", v.persistentVolumeClaim != nil, {
                v.persistentVolumeClaim!.claimName.isEmpty ? [.required(path.child("persistentVolumeClaim", "claimName"))] : []
            }),
            ("rbd", "rbd", v.rbd != nil, { required(v.rbd, ["monitors", "image"], path.child("rbd")) }),
            ("cinder", "cinder", v.cinder != nil, {
                var e = required(v.cinder, ["volumeID"], path.child("cinder"))
                if let ref = v.cinder?["secretRef"], !ref.isNull, (ref["name"]?.stringValue ?? "").isEmpty {
                    e.append(.required(path.child("cinder", "secretRef", "name")))
                }
                return e
            }),
            ("cephfs", "cephFS", v.cephfs != nil, { required(v.cephfs, ["monitors"], path.child("cephfs")) }),
            ("quobyte", "quobyte", v.quobyte != nil, {
                let p = path.child("quobyte")
                var e: [FieldError] = []
                if (v.quobyte?["registry"]?.stringValue ?? "").isEmpty {
                    e.append(.required(p.child("registry"), "must be a host:port pair or multiple pairs separated by commas"))
                }
                return e + required(v.quobyte, ["volume"], p)
            }),
            ("downwardAPI", "downwarAPI", v.downwardAPI != nil, { downwardAPI(v.downwardAPI!, path.child("downwardAPI")) }),
            ("fc", "fc", v.fc != nil, {
                let p = path.child("fc")
                let wwns = v.fc?["targetWWNs"]?.arrayValue ?? [], wwids = v.fc?["wwids"]?.arrayValue ?? []
                var e: [FieldError] = []
                if wwns.isEmpty && wwids.isEmpty {
                    e.append(.required(p.child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
                }
                if !wwns.isEmpty && !wwids.isEmpty {
                    e.append(.invalid(p.child("targetWWNs"), .json(.array(wwns)), "targetWWNs and wwids can not be specified simultaneously"))
                }
                if !wwns.isEmpty {
                    if let lun = v.fc?["lun"], !lun.isNull {
                        if case .int(let n) = lun, n < 0 || n > 255 {
                            e.append(.invalid(p.child("lun"), .int(n), ValidationRules.inclusiveRangeError(0, 255)))
                        }
                    } else {
                        e.append(.required(p.child("lun"), "lun is required if targetWWNs is specified"))
                    }
                }
                return e
            }),
            ("flexVolume", "flexVolume", v.flexVolume != nil, { required(v.flexVolume, ["driver"], path.child("flexVolume")) }),
            ("configMap", "configMap", v.configMap != nil, { configMap(v.configMap!, path.child("configMap")) }),
            ("azureFile", "azureFile", v.azureFile != nil, { required(v.azureFile, ["secretName", "shareName"], path.child("azureFile")) }),
            ("vsphereVolume", "vsphereVolume", v.vsphereVolume != nil, { required(v.vsphereVolume, ["volumePath"], path.child("vsphereVolume")) }),
            ("photonPersistentDisk", "photonPersistentDisk", v.photonPersistentDisk != nil, {
                required(v.photonPersistentDisk, ["pdID"], path.child("photonPersistentDisk"))
            }),
            ("portworxVolume", "portworxVolume", v.portworxVolume != nil, { required(v.portworxVolume, ["volumeID"], path.child("portworxVolume")) }),
            ("azureDisk", "azureDisk", v.azureDisk != nil, { required(v.azureDisk, ["diskName", "diskURI"], path.child("azureDisk")) }),
            ("storageos", "storageos", v.storageos != nil, {
                let p = path.child("storageos")
                let name = v.storageos?["volumeName"]?.stringValue ?? ""
                var e = name.isEmpty ? [FieldError.required(p.child("volumeName"))] : ValidationRules.dns1123Label(name, p.child("volumeName"))
                if let ns = v.storageos?["volumeNamespace"]?.stringValue, !ns.isEmpty {
                    e += ValidationRules.dns1123Label(ns, p.child("volumeNamespace"))
                }
                return e
            }),
            ("projected", "projected", v.projected != nil, { projected(v.projected!, path.child("projected")) }),
            ("scaleIO", "scaleIO", v.scaleIO != nil, { required(v.scaleIO, ["gateway", "system", "volumeName"], path.child("scaleIO")) }),
            ("csi", "csi", v.csi != nil, { csiDriver(v.csi?["driver"]?.stringValue ?? "", path.child("csi", "driver")) }),
            ("ephemeral", "ephemeral", v.ephemeral != nil, {
                let p = path.child("ephemeral")
                guard let template = v.ephemeral?["volumeClaimTemplate"], !template.isNull else {
                    return [.required(p.child("volumeClaimTemplate"))]
                }
                guard !podName.isEmpty, !v.name.isEmpty else { return [] }
                let pvcName = podName + "-" + v.name
                return ValidationRules.nameIsDNSSubdomain(pvcName)
                    .map { .invalid(p.child("name"), .string(v.name), "PVC name \(goQuote(pvcName)): \($0)") }
            }),
            ("image", "image", v.image != nil, {
                let p = path.child("image")
                var e = required(v.image, ["reference"], p)
                if let policy = v.image?["pullPolicy"]?.stringValue {
                    e += oneOf(policy, p.child("pullPolicy"), ["Always", "IfNotPresent", "Never"])
                }
                return e
            }),
        ]
        var errs: [FieldError] = []
        var count = 0
        for source in sources where source.isSet {
            if count > 0 {
                errs.append(.forbidden(path.child(source.forbiddenName), "may not specify more than 1 volume type"))
            } else {
                count += 1
                errs += source.check()
            }
        }
        if count == 0 { errs.append(.required(path, "must specify a volume type")) }
        return errs
    }

    /// Required-value checks on members of an opaque volume source.
    static func required(_ source: JSONValue?, _ keys: [String], _ path: FieldPath) -> [FieldError] {
        keys.compactMap { key in
            switch source?[key] {
            case .string(let s)? where !s.isEmpty: return nil
            case .array(let a)? where !a.isEmpty: return nil
            default: return .required(path.child(key))
            }
        }
    }

    static func disk(_ source: JSONValue?, idKey: String, _ path: FieldPath) -> [FieldError] {
        var errs = required(source, [idKey], path)
        if case .int(let partition)? = source?["partition"], partition < 0 || partition > 255 {
            errs.append(.invalid(path.child("partition"), .int(partition), ValidationRules.inclusiveRangeError(1, 255)))
        }
        return errs
    }

    static func flocker(_ source: JSONValue?, _ path: FieldPath) -> [FieldError] {
        let name = source?["datasetName"]?.stringValue ?? "", uuid = source?["datasetUUID"]?.stringValue ?? ""
        var errs: [FieldError] = []
        if name.isEmpty && uuid.isEmpty { errs.append(.required(path, "one of datasetName and datasetUUID is required")) }
        if !name.isEmpty && !uuid.isEmpty {
            errs.append(.invalid(path, .string("resource"), "datasetName and datasetUUID can not be specified simultaneously"))
        }
        if name.contains("/") { errs.append(.invalid(path.child("datasetName"), .string(name), "must not contain '/'")) }
        return errs
    }

    static func csiDriver(_ driver: String, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if driver.isEmpty { errs.append(.required(path)) }
        if driver.utf8.count > 63 { errs.append(.tooLong(path, maxLength: 63)) }
        errs += ValidationRules.isDNS1123Subdomain(driver.lowercased()).map { .invalid(path, .string(driver), $0) }
        return errs
    }

    static func emptyDir(_ source: EmptyDirVolumeSource, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if let size = source.sizeLimit, size.sign < 0 {
            errs.append(.forbidden(path.child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
        }
        // Shoal's check (the kubelet's, at mount time): disk or tmpfs.
        if let medium = source.medium?.rawValue {
            errs += member(medium, path.child("medium"), ["", "Memory"])
        }
        return errs
    }

    static func hostPath(_ source: HostPathVolumeSource, _ path: FieldPath) -> [FieldError] {
        if source.path.isEmpty { return [.required(path.child("path"))] }
        var errs = ValidationRules.pathNoBacksteps(source.path, path.child("path"))
        if let type = source.type?.rawValue { errs += member(type, path.child("type"), hostPathTypes) }
        return errs
    }

    static func fileMode(_ mode: Int32?, _ path: FieldPath) -> [FieldError] {
        guard let mode, mode > 0o777 || mode < 0 else { return [] }
        return [.invalid(path, .integer(mode), ValidationRules.fileModeErrorMsg)]
    }

    static func keyToPath(_ item: KeyToPath, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if item.key.isEmpty { errs.append(.required(path.child("key"))) }
        if item.path.isEmpty { errs.append(.required(path.child("path"))) }
        errs += ValidationRules.localNonReservedPath(item.path, path.child("path"))
        errs += fileMode(item.mode, path.child("mode"))
        return errs
    }

    static func secret(_ source: SecretVolumeSource, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if (source.secretName ?? "").isEmpty { errs.append(.required(path.child("secretName"))) }
        errs += fileMode(source.defaultMode, path.child("defaultMode"))
        for (i, item) in (source.items ?? []).enumerated() { errs += keyToPath(item, path.child("items").index(i)) }
        return errs
    }

    static func configMap(_ source: ConfigMapVolumeSource, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if (source.name ?? "").isEmpty { errs.append(.required(path.child("name"))) }
        errs += fileMode(source.defaultMode, path.child("defaultMode"))
        for (i, item) in (source.items ?? []).enumerated() { errs += keyToPath(item, path.child("items").index(i)) }
        return errs
    }

    /// validateDownwardAPIVolumeSource; its items are reported under the volume source's path,
    /// without their index, as Kubernetes does.
    static func downwardAPI(_ source: DownwardAPIVolumeSource, _ path: FieldPath) -> [FieldError] {
        var errs = fileMode(source.defaultMode, path.child("defaultMode"))
        for file in source.items ?? [] { errs += downwardAPIFile(file, path) }
        return errs
    }

    static func downwardAPIFile(_ file: DownwardAPIVolumeFile, _ path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        if file.path.isEmpty { errs.append(.required(path.child("path"))) }
        errs += ValidationRules.localNonReservedPath(file.path, path.child("path"))
        if let ref = file.fieldRef {
            errs += objectFieldSelector(ref, expressions: volumeFieldPaths, path.child("fieldRef"))
            if file.resourceFieldRef != nil {
                errs.append(.invalid(path, .string("resource"), "fieldRef and resourceFieldRef can not be specified simultaneously"))
            }
        } else if let ref = file.resourceFieldRef {
            errs += resourceFieldSelector(ref, path.child("resourceFieldRef"), volume: true)
        } else {
            errs.append(.required(path, "one of fieldRef and resourceFieldRef is required"))
        }
        errs += fileMode(file.mode, path.child("mode"))
        return errs
    }

    /// validateProjectedVolumeSource and validateProjectionSources.
    static func projected(_ source: ProjectedVolumeSource, _ path: FieldPath) -> [FieldError] {
        var errs = fileMode(source.defaultMode, path.child("defaultMode"))
        var allPaths = Set<String>()
        for (i, projection) in (source.sources ?? []).enumerated() {
            var count = 0
            let srcPath = path.child("sources").index(i)
            if let secret = projection.secret {
                count += 1
                let p = srcPath.child("secret")
                if (secret.name ?? "").isEmpty { errs.append(.required(p.child("name"))) }
                for (j, item) in (secret.items ?? []).enumerated() {
                    errs += keyToPath(item, p.child("items").index(j))
                    if !item.path.isEmpty, !allPaths.insert(item.path).inserted {
                        errs.append(.invalid(path, .string(secret.name ?? ""), "conflicting duplicate paths"))
                    }
                }
            }
            if let configMap = projection.configMap {
                count += 1
                let p = srcPath.child("configMap")
                if (configMap.name ?? "").isEmpty { errs.append(.required(p.child("name"))) }
                for (j, item) in (configMap.items ?? []).enumerated() {
                    errs += keyToPath(item, p.child("items").index(j))
                    if !item.path.isEmpty, !allPaths.insert(item.path).inserted {
                        errs.append(.invalid(path, .string(configMap.name ?? ""), "conflicting duplicate paths"))
                    }
                }
            }
            if let downward = projection.downwardAPI {
                count += 1
                for file in downward.items ?? [] {
                    errs += downwardAPIFile(file, srcPath.child("downwardAPI"))
                    if !file.path.isEmpty, !allPaths.insert(file.path).inserted {
                        errs.append(.invalid(path, .string(file.path), "conflicting duplicate paths"))
                    }
                }
            }
            if let token = projection.serviceAccountToken {
                count += 1
                let p = srcPath.child("serviceAccountToken")
                let expiration = token.expirationSeconds ?? 0
                if expiration < 10 * 60 {
                    errs.append(.invalid(p.child("expirationSeconds"), .int(expiration), "may not specify a duration less than 10 minutes"))
                }
                if expiration > 1 << 32 {
                    errs.append(.invalid(p.child("expirationSeconds"), .int(expiration), "may not specify a duration larger than 2^32 seconds"))
                }
                if token.path.isEmpty {
                    errs.append(.required(path.child("path")))
                } else {
                    errs += ValidationRules.localNonReservedPath(token.path, path.child("path"))
                }
            }
            if let bundle = projection.clusterTrustBundle {
                count += 1
                let p = srcPath.child("clusterTrustBundle")
                let hasName = !(bundle["name"]?.isNull ?? true), hasSigner = !(bundle["signerName"]?.isNull ?? true)
                if hasName && hasSigner {
                    errs.append(.invalid(p, .json(bundle), "only one of name and signerName may be used"))
                } else if !hasName && !hasSigner {
                    errs.append(.required(p, "either name or signerName must be specified"))
                }
                let bundlePath = bundle["path"]?.stringValue ?? ""
                if bundlePath.isEmpty { errs.append(.required(p.child("path"))) }
                errs += ValidationRules.localNonReservedPath(bundlePath, p.child("path"))
                if !allPaths.insert(bundlePath).inserted {
                    errs.append(.invalid(path, .string(bundlePath), "conflicting duplicate paths"))
                }
            }
            if projection.podCertificate != nil { count += 1 }
            if count > 1 { errs.append(.forbidden(srcPath, "may not specify more than 1 volume type per source")) }
        }
        return errs
    }
}
