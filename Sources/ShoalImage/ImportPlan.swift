import Glibc

/// The images an archive holds, read from its small JSON documents (index, manifests, configs)
/// and verified against their digests before any layer is streamed.
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

struct PlannedLayer {
    var member: String
    var mediaType: String?
    /// OCI names each blob; docker-archive layers are known by their content only.
    var expectedBlob: Digest?
    var expectedSize: Int64?
    /// nil: sniff the blob's first bytes.
    var compression: Compression?
    var diffID: Digest
}

/// Reads what an archive holds: an OCI image layout (oci-layout + index.json) or a
/// docker-archive (manifest.json).
struct ImportPlanner {
    let archive: ArchiveReader

    func plan() throws(ImageError) -> [PlannedImage] {
        let planned: [PlannedImage]
        if archive.contains("index.json") && archive.contains("oci-layout") {
            planned = try planOCI()
        } else if archive.contains("manifest.json") {
            planned = try planDockerArchive()
        } else {
            throw .invalidArchive(path: archive.path, reason: "neither an OCI image layout (oci-layout, index.json) nor a docker-archive (manifest.json)")
        }
        guard !planned.isEmpty else { throw .invalidArchive(path: archive.path, reason: "no images in the archive") }
        return planned
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
