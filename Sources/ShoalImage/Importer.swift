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

/// One import: streams the planned images' layers into staging, then commits.
final class Importer {
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
        var results: [Result] = []
        for image in try ImportPlanner(archive: archive).plan() { results.append(try importImage(image)) }
        return results
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
                // The container's "/" unless the tar says otherwise: not subject to our umask.
                try check(fchmod(rootFD.raw, 0o755), "chmod", layerDir)
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
