import Logging
import ShoalAPI
import ShoalOS
import ShoalRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The node's side of PersistentVolumes: a claim's volume as a directory of this node, and the
/// directories of volumes the local-path provisioner made here, removed once their
/// PersistentVolume is gone (its claim deleted under the Delete policy).
enum NodeStorage {
    static func root(dataDir: String) -> String { dataDir + "/storage" }

    /// The directory a claim's bound volume is, checked as the kubelet checks a hostPath (a
    /// provisioned one is DirectoryOrCreate, so it is made on first use).
    static func path(of source: PersistentVolumeClaimVolumeSource, volume: String, _ config: ConfigObjects) throws(VolumeError) -> String {
        guard let claim = config.persistentVolumeClaims[source.claimName] else {
            throw VolumeError(volume: volume, detail: "persistentvolumeclaim \"\(source.claimName)\" not found")
        }
        guard claim.status?.phase == "Bound", let name = claim.spec.volumeName, let pv = config.persistentVolumes[name] else {
            throw VolumeError(volume: volume, detail: "persistentvolumeclaim \"\(source.claimName)\" is not bound")
        }
        if let hostPath = pv.spec.hostPath {
            // As k3s's provisioner: a made volume is open to any user the pod runs as.
            if pv.metadata.annotations?["pv.kubernetes.io/provisioned-by"] == "shoal.io/local-path", !FileSystem.exists(hostPath.path) {
                do {
                    try FileSystem.createDirectory(hostPath.path, mode: 0o777)
                    chmod(hostPath.path, 0o777)
                } catch {
                    throw VolumeError(volume: volume, detail: "persistentvolume \(name): \(error)")
                }
            }
            guard try PodVolumes.checkHostPath(volume, hostPath) else {
                throw VolumeError(volume: volume, detail: "persistentvolume \(name): \(hostPath.path) is not a directory")
            }
            return hostPath.path
        }
        guard let local = pv.spec.local, FileSystem.isDirectory(local.path) else {
            throw VolumeError(volume: volume, detail: "persistentvolume \(name): local path \(pv.path ?? "") is not a directory on this node")
        }
        return local.path
    }

    /// Removes the provisioned directories under `root` (named `pvc-…`) that no PersistentVolume
    /// names any more. Runs on each full list of volumes, so a deletion missed while the agent
    /// was down is caught up.
    static func collect(root: String, keeping volumes: [PersistentVolume], logger: Logger) {
        guard let entries = try? FileSystem.listDirectory(root) else { return }
        let kept = Set(volumes.compactMap(\.path))
        for entry in entries where entry.hasPrefix("pvc-") && !kept.contains(root + "/" + entry) {
            do {
                try FileSystem.removeTree(root + "/" + entry)
                logger.info("removed the directory of a deleted volume", metadata: ["path": "\(root)/\(entry)"])
            } catch {
                logger.warning("could not remove a deleted volume's directory", metadata: ["path": "\(root)/\(entry)", "error": "\(error)"])
            }
        }
    }
}
