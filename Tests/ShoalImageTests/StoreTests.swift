import Foundation
import Glibc
import Logging
import Testing
@testable import ShoalImage

/// A store in a fresh temp dir, and the archive written next to it.
private struct Fixture {
    let dir: TempDir
    let store: ImageStore

    init(_ name: String) throws {
        dir = try TempDir(name)
        store = try ImageStore(dataDir: dir.sub("data"), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    func archive(_ bytes: [UInt8], name: String = "image.tar") throws -> String {
        try dir.write(name, bytes)
        return dir.sub(name)
    }

    func importing(_ bytes: [UInt8], name: String = "image.tar") throws -> [ImportedImage] {
        try store.import(archive: try archive(bytes, name: name))
    }

    /// Nothing in blobs/, layers/ or tmp/, and no image recorded.
    func isEmpty() throws -> Bool {
        try tree(store.root + "/blobs/sha256").isEmpty && tree(store.root + "/layers").isEmpty
            && tree(store.root + "/tmp").isEmpty && store.list().isEmpty
    }
}

private func layer(_ files: [String: String]) -> [UInt8] {
    var t = TarWriter()
    for (path, content) in files.sorted(by: { $0.key < $1.key }) { t.file(path, content) }
    return t.finish()
}

@Test func ociLayoutImportAndResolve() throws {
    let f = try Fixture("store-oci")
    defer { f.dir.cleanup() }
    let base = TestLayer(tar: layer(["bin/tool": "v1", "etc/os-release": "test"]))
    let top = TestLayer(tar: layer(["bin/tool": "v2", "app/run": "go"]), gzip: false)
    var events: [ImportProgress] = []
    let images = try f.store.import(archive: try f.archive(ArchiveBuilder.oci([base, top], configExtra: [
        "Entrypoint": ["/app/run"], "User": "1000:1000", "ExposedPorts": ["8080/tcp": [:], "53/udp": [:]],
        "Labels": ["a": "b"], "StopSignal": "SIGQUIT", "Volumes": ["/data": [:]],
    ]))) { events.append($0) }

    #expect(images.count == 1)
    let image = try #require(images.first)
    #expect(image.names.map(\.description) == ["docker.io/library/test:1"])
    #expect(image.layers == [sha(base.tar), sha(top.tar)], "diffIDs bottom to top")
    #expect(image.unpackedLayers == 2)
    #expect(image.size == Int64(base.tar.count + top.tar.count))

    // Progress: every layer reported complete, with its blob digest.
    for (i, l) in [base, top].enumerated() {
        let last = events.last { $0.item == .layer(index: i, count: 2) }
        #expect(last?.bytesDone == Int64(l.blob.count) && last?.isComplete == true && last?.digest == sha(l.blob))
    }

    let r = try f.store.resolve("test:1")
    #expect(r.id == image.id)
    #expect(r.layerDirectories == [f.store.layerPath(sha(base.tar)), f.store.layerPath(sha(top.tar))])
    #expect(r.overlayLowerDir == "\(f.store.layerPath(sha(top.tar))):\(f.store.layerPath(sha(base.tar)))")
    #expect(readString(r.layerDirectories[0] + "/bin/tool") == "v1")
    #expect(readString(r.layerDirectories[1] + "/bin/tool") == "v2")
    #expect(r.config.entrypoint == ["/app/run"] && r.config.cmd == ["sh"] && r.config.env == ["PATH=/usr/bin:/bin"])
    #expect(r.config.workingDir == "/" && r.config.user == "1000:1000" && r.config.stopSignal == "SIGQUIT")
    #expect(r.config.exposedPorts == ["53/udp", "8080/tcp"] && r.config.labels == ["a": "b"] && r.config.volumes == ["/data"])
    #expect(r.config.architecture == "amd64" && r.config.os == "linux" && r.config.created == "2024-01-01T00:00:00Z")

    // Every way to name it finds the same image.
    for ref in ["docker.io/library/test:1", "library/test:1", image.id.description, image.id.hex,
                String(image.id.hex.prefix(12)), "sha256:" + image.id.hex.prefix(6),
                "test@\(image.manifestDigest)"] {
        #expect(try f.store.resolve(ref).id == image.id, "\(ref)")
    }
    #expect(throws: ImageError.imageNotFound("test:2")) { try f.store.resolve("test:2") }
    #expect(throws: ImageError.imageNotFound("other")) { try f.store.resolve("other") }
    #expect { try f.store.resolve("Bad:Name!") } throws: { ($0 as? ImageError).map { if case .invalidReference = $0 { true } else { false } } ?? false }

    // Content-addressed blobs: manifest, config and both layers, each under its own digest.
    let blobs = tree(f.store.root + "/blobs/sha256")
    #expect(Set(blobs) == Set([image.manifestDigest, image.id, sha(base.blob), sha(top.blob)].map(\.hex)))
    for hex in blobs {
        let bytes = try #require(FileManager.default.contents(atPath: f.store.root + "/blobs/sha256/" + hex))
        #expect(sha(Array(bytes)).hex == hex)
    }
    #expect(tree(f.store.root + "/tmp").isEmpty)

    let list = try f.store.list()
    #expect(list.count == 1 && list[0].id == image.id && list[0].layers == image.layers && list[0].created == "2024-01-01T00:00:00Z")
}

@Test(arguments: [false, true])
func dockerArchiveImport(gzip: Bool) throws {
    let f = try Fixture("store-docker")
    defer { f.dir.cleanup() }
    let l1 = TestLayer(tar: layer(["etc/hostname": "one"]), gzip: gzip)
    let l2 = TestLayer(tar: layer(["etc/hostname": "two", "x": "y"]), gzip: gzip)
    let images = try f.importing(ArchiveBuilder.dockerArchive([l1, l2], tags: ["busybox:test", "registry:5000/bb:1"]))
    let image = try #require(images.first)
    #expect(image.names.map(\.description) == ["docker.io/library/busybox:test", "registry:5000/bb:1:"].map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 })
    #expect(image.layers == [sha(l1.tar), sha(l2.tar)])
    let r = try f.store.resolve("busybox:test")
    #expect(readString(r.layerDirectories[1] + "/etc/hostname") == "two")
    #expect(try f.store.resolve("registry:5000/bb:1").id == image.id)
    // The synthesized manifest is stored and names the blobs as they came.
    let manifest = try #require(FileManager.default.contents(atPath: f.store.blobPath(image.manifestDigest)))
    let m = try JSONDecoder().decode(ImageManifest.self, from: manifest)
    #expect(m.layers.map(\.digest) == [sha(l1.blob), sha(l2.blob)])
    #expect(m.layers[0].mediaType == (gzip ? MediaType.dockerLayerGzip : "application/vnd.docker.image.rootfs.diff.tar"))
    #expect(m.config.digest == image.id)
}

@Test func untaggedImagesAreAddressableByID() throws {
    let f = try Fixture("store-untagged")
    defer { f.dir.cleanup() }
    let image = try #require(try f.importing(ArchiveBuilder.dockerArchive([TestLayer(tar: layer(["a": "b"]))], tags: nil)).first)
    #expect(image.names.isEmpty)
    #expect(try f.store.resolve(String(image.id.hex.prefix(12))).id == image.id)
    #expect(try f.store.list().map(\.names) == [[]])

    // An OCI ref.name that is only a tag gets its repository from the archive's file name.
    let named = try #require(try f.importing(ArchiveBuilder.oci([TestLayer(tar: layer(["c": "d"]))], name: nil, refName: "v3"),
                                             name: "My_App.tar").first)
    #expect(named.names.map(\.description) == ["localhost/my-app:v3"])
    let full = try #require(try f.importing(ArchiveBuilder.oci([TestLayer(tar: layer(["e": "f"]))], name: nil, refName: "quay.io/x/y:z")).first)
    #expect(full.names.map(\.description) == ["quay.io/x/y:z"])
}

@Test func importingTwiceUnpacksOnce() throws {
    let f = try Fixture("store-twice")
    defer { f.dir.cleanup() }
    let base = TestLayer(tar: layer(["base": "1"]))
    let first = try #require(try f.importing(ArchiveBuilder.oci([base, TestLayer(tar: layer(["a": "1"]))], name: "a:1")).first)
    #expect(first.unpackedLayers == 2)
    let inode = lstatOf(f.store.layerPath(sha(base.tar)) + "/base")?.st_ino
    var events: [ImportProgress] = []
    let again = try #require(try f.store.import(archive: f.dir.sub("image.tar")) { events.append($0) }.first)
    #expect(again.unpackedLayers == 0 && again.id == first.id)
    let layerEvents = events.filter { if case .layer = $0.item { true } else { false } }
    #expect(!layerEvents.isEmpty && layerEvents.allSatisfy { $0.alreadyPresent })
    #expect(lstatOf(f.store.layerPath(sha(base.tar)) + "/base")?.st_ino == inode, "the layer was not unpacked again")
    // Another image on the same base unpacks only its own layer.
    let other = try #require(try f.importing(ArchiveBuilder.oci([base, TestLayer(tar: layer(["b": "1"]))], name: "b:1")).first)
    #expect(other.unpackedLayers == 1)
    #expect(try f.store.list().count == 2)
    #expect(tree(f.store.root + "/layers").filter { !$0.contains("/") }.count == 3)
}

@Test func listRemoveAndGarbageCollection() throws {
    let f = try Fixture("store-gc")
    defer { f.dir.cleanup() }
    let shared = TestLayer(tar: layer(["shared": "s"]))
    let onlyA = TestLayer(tar: layer(["a": "a"]))
    let onlyB = TestLayer(tar: layer(["b": "b"]))
    let a = try #require(try f.importing(ArchiveBuilder.oci([shared, onlyA], name: "docker.io/library/a:1")).first)
    _ = try f.importing(ArchiveBuilder.dockerArchive([shared, onlyB], tags: ["b:1", "b:2"]))
    #expect(try f.store.list().map { $0.names.map(\.familiarName) } == [["a:1"], ["b:1", "b:2"]])

    try f.store.remove("a:1")
    #expect(try f.store.list().count == 1)
    #expect(lstatOf(f.store.layerPath(sha(onlyA.tar))) == nil, "a's own layer is collected")
    #expect(lstatOf(f.store.blobPath(sha(onlyA.blob))) == nil && lstatOf(f.store.blobPath(a.id)) == nil)
    #expect(lstatOf(f.store.blobPath(a.manifestDigest)) == nil)
    #expect(lstatOf(f.store.layerPath(sha(shared.tar))) != nil, "the shared layer stays for b")

    try f.store.remove("b:1")
    #expect(try f.store.list().map { $0.names.map(\.familiarName) } == [["b:2"]], "removing one name keeps the image")
    #expect(throws: ImageError.imageNotFound("b:1")) { try f.store.remove("b:1") }
    try f.store.remove("b:2")
    #expect(try f.isEmpty())
    #expect(throws: ImageError.imageNotFound("nothing")) { try f.store.remove("nothing") }
}

@Test func removeByIDAndAmbiguousPrefixes() throws {
    let f = try Fixture("store-ids")
    defer { f.dir.cleanup() }
    // Two images whose IDs start with the same hex digit.
    var ids: [Digest] = []
    var n = 0
    while ids.count < 2 {
        n += 1
        let bytes = ArchiveBuilder.oci([TestLayer(tar: layer(["f": "x"]))], name: "p:\(n)", configExtra: ["Labels": ["n": "\(n)"]])
        let id = try #require(try f.importing(bytes).first?.id)
        if ids.isEmpty || ids[0].hex.first == id.hex.first { ids.append(id) } else { try f.store.remove(id.hex) }
    }
    #expect { try f.store.resolve("sha256:" + ids[0].hex.prefix(1)) } throws: { error in
        guard let e = error as? ImageError, case .ambiguousReference = e else { return false }
        return true
    }
    try f.store.remove(ids[0].description)
    #expect(try f.store.list().map(\.id) == [ids[1]])
    try f.store.remove(String(ids[1].hex.prefix(8)))
    #expect(try f.isEmpty())
}

enum Tamper: String, CaseIterable {
    case layerBlob, configBlob, manifestBlob, diffID, dockerDiffID, dockerConfigName, truncatedLayer, layerSize
}

@Test(arguments: Tamper.allCases)
func digestMismatchLeavesNothing(tamper: Tamper) throws {
    let f = try Fixture("store-mismatch")
    defer { f.dir.cleanup() }
    let good = TestLayer(tar: layer(["etc/a": "a"]))
    let l2 = TestLayer(tar: layer(["etc/b": String(repeating: "b", count: 10_000)]))
    let cfgDigest = sha(ArchiveBuilder.config([good, l2]))
    let bytes: [UInt8]
    switch tamper {
    case .layerBlob, .configBlob, .truncatedLayer, .layerSize:
        let target = tamper == .configBlob ? cfgDigest : sha(l2.blob)
        bytes = ArchiveBuilder.oci([good, l2]) { digest, blob in
            guard digest == target else { return blob }
            switch tamper {
            case .truncatedLayer: return Array(blob.dropLast(100))
            case .layerSize: return blob + [0]
            default:
                var b = blob
                b[b.count / 2] ^= 0x01
                return b
            }
        }
    case .manifestBlob:
        bytes = ArchiveBuilder.oci([good, l2]) { digest, blob in
            blob.count < 2000 && digest != cfgDigest && String(decoding: blob, as: UTF8.self).contains("layers")
                ? Array(String(decoding: blob, as: UTF8.self).replacingOccurrences(of: "schemaVersion", with: "schemaversion").utf8)
                : blob
        }
    case .diffID:
        // The config claims a diffID the layer does not have.
        let liar = TestLayer(tar: l2.tar + [UInt8](repeating: 0, count: 512), gzip: true)
        let cfg = ArchiveBuilder.config([good, liar])
        let man = ArchiveBuilder.manifest(config: cfg, layers: [good, l2])
        let index = json(["schemaVersion": 2, "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                              "digest": sha(man).description, "size": man.count]]])
        bytes = ArchiveBuilder.layout(index: index, blobs: [cfg, man, good.blob, l2.blob])
    case .dockerDiffID:
        var archive = ArchiveBuilder.dockerArchive([good, TestLayer(tar: l2.tar, gzip: false)])
        // Flip a byte inside the second (stored, uncompressed) layer's file content.
        let needle = Array(String(repeating: "b", count: 64).utf8)
        let at = try #require(archive.firstRange(of: needle)).lowerBound
        archive[at] = UInt8(ascii: "c")
        bytes = archive
    case .dockerConfigName:
        var t = TarWriter()
        let cfg = ArchiveBuilder.config([good])
        t.add(String(repeating: "0", count: 64) + ".json", .file(cfg))
        t.add("l.tar", .file(good.blob))
        t.add("manifest.json", .file(json([["Config": String(repeating: "0", count: 64) + ".json", "Layers": ["l.tar"]]])))
        bytes = t.finish()
    }
    #expect {
        _ = try f.importing(bytes)
    } throws: { error in
        guard let e = error as? ImageError else { return false }
        switch (tamper, e) {
        case (.layerSize, .sizeMismatch), (.truncatedLayer, .sizeMismatch), (_, .digestMismatch(_, _, _)): break
        default: return false
        }
        let text = e.description
        if case let .digestMismatch(_, expected, actual) = e {
            return text.contains(expected.description) && text.contains(actual.description) && expected != actual
        }
        return true
    }
    #expect(try f.isEmpty(), "nothing partial stays in the store")
    if tamper == .layerBlob {
        let error = try? f.importing(bytes)
        _ = error
        do { _ = try f.importing(bytes) } catch {
            #expect("\(error)".contains(sha(l2.blob).description), "the message names the blob: \(error)")
        }
    }
}

@Test func failedImportKeepsExistingImages() throws {
    let f = try Fixture("store-keep")
    defer { f.dir.cleanup() }
    let base = TestLayer(tar: layer(["base": "1"]))
    let good = try #require(try f.importing(ArchiveBuilder.oci([base], name: "good:1")).first)
    let before = tree(f.store.root)
    let bad = ArchiveBuilder.oci([base, TestLayer(tar: layer(["x": "y"]))], name: "good:1") { d, b in
        d == sha(gzipStored(layer(["x": "y"]))) ? Array(b.reversed()) : b
    }
    #expect(throws: (any Error).self) { _ = try f.importing(bad, name: "bad.tar") }
    #expect(tree(f.store.root) == before)
    #expect(try f.store.resolve("good:1").id == good.id)
}

@Test func malformedArchivesAreErrors() throws {
    let f = try Fixture("store-malformed")
    defer { f.dir.cleanup() }
    let cases: [[UInt8]] = [
        Array("not a tar at all".utf8) + [UInt8](repeating: 7, count: 2000),
        { var t = TarWriter(); t.file("hello", "x"); return t.finish() }(),              // no index, no manifest.json
        { var t = TarWriter(); t.file("manifest.json", "{"); return t.finish() }(),       // bad JSON
        { var t = TarWriter(); t.file("oci-layout", "{}"); t.file("index.json", "{\"manifests\":[{\"digest\":\"sha256:x\",\"size\":1}]}"); return t.finish() }(),
        ArchiveBuilder.dockerArchive([TestLayer(tar: Array("definitely not a tar".utf8) + [UInt8](repeating: 1, count: 600), gzip: true)]),
    ]
    for bytes in cases {
        #expect(throws: ImageError.self) { _ = try f.importing(bytes) }
        #expect(try f.isEmpty())
    }
}

@Test func zstdLayersAreUnsupported() throws {
    let f = try Fixture("store-zstd")
    defer { f.dir.cleanup() }
    let l = TestLayer(tar: layer(["a": "b"]))
    let cfg = ArchiveBuilder.config([l])
    let man = json([
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg).description, "size": cfg.count],
        "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": sha(l.blob).description, "size": l.blob.count]],
    ] as [String: Any])
    let index = json(["schemaVersion": 2, "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man).description, "size": man.count]]])
    #expect { _ = try f.importing(ArchiveBuilder.layout(index: index, blobs: [cfg, man, l.blob])) } throws: { error in
        (error as? ImageError)?.description.contains("unsupported media type application/vnd.oci.image.layer.v1.tar+zstd") ?? false
    }
    // docker-archives carry no media type: the zstd magic is recognized.
    let zstd = [0x28, 0xb5, 0x2f, 0xfd] + [UInt8](repeating: 0, count: 100)
    var t = TarWriter()
    t.add(sha(cfg).hex + ".json", .file(cfg))
    t.add("l.tar", .file(zstd))
    t.add("manifest.json", .file(json([["Config": sha(cfg).hex + ".json", "Layers": ["l.tar"]]])))
    #expect { _ = try f.importing(t.finish()) } throws: { ($0 as? ImageError)?.description.contains("zstd") ?? false }
    #expect(try f.isEmpty())
}

@Test func imageIndexPicksHostPlatform() throws {
    let f = try Fixture("store-index")
    defer { f.dir.cleanup() }
    var blobs: [[UInt8]] = []
    var entries: [[String: Any]] = []
    for arch in ["arm64", "amd64", "s390x"] {
        let l = TestLayer(tar: layer(["arch": arch]))
        let cfg = ArchiveBuilder.config([l], extra: ["Labels": ["arch": arch]])
        let man = ArchiveBuilder.manifest(config: cfg, layers: [l])
        blobs += [cfg, man, l.blob]
        entries.append(["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man).description,
                        "size": man.count, "platform": ["os": "linux", "architecture": arch]])
    }
    func archive(_ entries: [[String: Any]]) -> [UInt8] {
        let nested = json(["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries] as [String: Any])
        let index = json(["schemaVersion": 2, "manifests": [[
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(nested).description, "size": nested.count,
            "annotations": ["io.containerd.image.name": "docker.io/library/multi:1"]]]] as [String: Any])
        return ArchiveBuilder.layout(index: index, blobs: blobs + [nested])
    }
    _ = try f.importing(archive(entries))
    let r = try f.store.resolve("multi:1")
    #expect(r.config.labels["arch"] == hostArchitecture())
    #expect(readString(r.layerDirectories[0] + "/arch") == hostArchitecture())
    #expect(try f.store.list().count == 1, "only the host's platform is imported")

    try f.store.remove("multi:1")
    #expect(throws: ImageError.noMatchingPlatform(wanted: "linux/\(hostArchitecture())", available: ["linux/arm64", "linux/s390x"])) {
        _ = try f.importing(archive(entries.filter { ($0["platform"] as? [String: String])?["architecture"] != hostArchitecture() }))
    }
    #expect(try f.isEmpty())
}

@Test func gzippedArchive() throws {
    let f = try Fixture("store-gzarchive")
    defer { f.dir.cleanup() }
    let bytes = gzipStored(ArchiveBuilder.dockerArchive([TestLayer(tar: layer(["z": "1"]))]))
    let image = try #require(try f.importing(bytes, name: "image.tar.gz").first)
    #expect(image.names.map(\.familiarName) == ["busybox:test"])
    #expect(tree(f.store.root + "/tmp").isEmpty)
}

@Test func whiteoutsAndOpaqueDirsThroughOverlayfs() throws {
    let f = try Fixture("store-overlay")
    defer { f.dir.cleanup() }
    var lower = TarWriter()
    lower.dir("a/")
    lower.file("a/keep", "kept")
    lower.file("a/gone", "deleted above")
    lower.dir("dir/")
    lower.file("dir/old1", "hidden")
    lower.dir("dir/sub/")
    lower.file("dir/sub/old2", "hidden")
    var upper = TarWriter()
    upper.add("a/.wh.gone", .file([]))
    upper.dir("dir/")
    upper.add("dir/.wh..wh..opq", .file([]))
    upper.file("dir/new", "new")
    let layers = [TestLayer(tar: lower.finish()), TestLayer(tar: upper.finish())]
    _ = try f.importing(ArchiveBuilder.oci(layers, name: "overlay:1"))
    let r = try f.store.resolve("overlay:1")

    let whiteout = try #require(lstatOf(r.layerDirectories[1] + "/a/gone"))
    #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0)
    #expect(readXattr(path: r.layerDirectories[1] + "/dir", name: "trusted.overlay.opaque") == Array("y".utf8))

    let mnt = f.dir.sub("mnt")
    mkdir(mnt, 0o755)
    let mounted = try run(["/bin/mount", "-t", "overlay", "overlay", "-o", "lowerdir=\(r.overlayLowerDir)", mnt])
    try #require(mounted.status == 0, "mount overlay: \(mounted.output)")
    defer { _ = try? run(["/bin/umount", mnt]) }
    #expect(readString(mnt + "/a/keep") == "kept")
    #expect(lstatOf(mnt + "/a/gone") == nil, "the whiteout hides the file")
    #expect(tree(mnt + "/dir") == ["new"], "the opaque dir hides the lower content")
}

// MARK: real archives

private let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../scripts/make-test-image").standardized.path
private let haveSkopeo = FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo")

private func makeTestImage(_ out: String, _ args: [String] = []) throws {
    let r = try run(["/usr/bin/python3", scriptPath, out] + args)
    try #require(r.status == 0, "make-test-image: \(r.output)")
}

private func checkBusybox(_ store: ImageStore, _ image: ImportedImage) throws {
    let r = try store.resolve(image.id.hex)
    #expect(r.config.cmd == ["sh"] && r.config.entrypoint == nil && r.config.workingDir == "/")
    #expect(r.config.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    let root = try #require(r.layerDirectories.first)
    #expect(lstatOf(root + "/bin/busybox").map { $0.st_mode & 0o777 } == 0o755)
    #expect(readString(root + "/etc/passwd")?.contains("app:x:1000:1000:") == true)
    let sh = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/sh")
    #expect(sh == "busybox")
    #expect(lstatOf(root + "/tmp").map { $0.st_mode & 0o7777 } == 0o1777)
    #expect(lstatOf(root + "/home/app").map { ($0.st_uid, $0.st_gid) } ?? (0, 0) == (1000, 1000))
}

@Test func makeTestImageBothFormats() throws {
    let f = try Fixture("store-busybox")
    defer { f.dir.cleanup() }
    try makeTestImage(f.dir.sub("oci.tar"))
    try makeTestImage(f.dir.sub("oci2.tar"))
    #expect(FileManager.default.contentsEqual(atPath: f.dir.sub("oci.tar"), andPath: f.dir.sub("oci2.tar")), "deterministic")
    try makeTestImage(f.dir.sub("docker.tar"), ["--format", "docker-archive", "--name", "localhost/bb:v1"])

    let oci = try #require(try f.store.import(archive: f.dir.sub("oci.tar")).first)
    #expect(oci.names.map(\.description) == ["docker.io/library/busybox:latest"])
    try checkBusybox(f.store, oci)
    let docker = try #require(try f.store.import(archive: f.dir.sub("docker.tar")).first)
    #expect(docker.names.map(\.description) == ["localhost/bb:v1"])
    #expect(docker.id == oci.id && docker.unpackedLayers == 0, "same config and layer: one image, unpacked once")
    #expect(try f.store.resolve("busybox").id == oci.id)
}

@Test(.enabled(if: haveSkopeo, "skopeo is not installed"))
func skopeoWrittenArchives() throws {
    let f = try Fixture("store-skopeo")
    defer { f.dir.cleanup() }
    try makeTestImage(f.dir.sub("oci.tar"))
    for (dest, name) in [("docker-archive:\(f.dir.sub("docker.tar")):docker.io/library/busybox:skopeo", "docker.tar"),
                         ("oci-archive:\(f.dir.sub("oci-skopeo.tar")):busybox:oci", "oci-skopeo.tar")] {
        let copy = try run(["/usr/bin/skopeo", "copy", "oci-archive:\(f.dir.sub("oci.tar"))", dest])
        try #require(copy.status == 0, "skopeo copy: \(copy.output)")
        let image = try #require(try f.store.import(archive: f.dir.sub(name)).first)
        try checkBusybox(f.store, image)
    }
    // Both copies carry the same config, so they are one image with two names.
    #expect(try f.store.resolve("busybox:skopeo").names.map(\.familiarName) == ["busybox:skopeo", "busybox:oci"])
    #expect(try f.store.resolve("busybox:oci").id == f.store.resolve("busybox:skopeo").id)
}

private let havePodman = FileManager.default.isExecutableFile(atPath: "/usr/bin/podman")

@Test(.enabled(if: havePodman, "podman is not installed"))
func podmanSavedArchives() throws {
    let f = try Fixture("store-podman")
    defer { f.dir.cleanup() }
    try makeTestImage(f.dir.sub("oci.tar"), ["--name", "localhost/pm:1"])
    // A private storage root, so the host's podman images are neither used nor touched.
    let podman = ["/usr/bin/podman", "--root", f.dir.sub("root"), "--runroot", f.dir.sub("run"), "--storage-driver", "vfs"]
    let load = try run(podman + ["load", "-i", f.dir.sub("oci.tar")])
    try #require(load.status == 0, "podman load: \(load.output)")
    for format in ["docker-archive", "oci-archive"] {
        let out = f.dir.sub("\(format).tar")
        let save = try run(podman + ["save", "--format", format, "-o", out, "localhost/pm:1"])
        try #require(save.status == 0, "podman save: \(save.output)")
        let image = try #require(try f.store.import(archive: out).first)
        #expect(image.names.map(\.description) == ["localhost/pm:1"], "\(format)")
        try checkBusybox(f.store, image)
    }
}
