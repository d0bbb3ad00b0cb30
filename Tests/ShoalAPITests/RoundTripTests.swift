import Foundation
import Testing
@testable import ShoalAPI

/// A valid pod using every field Shoal models decodes to the right values and encodes back
/// to exactly the Kubernetes JSON it came from (same field names, same values).
@Suite struct RoundTripTests {
    static let everyField = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          namespace: shop
          labels: {app: web, tier: frontend}
          annotations: {example.com/owner: team-a}
          finalizers: [example.com/cleanup]
        spec:
          volumes:
          - name: scratch
            emptyDir: {medium: Memory, sizeLimit: 64Mi}
          - name: host
            hostPath: {path: /srv/data, type: DirectoryOrCreate}
          - name: creds
            secret: {secretName: creds, defaultMode: 0400, optional: true, items: [{key: user, path: user.txt, mode: 0440}]}
          - name: config
            configMap: {name: web-config, items: [{key: app.conf, path: conf/app.conf}]}
          - name: info
            downwardAPI:
              defaultMode: 0644
              items:
              - {path: labels, fieldRef: {apiVersion: v1, fieldPath: metadata.labels}}
              - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
          - name: bundle
            projected:
              defaultMode: 0444
              sources:
              - secret: {name: creds}
              - configMap: {name: web-config, items: [{key: other, path: other.conf}]}
              - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
              - serviceAccountToken: {audience: api, expirationSeconds: 3600, path: token}
          - name: claim
            persistentVolumeClaim: {claimName: data, readOnly: true}
          initContainers:
          - name: migrate
            image: example.com/migrate:v1
            command: [/migrate]
            args: [--up]
          - name: proxy
            image: example.com/proxy:v2
            restartPolicy: Always
            readinessProbe:
              tcpSocket: {port: 15001}
          containers:
          - name: app
            image: example.com/web:1.2.3
            command: [/bin/web]
            args: [--port, "8080"]
            workingDir: /srv
            ports:
            - {name: http, containerPort: 8080, protocol: TCP}
            - {name: metrics, containerPort: 9090, hostPort: 19090, hostIP: 127.0.0.1, protocol: UDP}
            envFrom:
            - {prefix: CFG_, configMapRef: {name: web-config, optional: true}}
            - secretRef: {name: creds}
            env:
            - {name: MODE, value: production}
            - name: POD_NAME
              valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}
            - name: CPU_LIMIT
              valueFrom: {resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
            - name: LEVEL
              valueFrom: {configMapKeyRef: {name: web-config, key: level, optional: true}}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: creds, key: token}}
            resources:
              limits: {cpu: "1", memory: 256Mi}
              requests: {cpu: 250m, memory: 128Mi}
            resizePolicy:
            - {resourceName: cpu, restartPolicy: NotRequired}
            volumeMounts:
            - {name: scratch, mountPath: /tmp}
            - {name: host, mountPath: /data, readOnly: true, recursiveReadOnly: Disabled, mountPropagation: HostToContainer}
            - {name: config, mountPath: /etc/web, subPath: conf}
            - {name: bundle, mountPath: /var/run/bundle, subPathExpr: $(POD_NAME)}
            livenessProbe:
              exec: {command: [/bin/check]}
              initialDelaySeconds: 5
              timeoutSeconds: 2
              periodSeconds: 15
              successThreshold: 1
              failureThreshold: 4
              terminationGracePeriodSeconds: 10
            readinessProbe:
              httpGet:
                path: /ready
                port: http
                host: 127.0.0.1
                scheme: HTTPS
                httpHeaders: [{name: X-Probe, value: "1"}]
            startupProbe:
              grpc: {port: 9090, service: health}
              failureThreshold: 30
            lifecycle:
              postStart: {exec: {command: [/bin/warm]}}
              preStop: {sleep: {seconds: 5}}
              stopSignal: SIGTERM
            terminationMessagePath: /dev/termination-log
            terminationMessagePolicy: FallbackToLogsOnError
            imagePullPolicy: IfNotPresent
            securityContext:
              capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
              privileged: false
              runAsUser: 1000
              runAsGroup: 1000
              runAsNonRoot: true
              readOnlyRootFilesystem: true
              allowPrivilegeEscalation: false
              procMount: Default
              seccompProfile: {type: Localhost, localhostProfile: profiles/web.json}
              appArmorProfile: {type: RuntimeDefault}
            stdin: false
            stdinOnce: false
            tty: false
          - name: worker
            image: example.com/worker@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945
            restartPolicy: Never
            restartPolicyRules:
            - action: Restart
              exitCodes: {operator: In, values: [42]}
            readinessProbe:
              exec: {command: [/bin/true]}
          ephemeralContainers:
          - name: debugger
            image: busybox:1.36
            command: [sh]
            stdin: true
            tty: true
            targetContainerName: app
            env: [{name: TERM, value: xterm}]
            volumeMounts: [{name: scratch, mountPath: /scratch}]
            securityContext: {capabilities: {add: [SYS_PTRACE]}}
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 45
          activeDeadlineSeconds: 3600
          dnsPolicy: None
          dnsConfig:
            nameservers: [10.0.0.10]
            searches: [shop.svc.cluster.local, cluster.local]
            options: [{name: ndots, value: "2"}, {name: edns0}]
          nodeSelector: {kubernetes.io/os: linux}
          serviceAccountName: web
          serviceAccount: web
          automountServiceAccountToken: false
          nodeName: node-1
          hostNetwork: false
          hostPID: false
          hostIPC: false
          shareProcessNamespace: true
          securityContext:
            runAsUser: 1000
            runAsGroup: 3000
            runAsNonRoot: true
            supplementalGroups: [4000]
            supplementalGroupsPolicy: Merge
            fsGroup: 2000
            fsGroupChangePolicy: OnRootMismatch
            sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]
            seccompProfile: {type: RuntimeDefault}
          imagePullSecrets: [{name: registry}]
          hostname: web-0
          subdomain: web
          setHostnameAsFQDN: false
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}]}]
          schedulerName: default-scheduler
          tolerations:
          - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
          - {operator: Exists, effect: NoExecute, tolerationSeconds: 300}
          hostAliases: [{ip: 10.0.0.5, hostnames: [db, db.local]}]
          priorityClassName: high
          priority: 1000
          preemptionPolicy: PreemptLowerPriority
          readinessGates: [{conditionType: example.com/ready}]
          runtimeClassName: runc
          enableServiceLinks: false
          topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
          overhead: {cpu: 10m}
          os: {name: linux}
          hostUsers: true
          resources:
            requests: {cpu: "1"}
            limits: {cpu: "2"}
        """

    @Test func decodesEveryField() throws {
        let pods = try decodePods(Self.everyField)
        #expect(pods.count == 1)
        let pod = pods[0]
        #expect(pod.apiVersion == "v1" && pod.kind == "Pod")
        #expect(pod.metadata.name == "web" && pod.metadata.namespace == "shop")
        #expect(pod.metadata.labels == ["app": "web", "tier": "frontend"])
        #expect(pod.metadata.annotations == ["example.com/owner": "team-a"])
        #expect(pod.metadata.finalizers == ["example.com/cleanup"])

        let spec = pod.spec
        #expect(spec.volumes?.map(\.name) == ["scratch", "host", "creds", "config", "info", "bundle", "claim"])
        #expect(spec.volumes?[0].emptyDir == EmptyDirVolumeSource(medium: .memory, sizeLimit: try Quantity("64Mi")))
        #expect(spec.volumes?[1].hostPath == HostPathVolumeSource(path: "/srv/data", type: .directoryOrCreate))
        #expect(spec.volumes?[2].secret == SecretVolumeSource(secretName: "creds", items: [KeyToPath(key: "user", path: "user.txt", mode: 0o440)],
                                                             defaultMode: 0o400, optional: true))
        #expect(spec.volumes?[4].downwardAPI?.items?[1].resourceFieldRef?.divisor == (try Quantity("1m")))
        #expect(spec.volumes?[5].projected?.sources?.count == 4)
        #expect(spec.volumes?[5].projected?.sources?[3].serviceAccountToken == ServiceAccountTokenProjection(audience: "api", expirationSeconds: 3600, path: "token"))
        #expect(spec.volumes?[6].persistentVolumeClaim == PersistentVolumeClaimVolumeSource(claimName: "data", readOnly: true))

        #expect(spec.initContainers?.map(\.name) == ["migrate", "proxy"])
        #expect(spec.initContainers?[1].restartPolicy == .always)
        #expect(spec.initContainers?[1].readinessProbe?.tcpSocket?.port == 15001)

        let app = spec.containers[0]
        #expect(app.command == ["/bin/web"] && app.args == ["--port", "8080"] && app.workingDir == "/srv")
        #expect(app.ports == [
            ContainerPort(name: "http", containerPort: 8080, protocol: .tcp),
            ContainerPort(name: "metrics", hostPort: 19090, containerPort: 9090, protocol: .udp, hostIP: "127.0.0.1"),
        ])
        #expect(app.envFrom?[0] == EnvFromSource(prefix: "CFG_", configMapRef: ConfigMapEnvSource(name: "web-config", optional: true)))
        #expect(app.env?.map(\.name) == ["MODE", "POD_NAME", "CPU_LIMIT", "LEVEL", "TOKEN"])
        #expect(app.env?[1].valueFrom?.fieldRef == ObjectFieldSelector(apiVersion: "v1", fieldPath: "metadata.name"))
        #expect(app.env?[4].valueFrom?.secretKeyRef == SecretKeySelector(name: "creds", key: "token"))
        #expect(app.resources?.limits?["memory"]?.value() == Int64(268_435_456))
        #expect(app.resources?.requests?["cpu"]?.milliValue() == 250)
        #expect(app.resizePolicy == [["resourceName": "cpu", "restartPolicy": "NotRequired"]])
        #expect(app.volumeMounts?[1] == VolumeMount(name: "host", mountPath: "/data", readOnly: true,
                                                    mountPropagation: .hostToContainer, recursiveReadOnly: .disabled))
        #expect(app.volumeMounts?[3].subPathExpr == "$(POD_NAME)")
        #expect(app.livenessProbe == Probe(exec: ExecAction(command: ["/bin/check"]), initialDelaySeconds: 5, timeoutSeconds: 2,
                                           periodSeconds: 15, successThreshold: 1, failureThreshold: 4, terminationGracePeriodSeconds: 10))
        #expect(app.readinessProbe?.httpGet == HTTPGetAction(path: "/ready", port: "http", host: "127.0.0.1", scheme: .https,
                                                             httpHeaders: [HTTPHeader(name: "X-Probe", value: "1")]))
        #expect(app.startupProbe?.grpc == GRPCAction(port: 9090, service: "health"))
        #expect(app.lifecycle == Lifecycle(postStart: LifecycleHandler(exec: ExecAction(command: ["/bin/warm"])),
                                           preStop: LifecycleHandler(sleep: SleepAction(seconds: 5)), stopSignal: "SIGTERM"))
        #expect(app.terminationMessagePolicy == .fallbackToLogsOnError && app.imagePullPolicy == .ifNotPresent)
        #expect(app.securityContext?.capabilities == Capabilities(add: ["NET_BIND_SERVICE"], drop: ["ALL"]))
        #expect(app.securityContext?.seccompProfile == SeccompProfile(type: .localhost, localhostProfile: "profiles/web.json"))
        #expect(app.securityContext?.appArmorProfile == ["type": "RuntimeDefault"])
        #expect(app.stdin == false && app.stdinOnce == false && app.tty == false)
        #expect(spec.containers[1].restartPolicyRules == [ContainerRestartRule(action: .restart, exitCodes: .init(operator: .in, values: [42]))])

        let debugger = try #require(spec.ephemeralContainers?.first)
        #expect(debugger.name == "debugger" && debugger.targetContainerName == "app")
        #expect(debugger.stdin == true && debugger.tty == true)

        #expect(spec.restartPolicy == .onFailure && spec.terminationGracePeriodSeconds == 45 && spec.activeDeadlineSeconds == 3600)
        #expect(spec.dnsPolicy == DNSPolicy.none)
        #expect(spec.dnsConfig?.options?[1] == PodDNSConfigOption(name: "edns0"))
        #expect(spec.nodeSelector == ["kubernetes.io/os": "linux"])
        #expect(spec.shareProcessNamespace == true && spec.hostNetwork == false)
        #expect(spec.securityContext?.sysctls == [Sysctl(name: "net.ipv4.ip_unprivileged_port_start", value: "0")])
        #expect(spec.securityContext?.fsGroupChangePolicy == .onRootMismatch)
        #expect(spec.imagePullSecrets == [LocalObjectReference(name: "registry")])
        #expect(spec.tolerations?[1] == Toleration(operator: .exists, effect: .noExecute, tolerationSeconds: 300))
        #expect(spec.hostAliases == [HostAlias(ip: "10.0.0.5", hostnames: ["db", "db.local"])])
        #expect(spec.priority == 1000 && spec.preemptionPolicy == "PreemptLowerPriority")
        #expect(spec.readinessGates == [PodReadinessGate(conditionType: "example.com/ready")])
        #expect(spec.overhead?["cpu"] == (try Quantity("10m")))
        #expect(spec.os == PodOS(name: .linux) && spec.hostUsers == true)
        #expect(spec.affinity?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"] != nil)
        #expect(spec.resources?.limits?["cpu"] == (try Quantity("2")))
    }

    /// Encoding writes the Kubernetes field names: the JSON is the document itself.
    @Test func encodesBackToTheSameJSON() throws {
        let document = try ManifestDecoder.documents(Self.everyField)[0]
        let pod = try ManifestDecoder.decodePod(from: document)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(pod), as: UTF8.self)
        let reparsed = try JSONParser.parse(json).value
        #expect(reparsed == document.value)
        // And Foundation's decoder (the agent's own files) reads it back unchanged.
        #expect(try JSONDecoder().decode(Pod.self, from: Data(json.utf8)) == pod)
        // As does the strict decoder, with no unknown field.
        let again = try ManifestDecoder.documents(json)
        #expect(try ManifestDecoder.decodePod(from: again[0]) == pod)
    }

    @Test func defaultedPodRoundTrips() throws {
        let pod = PodDefaults.apply(try decodePods(Self.everyField)[0])
        let encoder = JSONEncoder()
        let data = try encoder.encode(pod)
        let again = try ManifestDecoder.decodePod(from: try ManifestDecoder.documents(String(decoding: data, as: UTF8.self))[0])
        #expect(again == pod)
        #expect(PodValidation.validate(again).isEmpty)
    }
}

@Suite struct QuantityTests {
    @Test(arguments: [
        ("0", "0"), ("0n", "0"), ("1", "1"), ("1000", "1k"), ("1.5", "1500m"), ("0.5", "500m"), ("100m", "100m"),
        ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("1536Mi", "1536Mi"), ("1e3", "1e3"), ("129e6", "129e6"),
        ("12M", "12M"), ("0.1m", "100u"), ("1n", "1n"), ("0.5n", "1n"), ("-1", "-1"), ("+5", "+5"), ("05", "05"), ("050", "050"),
        ("1Ki", "1Ki"), ("1023", "1023"), ("1.", "1."), ("500Mi", "500Mi"), ("2E", "2E"),
    ])
    func canonicalForms(_ text: String, _ canonical: String) throws {
        #expect(try Quantity(text).description == canonical)
    }

    @Test(arguments: [
        ("100m", Int64(1), Int64(100)), ("1.5Gi", 1_610_612_736, 1_610_612_736_000), ("0.5", 1, 500), ("500u", 1, 1),
        ("1k", 1000, 1_000_000), ("-1.5", -2, -1500), ("64Mi", 67_108_864, 67_108_864_000),
    ])
    func values(_ text: String, _ value: Int64, _ milli: Int64) throws {
        let q = try Quantity(text)
        #expect(q.value() == value)
        #expect(q.milliValue() == milli)
    }

    @Test(arguments: [
        ("12Q", QuantityError.formatWrong), ("", .formatWrong), ("1.2.3", .formatWrong), ("abc", .formatWrong),
        ("1 Gi", .formatWrong), ("1Gib", .formatWrong), ("1kk", .suffix), ("5i", .suffix), ("1Mm", .suffix),
    ])
    func errors(_ text: String, _ error: QuantityError) {
        #expect(throws: error) { try Quantity(text) }
    }

    @Test func comparisonIsNumeric() throws {
        #expect(try Quantity("1Gi") == Quantity("1073741824"))
        #expect(try Quantity("1") > Quantity("999m"))
        #expect(try Quantity("1.5").roundedUp(toScale: 0).description == "2")
        #expect(try Quantity("1.0001m").roundedUp(toScale: -3).description == "2m")
    }

    @Test func decodingKeepsTheText() throws {
        let document = try ManifestDecoder.documents("{\"a\": \"1.50\", \"b\": 2, \"c\": 0.5}")[0]
        let q = try ManifestDecoder.decode([String: Quantity].self, from: document)
        #expect(q["a"]?.description == "1500m")
        #expect(q["b"]?.description == "2")
        #expect(q["c"]?.description == "500m")
        let data = try JSONEncoder().encode(q["a"])
        #expect(String(decoding: data, as: UTF8.self) == "\"1.50\"")
    }

    @Test func messageIsKubernetes() {
        #expect(QuantityError.formatWrong.description == "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        #expect(QuantityError.suffix.description == "unable to parse quantity's suffix")
    }
}
