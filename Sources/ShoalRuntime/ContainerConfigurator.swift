import ShoalAPI
import ShoalImage
import ShoalOS

/// What the runtime needs of an image: its unpacked layers and its config's defaults.
public struct ImageInfo: Sendable, Equatable {
    public var reference: String
    /// `sha256:…` of the config, as `imageID` shows it.
    public var id: String
    /// Layer directories, bottom → top.
    public var layers: [String]
    public var config: ImageConfig

    public init(reference: String, id: String, layers: [String], config: ImageConfig) {
        self.reference = reference
        self.id = id
        self.layers = layers
        self.config = config
    }
}

/// A container that cannot be started as specified, with the kubelet's reason string
/// (`CreateContainerConfigError`, `CreateContainerError`) and a message naming the cause.
public struct ContainerConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public var message: String
    public var description: String { message }

    public static func config(_ message: String) -> ContainerConfigError { .init(reason: "CreateContainerConfigError", message: message) }
    public static func create(_ message: String) -> ContainerConfigError { .init(reason: "CreateContainerError", message: message) }
}

/// The pod-level facts a container's configuration draws on.
public struct PodContext: Sendable {
    public var pod: Pod
    public var nodeName: String
    public var hostIP: String
    public var podIP: String
    /// Host paths of the pod's volumes by name, and whether each is a directory.
    public var volumes: [String: (path: String, isDirectory: Bool)]
    public var hostsFile: String
    public var hostnameFile: String
    public var resolvConf: String
    public var sharedMemory: String?
    /// The ConfigMaps and Secrets of the pod's namespace, by name; nil for a standalone agent.
    public var config: ConfigObjects?

    public init(pod: Pod, nodeName: String, hostIP: String, podIP: String, volumes: [String: (path: String, isDirectory: Bool)],
                hostsFile: String, hostnameFile: String, resolvConf: String, sharedMemory: String?, config: ConfigObjects? = nil) {
        self.config = config
        self.pod = pod
        self.nodeName = nodeName
        self.hostIP = hostIP
        self.podIP = podIP
        self.volumes = volumes
        self.hostsFile = hostsFile
        self.hostnameFile = hostnameFile
        self.resolvConf = resolvConf
        self.sharedMemory = sharedMemory
    }
}

/// Turns one Kubernetes container into a `ContainerLaunch`, the way the kubelet and containerd
/// together would: image defaults, env with field references, user and groups, capabilities,
/// seccomp, mounts.
public struct ContainerConfigurator: Sendable {
    /// The agent's default when a pod sets no profile (the kubelet's `seccompDefault: true`).
    public var defaultSeccomp: SeccompPolicy = .runtimeDefault
    public var seccompProfileRoot: String

    public init(seccompProfileRoot: String) { self.seccompProfileRoot = seccompProfileRoot }

    /// - Parameters:
    ///   - fieldPath: where the container sits in the pod (`spec.containers[1]`), for messages.
    ///   - rootfs: the container instance's upper/work/mountpoint directories.
    ///   - terminationLog: the host file bound at `terminationMessagePath`.
    public func launch(container c: Container, fieldPath: String, image: ImageInfo, context: PodContext,
                       rootfs: (upper: String, work: String, mountpoint: String), terminationLog: String?) throws(ContainerConfigError) -> ContainerLaunch {
        let argv = try processArgs(c, image)
        let env = try environment(c, image, context)
        let identity = try self.identity(c, image, context)
        let security = try self.security(c, context, fieldPath: fieldPath)
        var mounts: [ContainerLaunch.Mount] = []
        for (i, vm) in (c.volumeMounts ?? []).enumerated() {
            guard let volume = context.volumes[vm.name] else {
                throw .config("\(fieldPath).volumeMounts[\(i)].name: volume \"\(vm.name)\" is not ready")
            }
            var source = volume.path
            var isDirectory = volume.isDirectory
            if let sub = vm.subPath, !sub.isEmpty {
                let resolved = try subPath(base: volume.path, sub, field: "\(fieldPath).volumeMounts[\(i)].subPath")
                source = resolved.path
                isDirectory = resolved.isDirectory
            }
            let propagation: ContainerLaunch.Propagation
            switch vm.mountPropagation {
            case .some(.hostToContainer): propagation = .hostToContainer
            case .some(.bidirectional): propagation = .bidirectional
            default: propagation = .none
            }
            let rro = vm.recursiveReadOnly == .enabled || vm.recursiveReadOnly == .ifPossible
            mounts.append(.init(source: source, destination: vm.mountPath, isDirectory: isDirectory, readOnly: vm.readOnly ?? false,
                                recursiveReadOnly: rro, propagation: propagation))
        }
        let mountedPaths = Set(mounts.map(\.destination))
        // The kubelet's pod files, unless the user mounts something at the same place.
        for (file, path) in [(context.hostsFile, "/etc/hosts"), (context.hostnameFile, "/etc/hostname"), (context.resolvConf, "/etc/resolv.conf")]
        where !mountedPaths.contains(path) {
            mounts.append(.init(source: file, destination: path, isDirectory: false, readOnly: false))
        }
        if let terminationLog {
            let path = c.terminationMessagePath ?? "/dev/termination-log"
            if !mountedPaths.contains(path) { mounts.append(.init(source: terminationLog, destination: path, isDirectory: false)) }
        }
        let readOnlyRoot = c.securityContext?.readOnlyRootFilesystem ?? false
        return ContainerLaunch(
            rootfs: .init(layers: image.layers, upper: rootfs.upper, work: rootfs.work, mountpoint: rootfs.mountpoint, readOnly: readOnlyRoot),
            mounts: mounts, devices: ContainerLaunch.defaultDevices, sharedMemory: context.sharedMemory,
            argv: argv, env: env, workingDir: workingDir(c, image), identity: identity, security: security,
            tty: c.tty ?? false, cgroupProcsFiles: 0)
    }

    /// Kubernetes' rules: `command` replaces the entrypoint (and drops the image's cmd),
    /// `args` replace the cmd.
    func processArgs(_ c: Container, _ image: ImageInfo) throws(ContainerConfigError) -> [String] {
        let command = (c.command?.isEmpty ?? true) ? nil : c.command
        do {
            return try image.config.processArgs(command: command, args: c.args)
        } catch {
            throw .create("no command specified: the image has no entrypoint or cmd and the container sets no command")
        }
    }

    func workingDir(_ c: Container, _ image: ImageInfo) -> String {
        if let dir = c.workingDir, !dir.isEmpty { return dir }
        if let dir = image.config.workingDir, !dir.isEmpty { return dir }
        return "/"
    }

    /// The image's environment, then the container's (later names win, order kept), with
    /// `$(VAR)` references expanded as the kubelet does: against the container's own env.
    func environment(_ c: Container, _ image: ImageInfo, _ context: PodContext) throws(ContainerConfigError) -> [String] {
        // containerd's CRI sets HOSTNAME first; the container's own env may override it.
        var pairs: [(name: String, value: String)] = [("HOSTNAME", context.pod.spec.hostname ?? context.pod.metadata.name ?? "")]
        var containerEnv: [String: String] = [:]
        for (i, e) in (c.env ?? []).enumerated() {
            let value: String
            if let source = e.valueFrom {
                // An optional key that is not there sets no variable at all.
                guard let resolved = try resolve(source, container: c, context: context, field: "env[\(i)].valueFrom") else { continue }
                value = resolved
            } else {
                value = ContainerConfigurator.expand(e.value ?? "", containerEnv)
            }
            containerEnv[e.name] = value
            pairs.append((e.name, value))
        }
        // envFrom first in the kubelet's order: env entries then override what it set.
        var fromSources: [(String, String)] = []
        for source in c.envFrom ?? [] {
            let (kind, name, optional): (String, String, Bool) = source.configMapRef.map { ("configmap", $0.name ?? "", $0.optional == true) }
                ?? source.secretRef.map { ("secret", $0.name ?? "", $0.optional == true) } ?? ("", "", true)
            guard !kind.isEmpty else { continue }
            let contents = kind == "configmap" ? context.config?.configMaps[name]?.contents : context.config?.secrets[name]?.contents
            guard let contents else {
                if optional { continue }
                throw .config(Self.notFound(kind, name, context))
            }
            for key in contents.keys.sorted() where ContainerConfigurator.isEnvName((source.prefix ?? "") + key) {
                fromSources.append(((source.prefix ?? "") + key, String(decoding: contents[key]!, as: UTF8.self)))
            }
        }
        if !fromSources.isEmpty {
            let explicit = Set(pairs.dropFirst().map(\.name))
            pairs.insert(contentsOf: fromSources.filter { !explicit.contains($0.0) }.map { (name: $0.0, value: $0.1) }, at: 1)
        }
        if c.tty == true, containerEnv["TERM"] == nil { pairs.append(("TERM", "xterm")) }
        return image.config.mergedEnv(pairs)
    }

    /// `$(VAR)` → value when VAR is defined, `$$(VAR)` → `$(VAR)`, anything else kept verbatim.
    public static func expand(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            guard c == "$", let next = chars.first else { out.append(c); continue }
            if next == "$" {
                chars.removeFirst()
                out.append("$")
            } else if next == "(", let close = chars.firstIndex(of: ")") {
                let name = String(chars[chars.index(after: chars.startIndex)..<close])
                if let v = env[name] {
                    out += v
                } else {
                    out += "$(" + name + ")"
                }
                chars = chars[chars.index(after: close)...]
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// A key of a ConfigMap or Secret, with the kubelet's messages for what is missing.
    func keyValue(kind: String, _ name: String, _ key: String, optional: Bool, _ context: PodContext,
                  _ lookup: (ConfigObjects, String) -> [String: [UInt8]]?) throws(ContainerConfigError) -> String? {
        guard let config = context.config, let contents = lookup(config, name) else {
            if optional { return nil }
            throw .config(Self.notFound(kind, name, context))
        }
        guard let value = contents[key] else {
            if optional { return nil }
            throw .config("couldn't find key \(key) in \(kind == "configmap" ? "ConfigMap" : "Secret") \(context.pod.metadata.namespace ?? "default")/\(name)")
        }
        return String(decoding: value, as: UTF8.self)
    }

    static func notFound(_ kind: String, _ name: String, _ context: PodContext) -> String {
        context.config == nil ? "\(kind) \"\(name)\" not found (a standalone agent has no ConfigMaps or Secrets)" : "\(kind) \"\(name)\" not found"
    }

    /// C_IDENTIFIER-ish, as envFrom keys must be to become variables (others are skipped).
    static func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(first >= 48 && first <= 57) else { return false }
        return s.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 || c == 46 }
    }

    func resolve(_ source: EnvVarSource, container: Container, context: PodContext, field: String) throws(ContainerConfigError) -> String? {
        let pod = context.pod
        if let ref = source.fieldRef {
            let path = ref.fieldPath
            switch path {
            case "metadata.name": return pod.metadata.name ?? ""
            case "metadata.namespace": return pod.metadata.namespace ?? "default"
            case "metadata.uid": return pod.metadata.uid ?? ""
            case "spec.nodeName": return context.nodeName
            case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? "default"
            case "status.podIP": return context.podIP
            case "status.podIPs": return context.podIP
            case "status.hostIP", "status.hostIPs": return context.hostIP
            default:
                if let key = ContainerConfigurator.mapKey(path, prefix: "metadata.labels") { return pod.metadata.labels?[key] ?? "" }
                if let key = ContainerConfigurator.mapKey(path, prefix: "metadata.annotations") { return pod.metadata.annotations?[key] ?? "" }
                throw .config("\(field).fieldRef.fieldPath: unsupported field path \"\(path)\"")
            }
        }
        if let ref = source.resourceFieldRef {
            let target = ref.containerName.flatMap { n in pod.allContainers.first { $0.name == n } } ?? container
            return ContainerConfigurator.resourceValue(ref.resource, divisor: ref.divisor, target)
        }
        if let ref = source.configMapKeyRef {
            return try keyValue(kind: "configmap", ref.name ?? "", ref.key, optional: ref.optional == true, context) { $0.configMaps[$1]?.contents }
        }
        if let ref = source.secretKeyRef {
            return try keyValue(kind: "secret", ref.name ?? "", ref.key, optional: ref.optional == true, context) { $0.secrets[$1]?.contents }
        }
        throw .config("\(field): must specify one of fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef")
    }

    public static func mapKey(_ path: String, prefix: String) -> String? {
        guard path.hasPrefix(prefix + "['"), path.hasSuffix("']") else { return nil }
        return String(path.dropFirst(prefix.count + 2).dropLast(2))
    }

    /// The downward API's resource values: limits fall back to node capacity, which a
    /// standalone agent reports as unlimited (0 cores → the host's count is not known here).
    public static func resourceValue(_ resource: String, divisor: Quantity?, _ c: Container) -> String {
        let q: Quantity?
        switch resource {
        case "limits.cpu": q = c.resources?.limits?["cpu"]
        case "requests.cpu": q = c.resources?.requests?["cpu"] ?? c.resources?.limits?["cpu"]
        case "limits.memory": q = c.resources?.limits?["memory"]
        case "requests.memory": q = c.resources?.requests?["memory"] ?? c.resources?.limits?["memory"]
        case "limits.ephemeral-storage": q = c.resources?.limits?["ephemeral-storage"]
        case "requests.ephemeral-storage": q = c.resources?.requests?["ephemeral-storage"]
        default: q = nil
        }
        guard let q else { return "0" }
        let div = divisor ?? Quantity(integer: 1)
        if resource.hasSuffix("cpu") {
            // ceil(milli / divisorMilli), at least 1, as the kubelet's ExtractContainerResourceValue.
            let d = max(div.milliValue(), 1)
            return String(max(1, (q.milliValue() + d - 1) / d))
        }
        let d = max(div.value(), 1)
        return String((q.value() + d - 1) / d)
    }

    func identity(_ c: Container, _ image: ImageInfo, _ context: PodContext) throws(ContainerConfigError) -> ContainerLaunch.Identity {
        let podSC = context.pod.spec.securityContext
        let sc = c.securityContext
        var uid = sc?.runAsUser ?? podSC?.runAsUser
        var gid = sc?.runAsGroup ?? podSC?.runAsGroup
        var imageUserName: String?
        var passwdGID: UInt32?
        if uid == nil, let user = image.config.user, !user.isEmpty {
            let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
            if let n = Int64(parts[0]) {
                uid = n
            } else if let entry = PasswdFile.lookup(user: parts[0], layers: image.layers) {
                uid = Int64(entry.uid)
                passwdGID = entry.gid
            } else {
                imageUserName = parts[0]
            }
            if gid == nil, parts.count > 1 {
                if let n = Int64(parts[1]) {
                    gid = n
                } else if let g = PasswdFile.lookupGroup(parts[1], layers: image.layers) {
                    gid = Int64(g)
                } else {
                    throw .create("unable to find group \(parts[1]) of the image user \"\(user)\"")
                }
            }
        }
        let runAsNonRoot = sc?.runAsNonRoot ?? podSC?.runAsNonRoot ?? false
        let podName = "\(context.pod.metadata.name ?? "")_\(context.pod.metadata.namespace ?? "default")(\(context.pod.metadata.uid ?? ""))"
        if let name = imageUserName {
            if runAsNonRoot {
                throw .config("container has runAsNonRoot and image has non-numeric user (\(name)), cannot verify user is non-root (pod: \"\(podName)\", container: \(c.name))")
            }
            throw .create("unable to find user \(name): no matching entries in passwd file")
        }
        let finalUID = UInt32(clamping: uid ?? 0)
        if runAsNonRoot && finalUID == 0 {
            throw .config("container has runAsNonRoot and image will run as root (pod: \"\(podName)\", container: \(c.name))")
        }
        if gid == nil {
            gid = Int64(passwdGID ?? PasswdFile.lookup(uid: finalUID, layers: image.layers)?.gid ?? 0)
        }
        var groups: [UInt32] = []
        for g in podSC?.supplementalGroups ?? [] { groups.append(UInt32(clamping: g)) }
        if let fs = podSC?.fsGroup { groups.append(UInt32(clamping: fs)) }
        return .init(uid: finalUID, gid: UInt32(clamping: gid ?? 0), groups: groups)
    }

    func security(_ c: Container, _ context: PodContext, fieldPath: String) throws(ContainerConfigError) -> ContainerLaunch.Security {
        let sc = c.securityContext
        let privileged = sc?.privileged ?? false
        let caps: Capabilities
        do {
            caps = try Capabilities.forContainer(
                privileged: privileged, add: sc?.capabilities?.add ?? [], drop: sc?.capabilities?.drop ?? [],
                grantable: .grantable, securityContextPath: "\(fieldPath).securityContext")
        } catch {
            throw .config("\(error)")
        }
        // no_new_privs unless the container asks for escalation (or is privileged): Shoal's
        // secure default, where Kubernetes leaves allowPrivilegeEscalation unset as true.
        let noNewPrivileges = !privileged && !(sc?.allowPrivilegeEscalation ?? false)
        let profile = sc?.seccompProfile ?? context.pod.spec.securityContext?.seccompProfile
        var bpf: [UInt8]?
        do {
            let policy = try SeccompPolicy.resolve(type: profile?.type.rawValue, localhostProfile: profile?.localhostProfile, privileged: privileged,
                                                   localhostRoot: seccompProfileRoot, unsetDefault: defaultSeccomp)
            if case let .profile(p) = policy {
                bpf = try SeccompCompiler.compile(profile: p, capabilities: caps, arch: .host)
            }
        } catch {
            throw .config("\(fieldPath).securityContext.seccompProfile: \(error)")
        }
        var masked = ContainerLaunch.Security.defaultMaskedPaths
        var readonly = ContainerLaunch.Security.defaultReadonlyPaths
        if sc?.procMount == .unmasked {
            masked = []
            readonly = []
        }
        return .init(privileged: privileged, capabilities: caps.mask, lastCapability: Capability.kernelLast.number,
                     noNewPrivileges: noNewPrivileges, seccomp: bpf, maskedPaths: masked, readonlyPaths: readonly,
                     devices: privileged ? nil : ContainerLaunch.Security.defaultDeviceRules)
    }

    /// Resolves a volumeMount's subPath on the host: it must stay inside the volume (checked
    /// after following symlinks), and a missing directory is created, as the kubelet does.
    func subPath(base: String, _ sub: String, field: String) throws(ContainerConfigError) -> (path: String, isDirectory: Bool) {
        let parts = sub.split(separator: "/").map(String.init)
        if sub.hasPrefix("/") || parts.contains("..") {
            throw .config("\(field): must be a relative path without '..': \"\(sub)\"")
        }
        let path = base + "/" + parts.joined(separator: "/")
        if !FileSystem.exists(path) {
            do {
                try FileSystem.createDirectory(path, mode: 0o755)
            } catch {
                throw .config("\(field): \(error)")
            }
        }
        guard let real = realPath(path), let realBase = realPath(base), real == realBase || real.hasPrefix(realBase + "/") else {
            throw .config("\(field): \"\(sub)\" resolves outside the volume")
        }
        return (real, FileSystem.isDirectory(real))
    }
}

func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

extension Pod {
    /// Init, regular and ephemeral containers, in that order.
    public var allContainers: [Container] {
        (spec.initContainers ?? []) + spec.containers + (spec.ephemeralContainers ?? []).map(\.container)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The ConfigMaps and Secrets a pod's containers may use: its namespace's, by name.
public struct ConfigObjects: Sendable {
    public var configMaps: [String: ConfigMap]
    public var secrets: [String: Secret]
    /// The namespace's claims by name, and every PersistentVolume by name.
    public var persistentVolumeClaims: [String: PersistentVolumeClaim]
    public var persistentVolumes: [String: PersistentVolume]
    public init(configMaps: [String: ConfigMap] = [:], secrets: [String: Secret] = [:],
                persistentVolumeClaims: [String: PersistentVolumeClaim] = [:], persistentVolumes: [String: PersistentVolume] = [:]) {
        self.configMaps = configMaps
        self.secrets = secrets
        self.persistentVolumeClaims = persistentVolumeClaims
        self.persistentVolumes = persistentVolumes
    }
}
