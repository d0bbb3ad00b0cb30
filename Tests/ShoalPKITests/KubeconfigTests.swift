import Foundation
import Testing

@testable import ShoalPKI

@Suite struct KubeconfigTests {
    /// Asks the real kubectl for one field; HOME points into the scratch directory so nothing of the
    /// machine's own ~/.kube is read or written.
    func kubectl(_ file: String, _ jsonpath: String, home: String) throws -> ProcessResult {
        try run(
            "/usr/bin/kubectl", ["config", "view", "--raw", "--kubeconfig", file, "-o", "jsonpath=\(jsonpath)"],
            environment: ["HOME": home, "PATH": "/usr/bin:/bin"])
    }

    @Test func kubectlReadsTheRenderedConfig() async throws {
        try await withTemporaryDirectory { dir in
            let ca = try CertificateAuthority.loadOrCreate(directory: dir + "/pki")
            let store = try TokenStore(path: dir + "/pki/tokens")
            let token = try store.adminToken()
            let file = dir + "/etc/shoal/admin.kubeconfig"
            let server = "https://127.0.0.1:6443"
            try Kubeconfig.write(Kubeconfig.render(server: server, caPEM: ca.certificatePEM, token: token), to: file)
            #expect(try fileMode(file) == 0o600)

            let shown = try kubectl(file, "{.clusters[0].cluster.server}", home: dir)
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout == server)
            #expect(try kubectl(file, "{.current-context}", home: dir).stdout == "shoal")
            #expect(
                try kubectl(file, "{.contexts[0].context.cluster}/{.contexts[0].context.user}", home: dir).stdout
                    == "shoal/admin")
            #expect(try kubectl(file, "{.users[0].name}", home: dir).stdout == "admin")
            #expect(try kubectl(file, "{.users[0].user.token}", home: dir).stdout == token)

            let caData = try kubectl(file, "{.clusters[0].cluster.certificate-authority-data}", home: dir).stdout
            let decoded = try #require(Data(base64Encoded: caData))
            #expect(String(decoding: decoded, as: UTF8.self) == ca.certificatePEM)

            #expect(Kubeconfig.token(in: try readText(file)) == token)
        }
    }

    @Test func namesThatLookLikeOtherYAMLTypesStayStrings() async throws {
        try await withTemporaryDirectory { dir in
            let file = dir + "/kubeconfig"
            // Unquoted, YAML would read these as a boolean, a number and a null.
            let text = Kubeconfig.render(
                server: "https://[::1]:6443", caPEM: "pem", token: "abcdef.0123456789abcdef",
                clusterName: "yes", userName: "0123", contextName: "null")
            try Kubeconfig.write(text, to: file)
            #expect(try kubectl(file, "{.clusters[0].name}", home: dir).stdout == "yes")
            #expect(try kubectl(file, "{.users[0].name}", home: dir).stdout == "0123")
            #expect(try kubectl(file, "{.current-context}", home: dir).stdout == "null")
            #expect(try kubectl(file, "{.contexts[0].context.user}", home: dir).stdout == "0123")
            #expect(try kubectl(file, "{.clusters[0].cluster.server}", home: dir).stdout == "https://[::1]:6443")
        }
    }

    @Test func writeReplacesAtomicallyAndKeepsMode() async throws {
        try await withTemporaryDirectory { dir in
            let file = dir + "/kubeconfig"
            try "old".write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
            try Kubeconfig.write("new", to: file)
            #expect(try readText(file) == "new")
            #expect(try fileMode(file) == 0o600)
            // No temporary files are left beside it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["kubeconfig"])

            let error = #expect(throws: PKIError.self) { try Kubeconfig.write("x", to: file + "/inside-a-file") }
            #expect(error?.description.contains("kubeconfig") == true)
        }
    }
}
