import Testing
@testable import ShoalAPI

/// Decoding errors: type mismatches, bad quantities, unknown and duplicate fields, YAML and
/// JSON syntax, each a line naming the field path, in the order the fields appear.
@Suite struct ManifestDecodingTests {
    typealias Case = ManifestCase

    static let regex = "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

    static let cases: [Case] = [
        Case(name: "bad quantity in the second container", manifest: pod("""
            containers:
            - name: a
              image: busybox
            - name: b
              image: busybox
              resources:
                limits:
                  memory: 12Q
            """), expected: [
            "spec.containers[1].resources.limits[memory]: Invalid value: \"12Q\": quantities must match the regular expression \(regex)",
        ]),
        Case(name: "string where an integer belongs", manifest: pod("""
            terminationGracePeriodSeconds: abc
            containers:
            - name: a
              image: busybox
            """), expected: [
            "spec.terminationGracePeriodSeconds: Invalid value: \"abc\": cannot unmarshal string into Go value of type int64",
        ]),
        Case(name: "every type error is reported, in document order", manifest: pod("""
            containers:
            - name: a
              image: busybox
              ports:
              - containerPort: 99999999999
              - containerPort: 80.5
              env:
              - name: MODE
                value: 123
              tty: "yes"
              command: echo hi
            restartPolicy: 7
            hostNetwork: 1
            """), expected: [
            "spec.containers[0].ports[0].containerPort: Invalid value: 99999999999: cannot unmarshal number 99999999999 into Go value of type int32",
            "spec.containers[0].ports[1].containerPort: Invalid value: 80.5: cannot unmarshal number 80.5 into Go value of type int32",
            "spec.containers[0].env[0].value: Invalid value: 123: cannot unmarshal number into Go value of type string",
            "spec.containers[0].tty: Invalid value: \"yes\": cannot unmarshal string into Go value of type bool",
            "spec.containers[0].command: Invalid value: \"echo hi\": cannot unmarshal string into Go value of type []string",
            "spec.restartPolicy: Invalid value: 7: cannot unmarshal number into Go value of type v1.RestartPolicy",
            "spec.hostNetwork: Invalid value: 1: cannot unmarshal number into Go value of type bool",
        ]),
        Case(name: "an object where a list belongs", manifest: pod("""
            containers:
              name: a
              image: busybox
            """), expected: [
            "spec.containers: Invalid value: cannot unmarshal object into Go value of type []v1.Container",
        ]),
        Case(name: "a list where an object belongs", manifest: """
            apiVersion: v1
            kind: Pod
            metadata: [web]
            spec:
              containers: [{name: a, image: busybox}]
            """, expected: [
            "metadata: Invalid value: cannot unmarshal array into Go value of type v1.ObjectMeta",
        ]),
        Case(name: "a string where a map belongs", manifest: pod("""
            nodeSelector: disk=ssd
            containers: [{name: a, image: busybox}]
            """), expected: [
            "spec.nodeSelector: Invalid value: \"disk=ssd\": cannot unmarshal string into Go value of type map[string]string",
        ]),
        Case(name: "an integer-or-string port given a boolean", manifest: pod("""
            containers:
            - name: a
              image: busybox
              livenessProbe:
                tcpSocket:
                  port: true
            """), expected: [
            "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: true: cannot unmarshal bool into Go value of type int32",
        ]),
        Case(name: "YAML 1.1 booleans are booleans, as in go-yaml", manifest: pod("""
            containers:
            - name: a
              image: busybox
              env:
              - name: N
                value: yes
            """), expected: [
            "spec.containers[0].env[0].name: Invalid value: false: cannot unmarshal bool into Go value of type string",
            "spec.containers[0].env[0].value: Invalid value: true: cannot unmarshal bool into Go value of type string",
        ]),
        Case(name: "unknown fields, as kubectl's strict validation", manifest: pod("""
            containers:
            - name: a
              imagee: busybox
              image: busybox
              resources:
                limit:
                  cpu: 1
            priority_class: high
            """), expected: [
            "unknown field \"spec.containers[0].imagee\"",
            "unknown field \"spec.containers[0].resources.limit\"",
            "unknown field \"spec.priority_class\"",
        ]),
        Case(name: "unknown fields and type errors together", manifest: """
            apiVersion: v1
            kind: Pod
            metdata:
              name: web
            spec:
              containers:
              - name: a
                image: busybox
                stdin: maybe
            """, expected: [
            "unknown field \"metdata\"",
            "spec.containers[0].stdin: Invalid value: \"maybe\": cannot unmarshal string into Go value of type bool",
        ]),
        Case(name: "unknown fields inside ephemeral containers and volume sources", manifest: pod("""
            containers: [{name: a, image: busybox}]
            ephemeralContainers:
            - name: debug
              image: busybox
              targetContainerName: a
              target: a
            volumes:
            - name: data
              emptyDir:
                size: 1Gi
            """), expected: [
            "unknown field \"spec.ephemeralContainers[0].target\"",
            "unknown field \"spec.volumes[0].emptyDir.size\"",
        ]),
        Case(name: "opaque fields are not checked for unknown members", manifest: pod("""
            containers: [{name: a, image: busybox}]
            affinity:
              nodeAffinity:
                anything: goes
            """), expected: []),
        Case(name: "duplicate YAML keys", manifest: """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
            spec:
              containers:
              - name: a
                image: busybox
                image: nginx
            """, expected: [
            "error converting YAML to JSON: yaml: mapping key \"image\" already defined at line 8",
        ]),
        Case(name: "duplicate JSON keys", manifest: """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
             "spec": {"containers": [{"name": "a", "image": "busybox", "image": "nginx"}]}}
            """, expected: [
            "duplicate field \"spec.containers[0].image\"",
        ]),
        Case(name: "not YAML", manifest: """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
               labels: {}
            """, expected: [
            "error converting YAML to JSON: yaml: line 5: mapping values are not allowed in this context",
        ]),
        Case(name: "tabs for indentation", manifest: "apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n", expected: [
            "error converting YAML to JSON: yaml: line 4: found character that cannot start any token",
        ]),
        Case(name: "not JSON", manifest: "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"metadata\": {\"name\": \"web\"}\n", expected: [
            "error parsing JSON: line 3, column 1: unexpected end of input in object",
        ]),
        Case(name: "not an object at all", manifest: "just some text\n", expected: [
            "Invalid value: \"just some text\": cannot unmarshal string into Go value of type v1.Pod",
        ]),
        Case(name: "another kind", manifest: """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 2
            """, expected: [
            "kind: Unsupported value: \"Deployment\": supported values: \"Pod\"",
            "apiVersion: Unsupported value: \"apps/v1\": supported values: \"v1\"",
        ]),
        Case(name: "infinity cannot become JSON", manifest: pod("""
            containers: [{name: a, image: busybox}]
            activeDeadlineSeconds: .inf
            """), expected: [
            "error converting YAML to JSON: json: unsupported value: +Inf (line 7)",
        ]),
        Case(name: "bad time", manifest: """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              creationTimestamp: yesterday
            spec:
              containers: [{name: a, image: busybox}]
            """, expected: [
            "metadata.creationTimestamp: Invalid value: \"yesterday\": parsing time \"yesterday\" as RFC 3339: expected digit at offset 0",
        ]),
        Case(name: "every document is checked, each message says which", manifest: """
            apiVersion: v1
            kind: Pod
            metadata: {name: one}
            spec:
              containers: [{name: a, image: busybox}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: two}
            spec:
              containers: [{name: a, image: busybox, ports: [{containerPort: http}]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: Three}
            spec:
              containers: [{name: a, image: busybox}]
            """, expected: [
            "document 1: spec.containers[0].ports[0].containerPort: Invalid value: \"http\": cannot unmarshal string into Go value of type int32",
            "document 2: metadata.name: Invalid value: \"Three\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ]),
    ]

    @Test(arguments: cases)
    func decodingErrors(_ c: Case) {
        #expect(manifestProblems(c.manifest) == c.expected)
    }

}

/// YAML and JSON reading: documents, scalars, merge keys, JSON streams.
@Suite struct ManifestReadingTests {
    static let minimal = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
          - name: app
            image: busybox
        """

    @Test func severalDocumentsEmptyOnesSkipped() throws {
        let text = """
            ---
            # a comment only

            ---
            \(Self.minimal)
            ---
            ---
            null
            ...
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: second}
            spec: {containers: [{name: b, image: nginx}]}
            """
        let documents = try ManifestDecoder.documents(text)
        #expect(documents.count == 2)
        let pods = try decodePods(text)
        #expect(pods.map(\.metadata.name) == ["web", "second"])
        #expect(pods.map { $0.spec.containers[0].image } == ["busybox", "nginx"])
        #expect(documents[1].line == 18)
    }

    @Test func emptyTextHasNoDocuments() throws {
        #expect(try ManifestDecoder.documents("").isEmpty)
        #expect(try ManifestDecoder.documents("---\n# nothing\n---\n").isEmpty)
        #expect(manifestProblems("\n\n").isEmpty)
    }

    @Test func leadingDocumentMarker() throws {
        let pods = try decodePods("---\n" + Self.minimal)
        #expect(pods.count == 1)
        #expect(pods[0].metadata.name == "web")
    }

    @Test func jsonManifest() throws {
        let text = """
            {
              "apiVersion": "v1",
              "kind": "Pod",
              "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{"name": "app", "image": "busybox", "ports": [{"containerPort": 8080}]}]
              }
            }
            """
        let pods = try decodePods(text)
        #expect(pods.count == 1)
        #expect(pods[0].metadata.labels == ["app": "web"])
        #expect(pods[0].spec.terminationGracePeriodSeconds == 5)
        #expect(pods[0].spec.containers[0].ports?[0].containerPort == 8080)
        #expect(manifestProblems(text).isEmpty)
    }

    @Test func jsonStream() throws {
        let text = """
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            """
        #expect(try decodePods(text).map(\.metadata.name) == ["a", "b"])
    }

    @Test func yamlFlowMappingIsNotMistakenForJSON() throws {
        let text = "{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: [{name: a, image: busybox}]}}"
        #expect(try decodePods(text).map(\.metadata.name) == ["web"])
    }

    @Test func jsonErrorsNameTheField() {
        let text = #"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "a", "image": "busybox", "ports": [{"containerPort": "80"}]}]}}"#
        #expect(manifestProblems(text) == [
            "spec.containers[0].ports[0].containerPort: Invalid value: \"80\": cannot unmarshal string into Go value of type int32",
        ])
    }

    /// go-yaml v2's resolution of plain scalars, which is what the API server sees.
    @Test(arguments: [
        ("0644", JSONValue.int(420)),
        ("0o17", .int(15)),
        ("0x1F", .int(31)),
        ("0b101", .int(5)),
        ("1_000", .int(1000)),
        ("-12", .int(-12)),
        ("+12", .int(12)),
        ("08", .double(8)),
        ("1e3", .double(1000)),
        ("1.5", .double(1.5)),
        (".5", .double(0.5)),
        ("yes", .bool(true)),
        ("Off", .bool(false)),
        ("y", .bool(true)),
        ("~", .null),
        ("null", .null),
        ("", .null),
        ("2024-01-01", .string("2024-01-01")),
        ("1:20", .string("1:20")),
        ("2001:db8::1", .string("2001:db8::1")),
        ("12Q", .string("12Q")),
        ("-", .string("-")),
        ("0x", .string("0x")),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("18446744073709551615", .double(Double(UInt64.max))),
    ])
    func plainScalars(_ text: String, _ expected: JSONValue) {
        #expect(YAMLReader.resolvePlain(text) == expected)
    }

    @Test func quotedAndBlockScalarsAreStrings() throws {
        let text = """
            a: "0644"
            b: 'yes'
            c: !!str 12
            d: |
              yes
            e: >-
              true
            f: 0644
            """
        let documents = try ManifestDecoder.documents(text)
        #expect(documents[0].value == ["a": "0644", "b": "yes", "c": "12", "d": "yes\n", "e": "true", "f": 420])
    }

    @Test func keysBecomeStrings() throws {
        let documents = try ManifestDecoder.documents("1: a\ntrue: b\nyes: c\n0x10: d\n")
        #expect(documents[0].value == ["1": "a", "true": "c", "16": "d"])
    }

    @Test func mergeKeysAndAliases() throws {
        let text = """
            base: &base
              image: busybox
              imagePullPolicy: Never
            other: &other
              stdin: true
            c1:
              <<: *base
              name: one
            c2:
              <<: [*base, *other]
              image: nginx
            list: [*other, *other]
            """
        let value = try ManifestDecoder.documents(text)[0].value
        #expect(value["c1"] == ["image": "busybox", "imagePullPolicy": "Never", "name": "one"])
        #expect(value["c2"] == ["image": "nginx", "imagePullPolicy": "Never", "stdin": true])
        #expect(value["list"] == [["stdin": true], ["stdin": true]])
    }

    @Test func aliasesInAManifest() throws {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              containers:
              - &c
                name: a
                image: busybox
                env: [{name: MODE, value: "1"}]
              - <<: *c
                name: b
            """
        let pods = try decodePods(text)
        #expect(pods[0].spec.containers.map(\.name) == ["a", "b"])
        #expect(pods[0].spec.containers[1].env?[0].value == "1")
    }

    @Test func octalFileModes() throws {
        let pods = try decodePods(pod("""
            containers: [{name: a, image: busybox}]
            volumes:
            - name: s
              secret: {secretName: s, defaultMode: 0400}
            """))
        #expect(pods[0].spec.volumes?[0].secret?.defaultMode == 0o400)
    }

    @Test func integralFloatsDecodeAsIntegers() throws {
        let pods = try decodePods(pod("""
            terminationGracePeriodSeconds: 10.0
            containers: [{name: a, image: busybox}]
            """))
        #expect(pods[0].spec.terminationGracePeriodSeconds == 10)
    }

    @Test func kindAndApiVersionMayBeLeftOut() throws {
        let pods = try decodePods("metadata: {name: web}\nspec: {containers: [{name: a, image: busybox}]}\n")
        #expect(pods.count == 1)
        #expect(pods[0].kind == nil)
    }

    @Test func unknownFieldsCanBeAllowed() throws {
        let document = try ManifestDecoder.documents(pod("containers: [{name: a, image: busybox, imagee: x}]"))[0]
        #expect(throws: ManifestDecodingError.self) { try ManifestDecoder.decodePod(from: document) }
        let pod = try ManifestDecoder.decodePod(from: document, rejectUnknownFields: false)
        #expect(pod.spec.containers[0].image == "busybox")
    }

    @Test func billionLaughsIsRefused() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...7 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(throws: ManifestDecodingError(messages: ["error converting YAML to JSON: yaml: document contains excessive aliasing"])) {
            try ManifestDecoder.documents(text)
        }
    }
}
