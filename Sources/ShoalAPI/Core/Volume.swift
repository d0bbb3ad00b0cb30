/// A named volume of a pod. Exactly one source is set.
///
/// The sources Shoal implements are typed; the others are kept as opaque JSON so that they
/// round-trip and validation can still count them.
public struct Volume: Sendable, Hashable, Codable {
    public var name: String
    public var hostPath: HostPathVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?
    public var secret: SecretVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var downwardAPI: DownwardAPIVolumeSource?
    public var persistentVolumeClaim: PersistentVolumeClaimVolumeSource?
    public var gcePersistentDisk: JSONValue?
    public var awsElasticBlockStore: JSONValue?
    public var gitRepo: JSONValue?
    public var nfs: JSONValue?
    public var iscsi: JSONValue?
    public var glusterfs: JSONValue?
    public var rbd: JSONValue?
    public var flexVolume: JSONValue?
    public var cinder: JSONValue?
    public var cephfs: JSONValue?
    public var flocker: JSONValue?
    public var fc: JSONValue?
    public var azureFile: JSONValue?
    public var vsphereVolume: JSONValue?
    public var quobyte: JSONValue?
    public var azureDisk: JSONValue?
    public var photonPersistentDisk: JSONValue?
    public var portworxVolume: JSONValue?
    public var scaleIO: JSONValue?
    public var storageos: JSONValue?
    public var csi: JSONValue?
    public var ephemeral: JSONValue?
    public var image: JSONValue?

    public init(
        name: String,
        hostPath: HostPathVolumeSource? = nil,
        emptyDir: EmptyDirVolumeSource? = nil,
        secret: SecretVolumeSource? = nil,
        configMap: ConfigMapVolumeSource? = nil,
        projected: ProjectedVolumeSource? = nil,
        downwardAPI: DownwardAPIVolumeSource? = nil,
        persistentVolumeClaim: PersistentVolumeClaimVolumeSource? = nil,
        gcePersistentDisk: JSONValue? = nil,
        awsElasticBlockStore: JSONValue? = nil,
        gitRepo: JSONValue? = nil,
        nfs: JSONValue? = nil,
        iscsi: JSONValue? = nil,
        glusterfs: JSONValue? = nil,
        rbd: JSONValue? = nil,
        flexVolume: JSONValue? = nil,
        cinder: JSONValue? = nil,
        cephfs: JSONValue? = nil,
        flocker: JSONValue? = nil,
        fc: JSONValue? = nil,
        azureFile: JSONValue? = nil,
        vsphereVolume: JSONValue? = nil,
        quobyte: JSONValue? = nil,
        azureDisk: JSONValue? = nil,
        photonPersistentDisk: JSONValue? = nil,
        portworxVolume: JSONValue? = nil,
        scaleIO: JSONValue? = nil,
        storageos: JSONValue? = nil,
        csi: JSONValue? = nil,
        ephemeral: JSONValue? = nil,
        image: JSONValue? = nil
    ) {
        self.name = name
        self.hostPath = hostPath
        self.emptyDir = emptyDir
        self.secret = secret
        self.configMap = configMap
        self.projected = projected
        self.downwardAPI = downwardAPI
        self.persistentVolumeClaim = persistentVolumeClaim
        self.gcePersistentDisk = gcePersistentDisk
        self.awsElasticBlockStore = awsElasticBlockStore
        self.gitRepo = gitRepo
        self.nfs = nfs
        self.iscsi = iscsi
        self.glusterfs = glusterfs
        self.rbd = rbd
        self.flexVolume = flexVolume
        self.cinder = cinder
        self.cephfs = cephfs
        self.flocker = flocker
        self.fc = fc
        self.azureFile = azureFile
        self.vsphereVolume = vsphereVolume
        self.quobyte = quobyte
        self.azureDisk = azureDisk
        self.photonPersistentDisk = photonPersistentDisk
        self.portworxVolume = portworxVolume
        self.scaleIO = scaleIO
        self.storageos = storageos
        self.csi = csi
        self.ephemeral = ephemeral
        self.image = image
    }

    /// The names of the volume sources that are set, in Kubernetes' order of precedence.
    public var sourceNames: [String] {
        var names: [String] = []
        if emptyDir != nil { names.append("emptyDir") }
        if hostPath != nil { names.append("hostPath") }
        if secret != nil { names.append("secret") }
        if persistentVolumeClaim != nil { names.append("persistentVolumeClaim") }
        if downwardAPI != nil { names.append("downwardAPI") }
        if configMap != nil { names.append("configMap") }
        if projected != nil { names.append("projected") }
        if gcePersistentDisk != nil { names.append("gcePersistentDisk") }
        if awsElasticBlockStore != nil { names.append("awsElasticBlockStore") }
        if gitRepo != nil { names.append("gitRepo") }
        if nfs != nil { names.append("nfs") }
        if iscsi != nil { names.append("iscsi") }
        if glusterfs != nil { names.append("glusterfs") }
        if rbd != nil { names.append("rbd") }
        if flexVolume != nil { names.append("flexVolume") }
        if cinder != nil { names.append("cinder") }
        if cephfs != nil { names.append("cephfs") }
        if flocker != nil { names.append("flocker") }
        if fc != nil { names.append("fc") }
        if azureFile != nil { names.append("azureFile") }
        if vsphereVolume != nil { names.append("vsphereVolume") }
        if quobyte != nil { names.append("quobyte") }
        if azureDisk != nil { names.append("azureDisk") }
        if photonPersistentDisk != nil { names.append("photonPersistentDisk") }
        if portworxVolume != nil { names.append("portworxVolume") }
        if scaleIO != nil { names.append("scaleIO") }
        if storageos != nil { names.append("storageos") }
        if csi != nil { names.append("csi") }
        if ephemeral != nil { names.append("ephemeral") }
        if image != nil { names.append("image") }
        return names
    }
}

/// A file or directory of the node.
public struct HostPathVolumeSource: Sendable, Hashable, Codable {
    public var path: String
    public var type: HostPathType?

    public init(
        path: String,
        type: HostPathType? = nil
    ) {
        self.path = path
        self.type = type
    }
}

/// A scratch directory that lives as long as the pod.
public struct EmptyDirVolumeSource: Sendable, Hashable, Codable {
    public var medium: StorageMedium?
    public var sizeLimit: Quantity?

    public init(
        medium: StorageMedium? = nil,
        sizeLimit: Quantity? = nil
    ) {
        self.medium = medium
        self.sizeLimit = sizeLimit
    }
}

/// The keys of a Secret as files.
public struct SecretVolumeSource: Sendable, Hashable, Codable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?

    public init(
        secretName: String? = nil,
        items: [KeyToPath]? = nil,
        defaultMode: Int32? = nil,
        optional: Bool? = nil
    ) {
        self.secretName = secretName
        self.items = items
        self.defaultMode = defaultMode
        self.optional = optional
    }
}

/// The keys of a ConfigMap as files.
public struct ConfigMapVolumeSource: Sendable, Hashable, Codable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?

    public init(
        name: String? = nil,
        items: [KeyToPath]? = nil,
        defaultMode: Int32? = nil,
        optional: Bool? = nil
    ) {
        self.name = name
        self.items = items
        self.defaultMode = defaultMode
        self.optional = optional
    }
}

/// Maps a key to a file path inside the volume.
public struct KeyToPath: Sendable, Hashable, Codable {
    public var key: String
    public var path: String
    public var mode: Int32?

    public init(
        key: String,
        path: String,
        mode: Int32? = nil
    ) {
        self.key = key
        self.path = path
        self.mode = mode
    }
}

/// Several sources merged into one directory.
public struct ProjectedVolumeSource: Sendable, Hashable, Codable {
    public var sources: [VolumeProjection]?
    public var defaultMode: Int32?

    public init(
        sources: [VolumeProjection]? = nil,
        defaultMode: Int32? = nil
    ) {
        self.sources = sources
        self.defaultMode = defaultMode
    }
}

/// One source of a projected volume; exactly one is set.
public struct VolumeProjection: Sendable, Hashable, Codable {
    public var secret: SecretProjection?
    public var configMap: ConfigMapProjection?
    public var downwardAPI: DownwardAPIProjection?
    public var serviceAccountToken: ServiceAccountTokenProjection?
    public var clusterTrustBundle: JSONValue?
    public var podCertificate: JSONValue?

    public init(
        secret: SecretProjection? = nil,
        configMap: ConfigMapProjection? = nil,
        downwardAPI: DownwardAPIProjection? = nil,
        serviceAccountToken: ServiceAccountTokenProjection? = nil,
        clusterTrustBundle: JSONValue? = nil,
        podCertificate: JSONValue? = nil
    ) {
        self.secret = secret
        self.configMap = configMap
        self.downwardAPI = downwardAPI
        self.serviceAccountToken = serviceAccountToken
        self.clusterTrustBundle = clusterTrustBundle
        self.podCertificate = podCertificate
    }
}

/// A Secret in a projected volume.
public struct SecretProjection: Sendable, Hashable, Codable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?

    public init(
        name: String? = nil,
        items: [KeyToPath]? = nil,
        optional: Bool? = nil
    ) {
        self.name = name
        self.items = items
        self.optional = optional
    }
}

/// A ConfigMap in a projected volume.
public struct ConfigMapProjection: Sendable, Hashable, Codable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?

    public init(
        name: String? = nil,
        items: [KeyToPath]? = nil,
        optional: Bool? = nil
    ) {
        self.name = name
        self.items = items
        self.optional = optional
    }
}

/// Downward API files in a projected volume.
public struct DownwardAPIProjection: Sendable, Hashable, Codable {
    public var items: [DownwardAPIVolumeFile]?

    public init(
        items: [DownwardAPIVolumeFile]? = nil
    ) {
        self.items = items
    }
}

/// A service account token in a projected volume.
public struct ServiceAccountTokenProjection: Sendable, Hashable, Codable {
    public var audience: String?
    public var expirationSeconds: Int64?
    public var path: String

    public init(
        audience: String? = nil,
        expirationSeconds: Int64? = nil,
        path: String
    ) {
        self.audience = audience
        self.expirationSeconds = expirationSeconds
        self.path = path
    }
}

/// Pod fields and container resources as files.
public struct DownwardAPIVolumeSource: Sendable, Hashable, Codable {
    public var items: [DownwardAPIVolumeFile]?
    public var defaultMode: Int32?

    public init(
        items: [DownwardAPIVolumeFile]? = nil,
        defaultMode: Int32? = nil
    ) {
        self.items = items
        self.defaultMode = defaultMode
    }
}

/// One downward API file; exactly one of fieldRef and resourceFieldRef is set.
public struct DownwardAPIVolumeFile: Sendable, Hashable, Codable {
    public var path: String
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int32?

    public init(
        path: String,
        fieldRef: ObjectFieldSelector? = nil,
        resourceFieldRef: ResourceFieldSelector? = nil,
        mode: Int32? = nil
    ) {
        self.path = path
        self.fieldRef = fieldRef
        self.resourceFieldRef = resourceFieldRef
        self.mode = mode
    }
}

/// A PersistentVolumeClaim in the pod's namespace.
public struct PersistentVolumeClaimVolumeSource: Sendable, Hashable, Codable {
    public var claimName: String
    public var readOnly: Bool?

    public init(
        claimName: String,
        readOnly: Bool? = nil
    ) {
        self.claimName = claimName
        self.readOnly = readOnly
    }
}
