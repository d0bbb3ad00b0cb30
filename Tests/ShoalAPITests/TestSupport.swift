import Testing
@testable import ShoalAPI

/// The static-pod pipeline the agent runs on a manifest file (ManifestSource): decode every
/// document strictly, default, validate; messages prefixed with the document index when the
/// file has several, exactly as the agent reports them.
func manifestProblems(_ text: String) -> [String] {
    let documents: [ManifestDocument]
    do {
        documents = try ManifestDecoder.documents(text)
    } catch {
        return error.messages
    }
    var messages: [String] = []
    for (index, document) in documents.enumerated() {
        let prefix = documents.count > 1 ? "document \(index): " : ""
        do {
            var pod = try ManifestDecoder.decodePod(from: document)
            if (pod.metadata.namespace ?? "").isEmpty { pod.metadata.namespace = "default" }
            PodDefaults.apply(to: &pod)
            messages += PodValidation.validate(pod).map { prefix + $0.description }
        } catch {
            messages += error.messages.map { prefix + $0 }
        }
    }
    return messages
}

/// The pods of a manifest that must be valid.
func decodePods(_ text: String) throws -> [Pod] {
    try ManifestDecoder.documents(text).map { try ManifestDecoder.decodePod(from: $0) }
}

/// A minimal valid pod around `spec` lines (indented by four spaces in the result).
func pod(_ spec: String, name: String = "web") -> String {
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: \(name)
    spec:
    \(spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    """
}

/// A manifest and the exact error lines it must give, for table-driven tests.
struct ManifestCase: CustomTestStringConvertible, Sendable {
    var name: String
    var manifest: String
    var expected: [String]
    var testDescription: String { name }
}
