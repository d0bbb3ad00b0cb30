import Glibc
import Logging
import ShoalOS

/// The local image store, rooted at `<dataDir>/images`:
///
///     blobs/sha256/<hex>     manifests, configs and layer blobs as imported, content-addressed
///     layers/<diffid-hex>/   each layer unpacked once, ready to be an overlayfs lowerdir
///     images.json            the images: names, manifest, config, diffIDs, size, created
///     tmp/                   imports in progress (each a dir held by an flock)
///     lock, gc.lock          flock files, see below
///
/// Everything under blobs/ and layers/ appears by rename from tmp/, so a blob or layer present
/// is complete, and a failed import leaves nothing behind. images.json is replaced atomically.
///
/// Locking: `lock` is held shared by readers (list, resolve) and exclusive by the short commit of
/// an import and by remove; `gc.lock` is held shared by imports for their whole run and exclusive
/// by garbage collection, so an import may reuse a layer already present without the collector
/// deleting it underneath, while readers are never blocked by a long import.
public final class ImageStore: Sendable {
    /// `<dataDir>/images`.
    public let root: String
    let logger: Logger
    /// The last index read, with the identity of the file it came from. images.json is only
    /// ever replaced by rename, so the same inode, size and mtime mean the same content; the
    /// agent resolves images on every manifest change and container start without re-decoding.
    private let indexCache = Locked<(stamp: [Int], index: StoreIndex)?>(nil)

    public init(dataDir: String, logger: Logger = Logger(label: "shoal.image")) throws(ImageError) {
        root = (dataDir.hasSuffix("/") ? String(dataDir.dropLast()) : dataDir) + "/images"
        self.logger = logger
        try makeDirectories(dataDir)
        for dir in [root, root + "/blobs", root + "/blobs/sha256", root + "/layers", root + "/tmp"] {
            try makeDirectory(dir, mode: dir == root + "/tmp" ? 0o700 : 0o755)
        }
    }

    var indexPath: String { root + "/images.json" }
    var lockPath: String { root + "/lock" }
    var gcLockPath: String { root + "/gc.lock" }

    public func blobPath(_ digest: Digest) -> String { root + "/blobs/sha256/" + digest.hex }

    /// The directory a layer is unpacked in (whether or not it is present).
    public func layerPath(_ diffID: Digest) -> String { root + "/layers/" + diffID.hex }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    // MARK: reading

    func loadIndex() throws(ImageError) -> StoreIndex {
        var st = stat()
        guard lstat(indexPath, &st) == 0 else { return StoreIndex() }
        let stamp = [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
        if let cached = indexCache.current, cached.stamp == stamp { return cached.index }
        let bytes = try readWholeFile(indexPath)
        let index: StoreIndex
        do throws(ImageError) {
            index = try decodeJSON(StoreIndex.self, from: bytes, what: "image index \(indexPath)")
        } catch {
            throw .storeCorrupt(path: indexPath, reason: error.description)
        }
        guard index.version == StoreIndex.currentVersion else {
            throw .storeCorrupt(path: indexPath, reason: "unknown version \(index.version)")
        }
        indexCache.withLock { $0 = (stamp, index) }
        return index
    }

    func saveIndex(_ index: StoreIndex) throws(ImageError) {
        try writeFileAtomically(indexPath, encodeJSON(index))
    }

    /// All images, sorted by name (unnamed ones last, by ID).
    public func list() throws(ImageError) -> [ImageSummary] {
        let _lock = try FileLock(lockPath, .shared)
        defer { withExtendedLifetime(_lock) {} }
        return try loadIndex().images.map(ImageSummary.init).sorted { a, b in
            switch (a.names.first, b.names.first) {
            case let (x?, y?): return x.description < y.description
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.id < b.id
            }
        }
    }

    /// Finds an image by name (`busybox`, `docker.io/library/busybox:latest`), by `name@sha256:…`
    /// (manifest digest), or by image ID, full or as a unique prefix (`sha256:48b2…`, `48b25bd45c03`),
    /// as `docker images` accepts them. Names win over ID prefixes.
    public func resolve(_ reference: String) throws(ImageError) -> ResolvedImage {
        let _lock = try FileLock(lockPath, .shared)
        defer { withExtendedLifetime(_lock) {} }
        let index = try loadIndex()
        let (record, _) = try find(reference, in: index)
        for diffID in record.layers where !exists(layerPath(diffID)) {
            throw .storeCorrupt(path: layerPath(diffID), reason: "layer of image \(record.id) is missing")
        }
        let configBytes = try readWholeFile(blobPath(record.config))
        let file = try decodeJSON(OCIImageConfigFile.self, from: configBytes, what: "config \(record.config)")
        return ResolvedImage(
            id: record.id, names: record.names, manifestDigest: record.manifest, diffIDs: record.layers,
            layerDirectories: record.layers.map(layerPath), config: ImageConfig(configJSON: file), size: record.size)
    }

    /// How a reference matched: through one of the image's names, or its ID or manifest digest.
    enum Match: Equatable { case name(ImageReference), id }

    func find(_ reference: String, in index: StoreIndex) throws(ImageError) -> (ImageRecord, Match) {
        let s = reference.trimmingPrefix("sha256:")
        let isHex = !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        if isHex && (s.utf8.count == 64 || reference.hasPrefix("sha256:")) {
            return (try findByIDPrefix(String(s), reference: reference, in: index), .id)
        }
        if let ref = try? ImageReference(parsing: reference) {
            if let digest = ref.digest {
                // name@digest: the manifest digest, under a name of the same repository or none.
                if let r = index.images.first(where: { r in
                    r.manifest == digest && (r.names.isEmpty || r.names.contains { $0.repository == ref.repository })
                }) { return (r, .id) }
            } else if let r = index.images.first(where: { $0.names.contains(ref) }) {
                return (r, .name(ref))
            }
        }
        if isHex && s.utf8.count >= 4 {
            return (try findByIDPrefix(String(s), reference: reference, in: index), .id)
        }
        // Validate last, so a malformed name is reported as such rather than as "not found".
        _ = try ImageReference(parsing: reference)
        throw .imageNotFound(reference)
    }

    private func findByIDPrefix(_ prefix: String, reference: String, in index: StoreIndex) throws(ImageError) -> ImageRecord {
        let matches = index.images.filter { $0.id.hex.hasPrefix(prefix) }
        if matches.count > 1 { throw .ambiguousReference(reference, matches: matches.map { $0.id.shortID }) }
        guard let match = matches.first else { throw .imageNotFound(reference) }
        return match
    }

    // MARK: removal

    /// Removes a name; an image left without names is removed, as is an image named by ID or
    /// digest (with all its names). Then blobs and layers no image references any more are
    /// deleted. A layer that a running container still uses as lowerdir is the caller's concern.
    public func remove(_ reference: String) throws(ImageError) {
        let gcLock = try FileLock(gcLockPath, .exclusive)
        let lock = try FileLock(lockPath, .exclusive)
        defer { withExtendedLifetime((gcLock, lock)) {} }
        var index = try loadIndex()
        let (record, match) = try find(reference, in: index)
        guard let i = index.images.firstIndex(where: { $0.id == record.id }) else { throw .imageNotFound(reference) }
        switch match {
        case .name(let name):
            index.images[i].names.removeAll { $0 == name }
            if index.images[i].names.isEmpty { index.images.remove(at: i) }
        case .id:
            index.images.remove(at: i)
        }
        try saveIndex(index)
        logger.info("removed image", metadata: ["reference": "\(reference)", "id": "\(record.id)"])
        try collectGarbage(index)
    }

    /// Deletes blobs and layers no image references, and what imports that died (a crash, a
    /// kill) left in tmp/. `remove` does this itself; an agent calls it at startup. Waits for
    /// running imports to finish.
    public func collectGarbage() throws(ImageError) {
        let gcLock = try FileLock(gcLockPath, .exclusive)
        let lock = try FileLock(lockPath, .exclusive)
        defer { withExtendedLifetime((gcLock, lock)) {} }
        try collectGarbage(try loadIndex())
    }

    /// The collector proper; callers hold both locks exclusively.
    private func collectGarbage(_ index: StoreIndex) throws(ImageError) {
        let blobs = index.referencedBlobs
        for name in try listDirectory(root + "/blobs/sha256") {
            guard let d = try? Digest(hex: name), blobs.contains(d) else {
                if unlink(root + "/blobs/sha256/" + name) < 0 && errno != ENOENT {
                    throw .system(operation: "unlink", path: root + "/blobs/sha256/" + name, errno: errno)
                }
                continue
            }
        }
        let layers = index.referencedLayers
        for name in try listDirectory(root + "/layers") {
            if let d = try? Digest(hex: name), layers.contains(d) { continue }
            // Renamed away first, so a half-deleted layer is never seen under layers/.
            let doomed = root + "/tmp/gc-" + name
            try check(rename(root + "/layers/" + name, doomed), "rename", root + "/layers/" + name)
            try removeTree(doomed)
            logger.debug("deleted unreferenced layer", metadata: ["diffID": "\(name)"])
        }
        try removeStaleStaging()
    }

    /// Removes tmp/ entries whose import died: live imports hold an flock on their directory.
    func removeStaleStaging() throws(ImageError) {
        for name in try listDirectory(root + "/tmp") {
            let path = root + "/tmp/" + name
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                try removeTree(path)
                continue
            }
            let dir = FileDescriptor(fd)
            if let held = FileLock(tryLocking: dir) {
                try removeTree(path)
                withExtendedLifetime(held) {}
            }
        }
    }
}

/// One image of `ImageStore.list()`.
public struct ImageSummary: Sendable, Hashable {
    /// The image ID: the config digest, as Docker shows it.
    public let id: Digest
    public let names: [ImageReference]
    public let manifestDigest: Digest
    public var configDigest: Digest { id }
    /// diffIDs, bottom (base) layer first.
    public let layers: [Digest]
    /// Uncompressed size of all layers, in bytes.
    public let size: Int64
    /// When the image was built (the config's `created`, RFC 3339), if it says.
    public let created: String?

    init(_ r: ImageRecord) {
        id = r.id
        names = r.names
        manifestDigest = r.manifest
        layers = r.layers
        size = r.size
        created = r.created
    }
}

/// What a runtime needs to start a container from an image.
public struct ResolvedImage: Sendable, Hashable {
    public let id: Digest
    public let names: [ImageReference]
    public let manifestDigest: Digest
    /// Bottom (base) layer first, the OCI rootfs.diff_ids order.
    public let diffIDs: [Digest]
    /// The unpacked layers, bottom (base) layer first, in the same order as `diffIDs`.
    /// Note that overlayfs's lowerdir lists the top layer first: use `overlayLowerDir`.
    public let layerDirectories: [String]
    public let config: ImageConfig
    /// Uncompressed size of all layers, in bytes.
    public let size: Int64

    /// The layer directories in overlayfs order: top layer first.
    public var overlayOrder: [String] { layerDirectories.reversed() }

    /// `lowerdir=` for overlayfs: the layer directories top first, colon-separated.
    public var overlayLowerDir: String { layerDirectories.reversed().joined(separator: ":") }
}

/// One image an import added (or found already present).
public struct ImportedImage: Sendable, Hashable {
    public let id: Digest
    public let names: [ImageReference]
    public let manifestDigest: Digest
    /// diffIDs, bottom (base) layer first.
    public let layers: [Digest]
    public let size: Int64
    /// Layers this import unpacked; the rest were already in the store.
    public let unpackedLayers: Int
}

/// Progress of an import, reported per blob as its bytes stream through.
public struct ImportProgress: Sendable, Hashable {
    public enum Item: Sendable, Hashable {
        case config
        /// 0-based index, bottom layer first, of `count` layers.
        case layer(index: Int, count: Int)
    }

    /// The image's first name, or its short ID when it has none.
    public let image: String
    public let item: Item
    /// The blob's digest when the archive names it (OCI); docker-archive layers are only named
    /// by their content, known once read.
    public let digest: Digest?
    public let bytesDone: Int64
    public let bytesTotal: Int64
    /// The layer was already unpacked: this import only verifies its digests.
    public let alreadyPresent: Bool
    public var isComplete: Bool { bytesDone == bytesTotal }
}
