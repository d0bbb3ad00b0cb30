import Foundation
import ShoalAPI
import Yams

/// Decoding, defaulting and validating pod manifests (a facade over ShoalAPI).
enum PodManifest {
    static func decode(_ text: String) throws -> [Pod] {
        var pods: [Pod] = []
        for document in try Yams.load_all(yaml: text) {
            if document is NSNull { continue }
            let data = try JSONSerialization.data(withJSONObject: document)
            pods.append(try JSONDecoder().decode(Pod.self, from: data))
        }
        return pods
    }

    static func withDefaults(_ pod: Pod) -> Pod {
        var p = pod
        if p.metadata.namespace == nil { p.metadata.namespace = "default" }
        if p.spec.restartPolicy == nil { p.spec.restartPolicy = .always }
        if p.spec.terminationGracePeriodSeconds == nil { p.spec.terminationGracePeriodSeconds = 30 }
        if p.spec.dnsPolicy == nil { p.spec.dnsPolicy = .clusterFirst }
        return p
    }

    static func validate(_ pod: Pod) -> [String] {
        var errors: [String] = []
        if (pod.metadata.name ?? "").isEmpty { errors.append("metadata.name: Required value: name or generateName is required") }
        if pod.spec.containers.isEmpty { errors.append("spec.containers: Required value") }
        return errors
    }
}
