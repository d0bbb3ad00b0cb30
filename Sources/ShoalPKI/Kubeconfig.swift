import Foundation

public enum Kubeconfig {
    /// YAML text of a kubeconfig (apiVersion v1, kind Config) with one cluster (server URL,
    /// certificate-authority-data = base64 of caPEM), one user (token), one context named
    /// `contextName`, current-context set.
    ///
    /// Every value is a double-quoted YAML scalar, so a URL's colons or a name such as "yes" or
    /// "0123" survive kubectl's YAML decoder unchanged.
    public static func render(
        server: String, caPEM: String, token: String,
        clusterName: String = "shoal", userName: String = "admin", contextName: String = "shoal"
    ) -> String {
        let caData = Data(caPEM.utf8).base64EncodedString()
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: \(quote(clusterName))
              cluster:
                server: \(quote(server))
                certificate-authority-data: \(quote(caData))
            users:
            - name: \(quote(userName))
              user:
                token: \(quote(token))
            contexts:
            - name: \(quote(contextName))
              context:
                cluster: \(quote(clusterName))
                user: \(quote(userName))
            current-context: \(quote(contextName))
            preferences: {}

            """
    }

    /// Writes it to path with mode 0600 (atomically: temp file + rename), creating missing parent
    /// directories (0700): it carries the admin token.
    public static func write(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try Files.makeDirectory(directory, step: "create kubeconfig directory")
        }
        try Files.writeAtomically(text, to: path, step: "write kubeconfig")
    }

    /// The first user token in a kubeconfig this module rendered (or a hand-written one using a plain
    /// or quoted `token:` scalar); nil when there is none.
    public static func token(in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("token:") else { continue }
            var value = trimmed.dropFirst("token:".count).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + String(format: "%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
