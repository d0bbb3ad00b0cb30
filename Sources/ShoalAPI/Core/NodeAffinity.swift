#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// core/v1 Affinity, typed for what the scheduler interprets: node affinity. Pod (anti-)affinity
/// stays opaque.
///
/// `PodSpec.affinity` is kept as a `JSONValue` (so that any manifest round-trips); read it typed
/// with `PodSpec.decodedAffinity()`.
public struct Affinity: Sendable, Hashable, Codable {
    public var nodeAffinity: NodeAffinity?
    public var podAffinity: JSONValue?
    public var podAntiAffinity: JSONValue?

    public init(
        nodeAffinity: NodeAffinity? = nil,
        podAffinity: JSONValue? = nil,
        podAntiAffinity: JSONValue? = nil
    ) {
        self.nodeAffinity = nodeAffinity
        self.podAffinity = podAffinity
        self.podAntiAffinity = podAntiAffinity
    }
}

/// core/v1 NodeAffinity.
public struct NodeAffinity: Sendable, Hashable, Codable {
    /// Hard requirement: the pod goes only to a node matching one of its terms.
    public var requiredDuringSchedulingIgnoredDuringExecution: NodeSelector?
    /// Soft preference: nodes matching a term score its weight.
    public var preferredDuringSchedulingIgnoredDuringExecution: [PreferredSchedulingTerm]?

    public init(
        requiredDuringSchedulingIgnoredDuringExecution: NodeSelector? = nil,
        preferredDuringSchedulingIgnoredDuringExecution: [PreferredSchedulingTerm]? = nil
    ) {
        self.requiredDuringSchedulingIgnoredDuringExecution = requiredDuringSchedulingIgnoredDuringExecution
        self.preferredDuringSchedulingIgnoredDuringExecution = preferredDuringSchedulingIgnoredDuringExecution
    }
}

/// core/v1 NodeSelector: terms ORed together.
public struct NodeSelector: Sendable, Hashable, Codable {
    public var nodeSelectorTerms: [NodeSelectorTerm]

    public init(
        nodeSelectorTerms: [NodeSelectorTerm] = []
    ) {
        self.nodeSelectorTerms = nodeSelectorTerms
    }
}

/// core/v1 NodeSelectorTerm: requirements ANDed together. A term with neither list matches no node.
public struct NodeSelectorTerm: Sendable, Hashable, Codable {
    /// Requirements on the node's labels.
    public var matchExpressions: [NodeSelectorRequirement]?
    /// Requirements on the node's fields (only `metadata.name`).
    public var matchFields: [NodeSelectorRequirement]?

    public init(
        matchExpressions: [NodeSelectorRequirement]? = nil,
        matchFields: [NodeSelectorRequirement]? = nil
    ) {
        self.matchExpressions = matchExpressions
        self.matchFields = matchFields
    }
}

/// core/v1 NodeSelectorRequirement: `key operator values`.
public struct NodeSelectorRequirement: Sendable, Hashable, Codable {
    public var key: String
    public var `operator`: NodeSelectorOperator
    public var values: [String]?

    public init(
        key: String,
        `operator`: NodeSelectorOperator,
        values: [String]? = nil
    ) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}

/// How a node selector requirement compares a label.
public struct NodeSelectorOperator: StringEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let `in`: NodeSelectorOperator = "In"
    public static let notIn: NodeSelectorOperator = "NotIn"
    public static let exists: NodeSelectorOperator = "Exists"
    public static let doesNotExist: NodeSelectorOperator = "DoesNotExist"
    /// The label, as an integer, is greater than the single value.
    public static let gt: NodeSelectorOperator = "Gt"
    /// The label, as an integer, is less than the single value.
    public static let lt: NodeSelectorOperator = "Lt"
}

/// core/v1 PreferredSchedulingTerm: a weighted (1–100) preference.
public struct PreferredSchedulingTerm: Sendable, Hashable, Codable {
    public var weight: Int32
    public var preference: NodeSelectorTerm

    public init(
        weight: Int32,
        preference: NodeSelectorTerm = NodeSelectorTerm()
    ) {
        self.weight = weight
        self.preference = preference
    }
}

extension Affinity {
    /// Reads the typed affinity out of the opaque tree `PodSpec.affinity` holds, with the
    /// manifest decoder's Go semantics and messages. Unknown members (in podAffinity, say) are
    /// not errors here; API validation is where they are reported.
    public init(json: JSONValue) throws(ManifestDecodingError) {
        self = try ManifestDecoder.decode(Affinity.self, from: ManifestDocument(value: json), rejectUnknownFields: false)
    }

    /// The tree to store in `PodSpec.affinity`.
    public var json: JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain structs of strings and integers cannot fail, and the encoder's output
        // always parses.
        guard let data = try? encoder.encode(self),
            let value = try? JSONParser.parse(String(decoding: data, as: UTF8.self)).value
        else { return .object([:]) }
        return value
    }
}

extension PodSpec {
    /// `affinity` as the typed `Affinity`: nil when absent or null; throws when the tree does
    /// not have Affinity's shape (a string where an object belongs, …).
    public func decodedAffinity() throws(ManifestDecodingError) -> Affinity? {
        guard let affinity, !affinity.isNull else { return nil }
        return try Affinity(json: affinity)
    }
}
