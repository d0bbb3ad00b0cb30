/// A list of API objects as the API returns it (`PodList`, `EventList`, …).
public struct List<Item: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    public var items: [Item]

    public init(apiVersion: String? = "v1", kind: String? = nil, metadata: ListMeta? = ListMeta(), items: [Item] = []) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.items = items
    }
}

public typealias PodList = List<Pod>
public typealias EventList = List<Event>

extension List where Item == Pod {
    public init(pods: [Pod], metadata: ListMeta? = ListMeta()) {
        self.init(apiVersion: "v1", kind: "PodList", metadata: metadata, items: pods)
    }
}

extension List where Item == Event {
    public init(events: [Event], metadata: ListMeta? = ListMeta()) {
        self.init(apiVersion: "v1", kind: "EventList", metadata: metadata, items: events)
    }
}
