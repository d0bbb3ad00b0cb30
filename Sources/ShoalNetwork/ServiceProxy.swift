import Logging
import ShoalAPI
import ShoalOS

/// Programs the node's nftables from the services, endpoint slices and hostPorts it is given,
/// like kube-proxy's nftables mode: every change leads to one atomic replacement of Shoal's
/// table. Changes that arrive while a replacement runs are folded into the next one.
public actor ServiceProxy {
    public private(set) var state: ProxyState
    let networkNamespace: String?
    let logger: Logger
    private var hostPortsByPod: [String: [HostPort]] = [:]
    private var running = false
    private var dirty = false
    private var generation: UInt64 = 0
    private var appliedGeneration: UInt64 = 0
    private var waiters: [(UInt64, CheckedContinuation<Void, Never>)] = []
    /// How long the last replacement took (seconds) and how large it was (bytes of ruleset).
    public private(set) var lastSync: (seconds: Double, bytes: Int) = (0, 0)

    public init(state: ProxyState, networkNamespace: String?, logger: Logger) {
        self.state = state
        self.networkNamespace = networkNamespace
        self.logger = logger
    }

    public func setServices(_ services: [Service]) {
        guard services != state.services else { return }
        state.services = services
        changed()
    }

    public func setSlices(_ slices: [EndpointSlice]) {
        guard slices != state.slices else { return }
        state.slices = slices
        changed()
    }

    /// A pod's hostPorts (empty: it has none any more).
    public func setHostPorts(pod: String, _ ports: [HostPort]) {
        guard hostPortsByPod[pod] ?? [] != ports else { return }
        hostPortsByPod[pod] = ports.isEmpty ? nil : ports
        state.hostPorts = hostPortsByPod.keys.sorted().flatMap { hostPortsByPod[$0] ?? [] }
        changed()
    }

    /// Returns once every change made so far is in the kernel.
    public func synced() async {
        let wanted = generation
        if appliedGeneration >= wanted && !dirty { return }
        await withCheckedContinuation { waiters.append((wanted, $0)) }
    }

    /// Writes the rules now, whether or not anything changed (at start, and for benchmarks).
    public func resync() async {
        changed()
        await synced()
    }

    /// Removes Shoal's table (the agent's --cleanup).
    public func remove() async {
        do {
            try await HostCommand("/usr/sbin/nft", ["-f", "-"], networkNamespace: networkNamespace).check(stdin: Array(ProxyRules.removal.utf8))
        } catch {
            logger.warning("removing the nftables table failed", metadata: ["error": "\(error)"])
        }
    }

    private func changed() {
        generation += 1
        dirty = true
        if !running {
            running = true
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while dirty {
            dirty = false
            let target = generation
            let text = ProxyRules.ruleset(state)
            let began = monotonicNanos()
            do {
                try await HostCommand("/usr/sbin/nft", ["-f", "-"], networkNamespace: networkNamespace).check(stdin: Array(text.utf8))
                lastSync = (Double(monotonicNanos() - began) / 1e9, text.utf8.count)
                logger.debug("nftables synced", metadata: ["seconds": "\(lastSync.seconds)", "services": "\(state.services.count)"])
            } catch {
                logger.error("nftables sync failed", metadata: ["error": "\(error)"])
            }
            // A failed write is not retried until the next change: the same input would fail again.
            appliedGeneration = target
            let ready = waiters.filter { $0.0 <= target }
            waiters.removeAll { $0.0 <= target }
            for w in ready { w.1.resume() }
        }
        running = false
    }
}
