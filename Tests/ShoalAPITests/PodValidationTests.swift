import Testing
@testable import ShoalAPI

/// Kubernetes' messages, word for word (RegexError's examples really are joined by ",  or ").
let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
let labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
let portRange = "must be between 1 and 65535, inclusive"
let idRange = "must be between 0 and 4294967295, inclusive"

/// Manifests in, exact error lines out, through the agent's pipeline (decode, default, validate).
@Suite struct PodValidationTests {
    typealias Case = ManifestCase

    static let app = "containers: [{name: app, image: busybox}]"

    static let metadataCases: [Case] = [
        Case(name: "name must be a DNS subdomain", manifest: pod(app, name: "Bad_Name"), expected: [
            "metadata.name: Invalid value: \"Bad_Name\": \(subdomainMessage)",
        ]),
        Case(name: "name is required", manifest: "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {\(app)}\n", expected: [
            "metadata.name: Required value: name or generateName is required",
        ]),
        Case(name: "a too long name", manifest: pod(app, name: String(repeating: "a", count: 254)), expected: [
            "metadata.name: Invalid value: \"\(String(repeating: "a", count: 254))\": must be no more than 253 characters",
        ]),
        Case(name: "namespace must be a DNS label", manifest: """
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: my.ns}
            spec: {\(app)}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: My_NS}
            spec: {\(app)}
            """, expected: [
            "document 0: metadata.namespace: Invalid value: \"my.ns\": must not contain dots",
            "document 1: metadata.namespace: Invalid value: \"My_NS\": \(labelMessage)",
        ]),
        Case(name: "labels and annotations", manifest: """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              labels: {"bad key": x, app: "-web"}
              annotations: {"example.com/ok": "1", "a/b/c": "2"}
            spec: {\(app)}
            """, expected: [
            "metadata.labels: Invalid value: \"-web\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ]),
        Case(name: "pod deletion cost must be an integer", manifest: """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              annotations: {controller.kubernetes.io/pod-deletion-cost: "+10"}
            spec: {\(app)}
            """, expected: [
            "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: \"+10\": must be a 32bit integer",
        ]),
    ]

    static let containerCases: [Case] = [
        Case(name: "containers are required", manifest: pod("containers: []"), expected: ["spec.containers: Required value"]),
        Case(name: "container names and images", manifest: pod("""
            containers:
            - name: app
              image: busybox
            - name: app
              image: busybox
            - name: Side_Car
              image: busybox
            - image: busybox
            - name: noimage
            - name: spaced
              image: " busybox"
            initContainers:
            - name: app
              image: busybox
            ephemeralContainers:
            - name: app
              image: busybox
            """), expected: [
            "spec.containers[1].name: Duplicate value: \"app\"",
            "spec.containers[2].name: Invalid value: \"Side_Car\": \(labelMessage)",
            "spec.containers[3].name: Required value",
            "spec.containers[4].image: Required value",
            "spec.initContainers[0].name: Duplicate value: \"app\"",
            "spec.ephemeralContainers[0].name: Duplicate value: \"app\"",
            "spec.containers[5].image: Invalid value: \" busybox\": must not have leading or trailing whitespace",
        ]),
        Case(name: "enumerated container fields", manifest: pod("""
            containers:
            - name: app
              image: busybox
              imagePullPolicy: Sometimes
              terminationMessagePolicy: Log
            """), expected: [
            "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Log\": supported values: \"File\", \"FallbackToLogsOnError\"",
            "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        ]),
        Case(name: "container restartPolicy: its own on regular containers (KEP-5307), only Always on init containers", manifest: pod("""
            containers:
            - name: app
              image: busybox
              restartPolicy: Sometimes
            initContainers:
            - name: init
              image: busybox
              restartPolicy: OnFailure
              livenessProbe: {exec: {command: [/bin/true]}}
            - name: sidecar
              image: busybox
              restartPolicy: Always
              livenessProbe: {exec: {command: [/bin/true]}}
            """), expected: [
            "spec.containers[0].restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.initContainers[0].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
        ]),
        Case(name: "restart rules (KEP-5307, KEP-5532)", manifest: pod("""
            containers:
            - name: app
              image: busybox
              restartPolicyRules:
              - {action: RestartAllContainers, exitCodes: {operator: In, values: [42, 42]}}
            - name: other
              image: busybox
              restartPolicy: Never
              restartPolicyRules:
              - {action: Reboot, exitCodes: {operator: Maybe, values: [1]}}
              - {action: Restart}
            - name: fine
              image: busybox
              restartPolicy: Never
              restartPolicyRules:
              - {action: Restart, exitCodes: {operator: NotIn, values: [0]}}
            """), expected: [
            "spec.containers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used",
            "spec.containers[0].restartPolicyRules[0].exitCodes.values[1]: Duplicate value: 42",
            "spec.containers[1].restartPolicyRules[0].action: Unsupported value: \"Reboot\": supported values: \"Restart\", \"RestartAllContainers\"",
            "spec.containers[1].restartPolicyRules[0].exitCodes.operator: Unsupported value: \"Maybe\": supported values: \"In\", \"NotIn\"",
            "spec.containers[1].restartPolicyRules[1].exitCodes: Required value: must be specified",
        ]),
        Case(name: "ports", manifest: pod("""
            containers:
            - name: app
              image: busybox
              ports:
              - {name: http, containerPort: 80}
              - {name: http, containerPort: 81}
              - {name: HTTP_port, containerPort: 70000, hostPort: 70000}
              - {name: a-very-long-port-name, protocol: HTTP}
              - {name: "8080", containerPort: 8080, protocol: UDP}
            """), expected: [
            "spec.containers[0].ports[1].name: Duplicate value: \"http\"",
            "spec.containers[0].ports[2].name: Invalid value: \"HTTP_port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.containers[0].ports[2].containerPort: Invalid value: 70000: \(portRange)",
            "spec.containers[0].ports[2].hostPort: Invalid value: 70000: \(portRange)",
            "spec.containers[0].ports[3].name: Invalid value: \"a-very-long-port-name\": must be no more than 15 characters",
            "spec.containers[0].ports[3].containerPort: Required value",
            "spec.containers[0].ports[3].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.containers[0].ports[4].name: Invalid value: \"8080\": must contain at least one letter (a-z)",
        ]),
        Case(name: "host ports conflict across containers, protocol and IP included", manifest: pod("""
            containers:
            - name: a
              image: busybox
              ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 8080, protocol: UDP}]
            - name: b
              image: busybox
              ports: [{containerPort: 80, hostPort: 8080}]
            """), expected: [
            "spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\"",
        ]),
        Case(name: "host network ports must match", manifest: pod("""
            hostNetwork: true
            containers:
            - name: a
              image: busybox
              ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 443}]
            """), expected: [
            "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
        ]),
        Case(name: "environment variables", manifest: pod("""
            containers:
            - name: app
              image: busybox
              env:
              - name: "A=B"
                value: x
              - name: ""
              - name: 1-relaxed.name
                value: ok
              - name: EMPTY_FROM
                valueFrom: {}
              - name: BOTH
                value: x
                valueFrom: {fieldRef: {fieldPath: metadata.name}}
              - name: TWO
                valueFrom:
                  fieldRef: {fieldPath: metadata.name}
                  secretKeyRef: {name: s, key: k}
              - name: BAD_FIELD
                valueFrom: {fieldRef: {fieldPath: spec.foo}}
              - name: NOT_FOR_ENV
                valueFrom: {fieldRef: {fieldPath: status.phase}}
              - name: LABEL
                valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
              - name: RESOURCE
                valueFrom: {resourceFieldRef: {resource: limits.gpu}}
              - name: DIVISOR
                valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1Mi}}
              - name: KEY
                valueFrom: {configMapKeyRef: {name: Config, key: "a b"}}
            """), expected: [
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].env[1].name: Required value",
            "spec.containers[0].env[3].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            "spec.containers[0].env[4].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
            "spec.containers[0].env[5].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
            "spec.containers[0].env[6].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo",
            "spec.containers[0].env[7].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
            "spec.containers[0].env[9].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
            "spec.containers[0].env[10].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource",
            "spec.containers[0].env[11].valueFrom.configMapKeyRef.name: Invalid value: \"Config\": \(subdomainMessage)",
            "spec.containers[0].env[11].valueFrom.configMapKeyRef.key: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ]),
        Case(name: "envFrom", manifest: pod("""
            containers:
            - name: app
              image: busybox
              envFrom:
              - prefix: "X="
                configMapRef: {name: cfg}
              - {}
              - configMapRef: {name: cfg}
                secretRef: {name: sec}
              - secretRef: {}
            """), expected: [
            "spec.containers[0].envFrom[0].prefix: Invalid value: \"X=\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
            "spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time",
            "spec.containers[0].envFrom[3].secretRef.name: Required value",
        ]),
        Case(name: "resources", manifest: pod("""
            containers:
            - name: app
              image: busybox
              resources:
                limits: {cpu: "1", memory: 64Mi}
                requests: {cpu: "2", memory: -1, gpu: "1", example.com/gpu: 1.5, hugepages-2Mi: 1Mi}
            """), expected: [
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            "spec.containers[0].resources.requests[example.com/gpu]: Invalid value: \"1500m\": must be an integer",
            "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
            "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
            "spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: \"1Mi\": 1Mi is not positive integer multiple of hugepages-2Mi",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
        ]),
        Case(name: "requests default to limits, so limits alone are fine", manifest: pod("""
            containers:
            - name: app
              image: busybox
              resources:
                limits: {cpu: 500m, memory: 64Mi, example.com/gpu: 2}
            """), expected: []),
        Case(name: "security contexts", manifest: pod("""
            securityContext:
              runAsGroup: -5
              runAsUser: 4294967296
              supplementalGroups: [1, -1]
              fsGroupChangePolicy: Sometimes
              sysctls: [{name: net.ipv4.ip_forward, value: "1"}, {name: "Kernel.Bad", value: "1"}, {name: net.ipv4.ip_forward, value: "0"}]
              seccompProfile: {type: Localhost}
            containers:
            - name: app
              image: busybox
              securityContext:
                runAsUser: -1
                procMount: Unmasked
                seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}
            """), expected: [
            "spec.containers[0].securityContext.runAsUser: Invalid value: -1: \(idRange)",
            "spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
            "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: {\"Type\":\"RuntimeDefault\",\"LocalhostProfile\":\"x.json\"}: can only be set when seccomp type is Localhost",
            "spec.securityContext.runAsUser: Invalid value: 4294967296: \(idRange)",
            "spec.securityContext.runAsGroup: Invalid value: -5: \(idRange)",
            "spec.securityContext.supplementalGroups[1]: Invalid value: -1: \(idRange)",
            "spec.securityContext.sysctls[1].name: Invalid value: \"Kernel.Bad\": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            "spec.securityContext.sysctls[2].name: Duplicate value: \"net.ipv4.ip_forward\"",
            "spec.securityContext.fsGroupChangePolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnRootMismatch\"",
            "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
        ]),
        Case(name: "probes", manifest: pod("""
            containers:
            - name: app
              image: busybox
              livenessProbe:
                exec: {command: [/bin/true]}
                httpGet: {port: 80}
                successThreshold: 2
                periodSeconds: -1
              readinessProbe:
                tcpSocket: {port: 0}
                terminationGracePeriodSeconds: 5
              startupProbe:
                initialDelaySeconds: 5
            - name: web
              image: busybox
              livenessProbe:
                httpGet: {port: "8080", scheme: FTP, httpHeaders: [{name: "Bad Header", value: x}]}
                terminationGracePeriodSeconds: 0
              readinessProbe:
                grpc: {port: 70000}
              startupProbe:
                exec: {}
            """), expected: [
            "spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
            "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            "spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: 0: \(portRange)",
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
            "spec.containers[0].startupProbe: Required value: must specify a handler type",
            "spec.containers[1].livenessProbe.httpGet.port: Invalid value: \"8080\": must contain at least one letter (a-z)",
            "spec.containers[1].livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
            "spec.containers[1].livenessProbe.httpGet.httpHeaders: Invalid value: \"Bad Header\": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
            "spec.containers[1].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
            "spec.containers[1].readinessProbe.grpc.port: Invalid value: 70000: \(portRange)",
            "spec.containers[1].startupProbe.exec.command: Required value",
        ]),
        Case(name: "lifecycle handlers", manifest: pod("""
            terminationGracePeriodSeconds: 30
            containers:
            - name: app
              image: busybox
              lifecycle:
                postStart: {}
                preStop: {sleep: {seconds: 60}}
            - name: web
              image: busybox
              lifecycle:
                preStop: {sleep: {seconds: 0}, exec: {command: [sh]}}
            """), expected: [
            "spec.containers[0].lifecycle.postStart: Required value: must specify a handler type",
            "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)",
            "spec.containers[1].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type",
        ]),
        Case(name: "ephemeral containers", manifest: pod("""
            containers: [{name: app, image: busybox}]
            volumes: [{name: data, emptyDir: {}}]
            ephemeralContainers:
            - name: debug
              image: busybox
              targetContainerName: nope
              ports: [{containerPort: 80}]
              resources: {limits: {cpu: "1"}}
              readinessProbe: {exec: {command: [/bin/true]}}
              lifecycle: {preStop: {exec: {command: [/bin/true]}}}
              volumeMounts: [{name: data, mountPath: /data, subPath: x}]
            """), expected: [
            "spec.ephemeralContainers[0].targetContainerName: Not found: \"nope\"",
            "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
            "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container",
            "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
            "spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container",
            "spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container",
        ]),
    ]

    static let volumeCases: [Case] = [
        Case(name: "volume names and types", manifest: pod("""
            \(app)
            volumes:
            - name: data
              emptyDir: {}
              hostPath: {path: /srv}
            - name: Data
              emptyDir: {}
            - name: logs
              emptyDir: {}
            - name: logs
              emptyDir: {}
            - name: dotted.name
              emptyDir: {}
            - emptyDir: {}
            """), expected: [
            "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
            "spec.volumes[1].name: Invalid value: \"Data\": \(labelMessage)",
            "spec.volumes[3].name: Duplicate value: \"logs\"",
            "spec.volumes[4].name: Invalid value: \"dotted.name\": must not contain dots",
            "spec.volumes[5].name: Required value",
        ]),
        Case(name: "a volume without a source is an emptyDir, as Kubernetes defaults it", manifest: pod("""
            containers: [{name: app, image: busybox, volumeMounts: [{name: scratch, mountPath: /tmp}]}]
            volumes: [{name: scratch}]
            """), expected: []),
        Case(name: "volume mounts", manifest: pod("""
            containers:
            - name: app
              image: busybox
              volumeMounts:
              - {name: data, mountPath: /data}
              - {name: data, mountPath: /data}
              - {name: data, mountPath: ""}
              - {name: data, mountPath: /a, subPath: ../escape}
              - {name: data, mountPath: /b, subPath: /abs, subPathExpr: x}
              - {name: data, mountPath: /c, mountPropagation: Bidirectional, recursiveReadOnly: Enabled}
              - {name: data, mountPath: /d, mountPropagation: Sideways, readOnly: true, recursiveReadOnly: Always}
            - name: web
              image: busybox
              volumeMounts:
              - {name: cache, mountPath: /cache}
              - {name: "", mountPath: /none}
            volumes: [{name: data, emptyDir: {}}]
            """), expected: [
            "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be unique",
            "spec.containers[0].volumeMounts[2].mountPath: Required value",
            "spec.containers[0].volumeMounts.subPath: Invalid value: \"../escape\": must not contain '..'",
            "spec.containers[0].volumeMounts.subPath: Invalid value: \"/abs\": must be a relative path",
            "spec.containers[0].volumeMounts[4].subPathExpr: Invalid value: \"x\": subPathExpr and subPath are mutually exclusive",
            "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
            "spec.containers[0].volumeMounts.recursiveReadOnly: Forbidden: may only be specified when readOnly is true",
            "spec.containers[0].volumeMounts.recursiveReadOnly: Forbidden: may only be specified when mountPropagation is None or not specified",
            "spec.containers[0].volumeMounts.mountPropagation: Unsupported value: \"Sideways\": supported values: \"Bidirectional\", \"HostToContainer\", \"None\"",
            "spec.containers[0].volumeMounts.recursiveReadOnly: Unsupported value: \"Always\": supported values: \"Disabled\", \"Enabled\", \"IfPossible\"",
            "spec.containers[1].volumeMounts[0].name: Not found: \"cache\"",
            "spec.containers[1].volumeMounts[1].name: Required value",
            "spec.containers[1].volumeMounts[1].name: Not found: \"\"",
        ]),
        Case(name: "mounting a volume in the second container that does not exist", manifest: pod("""
            containers:
            - name: app
              image: busybox
            - name: web
              image: busybox
              volumeMounts: [{name: data, mountPath: /data}]
            """), expected: [
            "spec.containers[1].volumeMounts[0].name: Not found: \"data\"",
        ]),
        Case(name: "a mount of an invalid volume is not found either", manifest: pod("""
            containers: [{name: app, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
            volumes: [{name: data, hostPath: {path: ""}}]
            """), expected: [
            "spec.volumes[0].hostPath.path: Required value",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        ]),
        Case(name: "hostPath and emptyDir", manifest: pod("""
            \(app)
            volumes:
            - {name: a, hostPath: {path: /srv/../etc}}
            - {name: b, hostPath: {path: /srv, type: Dir}}
            - {name: c, emptyDir: {medium: Disk}}
            - {name: d, emptyDir: {sizeLimit: -1Gi}}
            - {name: e, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
            - {name: f, hostPath: {path: /run/x.sock, type: Socket}}
            """), expected: [
            "spec.volumes[0].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'",
            "spec.volumes[1].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
            "spec.volumes[2].emptyDir.medium: Unsupported value: \"Disk\": supported values: \"\", \"Memory\"",
            "spec.volumes[3].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
        ]),
        Case(name: "secret, configMap, downwardAPI and projected volumes", manifest: pod("""
            \(app)
            volumes:
            - name: s
              secret: {defaultMode: 01000, items: [{key: k, path: ../x}, {key: "", path: ""}]}
            - name: c
              configMap: {name: cfg, items: [{key: k, path: /abs, mode: -1}]}
            - name: d
              downwardAPI: {items: [{path: name, fieldRef: {fieldPath: status.phase}}, {path: ..x}]}
            - name: p
              projected:
                sources:
                - secret: {name: a, items: [{key: k, path: same}]}
                  configMap: {name: b, items: [{key: k, path: same}]}
                - serviceAccountToken: {path: token, expirationSeconds: 60}
            - name: v
              persistentVolumeClaim: {claimName: ""}
            """), expected: [
            "spec.volumes[0].secret.secretName: Required value",
            "spec.volumes[0].secret.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
            "spec.volumes[0].secret.items[0].path: Invalid value: \"../x\": must not contain '..'",
            "spec.volumes[0].secret.items[1].key: Required value",
            "spec.volumes[0].secret.items[1].path: Required value",
            "spec.volumes[1].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
            "spec.volumes[1].configMap.items[0].mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
            "spec.volumes[2].downwardAPI.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\"",
            "spec.volumes[2].downwardAPI.path: Invalid value: \"..x\": must not start with '..'",
            "spec.volumes[2].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required",
            "spec.volumes[3].projected: Invalid value: \"b\": conflicting duplicate paths",
            "spec.volumes[3].projected.sources[0]: Forbidden: may not specify more than 1 volume type per source",
            "spec.volumes[3].projected.sources[1].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
            "spec.volumes[4].persistentVolumeClaim.claimName: Required value",
            "spec.volumes[3].projected.sources[1].serviceAccountToken: Forbidden: must not be specified when serviceAccountName is not set",
        ]),
        Case(name: "remote volume types are checked for their required fields", manifest: pod("""
            \(app)
            volumes:
            - {name: share, nfs: {server: nas, path: export}}
            - {name: repo, gitRepo: {directory: /abs}}
            - {name: driver, csi: {driver: ""}}
            - {name: claim, ephemeral: {}}
            """), expected: [
            "spec.volumes[0].nfs.path: Invalid value: \"export\": must be an absolute path",
            "spec.volumes[1].gitRepo.repository: Required value",
            "spec.volumes[1].gitRepo.directory: Invalid value: \"/abs\": must be a relative path",
            "spec.volumes[2].csi.driver: Required value",
            "spec.volumes[2].csi.driver: Invalid value: \"\": \(subdomainMessage)",
            "spec.volumes[3].ephemeral.volumeClaimTemplate: Required value",
        ]),
    ]

    static let specCases: [Case] = [
        Case(name: "restartPolicy, in Kubernetes' order of supported values", manifest: pod("""
            \(app)
            restartPolicy: Sometimes
            """), expected: [
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]),
        Case(name: "dnsPolicy", manifest: pod("""
            \(app)
            dnsPolicy: Cluster
            """), expected: [
            "spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        ]),
        Case(name: "dnsPolicy None needs a dnsConfig", manifest: pod("""
            \(app)
            dnsPolicy: None
            """), expected: [
            "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
        ]),
        Case(name: "dnsConfig", manifest: pod("""
            \(app)
            dnsConfig:
              nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, "300.1.1.1"]
              searches: [example.com., ., "Bad_Domain"]
              options: [{value: "2"}]
            """), expected: [
            "spec.dnsConfig.nameservers: Invalid value: [\"1.1.1.1\",\"8.8.8.8\",\"9.9.9.9\",\"300.1.1.1\"]: must not have more than 3 nameservers",
            "spec.dnsConfig.nameservers[3]: Invalid value: \"300.1.1.1\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "spec.dnsConfig.searches[2]: Invalid value: \"Bad_Domain\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')",
            "spec.dnsConfig.options[0]: Required value: must not be empty",
        ]),
        Case(name: "terminationGracePeriodSeconds must not be negative", manifest: pod("""
            \(app)
            terminationGracePeriodSeconds: -1
            """), expected: [
            "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
        ]),
        Case(name: "scalar spec fields", manifest: pod("""
            \(app)
            activeDeadlineSeconds: 0
            hostname: My.Host
            subdomain: sub_domain
            serviceAccountName: Robot
            nodeName: node_1
            priorityClassName: High
            runtimeClassName: Kata
            preemptionPolicy: Sometimes
            nodeSelector: {"disk type": ssd}
            readinessGates: [{conditionType: "example.com/"}]
            """), expected: [
            "spec.nodeSelector: Invalid value: \"disk type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "spec.readinessGates[0].conditionType: Invalid value: \"example.com/\": name part must be non-empty",
            "spec.readinessGates[0].conditionType: Invalid value: \"example.com/\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "spec.serviceAccountName: Invalid value: \"Robot\": \(subdomainMessage)",
            "spec.nodeName: Invalid value: \"node_1\": \(subdomainMessage)",
            "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
            "spec.hostname: Invalid value: \"My.Host\": \(labelMessage)",
            "spec.subdomain: Invalid value: \"sub_domain\": \(labelMessage)",
            "spec.priorityClassName: Invalid value: \"High\": \(subdomainMessage)",
            "spec.runtimeClassName: Invalid value: \"Kata\": \(subdomainMessage)",
            "spec.preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\"",
        ]),
        Case(name: "tolerations and host aliases", manifest: pod("""
            \(app)
            tolerations:
            - operator: Equal
            - {key: dedicated, operator: Exists, value: gpu, effect: Never}
            - {key: dedicated, value: gpu, tolerationSeconds: 10}
            hostAliases:
            - {ip: 10.0.0.300, hostnames: [db, Bad_Host]}
            """), expected: [
            "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            "spec.tolerations[1].operator: Invalid value: \"gpu\": value must be empty when `operator` is 'Exists'",
            "spec.tolerations[1].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            "spec.tolerations[2].effect: Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set",
            "spec.hostAliases[0].ip: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "spec.hostAliases[0].hostnames[1]: Invalid value: \"Bad_Host\": \(subdomainMessage)",
        ]),
        Case(name: "host namespaces and user namespaces", manifest: pod("""
            \(app)
            hostUsers: false
            hostNetwork: true
            hostPID: true
            shareProcessNamespace: true
            """), expected: [
            "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
            "spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false",
            "spec.HostPID: Forbidden: when `pod.Spec.HostUsers` is false",
        ]),
        Case(name: "os", manifest: pod("""
            \(app)
            os: {name: plan9}
            """), expected: [
            "spec.os: Unsupported value: \"plan9\": supported values: \"linux\", \"windows\"",
        ]),
        Case(name: "errors come in the order of the spec", manifest: """
            apiVersion: v1
            kind: Pod
            metadata: {name: Web}
            spec:
              dnsPolicy: Cluster
              restartPolicy: Sometimes
              ephemeralContainers: [{name: debug, image: busybox, ports: [{containerPort: 1}]}]
              initContainers: [{name: init}]
              containers: [{name: app, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
              volumes: [{name: Data}]
            """, expected: [
            "metadata.name: Invalid value: \"Web\": \(subdomainMessage)",
            "spec.volumes[0].name: Invalid value: \"Data\": \(labelMessage)",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
            "spec.initContainers[0].image: Required value",
            "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        ]),
        Case(name: "pod-level resources", manifest: pod("""
            containers: [{name: app, image: busybox, resources: {requests: {cpu: "1"}, limits: {memory: 1Gi}}}]
            resources:
              requests: {cpu: 500m, ephemeral-storage: 1Gi}
              limits: {memory: 512Mi}
            """), expected: [
            "spec.resources.requests[ephemeral-storage]: Unsupported value: \"ephemeral-storage\": supported values: \"cpu\", \"memory\"",
            "spec.resources.requests[cpu]: Invalid value: \"500m\": must be greater than or equal to aggregate container requests of 1",
            "spec.resources.containers[0][memory].limits: Invalid value: \"1Gi\": must be less than or equal to pod limits of 512Mi",
        ]),
    ]

    @Test(arguments: metadataCases + containerCases + volumeCases + specCases)
    func validation(_ c: Case) {
        #expect(manifestProblems(c.manifest) == c.expected)
    }

    @Test func aValidPodHasNoErrors() throws {
        #expect(manifestProblems(RoundTripTests.everyField).isEmpty)
    }

    /// Before defaulting, a volume without a source has no type; the API server never sees
    /// one, but the validation says what it would say.
    @Test func volumeWithoutATypeBeforeDefaulting() {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "default"),
                      spec: PodSpec(volumes: [Volume(name: "data"), Volume(name: "both", hostPath: HostPathVolumeSource(path: "/x"),
                                                                             emptyDir: EmptyDirVolumeSource(), secret: SecretVolumeSource(secretName: "s"))],
                                    containers: [Container(name: "app", image: "busybox")]))
        pod.spec.restartPolicy = .always
        pod.spec.dnsPolicy = .clusterFirst
        pod.spec.terminationGracePeriodSeconds = 30
        let errors = PodValidation.validate(pod).filter { $0.field.hasPrefix("spec.volumes") }.map(\.description)
        #expect(errors == [
            "spec.volumes[0]: Required value: must specify a volume type",
            "spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type",
            "spec.volumes[1].secret: Forbidden: may not specify more than 1 volume type",
        ])
        // Defaulting makes the first an emptyDir; the second stays wrong.
        let defaulted = PodDefaults.apply(pod)
        #expect(defaulted.spec.volumes?[0].emptyDir == EmptyDirVolumeSource())
        #expect(PodValidation.validate(defaulted).map(\.description) == Array(errors.dropFirst()))
    }

    @Test func undefaultedFieldsAreRequired() {
        let pod = Pod(metadata: ObjectMeta(name: "web", namespace: "default"),
                      spec: PodSpec(containers: [Container(name: "app", image: "busybox", ports: [ContainerPort(containerPort: 80)])]))
        #expect(PodValidation.validate(pod).map(\.description) == [
            "spec.terminationGracePeriodSeconds: Required value",
            "spec.containers[0].terminationMessagePolicy: Required value",
            "spec.containers[0].ports[0].protocol: Required value",
            "spec.containers[0].imagePullPolicy: Required value",
            "spec.restartPolicy: Required value",
            "spec.dnsPolicy: Required value",
        ])
    }
}

@Suite struct PodDefaultsTests {
    @Test func kubernetesDefaults() throws {
        let pods = try decodePods(pod("""
            hostNetwork: true
            containers:
            - name: app
              image: registry.example.com:5000/app
              ports: [{containerPort: 8080}]
              env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
              resources: {limits: {cpu: 0.0001, memory: 64Mi}}
              livenessProbe: {httpGet: {port: 8080}}
              lifecycle: {preStop: {httpGet: {port: 8080}}}
            - name: pinned
              image: busybox:1.36
            - name: digest
              image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000
            volumes:
            - name: scratch
            - name: host
              hostPath: {path: /srv}
            - name: s
              secret: {secretName: s}
            - name: p
              projected: {sources: [{serviceAccountToken: {path: t}}]}
            """))
        let p = PodDefaults.apply(pods[0])
        #expect(p.spec.restartPolicy == .always)
        #expect(p.spec.dnsPolicy == .clusterFirst)
        #expect(p.spec.terminationGracePeriodSeconds == 30)
        #expect(p.spec.schedulerName == "default-scheduler")
        #expect(p.spec.enableServiceLinks == true)
        #expect(p.spec.securityContext == PodSecurityContext())
        let app = p.spec.containers[0]
        #expect(app.imagePullPolicy == .always)
        #expect(p.spec.containers[1].imagePullPolicy == .ifNotPresent)
        #expect(p.spec.containers[2].imagePullPolicy == .ifNotPresent)
        #expect(app.terminationMessagePath == "/dev/termination-log")
        #expect(app.terminationMessagePolicy == .file)
        #expect(app.ports?[0].protocol == .tcp)
        #expect(app.ports?[0].hostPort == 8080)
        #expect(app.env?[0].valueFrom?.fieldRef?.apiVersion == "v1")
        #expect(app.resources?.limits?["cpu"]?.description == "1m")
        #expect(app.resources?.requests?["cpu"]?.description == "1m")
        #expect(app.resources?.requests?["memory"]?.description == "64Mi")
        #expect(app.livenessProbe?.timeoutSeconds == 1)
        #expect(app.livenessProbe?.periodSeconds == 10)
        #expect(app.livenessProbe?.successThreshold == 1)
        #expect(app.livenessProbe?.failureThreshold == 3)
        #expect(app.livenessProbe?.httpGet?.path == "/")
        #expect(app.livenessProbe?.httpGet?.scheme == .http)
        #expect(app.lifecycle?.preStop?.httpGet?.scheme == .http)
        #expect(p.spec.volumes?[0].emptyDir == EmptyDirVolumeSource())
        #expect(p.spec.volumes?[1].hostPath?.type == .unset)
        #expect(p.spec.volumes?[2].secret?.defaultMode == 0o644)
        #expect(p.spec.volumes?[3].projected?.defaultMode == 0o644)
        #expect(p.spec.volumes?[3].projected?.sources?[0].serviceAccountToken?.expirationSeconds == 3600)
        #expect(PodDefaults.apply(p) == p)
    }

    @Test(arguments: [
        ("busybox", "latest"), ("busybox:latest", "latest"), ("busybox:1.36", "1.36"),
        ("localhost:5000/app", "latest"), ("localhost:5000/app:v2", "v2"),
        ("app@sha256:abc", ""), ("app:v1@sha256:abc", "v1"), ("", ""),
    ])
    func imageTags(_ image: String, _ tag: String) {
        #expect(PodDefaults.imageTag(image) == tag)
    }
}

@Suite struct ValidationRulesTests {
    @Test func dnsNames() {
        #expect(ValidationRules.isDNS1123Label("my-name").isEmpty)
        #expect(ValidationRules.isDNS1123Label("123-abc").isEmpty)
        #expect(ValidationRules.isDNS1123Label("-a") == [labelMessage])
        #expect(ValidationRules.isDNS1123Label("a.b") == ["must not contain dots"])
        #expect(ValidationRules.isDNS1123Label(String(repeating: "a", count: 64)) == ["must be no more than 63 characters"])
        #expect(ValidationRules.isDNS1123Subdomain("example.com").isEmpty)
        #expect(ValidationRules.isDNS1123Subdomain("a..b") == [subdomainMessage])
        #expect(ValidationRules.isDNS1123Subdomain("") == [subdomainMessage])
        #expect(ValidationRules.nameIsDNSSubdomain("web-", prefix: true).isEmpty)
        #expect(ValidationRules.isDNS1123SubdomainWithUnderscore("_sip._tcp.example.com").isEmpty)
    }

    @Test func qualifiedNamesAndLabelValues() {
        #expect(ValidationRules.isQualifiedName("example.com/MyName").isEmpty)
        #expect(ValidationRules.isQualifiedName("/name") == ["prefix part must be non-empty"])
        #expect(ValidationRules.isQualifiedName("Example.com/x").first?.hasPrefix("prefix part a lowercase RFC 1123 subdomain") == true)
        #expect(ValidationRules.isValidLabelValue("").isEmpty)
        #expect(ValidationRules.isValidLabelValue("my_value").isEmpty)
        #expect(ValidationRules.isValidLabelValue(String(repeating: "a", count: 64)) == ["must be no more than 63 characters"])
    }

    @Test func portsAndIDs() {
        #expect(ValidationRules.isValidPortName("http").isEmpty)
        #expect(ValidationRules.isValidPortName("-a--b-") == ["must not contain consecutive hyphens", "must not begin or end with a hyphen"])
        #expect(ValidationRules.isValidPortNum(65535).isEmpty)
        #expect(ValidationRules.isValidPortNum(65536) == [portRange])
        #expect(ValidationRules.isValidUserID(0).isEmpty)
        #expect(ValidationRules.isValidUserID(-1) == [idRange])
    }

    @Test func envNamesKeysHeaders() {
        #expect(ValidationRules.isRelaxedEnvVarName("1 weird-but.ok!").isEmpty)
        #expect(ValidationRules.isRelaxedEnvVarName("é") == ["a valid environment variable name must consist only of printable ASCII characters other than '='"])
        #expect(ValidationRules.isConfigMapKey("..") == ["must not be '..'"])
        #expect(ValidationRules.isConfigMapKey("..a") == ["must not start with '..'"])
        #expect(ValidationRules.isHTTPHeaderName("X-Header").isEmpty)
    }

    @Test func ipAddresses() {
        #expect(ValidationRules.parsesAsIP("10.0.0.1"))
        #expect(ValidationRules.parsesAsIP("010.000.000.001"))
        #expect(ValidationRules.parsesAsIP("2001:db8::1"))
        #expect(ValidationRules.parsesAsIP("::ffff:1.2.3.4"))
        #expect(!ValidationRules.parsesAsIP("10.0.0"))
        #expect(!ValidationRules.parsesAsIP("256.0.0.1"))
        #expect(!ValidationRules.parsesAsIP("example.com"))
    }

    @Test func paths() {
        #expect(ValidationRules.localNonReservedPath("a/b", FieldPath("p")).isEmpty)
        #expect(ValidationRules.localNonReservedPath("..a", FieldPath("p")).map(\.description) == [#"p: Invalid value: "..a": must not start with '..'"#])
        #expect(ValidationRules.localNonReservedPath("../a", FieldPath("p")).map(\.description) == [#"p: Invalid value: "../a": must not contain '..'"#])
    }
}

@Suite struct FieldErrorTests {
    @Test func formatting() {
        let path = FieldPath("spec", "containers").index(1).child("resources", "limits").key("memory")
        #expect(path.description == "spec.containers[1].resources.limits[memory]")
        #expect(FieldError.required(FieldPath("a")).description == "a: Required value")
        #expect(FieldError.required(FieldPath("a"), "why").description == "a: Required value: why")
        #expect(FieldError.forbidden(FieldPath("a"), "no").description == "a: Forbidden: no")
        #expect(FieldError.duplicate(FieldPath("a"), .string("x")).description == #"a: Duplicate value: "x""#)
        #expect(FieldError.notFound(FieldPath("a"), .string("x")).description == #"a: Not found: "x""#)
        #expect(FieldError.invalid(FieldPath("a"), .int(-1), "bad").description == "a: Invalid value: -1: bad")
        #expect(FieldError.notSupported(FieldPath("a"), .json("x<y"), ["b", "c"]).description == #"a: Unsupported value: "x\u003cy": supported values: "b", "c""#)
        #expect(FieldError.tooLong(FieldPath("a"), maxLength: 63).description == "a: Too long: may not be more than 63 bytes")
        #expect(FieldError.tooMany(FieldPath("a"), actual: 3, max: 1).description == "a: Too many: 3: must have at most 1 item")
        #expect(FieldError.invalid(FieldPath("a"), .string("tab\there"), "x").description == #"a: Invalid value: "tab\there": x"#)
    }
}
