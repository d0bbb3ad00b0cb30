import Crypto
import Foundation
import Logging
import ShoalAPI
import ShoalOS

/// A manifest file that could not be turned into pods, with one message per problem, each
/// naming the file and the field path (`pod.yaml: spec.containers[1].volumeMounts[0].name: Not found: "data"`).
public struct ManifestError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var file: String
    public var messages: [String]
    public var description: String { messages.map { "\(file): \($0)" }.joined(separator: "\n") }
}

/// Static pods from a directory, like the kubelet's file source: every `*.yaml`, `*.yml` and
/// `*.json` file, several documents per file. Changes arrive through inotify; each change
/// hands the complete desired set to the agent. Only files that changed are read again.
///
/// A file counts as changed when a writer closes it or it is renamed in or out (what editors
/// and `kubectl`-style tools do), never on a bare write, so a half-written file is not read.
/// The image store's index is watched too: a manifest rejected for a missing image is taken
/// up as soon as `shoal image import` brings it.
final class ManifestSource: @unchecked Sendable {
    let directory: String
    let nodeName: String
    let images: ImageResolver
    let logger: Logger
    private let inotify: Inotify
    private var task: Task<Void, Never>?
    let errors = Locked<[ManifestError]>([])
    /// Parsed files by name, with the stat identity they were parsed from (used by the single
    /// loop of `run` only).
    private var parsed: [String: (stamp: [Int], result: Result<[Pod], ManifestError>)] = [:]
    private let imageIndexWatch: Int32?

    static let changeEvents = Inotify.closeWrite | Inotify.movedTo | Inotify.movedFrom | Inotify.delete | Inotify.create

    init(directory: String, nodeName: String, images: ImageResolver, imageIndexDirectory: String? = nil, logger: Logger) throws {
        self.directory = directory
        self.nodeName = nodeName
        self.images = images
        self.logger = logger
        let inotify = try Inotify()
        try inotify.watch(directory, ManifestSource.changeEvents)
        imageIndexWatch = try imageIndexDirectory.map { try inotify.watch($0, Inotify.movedTo | Inotify.closeWrite) }
        self.inotify = inotify
    }

    /// Delivers the desired pods now and after every change, until cancelled.
    func run(_ deliver: @escaping @Sendable ([Pod]) async -> Void) {
        task = Task { [self] in
            await deliver(load())
            while !Task.isCancelled {
                let events = await inotify.next()
                if Task.isCancelled { return }
                if events.contains(where: { $0.watch == imageIndexWatch && $0.name == "images.json" }) {
                    // Image checks are part of each file's result: all of them may change.
                    parsed = [:]
                } else if !events.contains(where: isManifestChange) {
                    continue
                }
                await deliver(load())
            }
        }
    }

    /// A file written and closed, renamed in or out, removed, or a symlink made.
    private func isManifestChange(_ e: Inotify.Event) -> Bool {
        guard e.watch != imageIndexWatch, ManifestSource.isManifestName(e.name) else { return false }
        if e.mask & Inotify.create != 0 { return FileSystem.fileType(directory + "/" + e.name) == S_IFLNK }
        return true
    }

    static func isManifestName(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json"))
    }

    func stop() { task?.cancel() }

    /// One file's pods, parsed again only when the file is not the one parsed last time.
    private func cachedPods(_ file: String) -> Result<[Pod], ManifestError> {
        let path = directory + "/" + file
        var st = stat()
        let stamp = stat(path, &st) == 0
            ? [Int(st.st_dev), Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)] : []
        if let hit = parsed[file], hit.stamp == stamp, !stamp.isEmpty { return hit.result }
        let result = ManifestSource.pods(inFile: path, nodeName: nodeName, images: images)
        parsed[file] = (stamp, result)
        return result
    }

    func load() -> [Pod] {
        var pods: [Pod] = []
        var problems: [ManifestError] = []
        var seen: [String: String] = [:]  // namespace/name → file
        let files = ((try? FileSystem.listDirectory(directory)) ?? []).filter(ManifestSource.isManifestName).sorted()
        for gone in parsed.keys where !files.contains(gone) { parsed[gone] = nil }
        for file in files {
            switch cachedPods(file) {
            case let .failure(error):
                problems.append(error)
            case let .success(found):
                var fileProblems: [String] = []
                for pod in found {
                    let key = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
                    if let other = seen[key] {
                        fileProblems.append("metadata.name: Duplicate value: \"\(pod.metadata.name ?? "")\": pod \(key) is already defined in \(other)")
                        continue
                    }
                    seen[key] = file
                    pods.append(pod)
                }
                if !fileProblems.isEmpty { problems.append(ManifestError(file: file, messages: fileProblems)) }
            }
        }
        for p in problems { logger.error("invalid manifest", metadata: ["file": "\(p.file)", "errors": "\(p.messages.joined(separator: "; "))"]) }
        errors.withLock { $0 = problems }
        return pods
    }

    /// Decodes, defaults, validates and names every pod of one file. Any invalid document
    /// rejects the whole file, so a half-valid file never starts half of its pods.
    static func pods(inFile path: String, nodeName: String, images: ImageResolver) -> Result<[Pod], ManifestError> {
        let file = FileSystem.basename(path)
        let text: String
        do {
            text = try FileSystem.readString(path)
        } catch {
            return .failure(ManifestError(file: file, messages: ["\(error)"]))
        }
        let decoded: [Result<Pod, ManifestDecodingError>]
        do {
            decoded = try PodManifest.decodeDocuments(text)
        } catch {
            return .failure(ManifestError(file: file, messages: error.messages))
        }
        var messages: [String] = []
        var pods: [Pod] = []
        for (index, result) in decoded.enumerated() {
            let prefix = decoded.count > 1 ? "document \(index): " : ""
            let raw: Pod
            switch result {
            case .success(let pod):
                raw = pod
            case .failure(let error):
                // Type errors and unknown fields: validating the rest would only add noise.
                messages += error.messages.map { "\(prefix)\($0)" }
                continue
            }
            var pod = PodManifest.withDefaults(raw)
            var errors = PodManifest.validate(pod).map { "\(prefix)\($0)" }
            // An empty image is already "Required value".
            for (i, c) in pod.spec.containers.enumerated() where !(c.image ?? "").isEmpty && !images.contains(c.image ?? "") {
                errors.append("\(prefix)spec.containers[\(i)].image: Not found: \"\(c.image ?? "")\" (not in the image store; import it with `shoal image import`)")
            }
            for (i, c) in (pod.spec.initContainers ?? []).enumerated() where !(c.image ?? "").isEmpty && !images.contains(c.image ?? "") {
                errors.append("\(prefix)spec.initContainers[\(i)].image: Not found: \"\(c.image ?? "")\" (not in the image store; import it with `shoal image import`)")
            }
            if !errors.isEmpty {
                messages += errors
                continue
            }
            pod.metadata.uid = staticPodUID(path: path, index: index, pod: pod)
            pod.spec.nodeName = nodeName
            var annotations = pod.metadata.annotations ?? [:]
            annotations["kubernetes.io/config.source"] = "file"
            annotations["kubernetes.io/config.hash"] = pod.metadata.uid
            pod.metadata.annotations = annotations
            pods.append(pod)
        }
        return messages.isEmpty ? .success(pods) : .failure(ManifestError(file: file, messages: messages))
    }

    /// Static pods have no API server to name them; like the kubelet, the UID is a hash of the
    /// pod and where it came from, so an edited manifest is a new pod and an unchanged one
    /// keeps its identity across agent restarts.
    static func staticPodUID(path: String, index: Int, pod: Pod) -> String {
        let body = (try? JSONCoding.encode(pod)) ?? []
        var hasher = SHA256()
        hasher.update(data: Array("\(path)\n\(index)\n".utf8))
        hasher.update(data: body)
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let h = Array(hex)
        return "\(String(h[0..<8]))-\(String(h[8..<12]))-\(String(h[12..<16]))-\(String(h[16..<20]))-\(String(h[20..<32]))"
    }
}
