/// core/v1 PersistentVolume: a piece of storage on a node (hostPath or local here), bound to
/// at most one claim.
public struct PersistentVolume: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeSpec
    public var status: PersistentVolumeStatus?

    public init(apiVersion: String? = "v1", kind: String? = "PersistentVolume", metadata: ObjectMeta = ObjectMeta(),
                spec: PersistentVolumeSpec = PersistentVolumeSpec(), status: PersistentVolumeStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The directory the volume is, on its node.
    public var path: String? { spec.hostPath?.path ?? spec.local?.path }
}

public struct PersistentVolumeSpec: Sendable, Hashable, Codable {
    public var capacity: [String: Quantity]?
    public var accessModes: [String]?
    public var persistentVolumeReclaimPolicy: String?
    public var storageClassName: String?
    public var volumeMode: String?
    public var mountOptions: [String]?
    public var claimRef: ObjectReference?
    public var nodeAffinity: VolumeNodeAffinity?
    public var hostPath: HostPathVolumeSource?
    public var local: LocalVolumeSource?

    public init(capacity: [String: Quantity]? = nil, accessModes: [String]? = nil, persistentVolumeReclaimPolicy: String? = nil,
                storageClassName: String? = nil, claimRef: ObjectReference? = nil, nodeAffinity: VolumeNodeAffinity? = nil,
                hostPath: HostPathVolumeSource? = nil, local: LocalVolumeSource? = nil) {
        self.capacity = capacity
        self.accessModes = accessModes
        self.persistentVolumeReclaimPolicy = persistentVolumeReclaimPolicy
        self.storageClassName = storageClassName
        self.claimRef = claimRef
        self.nodeAffinity = nodeAffinity
        self.hostPath = hostPath
        self.local = local
    }

    /// Why `volumeMode: Block` and `volumeDevices` are refused: Shoal maps no raw devices into
    /// containers (and its containers get no device access beyond the default set).
    public static let blockModeRefusal = "raw block volumes are not supported by Shoal (volumeMode: Filesystem only)"
    public static let volumeModes = ["Block", "Filesystem"]

    /// The volume sources a PersistentVolume may name, beyond the two Shoal serves.
    public static let otherSources = ["awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
                                      "flocker", "gcePersistentDisk", "glusterfs", "iscsi", "nfs", "photonPersistentDisk",
                                      "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"]
}

public struct LocalVolumeSource: Sendable, Hashable, Codable {
    public var path: String
    public var fsType: String?

    public init(path: String, fsType: String? = nil) {
        self.path = path
        self.fsType = fsType
    }
}

public struct VolumeNodeAffinity: Sendable, Hashable, Codable {
    public var required: NodeSelector?

    public init(required: NodeSelector? = nil) { self.required = required }
}

public struct PersistentVolumeStatus: Sendable, Hashable, Codable {
    /// Pending, Available, Bound, Released or Failed.
    public var phase: String?
    public var message: String?
    public var reason: String?

    public init(phase: String? = nil, message: String? = nil, reason: String? = nil) {
        self.phase = phase
        self.message = message
        self.reason = reason
    }
}

/// core/v1 PersistentVolumeClaim: a pod's request for storage, bound to one volume.
public struct PersistentVolumeClaim: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeClaimSpec
    public var status: PersistentVolumeClaimStatus?

    public init(apiVersion: String? = "v1", kind: String? = "PersistentVolumeClaim", metadata: ObjectMeta = ObjectMeta(),
                spec: PersistentVolumeClaimSpec = PersistentVolumeClaimSpec(), status: PersistentVolumeClaimStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public var requestedStorage: Quantity? { spec.resources?.requests?["storage"] }
}

public struct PersistentVolumeClaimSpec: Sendable, Hashable, Codable {
    public var accessModes: [String]?
    public var resources: VolumeResourceRequirements?
    public var storageClassName: String?
    public var volumeName: String?
    public var volumeMode: String?
    public var selector: LabelSelector?

    public init(accessModes: [String]? = nil, resources: VolumeResourceRequirements? = nil, storageClassName: String? = nil,
                volumeName: String? = nil) {
        self.accessModes = accessModes
        self.resources = resources
        self.storageClassName = storageClassName
        self.volumeName = volumeName
    }
}

public struct VolumeResourceRequirements: Sendable, Hashable, Codable {
    public var requests: [String: Quantity]?
    public var limits: [String: Quantity]?

    public init(requests: [String: Quantity]? = nil, limits: [String: Quantity]? = nil) {
        self.requests = requests
        self.limits = limits
    }
}

public struct PersistentVolumeClaimStatus: Sendable, Hashable, Codable {
    /// Pending, Bound or Lost.
    public var phase: String?
    public var accessModes: [String]?
    public var capacity: [String: Quantity]?

    public init(phase: String? = nil, accessModes: [String]? = nil, capacity: [String: Quantity]? = nil) {
        self.phase = phase
        self.accessModes = accessModes
        self.capacity = capacity
    }
}

/// storage.k8s.io/v1 StorageClass: how claims of a class get volumes made for them.
public struct StorageClass: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var provisioner: String
    public var parameters: [String: String]?
    public var reclaimPolicy: String?
    public var volumeBindingMode: String?
    public var allowVolumeExpansion: Bool?
    public var mountOptions: [String]?

    public init(metadata: ObjectMeta, provisioner: String, reclaimPolicy: String? = nil, volumeBindingMode: String? = nil) {
        apiVersion = "storage.k8s.io/v1"
        kind = "StorageClass"
        self.metadata = metadata
        self.provisioner = provisioner
        self.reclaimPolicy = reclaimPolicy
        self.volumeBindingMode = volumeBindingMode
    }

    public static let defaultAnnotation = "storageclass.kubernetes.io/is-default-class"
    public var isDefault: Bool { metadata.annotations?[Self.defaultAnnotation] == "true" }
}

public enum PersistentVolumeAccessMode {
    public static let all = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
}
