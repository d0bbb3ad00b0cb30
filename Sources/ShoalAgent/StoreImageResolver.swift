import ShoalImage
import ShoalRuntime

/// The image store as the agent sees it.
public struct StoreImageResolver: ImageResolver {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    public func resolve(_ reference: String) throws -> ImageInfo {
        let r = try store.resolve(reference)
        return ImageInfo(reference: reference, id: r.id.description, layers: r.layerDirectories, config: r.config)
    }

    public func contains(_ reference: String) -> Bool { (try? store.resolve(reference)) != nil }
}
