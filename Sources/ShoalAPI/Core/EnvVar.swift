/// An environment variable: a literal value or a reference.
public struct EnvVar: Sendable, Hashable, Codable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?

    public init(
        name: String,
        value: String? = nil,
        valueFrom: EnvVarSource? = nil
    ) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

/// Where an environment variable's value comes from; exactly one source is set.
public struct EnvVarSource: Sendable, Hashable, Codable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: ConfigMapKeySelector?
    public var secretKeyRef: SecretKeySelector?

    public init(
        fieldRef: ObjectFieldSelector? = nil,
        resourceFieldRef: ResourceFieldSelector? = nil,
        configMapKeyRef: ConfigMapKeySelector? = nil,
        secretKeyRef: SecretKeySelector? = nil
    ) {
        self.fieldRef = fieldRef
        self.resourceFieldRef = resourceFieldRef
        self.configMapKeyRef = configMapKeyRef
        self.secretKeyRef = secretKeyRef
    }
}

/// A field of the pod, for the downward API (`metadata.name`, `status.podIP`, …).
public struct ObjectFieldSelector: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var fieldPath: String

    public init(
        apiVersion: String? = nil,
        fieldPath: String
    ) {
        self.apiVersion = apiVersion
        self.fieldPath = fieldPath
    }
}

/// A container resource, for the downward API (`limits.cpu`).
public struct ResourceFieldSelector: Sendable, Hashable, Codable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?

    public init(
        containerName: String? = nil,
        resource: String,
        divisor: Quantity? = nil
    ) {
        self.containerName = containerName
        self.resource = resource
        self.divisor = divisor
    }
}

/// A key of a ConfigMap.
public struct ConfigMapKeySelector: Sendable, Hashable, Codable {
    public var name: String?
    public var key: String
    public var optional: Bool?

    public init(
        name: String? = nil,
        key: String,
        optional: Bool? = nil
    ) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// A key of a Secret.
public struct SecretKeySelector: Sendable, Hashable, Codable {
    public var name: String?
    public var key: String
    public var optional: Bool?

    public init(
        name: String? = nil,
        key: String,
        optional: Bool? = nil
    ) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// All keys of a ConfigMap or Secret as environment variables.
public struct EnvFromSource: Sendable, Hashable, Codable {
    public var prefix: String?
    public var configMapRef: ConfigMapEnvSource?
    public var secretRef: SecretEnvSource?

    public init(
        prefix: String? = nil,
        configMapRef: ConfigMapEnvSource? = nil,
        secretRef: SecretEnvSource? = nil
    ) {
        self.prefix = prefix
        self.configMapRef = configMapRef
        self.secretRef = secretRef
    }
}

/// A ConfigMap to take environment variables from.
public struct ConfigMapEnvSource: Sendable, Hashable, Codable {
    public var name: String?
    public var optional: Bool?

    public init(
        name: String? = nil,
        optional: Bool? = nil
    ) {
        self.name = name
        self.optional = optional
    }
}

/// A Secret to take environment variables from.
public struct SecretEnvSource: Sendable, Hashable, Codable {
    public var name: String?
    public var optional: Bool?

    public init(
        name: String? = nil,
        optional: Bool? = nil
    ) {
        self.name = name
        self.optional = optional
    }
}
