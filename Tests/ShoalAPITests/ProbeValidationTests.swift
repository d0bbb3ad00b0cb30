import Testing
@testable import ShoalAPI

/// Invalid probe and hook specs not covered by PodValidationTests' "probes" and "lifecycle
/// handlers" cases: every negative timing field, hook ports, named ports, a valid full spec.
@Suite struct ProbeValidationTests {
    @Test func negativeTimingsAndBadPortsInProbesAndHooks() {
        let manifest = pod("""
            containers:
            - name: app
              image: busybox
              ports: [{name: http, containerPort: 8080}]
              livenessProbe:
                tcpSocket: {port: 65536}
                initialDelaySeconds: -1
                timeoutSeconds: -2
                failureThreshold: -3
              readinessProbe:
                httpGet: {port: http-port-name-too-long}
                successThreshold: -1
              lifecycle:
                postStart: {httpGet: {port: 0}}
                preStop: {tcpSocket: {port: -5}}
            """)
        #expect(manifestProblems(manifest) == [
            "spec.containers[0].lifecycle.postStart.httpGet.port: Invalid value: 0: \(portRange)",
            "spec.containers[0].lifecycle.preStop.tcpSocket.port: Invalid value: -5: \(portRange)",
            "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 65536: \(portRange)",
            "spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0",
            "spec.containers[0].livenessProbe.timeoutSeconds: Invalid value: -2: must be greater than or equal to 0",
            "spec.containers[0].livenessProbe.failureThreshold: Invalid value: -3: must be greater than or equal to 0",
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"http-port-name-too-long\": must be no more than 15 characters",
            "spec.containers[0].readinessProbe.successThreshold: Invalid value: -1: must be greater than or equal to 0",
        ])
    }

    @Test func everyHandlerKindIsAccepted() {
        let manifest = pod("""
            terminationGracePeriodSeconds: 10
            containers:
            - name: app
              image: busybox
              ports: [{name: http, containerPort: 8080}]
              startupProbe: {httpGet: {path: /started, port: http, httpHeaders: [{name: X-Probe, value: "1"}]}, failureThreshold: 30}
              livenessProbe: {grpc: {port: 9090, service: app}, terminationGracePeriodSeconds: 5}
              readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, successThreshold: 2}
              lifecycle:
                postStart: {exec: {command: [sh, -c, "echo hi"]}}
                preStop: {sleep: {seconds: 3}}
            initContainers:
            - name: proxy
              image: busybox
              restartPolicy: Always
              startupProbe: {exec: {command: ["true"]}}
              lifecycle: {preStop: {httpGet: {port: 8081}}}
            """)
        #expect(manifestProblems(manifest) == [])
    }
}
