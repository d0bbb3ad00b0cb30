import Foundation
import ShoalAPI
import ShoalOS
import Testing

/// Deployments and ReplicaSets through the real kubectl on `shoal up` (its node in a network
/// namespace of the test's own): create, scale, heal, roll out, roll back, pause, cascade.
@Suite(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl"), "needs root and kubectl"))
struct WorkloadTests {
    /// httpd answering with the pod's name; ends at once on SIGTERM.
    static let serve = "trap 'exit 0' TERM; mkdir -p /www && hostname > /www/index.html && httpd -f -p 8080 -h /www & wait"

    func names(_ cli: CLIHarness, _ what: String, _ selector: String) async throws -> [String] {
        try await cli.kubectl("get", what, "-l", selector, "-o", "jsonpath={.items[*].metadata.name}").out.split(separator: " ").map(String.init).sorted()
    }

    /// Pods of the selector that run and are not being deleted.
    func running(_ cli: CLIHarness, _ selector: String) async throws -> [String] {
        let list = try JSONValue.parse(Array(try await cli.kubectl("get", "pods", "-l", selector, "-o", "json").out.utf8))
        return (list["items"]?.arrayValue ?? []).filter { p in
            p["status"]?["phase"]?.stringValue == "Running" && p["metadata"]?["deletionTimestamp"] == nil
        }.compactMap { $0["metadata"]?["name"]?.stringValue }.sorted()
    }

    func rolledOut(_ cli: CLIHarness, _ name: String) async throws {
        let r = try await cli.kubectl("rollout", "status", "deployment/\(name)", "--timeout=60s")
        #expect(r.out.hasSuffix("deployment \"\(name)\" successfully rolled out\n"), "\(r)")
    }

    @Test func createScaleHealRollOutRollBackPauseAndDelete() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()

        // kubectl create deployment sends protobuf.
        let created = try await cli.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=3", "--port=8080", "--", "sh", "-c", Self.serve)
        #expect(created.out == "deployment.apps/web created\n", "\(created)")
        try await rolledOut(cli, "web")
        let row = try await cli.kubectl("get", "deployment", "web").out
        #expect(row.hasPrefix("NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    3/3     3            3           "), "\(row)")
        let firstRS = try await names(cli, "rs", "app=web")
        #expect(firstRS.count == 1)
        let rsRow = try await cli.kubectl("get", "rs", "-o", "wide").out
        #expect(rsRow.contains("\(firstRS.first ?? "?")   3         3         3       ") && rsRow.contains("app=web,pod-template-hash="), "\(rsRow)")
        let owner = try await cli.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.ownerReferences[0].kind}/{.items[0].metadata.ownerReferences[0].name}").out
        #expect(owner == "ReplicaSet/\(firstRS.first ?? "?")")

        // A Service in front answers from every pod.
        #expect(try await cli.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080").code == 0)
        let clusterIP = try await cli.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").out
        var answered = Set<String>()
        try await waitUntil(timeout: 10) {
            let r = try await cli.inNode("timeout", "5", "busybox", "wget", "-q", "-O", "-", "http://\(clusterIP)/")
            if r.code == 0 { answered.insert(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return answered.count == 3
        }

        // A deleted pod is replaced.
        let before = try await running(cli, "app=web")
        #expect(try await cli.kubectl("delete", "pod", before.first ?? "?", "--wait=false").code == 0)
        try await waitUntil(timeout: 20) {
            let now = try await running(cli, "app=web")
            return now.count == 3 && !now.contains(before.first ?? "?")
        }

        // kubectl scale goes through the scale subresource.
        #expect(try await cli.kubectl("scale", "deployment", "web", "--replicas=5").out == "deployment.apps/web scaled\n")
        try await waitUntil(timeout: 20) { try await running(cli, "app=web").count == 5 }
        #expect(try await cli.kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").out == "5")
        #expect(try await cli.kubectl("scale", "deployment", "web", "--replicas=1").code == 0)
        try await waitUntil(timeout: 20) { try await running(cli, "app=web").count == 1 }
        #expect(try await cli.kubectl("scale", "deployment", "web", "--replicas=3").code == 0)
        try await rolledOut(cli, "web")

        // A new image rolls out through a second ReplicaSet, one pod at a time with no surge,
        // never fewer than 2 of 3 available (watched); the first ReplicaSet is kept at 0.
        let oneAtATime = #"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}"#
        #expect(try await cli.kubectl("patch", "deployment", "web", "-p", oneAtATime).code == 0)
        let watch = try BackgroundKubectl(kubeconfig: cli.dataDir + "/kubeconfig",
                                          ["get", "deployment", "web", "--watch", "-o", "jsonpath={.status.availableReplicas}/{.status.replicas} "])
        #expect(try await cli.kubectl("set", "image", "deployment/web", "busybox=busybox:latest").code == 0)
        try await rolledOut(cli, "web")
        try await Task.sleep(for: .milliseconds(300))
        watch.stop()
        let seen = watch.output().split(separator: " ").map { $0.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) ?? 0 } }
        #expect(seen.count > 3 && seen.allSatisfy { $0.first ?? 0 >= 2 } && seen.allSatisfy { $0.last ?? 0 <= 3 }, "available/replicas: \(watch.output())")
        let sets = try await cli.kubectl("get", "rs", "-l", "app=web", "-o",
                                         #"jsonpath={range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}={.spec.replicas} {end}"#).out
        #expect(Set(sets.split(separator: " ")) == ["1=0", "2=3"], "\(sets)")
        let history = try await cli.kubectl("rollout", "history", "deployment/web").out
        #expect(history.contains("REVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n"), "\(history)")

        // Undo goes back to the first ReplicaSet, now revision 3.
        #expect(try await cli.kubectl("rollout", "undo", "deployment/web").out == "deployment.apps/web rolled back\n")
        try await rolledOut(cli, "web")
        let back = try await cli.kubectl("get", "rs", firstRS.first ?? "?", "-o",
                                         #"jsonpath={.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision}"#).out
        #expect(back == "3 3", "\(back)")
        #expect(try await names(cli, "rs", "app=web").count == 2)

        // Paused, a template change waits; resumed, it rolls out.
        #expect(try await cli.kubectl("rollout", "pause", "deployment/web").code == 0)
        #expect(try await cli.kubectl("set", "env", "deployment/web", "MODE=paused").code == 0)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await names(cli, "rs", "app=web").count == 2)
        #expect(try await cli.kubectl("get", "deployment", "web", "-o", #"jsonpath={.status.conditions[?(@.type=="Progressing")].reason}"#).out == "DeploymentPaused")
        #expect(try await cli.kubectl("rollout", "resume", "deployment/web").code == 0)
        try await rolledOut(cli, "web")
        #expect(try await names(cli, "rs", "app=web").count == 3)
        let restarted = try await cli.kubectl("rollout", "restart", "deployment/web")
        #expect(restarted.out == "deployment.apps/web restarted\n", "\(restarted)")
        try await rolledOut(cli, "web")

        // Deleting the Deployment takes its ReplicaSets and pods along.
        #expect(try await cli.kubectl("delete", "deployment", "web").code == 0)
        try await waitUntil(timeout: 30) {
            let sets = try await names(cli, "rs", "app=web"), pods = try await names(cli, "pods", "app=web")
            return sets.isEmpty && pods.isEmpty
        }
    }

    /// The documentation's stuck rollout: a new image that cannot start misses the progress
    /// deadline, a resize meanwhile is shared between both ReplicaSets in proportion, and an
    /// undo brings the old version back to the full count.
    @Test func aStuckRolloutMissesItsDeadlineAndScalesInProportion() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        func deployment(_ image: String) -> String {
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: grow}
            spec:
              replicas: 4
              progressDeadlineSeconds: 3
              strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 1}}
              selector: {matchLabels: {app: grow}}
              template:
                metadata: {labels: {app: grow}}
                spec:
                  terminationGracePeriodSeconds: 2
                  containers:
                  - {name: c, image: \(image), command: [sh, -c, "trap 'exit 0' TERM; sleep 600 & wait"]}
            """
        }
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: deployment("busybox")).code == 0)
        try await rolledOut(cli, "grow")
        let first = try await names(cli, "rs", "app=grow")
        #expect(first.count == 1)

        // The new pods never start (the image is not in the store): 6 pods in all (4 + maxSurge),
        // at least 3 available (4 - maxUnavailable), so 3 old and 3 new.
        #expect(try await cli.kubectl("set", "image", "deployment/grow", "c=busybox:missing").code == 0)
        let sizes = #"jsonpath={range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision}={.spec.replicas} {end}"#
        func sets() async throws -> Set<String> { Set(try await cli.kubectl("get", "rs", "-l", "app=grow", "-o", sizes).out.split(separator: " ").map(String.init)) }
        try await waitUntil(timeout: 20) { try await sets() == ["1=3", "2=3"] }
        let progressing = #"jsonpath={.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason}"#
        try await waitUntil(timeout: 15) { try await cli.kubectl("get", "deployment", "grow", "-o", progressing).out == "False ProgressDeadlineExceeded" }
        let status = try await cli.kubectl("rollout", "status", "deployment/grow", "--timeout=20s")
        #expect(status.code == 1 && status.err.contains("error: deployment \"grow\" exceeded its progress deadline"), "\(status)")

        // Scaled to 8 mid-rollout: 10 allowed instead of 6, the 4 more shared 2 and 2.
        #expect(try await cli.kubectl("scale", "deployment", "grow", "--replicas=8").code == 0)
        try await waitUntil(timeout: 20) { try await sets() == ["1=5", "2=5"] }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await sets() == ["1=5", "2=5"], "no further rollout step while the new pods are unavailable")
        try await waitUntil(timeout: 20) { try await running(cli, "app=grow").count == 5 }
        let stamps = try await cli.kubectl("get", "rs", first.first ?? "?", "-o",
                                           #"jsonpath={.metadata.annotations.deployment\.kubernetes\.io/desired-replicas}/{.metadata.annotations.deployment\.kubernetes\.io/max-replicas}"#).out
        #expect(stamps == "8/10", "\(stamps)")

        // Undo: the first ReplicaSet is the new one again and takes all 8; the stuck one goes to 0.
        #expect(try await cli.kubectl("rollout", "undo", "deployment/grow").code == 0)
        try await rolledOut(cli, "grow")
        #expect(try await sets() == ["3=8", "2=0"])
        #expect(try await cli.kubectl("get", "deployment", "grow", "-o", progressing).out == "True NewReplicaSetAvailable")
        #expect(try await cli.kubectl("delete", "deployment", "grow").code == 0)
    }

    @Test func recreateAdoptionOrphanAndForegroundCascadesAndRefusals() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()

        // A ReplicaSet adopts a bare pod its selector matches and makes the rest.
        let bare = """
        apiVersion: v1
        kind: Pod
        metadata: {name: stray, labels: {app: rs}}
        spec:
          terminationGracePeriodSeconds: 1
          containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: bare).code == 0)
        let rs = """
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: rs}
        spec:
          replicas: 2
          selector: {matchLabels: {app: rs}}
          template:
            metadata: {labels: {app: rs}}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: rs).code == 0)
        try await waitUntil(timeout: 20) { try await running(cli, "app=rs").count == 2 }
        #expect(try await running(cli, "app=rs").contains("stray"))
        #expect(try await cli.kubectl("get", "pod", "stray", "-o", "jsonpath={.metadata.ownerReferences[0].name}").out == "rs")
        // Orphaned: the ReplicaSet goes, its pods stay, unowned.
        #expect(try await cli.kubectl("delete", "rs", "rs", "--cascade=orphan").code == 0)
        try await waitUntil(timeout: 10) { try await names(cli, "rs", "app=rs").isEmpty }
        #expect(try await running(cli, "app=rs").count == 2)
        #expect(try await cli.kubectl("get", "pod", "stray", "-o", "jsonpath={.metadata.ownerReferences}").out == "")

        // The older ReplicationController: its selector defaults to the template's labels.
        let rc = """
        apiVersion: v1
        kind: ReplicationController
        metadata: {name: old}
        spec:
          replicas: 1
          template:
            metadata: {labels: {app: old}}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: rc).code == 0)
        try await waitUntil(timeout: 20) { try await running(cli, "app=old").count == 1 }
        #expect(try await cli.kubectl("scale", "rc", "old", "--replicas=2").code == 0)
        try await waitUntil(timeout: 20) { try await running(cli, "app=old").count == 2 }
        let rcRow = try await cli.kubectl("get", "rc", "old").out
        #expect(rcRow.hasPrefix("NAME   DESIRED   CURRENT   READY   AGE\nold    2         2         2       "), "\(rcRow)")

        // Recreate: every old pod is gone before a new one starts.
        let recreate = { (value: String) in """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: rec}
        spec:
          replicas: 2
          strategy: {type: Recreate}
          selector: {matchLabels: {app: rec}}
          template:
            metadata: {labels: {app: rec}, annotations: {version: "\(value)"}}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        """ }
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: recreate("1")).code == 0)
        try await rolledOut(cli, "rec")
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: recreate("2")).code == 0)
        try await rolledOut(cli, "rec")
        let events = try await cli.kubectl("get", "events", "--field-selector", "involvedObject.name=rec", "--sort-by=.metadata.name",
                                           "-o", "jsonpath={range .items[*]}{.message}|{end}").out.split(separator: "|").map(String.init)
        let downOld = events.firstIndex { $0.contains("Scaled down") && $0.hasSuffix("from 2 to 0") }
        let upNew = events.lastIndex { $0.contains("Scaled up") && $0.hasSuffix("from 0 to 2") }
        #expect(downOld != nil && upNew != nil && downOld! < upNew!, "\(events)")

        // Foreground: the Deployment stays until its ReplicaSets and pods are gone.
        let deleted = try await cli.kubectl("delete", "deployment", "rec", "--cascade=foreground", "--timeout=60s")
        #expect(deleted.code == 0, "\(deleted)")
        #expect(try await names(cli, "rs", "app=rec").isEmpty)
        #expect(try await names(cli, "pods", "app=rec").isEmpty)

        // Refusals, in the API server's words, with nothing made.
        let bad = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: bad}
        spec:
          replicas: -1
          selector: {matchLabels: {app: one}}
          strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}
          template:
            metadata: {labels: {app: two}}
            spec: {containers: [{name: c, image: busybox}]}
        """
        let refused = try await cli.kubectl("apply", "-f", "-", stdin: bad)
        #expect(refused.code != 0)
        #expect(refused.err.contains("The Deployment \"bad\" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"), "\(refused.err)")
        #expect(refused.err.contains(#"* spec.template.metadata.labels: Invalid value: map[string]string{"app":"two"}: `selector` does not match template `labels`"#))
        #expect(refused.err.contains("* spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"))
        #expect(try await cli.kubectl("get", "deployment", "bad").code != 0)
    }

    @Test func jobsCompleteFailByBackoffAndDeadlineAndExpire() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()

        // kubectl create job (protobuf), to completion; logs through job/NAME.
        let created = try await cli.kubectl("create", "job", "once", "--image=busybox", "--", "sh", "-c", "echo done")
        #expect(created.out == "job.batch/once created\n", "\(created)")
        let waited = try await cli.kubectl("wait", "--for=condition=complete", "job/once", "--timeout=30s")
        #expect(waited.out == "job.batch/once condition met\n", "\(waited)")
        let row = try await cli.kubectl("get", "jobs", "once").out
        #expect(row.hasPrefix("NAME   STATUS     COMPLETIONS   DURATION   AGE\nonce   Complete   1/1           "), "\(row)")
        #expect(try await cli.kubectl("logs", "job/once").out == "done\n")
        let labels = try await cli.kubectl("get", "pods", "-l", "batch.kubernetes.io/job-name=once", "-o", "jsonpath={.items[*].status.phase}").out
        #expect(labels == "Succeeded")

        // Three completions, two at a time.
        let parallel = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: three}
        spec:
          completions: 3
          parallelism: 2
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: ["sh", "-c", "sleep 0.3"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: parallel).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=complete", "job/three", "--timeout=30s").code == 0)
        #expect(try await cli.kubectl("get", "job", "three", "-o", "jsonpath={.status.succeeded} {.status.failed}").out == "3 ")

        // Failing pods are counted against backoffLimit; past the deadline, the Job fails.
        let failing = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: fails}
        spec:
          backoffLimit: 1
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: ["sh", "-c", "exit 3"]}]
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: slow}
        spec:
          activeDeadlineSeconds: 2
          template:
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: failing).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=failed", "job/fails", "job/slow", "--timeout=30s").code == 0)
        let reasons = try await cli.kubectl("get", "jobs", "fails", "slow", "-o",
                                            #"jsonpath={range .items[*]}{.status.conditions[?(@.type=="Failed")].reason} {.status.failed}|{end}"#).out
        #expect(reasons == "BackoffLimitExceeded 2|DeadlineExceeded |", "\(reasons)")
        // The second pod waited out the 10 s back-off after the first one failed.
        let failedPods = try await cli.kubectl("get", "pods", "-l", "batch.kubernetes.io/job-name=fails", "-o",
                                               "jsonpath={range .items[*]}{.metadata.creationTimestamp} {.status.containerStatuses[0].state.terminated.finishedAt}|{end}").out
        let times = failedPods.split(separator: "|").map { $0.split(separator: " ").compactMap { try? Time(rfc3339: String($0)) } }
            .sorted { ($0.first?.secondsSinceEpoch ?? 0) < ($1.first?.secondsSinceEpoch ?? 0) }
        #expect(times.count == 2 && times.allSatisfy { $0.count == 2 }, "\(failedPods)")
        if times.count == 2, times[0].count == 2, let second = times[1].first {
            #expect(second.secondsSinceEpoch - times[0][1].secondsSinceEpoch >= 9, "\(failedPods)")
        }
        try await waitUntil(timeout: 10) {
            try await running(cli, "batch.kubernetes.io/job-name=slow").isEmpty
        }

        // ttlSecondsAfterFinished: the finished Job goes, and its pods with it.
        let expiring = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: brief}
        spec:
          ttlSecondsAfterFinished: 1
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: busybox, command: ["true"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: expiring).code == 0)
        try await waitUntil(timeout: 30) {
            let job = try await cli.kubectl("get", "job", "brief")
            let pods = try await names(cli, "pods", "batch.kubernetes.io/job-name=brief")
            return job.code != 0 && job.err.contains("NotFound") && pods.isEmpty
        }
        // A Job's pods may not restart Always.
        let always = try await cli.kubectl("create", "-f", "-", stdin: """
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"},
         "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        """)
        #expect(always.err.contains(#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#), "\(always)")
    }

    @Test func daemonSetRunsOnEveryMatchingNodeAndRollsOut() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        let ds = """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent}
        spec:
          selector: {matchLabels: {app: agent}}
          template:
            metadata: {labels: {app: agent}}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: busybox, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: ds).code == 0)
        let status = try await cli.kubectl("rollout", "status", "daemonset/agent", "--timeout=30s")
        #expect(status.out.hasSuffix("daemon set \"agent\" successfully rolled out\n"), "\(status)")
        let row = try await cli.kubectl("get", "ds", "agent").out
        #expect(row.hasPrefix("NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE\nagent   1         1         1       1            1           <none>          "), "\(row)")
        let first = try await running(cli, "app=agent")
        #expect(first.count == 1)
        #expect(try await cli.kubectl("get", "pod", first.first ?? "?", "-o", "jsonpath={.spec.nodeName}").out == "node-1")

        // A template change replaces the node's pod.
        #expect(try await cli.kubectl("set", "env", "daemonset/agent", "V=2").code == 0)
        #expect(try await cli.kubectl("rollout", "status", "daemonset/agent", "--timeout=30s").code == 0)
        try await waitUntil(timeout: 20) {
            let now = try await running(cli, "app=agent")
            return now.count == 1 && now != first
        }

        // A nodeSelector no node matches: the pod goes; labelling the node brings it back.
        #expect(try await cli.kubectl("patch", "ds", "agent", "-p", #"{"spec":{"template":{"spec":{"nodeSelector":{"role":"logs"}}}}}"#).code == 0)
        try await waitUntil(timeout: 20) { try await names(cli, "pods", "app=agent").isEmpty }
        #expect(try await cli.kubectl("get", "ds", "agent", "-o", "jsonpath={.status.desiredNumberScheduled}").out == "0")
        #expect(try await cli.kubectl("label", "node", "node-1", "role=logs").code == 0)
        try await waitUntil(timeout: 20) { try await running(cli, "app=agent").count == 1 }
    }

    @Test func namespacePoliciesDefaultBoundAndCountAndANamespaceGoesWithItsContents() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        #expect(try await cli.kubectl("create", "namespace", "team").out == "namespace/team created\n")
        let policies = """
        apiVersion: v1
        kind: LimitRange
        metadata: {name: defaults}
        spec:
          limits:
          - type: Container
            default: {cpu: 200m, memory: 64Mi}
            defaultRequest: {cpu: 100m, memory: 32Mi}
            max: {memory: 128Mi}
        ---
        apiVersion: v1
        kind: ResourceQuota
        metadata: {name: small}
        spec:
          hard: {pods: "2", requests.cpu: 250m, services: "1"}
        """
        #expect(try await cli.kubectl("apply", "-n", "team", "-f", "-", stdin: policies).code == 0)
        let idle = "trap 'exit 0' TERM; sleep 3600 & wait"
        #expect(try await cli.kubectl("run", "-n", "team", "a", "--image=busybox", "--", "sh", "-c", idle).code == 0)
        let resources = try await cli.kubectl("get", "pod", "-n", "team", "a", "-o", "jsonpath={.spec.containers[0].resources}").out
        #expect(resources == #"{"limits":{"cpu":"200m","memory":"64Mi"},"requests":{"cpu":"100m","memory":"32Mi"}}"#, "\(resources)")
        let tooBig = try await cli.kubectl("run", "-n", "team", "big", "--image=busybox", "--overrides",
                                           #"{"spec":{"containers":[{"name":"big","image":"busybox","args":["sleep","3600"],"resources":{"limits":{"memory":"256Mi"}}}]}}"#)
        #expect(tooBig.err == "Error from server (Forbidden): pods \"big\" is forbidden: maximum memory usage per Container is 128Mi, but limit is 256Mi\n", "\(tooBig)")
        #expect(try await cli.kubectl("run", "-n", "team", "b", "--image=busybox", "--", "sh", "-c", idle).code == 0)
        let over = try await cli.kubectl("run", "-n", "team", "c", "--image=busybox", "--", "sleep", "3600")
        #expect(over.err.contains("pods \"c\" is forbidden: exceeded quota: small, requested: pods=1,requests.cpu=100m, used: pods=2,requests.cpu=200m, limited: pods=2,requests.cpu=250m"), "\(over)")
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("get", "quota", "-n", "team", "small", "-o", "jsonpath={.status.used.pods} {.status.used.requests\\.cpu}").out == "2 200m"
        }
        let described = try await cli.kubectl("describe", "quota", "-n", "team", "small").out
        #expect(described.contains("pods          2     2\n") && described.contains("requests.cpu  200m  250m\n"), "\(described)")

        // Service accounts: every namespace has `default`, pods run as it unless they name
        // another that exists (kubectl create serviceaccount sends protobuf).
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "sa", "-n", "team", "default", "-o", "name").out == "serviceaccount/default\n" }
        #expect(try await cli.kubectl("create", "serviceaccount", "-n", "team", "robot").out == "serviceaccount/robot created\n")
        let accounts = try await cli.kubectl("get", "serviceaccounts", "-n", "team").out
        #expect(accounts.hasPrefix("NAME      SECRETS   AGE\ndefault   0         ") && accounts.contains("\nrobot     0         "), "\(accounts)")
        #expect(try await cli.kubectl("get", "pod", "-n", "team", "a", "-o", "jsonpath={.spec.serviceAccountName}").out == "default")
        let ghost = try await cli.kubectl("run", "-n", "team", "ghost", "--image=busybox", "--overrides", #"{"spec":{"serviceAccountName":"ghost"}}"#, "--", "sleep", "1")
        #expect(ghost.err == "Error from server (Forbidden): pods \"ghost\" is forbidden: error looking up service account team/ghost: serviceaccount \"ghost\" not found\n", "\(ghost)")
        #expect(try await cli.kubectl("delete", "sa", "-n", "team", "default").code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("get", "sa", "-n", "team", "default", "-o", "name").out == "serviceaccount/default\n" }

        // Deleting the namespace removes everything in it, then the namespace.
        let deleted = try await cli.kubectl("delete", "namespace", "team", "--timeout=60s")
        #expect(deleted.out == "namespace \"team\" deleted\n", "\(deleted)")
        #expect(try await cli.kubectl("get", "namespace", "team").code != 0)
        #expect(try await cli.kubectl("get", "sa", "-n", "team", "-o", "name").out == "")
    }

    @Test func configMapsAndSecretsAsEnvAndFilesThatFollowUpdates() async throws {
        let cli = try CLIHarness()
        defer { cli.removeEverything() }
        #expect(try await cli.shoal("image", "import", testImage).code == 0)
        try await cli.startCluster()
        // kubectl create configmap and secret send protobuf.
        let file = cli.dataDir + "/app.conf"
        try FileSystem.writeAtomically(file, "listen 8080\n")
        #expect(try await cli.kubectl("create", "configmap", "app", "--from-literal=mode=fast", "--from-file=app.conf=" + file).out == "configmap/app created\n")
        #expect(try await cli.kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cr3t!").out == "secret/creds created\n")
        let listed = try await cli.kubectl("get", "configmap,secret").out
        #expect(listed.contains("configmap/app   2      ") && listed.contains("secret/creds   Opaque   1      "), "\(listed)")
        let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: cfg, labels: {app: cfg, tier: test}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: busybox
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
            env:
            - {name: MODE, valueFrom: {configMapKeyRef: {name: app, key: mode}}}
            - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
            - {name: NONE, valueFrom: {configMapKeyRef: {name: app, key: nope, optional: true}}}
            envFrom: [{prefix: APP_, configMapRef: {name: app}}]
            volumeMounts: [{name: conf, mountPath: /etc/app}, {name: sec, mountPath: /etc/sec}, {name: all, mountPath: /etc/all}]
          volumes:
          - {name: conf, configMap: {name: app, items: [{key: mode, path: mode.txt}]}}
          - {name: sec, secret: {secretName: creds, defaultMode: 0400}}
          - name: all
            projected:
              sources:
              - configMap: {name: app, items: [{key: app.conf, path: conf/app.conf}]}
              - secret: {name: creds}
              - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}, {path: labels, fieldRef: {fieldPath: metadata.labels}}]}
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: pod).code == 0)
        #expect(try await cli.kubectl("wait", "--for=condition=Ready", "pod/cfg", "--timeout=30s").code == 0)
        let env = try await cli.kubectl("exec", "cfg", "--", "sh", "-c", "env | grep -E '^(MODE|PASS|NONE|APP_)' | sort").out
        #expect(env == "APP_mode=fast\nMODE=fast\nPASS=s3cr3t!\n", "\(env)")
        #expect(try await cli.kubectl("exec", "cfg", "--", "cat", "/etc/app/mode.txt").out == "fast")
        #expect(try await cli.kubectl("exec", "cfg", "--", "stat", "-L", "-c", "%a", "/etc/sec/password").out == "400\n")
        #expect(try await cli.kubectl("exec", "cfg", "--", "cat", "/etc/sec/password").out == "s3cr3t!")
        #expect(try await cli.kubectl("exec", "cfg", "--", "sh", "-c", "mount | grep ' /etc/sec '").out.contains("tmpfs"))
        let projected = try await cli.kubectl("exec", "cfg", "--", "sh", "-c", "cat /etc/all/conf/app.conf /etc/all/password; echo; cat /etc/all/name; echo; cat /etc/all/labels").out
        #expect(projected == "listen 8080\ns3cr3t!\ncfg\napp=\"cfg\"\ntier=\"test\"", "\(projected)")
        // A label set on the running pod reaches the downwardAPI file, as the kubelet writes it.
        #expect(try await cli.kubectl("label", "pod", "cfg", "stage=two").code == 0)
        try await waitUntil(timeout: 10) {
            try await cli.kubectl("exec", "cfg", "--", "cat", "/etc/all/labels").out == "app=\"cfg\"\nstage=\"two\"\ntier=\"test\""
        }
        // An update reaches the mounted file (the ..data swap); the env stays as it started.
        #expect(try await cli.kubectl("patch", "configmap", "app", "-p", #"{"data":{"mode":"slow"}}"#).code == 0)
        try await waitUntil(timeout: 10) { try await cli.kubectl("exec", "cfg", "--", "cat", "/etc/app/mode.txt").out == "slow" }
        #expect(try await cli.kubectl("exec", "cfg", "--", "sh", "-c", "echo $MODE").out == "fast\n")

        // A key that is not there holds the container in CreateContainerConfigError, naming it.
        let missing = """
        apiVersion: v1
        kind: Pod
        metadata: {name: lacking}
        spec:
          containers:
          - name: c
            image: busybox
            command: ["sleep", "3600"]
            env: [{name: X, valueFrom: {configMapKeyRef: {name: app, key: absent}}}]
        """
        #expect(try await cli.kubectl("apply", "-f", "-", stdin: missing).code == 0)
        try await waitUntil(timeout: 20) {
            try await cli.kubectl("get", "pod", "lacking", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}").out
                == "CreateContainerConfigError: couldn't find key absent in ConfigMap default/app"
        }
        // At rest the Secret is sealed: neither its value nor its base64 is in the database.
        let masterDir = cli.dataDir + "/master"
        var stored: [UInt8] = []
        for f in try FileSystem.listDirectory(masterDir) where f.hasPrefix("state.db") { stored += try FileSystem.read(masterDir + "/" + f) }
        #expect(!stored.isEmpty)
        #expect(stored.firstRange(of: Array("s3cr3t!".utf8)) == nil && stored.firstRange(of: Array("czNjcjN0IQ".utf8)) == nil)
        #expect(stored.firstRange(of: Array("k8s:enc:aesgcm:v1:shoal:".utf8)) != nil)
        #expect(try await cli.kubectl("get", "secret", "creds", "-o", "jsonpath={.data.password}").out == "czNjcjN0IQ==")
        // Immutable objects keep their data.
        #expect(try await cli.kubectl("patch", "secret", "creds", "-p", #"{"immutable":true}"#).code == 0)
        let refused = try await cli.kubectl("patch", "secret", "creds", "-p", #"{"stringData":{"password":"other"}}"#)
        #expect(refused.code != 0 && refused.err.contains("data: Forbidden: field is immutable when `immutable` is set"), "\(refused)")
    }
}
