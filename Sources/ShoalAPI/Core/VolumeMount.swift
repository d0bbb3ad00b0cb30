/// A volume mounted into a container.
public struct VolumeMount: Sendable, Hashable, Codable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?
    public var subPathExpr: String?
    public var mountPropagation: MountPropagationMode?
    public var recursiveReadOnly: RecursiveReadOnlyMode?

    public init(
        name: String,
        mountPath: String,
        readOnly: Bool? = nil,
        subPath: String? = nil,
        subPathExpr: String? = nil,
        mountPropagation: MountPropagationMode? = nil,
        recursiveReadOnly: RecursiveReadOnlyMode? = nil
    ) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
        self.subPath = subPath
        self.subPathExpr = subPathExpr
        self.mountPropagation = mountPropagation
        self.recursiveReadOnly = recursiveReadOnly
    }
}
