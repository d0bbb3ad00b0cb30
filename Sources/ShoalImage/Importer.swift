import Glibc

extension ImageStore {
    /// Imports every image of an archive: an OCI image layout tar (`oci-layout` + `index.json`,
    /// as `skopeo copy … oci-archive:`, `podman save --format oci-archive` and `docker save` 25+
    /// write) or a docker-archive (`manifest.json`, as `docker save`, `podman save` and
    /// `skopeo copy … docker-archive:` write), optionally gzip-compressed as a whole.
    ///
    /// Every digest is verified while the blobs stream through once: manifest and config blobs
    /// against the digests naming them, each layer blob against its manifest digest, and each
    /// layer's uncompressed tar against the config's diffID. Any mismatch or error leaves the store
    /// as it was. Layers already in the store are verified but not unpacked again.
    ///
    /// An image index (multi-platform) yields the manifest for linux and the host's architecture.
    public func `import`(
        archive: String, progress: (ImportProgress) -> Void = { _ in }
    ) throws(ImageError) -> [ImportedImage] {
        let gcLock = try FileLock(gcLockPath, .shared)
        defer { withExtendedLifetime(gcLock) {} }
        let staging = try Staging(storeRoot: root)
        defer { staging.remove() }

        let reader = try ArchiveReader(path: archive, scratchDirectory: staging.path)
        // The importer keeps the callback only for the duration of this call.
        let outcome = withoutActuallyEscaping(progress) { progress in
            Result { () throws(ImageError) -> [Importer.Result] in
                let importer = Importer(store: self, archive: reader, staging: staging, progress: progress)
                let images = try importer.run()
                let lock = try FileLock(lockPath, .exclusive)
                defer { withExtendedLifetime(lock) {} }
                try importer.commit(images)
                return images
            }
        }
        let images = try outcome.get()
        logger.info("imported \(images.count) image(s)", metadata: ["archive": "\(archive)"])
        return images.map { image in
            ImportedImage(id: image.record.id, names: image.record.names, manifestDigest: image.record.manifest,
                          layers: image.record.layers, size: image.record.size, unpackedLayers: image.unpackedLayers)
        }
    }
}

/// A private directory under tmp/ for one import, held by an flock so that garbage collection
/// can tell a live import from a dead one's leftovers.
final class Staging {
    let path: String
    let fd: FileDescriptor
    private let lock: FileLock

    init(storeRoot: String) throws(ImageError) {
        var template = Array((storeRoot + "/tmp/import-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard made != nil else { throw .system(operation: "mkdtemp", path: storeRoot + "/tmp", errno: errno) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        guard let lock = FileLock(tryLocking: fd) else {
            throw .system(operation: "flock", path: path, errno: EWOULDBLOCK)
        }
        self.lock = lock
        for dir in ["blobs", "layers"] { try makeDirectory(path + "/" + dir, mode: 0o700) }
    }

    func remove() {
        do { try removeTree(path) } catch {}
    }
}

/// One import: plans the archive's images, streams their layers into staging, then commits.
final class Importer {
    struct PlannedLayer {
        var member: String
        var mediaType: String?
        var expectedBlob: Digest?
        var expectedSize: Int64?
        var compression: Compression?
        var diffID: Digest
    }

    struct PlannedImage {
        var names: [ImageReference]
        /// OCI: the manifest as archived (verified). Docker: synthesized once layers are read.
        var manifest: (digest: Digest, bytes: [UInt8])?
        var config: (digest: Digest, bytes: [UInt8], mediaType: String)
        var configFile: OCIImageConfigFile
        var layers: [PlannedLayer]
        var label: String {
            names.first?.familiarName ?? config.digest.shortID
        }
    }

    struct LayerResult {
        var blob: Digest
        var blobSize: Int64
        var mediaType: String
        var diffID: Digest
        var uncompressedSize: Int64
        var unpacked: Bool
    }

    struct Result {
        var record: ImageRecord
        var unpackedLayers: Int
        var manifestBytes: [UInt8]
        var configBytes: [UInt8]
    }

    let store: ImageStore
    let archive: ArchiveReader
    let staging: Staging
    let progress: (ImportProgress) -> Void
    /// Layers already processed in this import, by archive member (images sharing a layer).
    private var done: [String: LayerResult] = [:]
    private var stagedBlobs: [Digest: String] = [:]
    private var stagedLayers: [Digest: String] = [:]
    private var blobCounter = 0

    init(store: ImageStore, archive: ArchiveReader, staging: Staging, progress: @escaping (ImportProgress) -> Void) {
        self.store = store
        self.archive = archive
        self.staging = staging
        self.progress = progress
    }

    func run() throws(ImageError) -> [Result] {
        let planned: [PlannedImage]
        if archive.contains("index.json") && archive.contains("oci-layout") {
            planned = try planOCI()
        } else if archive.contains("manifest.json") {
            planned = try planDockerArchive()
        } else {
            throw .invalidArchive(path: archive.path, reason: "neither an OCI image layout (oci-layout, index.json) nor a docker-archive (manifest.json)")
        }
        guard !planned.isEmpty else { throw .invalidArchive(path: archive.path, reason: "no images in the archive") }
        var results: [Result] = []
        for image in planned { results.append(try importImage(image)) }
        return results
    }

    // MARK: OCI image layout

    private func blobMember(_ d: Digest) -> String { "blobs/sha256/" + d.hex }

    /// Reads a small blob and checks it against its descriptor.
    private func readVerified(_ desc: Descriptor, what: String) throws(ImageError) -> [UInt8] {
        let bytes = try archive.read(blobMember(desc.digest))
        let actual = Digest.of(bytes)
        guard actual == desc.digest else {
            throw .digestMismatch(what: "\(what) \(blobMember(desc.digest)) in \(archive.path)", expected: desc.digest, actual: actual)
        }
        guard Int64(bytes.count) == desc.size else {
            throw .sizeMismatch(what: "\(what) \(desc.digest)", expected: desc.size, actual: Int64(bytes.count))
        }
        return bytes
    }

    private func planOCI() throws(ImageError) -> [PlannedImage] {
        let index = try decodeJSON(ImageIndex.self, from: try archive.read("index.json"), what: "index.json in \(archive.path)")
        var images: [PlannedImage] = []
        for desc in index.manifests {
            let names = try namesFromAnnotations(desc.annotations)
            guard let manifestDesc = try selectManifest(desc, depth: 0) else { continue }
            if let i = images.firstIndex(where: { $0.manifest?.digest == manifestDesc.digest }) {
                images[i].names += names.filter { !images[i].names.contains($0) }
                continue
            }
            images.append(try planOCIManifest(manifestDesc, names: names))
        }
        return images
    }

    /// Follows image indexes down to the manifest for our platform. nil for descriptors that
    /// are not images (artifacts, signatures), which are skipped.
    private func selectManifest(_ desc: Descriptor, depth: Int) throws(ImageError) -> Descriptor? {
        var type = desc.mediaType
        if type == nil {
            // index.json entries may omit the media type; the document says what it is.
            struct Probe: Decodable { var mediaType: String?; var manifests: [AnyJSON]?; var config: AnyJSON? }
            let probe = try decodeJSON(Probe.self, from: try readVerified(desc, what: "manifest"), what: "manifest \(desc.digest)")
            type = probe.mediaType ?? (probe.manifests != nil ? MediaType.ociIndex : probe.config != nil ? MediaType.ociManifest : nil)
        }
        if MediaType.isManifest(type) { return desc }
        guard MediaType.isIndex(type) else { return nil }
        guard depth < 4 else { throw .invalidArchive(path: archive.path, reason: "image indexes nested too deep") }
        let nested = try decodeJSON(ImageIndex.self, from: try readVerified(desc, what: "image index"), what: "image index \(desc.digest)")
        let wanted = Platform(architecture: hostArchitecture(), os: "linux")
        let candidates = nested.manifests.filter { $0.platform?.os == wanted.os && $0.platform?.architecture == wanted.architecture }
        guard let chosen = candidates.first else {
            throw .noMatchingPlatform(wanted: wanted.description,
                                      available: nested.manifests.compactMap { $0.platform?.description })
        }
        return try selectManifest(chosen, depth: depth + 1)
    }

    private func planOCIManifest(_ desc: Descriptor, names: [ImageReference]) throws(ImageError) -> PlannedImage {
        let manifestBytes = try readVerified(desc, what: "manifest")
        let manifest = try decodeJSON(ImageManifest.self, from: manifestBytes, what: "manifest \(desc.digest)")
        let configType = manifest.config.mediaType ?? MediaType.ociConfig
        guard configType == MediaType.ociConfig || configType == MediaType.dockerConfig else {
            throw .unsupportedMediaType(configType, blob: "config \(manifest.config.digest)")
        }
        let configBytes = try readVerified(manifest.config, what: "config")
        let config = try decodeJSON(OCIImageConfigFile.self, from: configBytes, what: "config \(manifest.config.digest)")
        let diffIDs = try diffIDs(config, layers: manifest.layers.count, what: "config \(manifest.config.digest)")
        var layers: [PlannedLayer] = []
        for (layer, diffID) in zip(manifest.layers, diffIDs) {
            let type = layer.mediaType ?? MediaType.ociLayerGzip
            layers.append(PlannedLayer(
                member: blobMember(layer.digest), mediaType: type, expectedBlob: layer.digest, expectedSize: layer.size,
                compression: try MediaType.layerCompression(type, blob: "layer \(layer.digest)"), diffID: diffID))
        }
        return PlannedImage(names: names, manifest: (desc.digest, manifestBytes),
                            config: (manifest.config.digest, configBytes, configType), configFile: config, layers: layers)
    }

    private func diffIDs(_ config: OCIImageConfigFile, layers: Int, what: String) throws(ImageError) -> [Digest] {
        guard let rootfs = config.rootfs else { throw .invalidJSON(what: what, reason: "missing rootfs") }
        guard rootfs.diff_ids.count == layers else {
            throw .invalidJSON(what: what, reason: "rootfs.diff_ids has \(rootfs.diff_ids.count) entries for \(layers) layers")
        }
        return rootfs.diff_ids
    }

    /// containerd's full name first; else the OCI ref.name, which is a full reference for
    /// skopeo and podman ("busybox:latest") and a bare tag for others ("latest"), then named
    /// after the archive file under localhost/.
    private func namesFromAnnotations(_ annotations: [String: String]?) throws(ImageError) -> [ImageReference] {
        if let full = annotations?["io.containerd.image.name"] {
            return [try parseName(full)]
        }
        guard let ref = annotations?["org.opencontainers.image.ref.name"], !ref.isEmpty else { return [] }
        if ref.contains("/") || ref.contains(":") || ref.contains("@") {
            return [try parseName(ref)]
        }
        guard ImageReference.isValidTag(ref), let repo = archiveRepositoryName(),
              let name = try? ImageReference(parsing: repo + ":" + ref) else { return [] }
        return [name]
    }

    private func parseName(_ s: String) throws(ImageError) -> ImageReference {
        do throws(ImageError) {
            return try ImageReference(parsing: s)
        } catch {
            throw .invalidArchive(path: archive.path, reason: error.description)
        }
    }

    /// "localhost/busybox" for ".../busybox.tar", or nil if the file name makes no valid name.
    private func archiveRepositoryName() -> String? {
        var base = Substring(archive.path.split(separator: "/").last ?? "")
        for ext in [".gz", ".tgz", ".tar", ".oci"] where base.hasSuffix(ext) { base = base.dropLast(ext.count) }
        let cleaned = String(base.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
            .trimmingCharacters(in: "-")
        guard !cleaned.isEmpty, ImageReference.isValidPathComponent(Substring(cleaned)) else { return nil }
        return "localhost/" + cleaned
    }

    // MARK: docker-archive

    private func planDockerArchive() throws(ImageError) -> [PlannedImage] {
        let entries = try decodeJSON([DockerArchiveEntry].self, from: try archive.read("manifest.json"),
                                     what: "manifest.json in \(archive.path)")
        var images: [PlannedImage] = []
        for entry in entries {
            let configBytes = try archive.read(entry.Config)
            let digest = Digest.of(configBytes)
            // The config's file name is its digest ("<hex>.json", "blobs/sha256/<hex>"): check it.
            let base = entry.Config.split(separator: "/").last.map(String.init) ?? ""
            let named = base.hasSuffix(".json") ? String(base.dropLast(5)) : base
            if Digest.isHex64(named), named != digest.hex {
                throw .digestMismatch(what: "config \(entry.Config) in \(archive.path)", expected: Digest(validHex: named), actual: digest)
            }
            let config = try decodeJSON(OCIImageConfigFile.self, from: configBytes, what: "config \(entry.Config)")
            let diffIDs = try diffIDs(config, layers: entry.Layers.count, what: "config \(entry.Config)")
            var names: [ImageReference] = []
            for tag in entry.RepoTags ?? [] {
                let name = try parseName(tag)
                if !names.contains(name) { names.append(name) }
            }
            let layers = zip(entry.Layers, diffIDs).map { member, diffID in
                PlannedLayer(member: member, mediaType: nil, expectedBlob: nil, expectedSize: nil, compression: nil, diffID: diffID)
            }
            images.append(PlannedImage(names: names, manifest: nil, config: (digest, configBytes, MediaType.dockerConfig),
                                       configFile: config, layers: layers))
        }
        return images
    }

    // MARK: layers

    private func importImage(_ image: PlannedImage) throws(ImageError) -> Result {
        progress(ImportProgress(image: image.label, item: .config, digest: image.config.digest,
                                bytesDone: Int64(image.config.bytes.count), bytesTotal: Int64(image.config.bytes.count),
                                alreadyPresent: store.exists(store.blobPath(image.config.digest))))
        var results: [LayerResult] = []
        var unpacked = 0
        for (i, layer) in image.layers.enumerated() {
            let r = try importLayer(layer, index: i, of: image)
            if r.unpacked { unpacked += 1 }
            results.append(r)
        }

        let manifest: (digest: Digest, bytes: [UInt8])
        if let m = image.manifest {
            manifest = m
        } else {
            // A docker-archive has no manifest blob: store the one a registry would serve for it.
            let synthesized = ImageManifest(
                schemaVersion: 2, mediaType: MediaType.dockerManifest,
                config: Descriptor(mediaType: image.config.mediaType, digest: image.config.digest,
                                   size: Int64(image.config.bytes.count)),
                layers: results.map { Descriptor(mediaType: $0.mediaType, digest: $0.blob, size: $0.blobSize) })
            let bytes = encodeJSON(synthesized)
            manifest = (Digest.of(bytes), bytes)
        }
        let record = ImageRecord(
            id: image.config.digest, names: image.names, manifest: manifest.digest, config: image.config.digest,
            layers: image.layers.map(\.diffID), layerBlobs: results.map(\.blob),
            size: results.reduce(0) { $0 + $1.uncompressedSize }, created: image.configFile.created)
        return Result(record: record, unpackedLayers: unpacked, manifestBytes: manifest.bytes, configBytes: image.config.bytes)
    }

    private func importLayer(_ layer: PlannedLayer, index: Int, of image: PlannedImage) throws(ImageError) -> LayerResult {
        let what = "layer \(index + 1)/\(image.layers.count) (\(layer.expectedBlob?.description ?? layer.member)) of \(image.label)"
        if let previous = done[layer.member] {
            guard previous.diffID == layer.diffID else {
                throw .digestMismatch(what: "\(what): uncompressed content (diffID)", expected: layer.diffID, actual: previous.diffID)
            }
            return previous
        }
        let total = try archive.size(layer.member)
        if let expected = layer.expectedSize, expected != total {
            throw .sizeMismatch(what: what, expected: expected, actual: total)
        }
        var compression = Compression.none
        if let known = layer.compression {
            compression = known
        } else {
            compression = try Compression.sniff(try archive.head(layer.member, 5), blob: what)
        }
        let mediaType = layer.mediaType ?? (compression == .gzip ? MediaType.dockerLayerGzip : "application/vnd.docker.image.rootfs.diff.tar")

        let present = store.exists(store.layerPath(layer.diffID)) || stagedLayers[layer.diffID] != nil
        let blobKnown = layer.expectedBlob.map { store.exists(store.blobPath($0)) || stagedBlobs[$0] != nil } ?? false

        func report(_ n: Int64) {
            progress(ImportProgress(image: image.label, item: .layer(index: index, count: image.layers.count),
                                    digest: layer.expectedBlob, bytesDone: n, bytesTotal: total, alreadyPresent: present))
        }
        report(0)
        let source = try archive.source(layer.member)
        var lastReported: Int64 = 0
        source.onProgress = { n in
            if n - lastReported >= 1 << 20 || n == total {
                lastReported = n
                report(n)
            }
        }

        // The blob is copied into staging as it is read, unless the store already has it.
        var blobCopy: (fd: FileDescriptor, path: String)? = nil
        if !blobKnown {
            blobCounter += 1
            let path = staging.path + "/blobs/incoming-\(blobCounter)"
            blobCopy = (try openFile(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644), path)
        }
        let blobHash = HashingSource(source, copyTo: blobCopy?.fd, copyPath: blobCopy?.path ?? "")
        let diffHash = compression == .gzip ? HashingSource(try GzipSource(blobHash, what: what)) : blobHash
        let layerDir = staging.path + "/layers/" + layer.diffID.hex

        do throws(ImageError) {
            if !present {
                try makeDirectory(layerDir, mode: 0o755)
                let rootFD = try openFile(layerDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                let tar = TarReader(BufferedReader(diffHash), what: what)
                try LayerUnpacker(root: rootFD, rootPath: layerDir, what: what).unpack(tar)
            }
            try diffHash.drain()
            if diffHash !== blobHash { try blobHash.drain() }
        } catch {
            // A corrupt blob usually shows up as bad gzip or tar first; its digest says more.
            if let expected = layer.expectedBlob {
                do throws(ImageError) { try blobHash.drain() } catch {}
                if blobHash.count == total, blobHash.digest != expected {
                    throw .digestMismatch(what: what, expected: expected, actual: blobHash.digest)
                }
            }
            throw error
        }

        let blob = blobHash.digest
        if let expected = layer.expectedBlob, blob != expected {
            throw .digestMismatch(what: what, expected: expected, actual: blob)
        }
        guard diffHash.digest == layer.diffID else {
            throw .digestMismatch(what: "\(what): uncompressed content (diffID in rootfs.diff_ids[\(index)])",
                                  expected: layer.diffID, actual: diffHash.digest)
        }
        if let copy = blobCopy {
            if stagedBlobs[blob] == nil && !store.exists(store.blobPath(blob)) {
                let final = staging.path + "/blobs/" + blob.hex
                try check(rename(copy.path, final), "rename", copy.path)
                stagedBlobs[blob] = final
            } else {
                unlink(copy.path)
            }
        }
        if !present { stagedLayers[layer.diffID] = layerDir }
        report(total)
        let result = LayerResult(blob: blob, blobSize: total, mediaType: mediaType, diffID: layer.diffID,
                                 uncompressedSize: diffHash.count, unpacked: !present)
        done[layer.member] = result
        return result
    }

    // MARK: commit

    /// Moves the staged blobs and layers into the store and records the images. Runs under the
    /// store's exclusive lock; everything it renames is complete and verified.
    ///
    /// Durability: one syncfs flushes everything staged before the renames, so a blob or layer
    /// that exists in the store after a crash is complete; images.json is replaced last (fsync,
    /// rename), so it never names content that is not there.
    func commit(_ images: [Result]) throws(ImageError) {
        for image in images {
            for (digest, bytes) in [(image.record.manifest, image.manifestBytes), (image.record.config, image.configBytes)]
            where stagedBlobs[digest] == nil && !store.exists(store.blobPath(digest)) {
                let path = staging.path + "/blobs/" + digest.hex
                let fd = try openFile(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                try withBytes(bytes) { (b) throws(ImageError) in try writeAll(fd.raw, b, path: path) }
                stagedBlobs[digest] = path
            }
        }
        if !stagedBlobs.isEmpty || !stagedLayers.isEmpty {
            try syncFilesystem(staging.fd, path: staging.path)
        }
        for (digest, path) in stagedBlobs.sorted(by: { $0.key < $1.key }) where !store.exists(store.blobPath(digest)) {
            try check(rename(path, store.blobPath(digest)), "rename", store.blobPath(digest))
        }
        for (diffID, path) in stagedLayers.sorted(by: { $0.key < $1.key }) where !store.exists(store.layerPath(diffID)) {
            try check(rename(path, store.layerPath(diffID)), "rename", store.layerPath(diffID))
        }

        var index = try store.loadIndex()
        for image in images {
            for blob in [image.record.manifest, image.record.config] + image.record.layerBlobs where !store.exists(store.blobPath(blob)) {
                throw .storeCorrupt(path: store.blobPath(blob), reason: "blob vanished during the import")
            }
            for diffID in image.record.layers where !store.exists(store.layerPath(diffID)) {
                throw .storeCorrupt(path: store.layerPath(diffID), reason: "layer vanished during the import")
            }
            index.upsert(image.record)
        }
        try store.saveIndex(index)
    }
}

/// GOARCH names, which image platforms use.
func hostArchitecture() -> String {
    var u = utsname()
    uname(&u)
    var field = u.machine
    let size = MemoryLayout.size(ofValue: field)
    let machine = withUnsafePointer(to: &field) {
        $0.withMemoryRebound(to: CChar.self, capacity: size) { String(cString: $0) }
    }
    switch machine {
    case "x86_64": return "amd64"
    case "aarch64", "arm64": return "arm64"
    case "i386", "i686": return "386"
    case "armv7l", "armv6l": return "arm"
    case "ppc64le": return "ppc64le"
    case "s390x": return "s390x"
    case "riscv64": return "riscv64"
    default: return machine
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
