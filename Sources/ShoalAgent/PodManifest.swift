import ShoalAPI

/// Decoding, defaulting and validating pod manifests (a facade over ShoalAPI): strict decoding
/// as the API server does with field validation on (`ManifestDecoder`), Kubernetes' defaults
/// (`PodDefaults`), and Kubernetes' create-time validation (`PodValidation`), with its messages.
enum PodManifest {
    /// Every pod of a manifest text, or every problem of it. With several documents, each
    /// message says which one (`document 1: spec.containers: Required value`).
    static func decode(_ text: String) throws(ManifestDecodingError) -> [Pod] {
        let documents = try decodeDocuments(text)
        var pods: [Pod] = []
        var messages: [String] = []
        for (index, result) in documents.enumerated() {
            switch result {
            case .success(let pod): pods.append(pod)
            case .failure(let error): messages += error.messages.map { (documents.count > 1 ? "document \(index): " : "") + $0 }
            }
        }
        if !messages.isEmpty { throw ManifestDecodingError(messages: messages) }
        return pods
    }

    /// Each non-empty document of a manifest text as a pod or its decoding problems. Throws
    /// when the text is not YAML (or JSON) at all.
    static func decodeDocuments(_ text: String) throws(ManifestDecodingError) -> [Result<Pod, ManifestDecodingError>] {
        try ManifestDecoder.documents(text).map { document in
            Result { () throws(ManifestDecodingError) -> Pod in try ManifestDecoder.decodePod(from: document) }
        }
    }

    /// The kubelet's defaults for a static pod (namespace "default") and the API server's.
    static func withDefaults(_ pod: Pod) -> Pod {
        var p = pod
        if (p.metadata.namespace ?? "").isEmpty { p.metadata.namespace = "default" }
        PodDefaults.apply(to: &p)
        return p
    }

    /// Kubernetes' validation errors, `field: message` each.
    static func validate(_ pod: Pod) -> [String] {
        PodValidation.validate(pod).map(\.description)
    }
}
