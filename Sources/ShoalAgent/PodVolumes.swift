import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// A volume that could not be set up; the message is what the kubelet's FailedMount event says.
struct VolumeError: Error, CustomStringConvertible {
    var volume: String
    var detail: String
    var description: String { "MountVolume.SetUp failed for volume \"\(volume)\" : \(detail)" }
}

/// The pod's volumes on the host: emptyDirs under the pod directory (a tmpfs for
/// `medium: Memory`), hostPaths checked against their `type` as the kubelet checks them.
enum PodVolumes {
    static func directory(_ podDir: String, _ name: String) -> String { podDir + "/volumes/" + name }

    /// Sets up every volume (idempotent: an already mounted tmpfs is kept, so its contents
    /// survive container restarts) and returns each volume's host path.
    static func setUp(_ pod: Pod, podDir: String, config: ConfigObjects? = nil) throws(VolumeError) -> [String: (path: String, isDirectory: Bool)] {
        var out: [String: (path: String, isDirectory: Bool)] = [:]
        for v in pod.spec.volumes ?? [] {
            if let empty = v.emptyDir {
                let dir = directory(podDir, v.name)
                do {
                    try FileSystem.createDirectory(dir, mode: 0o777)
                    if empty.medium == .memory && !HostMounts.mountPoints(under: dir).contains(dir) {
                        var options = "mode=0777"
                        if let size = empty.sizeLimit ?? podMemoryLimit(pod) { options += ",size=\(size.value())" }
                        try HostMounts.mountTmpfs(at: dir, options: options)
                    }
                } catch {
                    throw VolumeError(volume: v.name, detail: "\(error)")
                }
                out[v.name] = (dir, true)
            } else if let hostPath = v.hostPath {
                out[v.name] = (hostPath.path, try checkHostPath(v.name, hostPath))
            } else if let source = v.persistentVolumeClaim, let config {
                out[v.name] = (try NodeStorage.path(of: source, volume: v.name, config), true)
            } else if let files = try ConfigVolumes.files(v, config, pod: pod) {
                let dir = directory(podDir, v.name)
                try ConfigVolumes.write(files, into: dir, secret: v.configMap == nil)
                out[v.name] = (dir, true)
            } else {
                let kind = v.sourceNames.first ?? "unknown"
                throw VolumeError(volume: v.name, detail: "volume type \(kind) is not available to a standalone agent (it needs the API server)")
            }
        }
        return out
    }

    /// The kubelet's hostPath type checks (pkg/volume/hostpath): create for *OrCreate, verify otherwise.
    static func checkHostPath(_ name: String, _ source: HostPathVolumeSource) throws(VolumeError) -> Bool {
        let path = source.path
        let type = source.type ?? .unset
        func fail(_ what: String) -> VolumeError { VolumeError(volume: name, detail: "hostPath type check failed: \(path) is not \(what)") }
        var kind = FileSystem.fileType(path)
        switch type {
        case .directoryOrCreate:
            if kind == nil {
                do { try FileSystem.createDirectory(path, mode: 0o755) } catch { throw VolumeError(volume: name, detail: "\(error)") }
                kind = S_IFDIR
            }
            guard kind == S_IFDIR else { throw fail("a directory") }
        case .directory:
            guard kind == S_IFDIR else { throw fail("a directory") }
        case .fileOrCreate:
            if kind == nil {
                do {
                    try FileSystem.createDirectory(FileSystem.dirname(path))
                    let fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT, mode: 0o644)
                    fd.close()
                } catch {
                    throw VolumeError(volume: name, detail: "\(error)")
                }
                kind = S_IFREG
            }
            guard kind == S_IFREG else { throw fail("a file") }
        case .file:
            guard kind == S_IFREG else { throw fail("a file") }
        case .socket:
            guard kind == S_IFSOCK else { throw fail("a socket file") }
        case .charDevice:
            guard kind == S_IFCHR else { throw fail("a character device") }
        case .blockDevice:
            guard kind == S_IFBLK else { throw fail("a block device") }
        default:
            // "": no checks; a missing path is created as a directory when mounted (the
            // kubelet leaves that to the runtime, and runc creates it).
            if kind == nil {
                do { try FileSystem.createDirectory(path, mode: 0o755) } catch { throw VolumeError(volume: name, detail: "\(error)") }
                kind = S_IFDIR
            }
        }
        return kind == S_IFDIR
    }

    /// The sum of the containers' memory limits when every container has one (the kubelet sizes
    /// a Memory emptyDir without sizeLimit by the pod's limit).
    static func podMemoryLimit(_ pod: Pod) -> Quantity? {
        var total: Int64 = 0
        for c in pod.spec.containers {
            guard let limit = c.resources?.limits?["memory"] else { return nil }
            total += limit.value()
        }
        return total > 0 ? Quantity(integer: total, format: .binarySI) : nil
    }

    /// Unmounts tmpfs volumes and removes the pod's emptyDirs (hostPaths are the host's).
    static func tearDown(podDir: String) throws {
        for mountPoint in HostMounts.mountPoints(under: podDir + "/volumes") { try HostMounts.unmount(mountPoint) }
        try FileSystem.removeTree(podDir + "/volumes")
    }
}
