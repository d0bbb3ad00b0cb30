/// core/v1 EphemeralContainer: a debugging container added to a running pod.
///
/// Kubernetes defines it as the Container fields plus `targetContainerName`. Here it wraps a
/// `Container`, so code that runs containers handles all three kinds with one type; the JSON
/// form is flat, exactly as in Kubernetes. Container fields are reachable directly
/// (`ephemeral.name`) through dynamic member lookup.
@dynamicMemberLookup
public struct EphemeralContainer: Sendable, Hashable, Codable {
    public var container: Container
    /// The container whose namespaces (PID in particular) this one joins.
    public var targetContainerName: String?

    public init(container: Container, targetContainerName: String? = nil) {
        self.container = container
        self.targetContainerName = targetContainerName
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<Container, T>) -> T {
        get { container[keyPath: keyPath] }
        set { container[keyPath: keyPath] = newValue }
    }

    private enum CodingKeys: String, CodingKey {
        case targetContainerName
    }

    public init(from decoder: any Decoder) throws {
        container = try Container(from: decoder)
        let keyed = try decoder.container(keyedBy: CodingKeys.self)
        targetContainerName = try keyed.decodeIfPresent(String.self, forKey: .targetContainerName)
    }

    public func encode(to encoder: any Encoder) throws {
        try container.encode(to: encoder)
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encodeIfPresent(targetContainerName, forKey: .targetContainerName)
    }
}
