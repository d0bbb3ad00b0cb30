import Foundation
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// configMap, secret, downwardAPI and projected volumes, written as the kubelet's AtomicWriter writes them: the files
/// in a timestamped directory, `..data` a symlink to it, each top-level name a symlink
/// through `..data`. An update writes a new directory and swaps `..data` with one rename, so
/// a reader sees the old files or the new ones, never a mix. (A subPath mount pins one file
/// and does not follow.) Secret volumes are tmpfs, so their contents never touch the disk.
enum ConfigVolumes {
    typealias Files = [String: ([UInt8], Int32)]

    /// The files a configMap, secret, downwardAPI or projected volume holds (relative path →
    /// bytes and mode); nil for other kinds of volume. A missing optional object gives none.
    static func files(_ v: Volume, _ config: ConfigObjects?, pod: Pod) throws(VolumeError) -> Files? {
        if let c = v.configMap {
            return try objectFiles(v.name, "configmap", c.name ?? "", c.items, c.defaultMode ?? 0o644, c.optional == true, config)
        }
        if let s = v.secret {
            return try objectFiles(v.name, "secret", s.secretName ?? "", s.items, s.defaultMode ?? 0o644, s.optional == true, config)
        }
        if let d = v.downwardAPI { return try downwardFiles(v.name, d.items ?? [], d.defaultMode ?? 0o644, pod) }
        guard let p = v.projected else { return nil }
        let mode = p.defaultMode ?? 0o644
        var out: Files = [:]
        for source in p.sources ?? [] {
            var part: Files
            if let c = source.configMap {
                part = try objectFiles(v.name, "configmap", c.name ?? "", c.items, mode, c.optional == true, config)
            } else if let s = source.secret {
                part = try objectFiles(v.name, "secret", s.name ?? "", s.items, mode, s.optional == true, config)
            } else if let d = source.downwardAPI {
                part = try downwardFiles(v.name, d.items ?? [], mode, pod)
            } else {
                throw VolumeError(volume: v.name, detail: "projected volume source not supported (Shoal has no service account tokens or trust bundles)")
            }
            out.merge(part) { _, new in new }
        }
        return out
    }

    static func objectFiles(_ volume: String, _ kind: String, _ name: String, _ items: [KeyToPath]?, _ mode: Int32, _ optional: Bool,
                            _ config: ConfigObjects?) throws(VolumeError) -> Files {
        let contents = kind == "configmap" ? config?.configMaps[name]?.contents : config?.secrets[name]?.contents
        guard let contents else {
            if optional { return [:] }
            throw VolumeError(volume: volume, detail: config == nil ? "\(kind) \"\(name)\" not found (a standalone agent has no ConfigMaps or Secrets)"
                                                                    : "\(kind) \"\(name)\" not found")
        }
        var out: Files = [:]
        if let items {
            for item in items {
                guard let value = contents[item.key] else {
                    if optional { continue }
                    throw VolumeError(volume: volume, detail: "\(kind) references non-existent \(kind == "configmap" ? "config" : "secret") key: \(item.key)")
                }
                out[item.path] = (value, item.mode ?? mode)
            }
        } else {
            for (k, value) in contents { out[k] = (value, mode) }
        }
        return out
    }

    /// The pod's own fields as files, as the downward API writes them (maps as `key="value"`
    /// lines, sorted).
    static func downwardFiles(_ volume: String, _ items: [DownwardAPIVolumeFile], _ mode: Int32, _ pod: Pod) throws(VolumeError) -> Files {
        func lines(_ m: [String: String]?) -> String {
            (m ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
        }
        var out: Files = [:]
        for item in items {
            var value: String
            if let path = item.fieldRef?.fieldPath {
                switch path {
                case "metadata.name": value = pod.metadata.name ?? ""
                case "metadata.namespace": value = pod.metadata.namespace ?? "default"
                case "metadata.uid": value = pod.metadata.uid ?? ""
                case "metadata.labels": value = lines(pod.metadata.labels)
                case "metadata.annotations": value = lines(pod.metadata.annotations)
                default:
                    if let key = ContainerConfigurator.mapKey(path, prefix: "metadata.labels") {
                        value = pod.metadata.labels?[key] ?? ""
                    } else if let key = ContainerConfigurator.mapKey(path, prefix: "metadata.annotations") {
                        value = pod.metadata.annotations?[key] ?? ""
                    } else {
                        throw VolumeError(volume: volume, detail: "unsupported downward API field path \"\(path)\"")
                    }
                }
            } else if let ref = item.resourceFieldRef {
                guard let c = pod.spec.containers.first(where: { $0.name == (ref.containerName ?? "") }) else {
                    throw VolumeError(volume: volume, detail: "resourceFieldRef names no container of the pod: \"\(ref.containerName ?? "")\"")
                }
                value = ContainerConfigurator.resourceValue(ref.resource, divisor: ref.divisor, c)
            } else {
                continue
            }
            out[item.path] = (Array(value.utf8), item.mode ?? mode)
        }
        return out
    }

    /// Writes `files` into `dir` (made, and with `secret` mounted as tmpfs, if new); returns
    /// false when the volume already held exactly these files.
    @discardableResult
    static func write(_ files: [String: ([UInt8], Int32)], into dir: String, secret: Bool) throws(VolumeError) -> Bool {
        let name = FileSystem.basename(dir)
        do {
            try FileSystem.createDirectory(dir, mode: 0o755)
            if secret && !HostMounts.mountPoints(under: dir).contains(dir) { try HostMounts.mountTmpfs(at: dir, options: "mode=0755") }
            if current(dir) == files.mapValues(\.0) { return false }
            let stamp = String(format: "..%@.%09d", timestamp(), Int.random(in: 0..<1_000_000_000))
            let staging = dir + "/" + stamp
            try FileSystem.createDirectory(staging, mode: 0o755)
            for (path, (bytes, mode)) in files {
                let target = staging + "/" + path
                try FileSystem.createDirectory(FileSystem.dirname(target), mode: 0o755)
                try FileSystem.writeAtomically(target, bytes, mode: mode_t(mode))
                chmod(target, mode_t(mode))
            }
            // The swap: a new ..data link renamed over the old one.
            let old = (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/..data"))
            unlink(dir + "/..data_tmp")
            try sysCall("symlink", path: dir) { symlink(stamp, dir + "/..data_tmp") }
            try sysCall("rename", path: dir) { rename(dir + "/..data_tmp", dir + "/..data") }
            let tops = Set(files.keys.map { String($0.split(separator: "/").first ?? "") })
            for top in tops where (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + top)) == nil {
                try sysCall("symlink", path: dir) { symlink("..data/" + top, dir + "/" + top) }
            }
            for entry in try FileSystem.listDirectory(dir) where !entry.hasPrefix("..") && !tops.contains(entry) { unlink(dir + "/" + entry) }
            if let old, old != stamp { try? FileSystem.removeTree(dir + "/" + old) }
            return true
        } catch let e as VolumeError {
            throw e
        } catch {
            throw VolumeError(volume: name, detail: "\(error)")
        }
    }

    /// What the volume shows now, through ..data.
    static func current(_ dir: String) -> [String: [UInt8]]? {
        guard let stamp = try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/..data") else { return nil }
        let base = dir + "/" + stamp
        var out: [String: [UInt8]] = [:]
        guard let walker = FileManager.default.enumerator(atPath: base) else { return nil }
        while let rel = walker.nextObject() as? String {
            if FileSystem.isDirectory(base + "/" + rel) { continue }
            out[rel] = try? FileSystem.read(base + "/" + rel)
        }
        return out
    }

    static func timestamp() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d_%02d_%02d_%02d_%02d_%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
    }
}

/// The ConfigMaps and Secrets the master has, kept by a watch (none for a standalone agent).
final class ConfigCache: Sendable {
    private struct State {
        var enabled = false
        var configMaps: [String: ConfigMap] = [:]
        var secrets: [String: Secret] = [:]
        var claims: [String: PersistentVolumeClaim] = [:]
        var volumes: [String: PersistentVolume] = [:]
    }
    private let state = Locked(State())
    private let listeners = Locked<[@Sendable () -> Void]>([])

    func enable() { state.withLock { $0.enabled = true } }

    func setConfigMaps(_ list: [ConfigMap]) {
        state.withLock { $0.configMaps = Dictionary(list.map { (Self.key($0.metadata), $0) }) { a, _ in a } }
        for l in listeners.current { l() }
    }

    func setSecrets(_ list: [Secret]) {
        state.withLock { $0.secrets = Dictionary(list.map { (Self.key($0.metadata), $0) }) { a, _ in a } }
        for l in listeners.current { l() }
    }

    func setClaims(_ list: [PersistentVolumeClaim]) {
        state.withLock { $0.claims = Dictionary(list.map { (Self.key($0.metadata), $0) }) { a, _ in a } }
        for l in listeners.current { l() }
    }

    func setVolumes(_ list: [PersistentVolume]) {
        state.withLock { $0.volumes = Dictionary(list.map { ($0.metadata.name ?? "", $0) }) { a, _ in a } }
        for l in listeners.current { l() }
    }

    func onChange(_ l: @escaping @Sendable () -> Void) { listeners.withLock { $0.append(l) } }

    /// The namespace's objects by name; nil when the agent has no master.
    func objects(namespace: String) -> ConfigObjects? {
        state.withLock { s in
            guard s.enabled else { return nil }
            let prefix = namespace + "/"
            var out = ConfigObjects()
            for (k, v) in s.configMaps where k.hasPrefix(prefix) { out.configMaps[String(k.dropFirst(prefix.count))] = v }
            for (k, v) in s.secrets where k.hasPrefix(prefix) { out.secrets[String(k.dropFirst(prefix.count))] = v }
            for (k, v) in s.claims where k.hasPrefix(prefix) { out.persistentVolumeClaims[String(k.dropFirst(prefix.count))] = v }
            out.persistentVolumes = s.volumes
            return out
        }
    }

    static func key(_ m: ObjectMeta) -> String { "\(m.namespace ?? "default")/\(m.name ?? "")" }
}
