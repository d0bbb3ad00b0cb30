/// images.json: every image in the store, keyed by image ID (the config digest), with the names
/// pointing at it. A name points at one image at most; an image may have none (a dangling
/// image, still addressable by ID, like Docker's `<none>`).
struct StoreIndex: Codable {
    static let currentVersion = 1

    var version: Int = StoreIndex.currentVersion
    var images: [ImageRecord] = []

    func record(id: Digest) -> ImageRecord? { images.first { $0.id == id } }

    /// Adds or replaces the record for `new.id`, moving `new.names` away from other images.
    mutating func upsert(_ new: ImageRecord) {
        let names = Set(new.names)
        for i in images.indices { images[i].names.removeAll { names.contains($0) } }
        if let i = images.firstIndex(where: { $0.id == new.id }) {
            var merged = new
            merged.names = images[i].names + new.names.filter { !images[i].names.contains($0) }
            images[i] = merged
        } else {
            images.append(new)
        }
    }

    var referencedBlobs: Set<Digest> {
        Set(images.flatMap { [$0.manifest, $0.config] + $0.layerBlobs })
    }

    var referencedLayers: Set<Digest> { Set(images.flatMap(\.layers)) }
}

struct ImageRecord: Codable, Equatable {
    var id: Digest
    var names: [ImageReference]
    var manifest: Digest
    var config: Digest
    /// diffIDs, bottom to top (the config's rootfs.diff_ids order).
    var layers: [Digest]
    /// The stored layer blobs, in the same order as `layers`.
    var layerBlobs: [Digest]
    /// Uncompressed bytes of all layers.
    var size: Int64
    var created: String?
}
