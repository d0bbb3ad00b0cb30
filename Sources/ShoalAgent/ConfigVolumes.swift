import Foundation
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// configMap and secret volumes, written as the kubelet's AtomicWriter writes them: the files
/// in a timestamped directory, `..data` a symlink to it, each top-level name a symlink
/// through `..data`. An update writes a new directory and swaps `..data` with one rename, so
/// a reader sees the old files or the new ones, never a mix. (A subPath mount pins one file
/// and does not follow.) Secret volumes are tmpfs, so their contents never touch the disk.
enum ConfigVolumes {
    /// The files a volume holds (relative path → bytes and mode), or nil when its object is
    /// missing and optional (an empty volume).
    static func files(_ v: Volume, _ config: ConfigObjects?, namespace: String) throws(VolumeError) -> [String: ([UInt8], Int32)]? {
        let (kind, name, items, defaultMode, optional): (String, String, [KeyToPath]?, Int32?, Bool)
        if let c = v.configMap {
            (kind, name, items, defaultMode, optional) = ("configmap", c.name ?? "", c.items, c.defaultMode, c.optional == true)
        } else if let s = v.secret {
            (kind, name, items, defaultMode, optional) = ("secret", s.secretName ?? "", s.items, s.defaultMode, s.optional == true)
        } else {
            return nil
        }
        let contents = kind == "configmap" ? config?.configMaps[name]?.contents : config?.secrets[name]?.contents
        guard let contents else {
            if optional { return [:] }
            throw VolumeError(volume: v.name, detail: config == nil ? "\(kind) \"\(name)\" not found (a standalone agent has no ConfigMaps or Secrets)"
                                                                      : "\(kind) \"\(name)\" not found")
        }
        let mode = defaultMode ?? 0o644
        var out: [String: ([UInt8], Int32)] = [:]
        if let items {
            for item in items {
                guard let value = contents[item.key] else {
                    if optional { continue }
                    throw VolumeError(volume: v.name, detail: "\(kind) references non-existent \(kind == "configmap" ? "config" : "secret") key: \(item.key)")
                }
                out[item.path] = (value, item.mode ?? mode)
            }
        } else {
            for (k, value) in contents { out[k] = (value, mode) }
        }
        return out
    }

    /// Writes `files` into `dir` (made, and for secrets mounted as tmpfs, if new); returns
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
    private let state = Locked<(enabled: Bool, configMaps: [String: ConfigMap], secrets: [String: Secret])>((false, [:], [:]))
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

    func onChange(_ l: @escaping @Sendable () -> Void) { listeners.withLock { $0.append(l) } }

    /// The namespace's objects by name; nil when the agent has no master.
    func objects(namespace: String) -> ConfigObjects? {
        state.withLock { s in
            guard s.enabled else { return nil }
            let prefix = namespace + "/"
            var out = ConfigObjects()
            for (k, v) in s.configMaps where k.hasPrefix(prefix) { out.configMaps[String(k.dropFirst(prefix.count))] = v }
            for (k, v) in s.secrets where k.hasPrefix(prefix) { out.secrets[String(k.dropFirst(prefix.count))] = v }
            return out
        }
    }

    static func key(_ m: ObjectMeta) -> String { "\(m.namespace ?? "default")/\(m.name ?? "")" }
}
