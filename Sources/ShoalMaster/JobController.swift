import Foundation
import ShoalAPI
import ShoalOS

/// What `kubectl get jobs` shows (the API server's job printer).
enum JobPrinter {
    static func condition(_ j: Job, _ type: String) -> Bool {
        j.status?.conditions?.contains { $0.type == type && $0.status == "True" } ?? false
    }

    static func status(_ j: Job) -> String {
        if condition(j, "Complete") { return "Complete" }
        if condition(j, "Failed") { return "Failed" }
        if j.spec.suspend == true { return "Suspended" }
        if condition(j, "FailureTarget") { return "FailureTarget" }
        return "Running"
    }

    static func completions(_ j: Job) -> String {
        let done = j.status?.succeeded ?? 0
        if let c = j.spec.completions { return "\(done)/\(c)" }
        return "\(done)/1 of \(j.spec.parallelism ?? 1)"
    }

    static func duration(_ j: Job, now: Int64) -> String {
        guard let start = j.status?.startTime?.secondsSinceEpoch else { return "" }
        let end = j.status?.completionTime?.secondsSinceEpoch ?? now
        return Tables.ageOf(Time(secondsSinceEpoch: now - (end - start)).rfc3339, now: now)
    }
}

/// The Job controller: pods up to `parallelism` until `completions` succeeded, failures
/// counted against `backoffLimit`, `activeDeadlineSeconds`, and `ttlSecondsAfterFinished`
/// (the finished Job deleted, its pods with it).
extension Master {
    /// Returns when a pass is due again (a deadline or a TTL), if one is.
    func syncJobs() -> Double? {
        guard let jobs = listAll(Resources.jobs, as: Job.self), !jobs.isEmpty, let pods = listAll(Resources.pods, as: Pod.self) else { return nil }
        var next: Double?
        for job in jobs where job.metadata.deletionTimestamp == nil {
            let ns = job.metadata.namespace ?? "default"
            if let due = syncJob(job, pods: pods.filter { ($0.metadata.namespace ?? "default") == ns }) { next = min(due, next ?? due) }
        }
        return next
    }

    func syncJob(_ job: Job, pods: [Pod]) -> Double? {
        guard let uid = job.metadata.uid else { return nil }
        let now = Time.now()
        let owned = pods.filter { controllerRef($0.metadata)?.uid == uid }
        let succeeded = Int32(owned.filter { $0.status?.phase == .succeeded }.count)
        let failed = Int32(owned.filter { $0.status?.phase == .failed }.count) + restartsOnFailure(owned, job)
        let active = owned.filter { $0.metadata.deletionTimestamp == nil && $0.status?.phase != .succeeded && $0.status?.phase != .failed }
        var status = job.status ?? JobStatus()
        if status.startTime == nil && job.spec.suspend != true { status.startTime = now }

        if JobPrinter.condition(job, "Complete") || JobPrinter.condition(job, "Failed") {
            guard let ttl = job.spec.ttlSecondsAfterFinished else { return nil }
            let finished = (job.status?.completionTime ?? job.status?.conditions?.last?.lastTransitionTime ?? now).secondsSinceEpoch
            if finished + Int64(ttl) <= now.secondsSinceEpoch {
                var options = Registry.DeleteOptions()
                options.propagationPolicy = "Background"
                _ = try? registry.delete(Resources.jobs, namespace: job.metadata.namespace, name: job.metadata.name ?? "", options: options)
                return nil
            }
            return Double(finished + Int64(ttl)) + 0.05
        }

        let completions = job.spec.completions ?? 1
        var finish: (type: String, reason: String, message: String)?
        if succeeded >= completions {
            finish = ("Complete", "", "")
        } else if failed > (job.spec.backoffLimit ?? 6) {
            finish = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        } else if let deadline = job.spec.activeDeadlineSeconds, let start = status.startTime,
                  start.secondsSinceEpoch + deadline <= now.secondsSinceEpoch {
            finish = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        }
        var next: Double?
        if let finish {
            for pod in active { _ = try? registry.delete(Resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", options: Registry.DeleteOptions()) }
            var conditions = status.conditions ?? []
            conditions.append(JobCondition(type: finish.type, status: "True", lastProbeTime: now, lastTransitionTime: now,
                                           reason: finish.reason.isEmpty ? nil : finish.reason, message: finish.message.isEmpty ? nil : finish.message))
            status.conditions = conditions
            if finish.type == "Complete" { status.completionTime = now }
            recordEvent(kind: "Job", apiVersion: "batch/v1", job.metadata, type: finish.type == "Complete" ? "Normal" : "Warning",
                        reason: finish.type == "Complete" ? "Completed" : finish.reason,
                        message: finish.type == "Complete" ? "Job completed" : finish.message, component: "job-controller")
            if let ttl = job.spec.ttlSecondsAfterFinished { next = Double(now.secondsSinceEpoch + Int64(ttl)) + 0.05 }
            status.active = 0
        } else if job.spec.suspend != true {
            // As many pods as parallelism allows and the remaining completions need.
            let wanted = min(job.spec.parallelism ?? 1, completions - succeeded)
            var running = Int32(active.count)
            let retryAt = Self.retryTime(afterFailuresOf: owned)
            if retryAt.map({ $0 <= now.date.timeIntervalSince1970 }) ?? true {
                while running < wanted, createPod(for: job) { running += 1 }
            } else if running < wanted {
                next = retryAt
            }
            status.active = running
            if let deadline = job.spec.activeDeadlineSeconds, let start = status.startTime {
                let at = Double(start.secondsSinceEpoch + deadline) + 0.05
                next = min(at, next ?? at)
            }
        }
        // Zero counts are left out, as the API's omitempty does.
        status.succeeded = succeeded == 0 ? nil : succeeded
        status.failed = failed == 0 ? nil : failed
        if status.active == 0 { status.active = nil }
        status.ready = Int32(active.filter { Rollout.isAvailable($0, minReadySeconds: 0, now: now.secondsSinceEpoch) }.count)
        if status != job.status { writeStatus(Resources.jobs, job.metadata, status) }
        return next
    }

    /// The Job controller's pod failure back-off: after the k-th failed pod, a new one is made
    /// no sooner than 10 s × 2^(k-1) (at most 6 min) after the latest failure, so a Job that
    /// keeps failing does not spin. Nil when no pod failed. (Under OnFailure the restarts happen
    /// in the pod, behind the kubelet's own back-off.)
    static func retryTime(afterFailuresOf pods: [Pod]) -> Double? {
        let failed = pods.filter { $0.status?.phase == .failed }
        guard !failed.isEmpty else { return nil }
        let latest = failed.compactMap { p -> Double? in
            let finished = (p.status?.containerStatuses ?? []).compactMap { $0.state?.terminated?.finishedAt?.date.timeIntervalSince1970 }
            return finished.max() ?? p.metadata.creationTimestamp?.date.timeIntervalSince1970
        }.max() ?? 0
        let delay = min(10 * pow(2, Double(failed.count - 1)), 360)
        return latest + delay
    }

    /// Under restartPolicy OnFailure a failing container restarts in its pod: each restart
    /// counts as a failure, as the Job controller counts them.
    func restartsOnFailure(_ pods: [Pod], _ job: Job) -> Int32 {
        guard job.spec.template?.spec?.restartPolicy == .onFailure else { return 0 }
        return pods.reduce(0) { sum, p in sum + (p.status?.containerStatuses ?? []).reduce(0) { $0 + $1.restartCount } }
    }

    func createPod(for job: Job) -> Bool {
        createOwnedPod(job.spec.template, owner: job.metadata, kind: "Job", apiVersion: "batch/v1", component: "job-controller")
    }
}
