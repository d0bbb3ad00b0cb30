import Foundation

/// Media types the importer knows. Docker's v2 schema 2 types are the OCI ones under other names.
enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    static func isIndex(_ t: String?) -> Bool { t == ociIndex || t == dockerManifestList }
    static func isManifest(_ t: String?) -> Bool { t == ociManifest || t == dockerManifest }

    /// How a layer blob is compressed, from its media type (non-distributable and foreign
    /// variants included). Throws for zstd and anything unknown.
    static func layerCompression(_ t: String, blob: String) throws(ImageError) -> Compression {
        switch t {
        case ociLayer, "application/vnd.oci.image.layer.nondistributable.v1.tar",
             "application/vnd.docker.image.rootfs.diff.tar":
            return .none
        case ociLayerGzip, dockerLayerGzip, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            return .gzip
        default:
            throw .unsupportedMediaType(t, blob: blob)
        }
    }
}

enum Compression: Sendable {
    case none, gzip

    /// Sniffs the first bytes of a blob, for docker-archives whose layers carry no media type.
    static func sniff(_ head: [UInt8], blob: String) throws(ImageError) -> Compression {
        if head.starts(with: [0x1f, 0x8b]) { return .gzip }
        if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            throw .unsupportedMediaType("zstd-compressed layer", blob: blob)
        }
        if head.starts(with: [0x42, 0x5a, 0x68]) || head.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a]) {
            throw .unsupportedMediaType("bzip2/xz-compressed layer", blob: blob)
        }
        return .none
    }
}

struct Platform: Codable, Hashable {
    var architecture: String
    var os: String
    var variant: String?

    var description: String { os + "/" + architecture + (variant.map { "/" + $0 } ?? "") }
}

struct Descriptor: Codable {
    var mediaType: String?
    var digest: Digest
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?
}

/// An OCI image index or Docker manifest list (index.json is one too).
struct ImageIndex: Codable {
    var schemaVersion: Int?
    var mediaType: String?
    var manifests: [Descriptor]
}

struct ImageManifest: Codable {
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
    var annotations: [String: String]?
}

/// One entry of a docker-archive's manifest.json.
struct DockerArchiveEntry: Codable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

/// The image config blob. Field names are Docker's, which the OCI spec kept.
struct OCIImageConfigFile: Codable {
    var architecture: String?
    var os: String?
    var variant: String?
    var created: String?
    var config: Container?
    var rootfs: RootFS?

    struct Container: Codable {
        var User: String?
        var ExposedPorts: [String: AnyJSON]?
        var Env: [String]?
        var Entrypoint: [String]?
        var Cmd: [String]?
        var Volumes: [String: AnyJSON]?
        var WorkingDir: String?
        var Labels: [String: String]?
        var StopSignal: String?
    }

    struct RootFS: Codable {
        var type: String
        var diff_ids: [Digest]
    }
}

/// Stands for a JSON value we skip (the `{}` of ExposedPorts and Volumes).
struct AnyJSON: Codable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: NoKeys.self)
    }
    private enum NoKeys: CodingKey {}
}

func decodeJSON<T: Decodable>(_ type: T.Type, from data: [UInt8], what: String) throws(ImageError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(data))
    } catch let error as DecodingError {
        throw .invalidJSON(what: what, reason: describe(error))
    } catch let error as ImageError {
        throw error
    } catch {
        throw .invalidJSON(what: what, reason: "\(error)")
    }
}

/// DecodingError's own description is a wall of Swift types; this names the field that failed.
private func describe(_ error: DecodingError) -> String {
    func path(_ ctx: DecodingError.Context) -> String {
        let p = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        return p.isEmpty ? "" : " at \(p)"
    }
    switch error {
    case let .keyNotFound(key, ctx): return "missing field \"\(key.stringValue)\"\(path(ctx))"
    case let .typeMismatch(_, ctx): return "wrong type\(path(ctx)): \(ctx.debugDescription.lowercased())"
    case let .valueNotFound(_, ctx): return "null value\(path(ctx))"
    case let .dataCorrupted(ctx):
        if let underlying = ctx.underlyingError as? ImageError { return underlying.description + path(ctx) }
        return "\(ctx.debugDescription.lowercased())\(path(ctx))"
    @unknown default: return "\(error)"
    }
}

func encodeJSON<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Our own types always encode: a failure here is a programming error, reported as empty JSON.
    return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
}
