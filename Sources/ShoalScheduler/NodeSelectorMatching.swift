import ShoalAPI

// Node selector semantics of k8s.io/component-helpers/scheduling/corev1/nodeaffinity and
// k8s.io/apimachinery/pkg/labels: terms ORed, requirements ANDed, a malformed requirement
// making its term match nothing.

extension NodeSelectorRequirement {
    /// Whether the requirement holds for these labels; nil when it is malformed (In/NotIn
    /// without values, Exists/DoesNotExist with values, Gt/Lt without exactly one integer,
    /// an unknown operator).
    public func matches(labels: [String: String]) -> Bool? {
        let values = self.values ?? []
        let label = labels[key]
        switch self.operator {
        case .in:
            guard !values.isEmpty else { return nil }
            guard let label else { return false }
            return values.contains(label)
        case .notIn:
            guard !values.isEmpty else { return nil }
            guard let label else { return true }
            return !values.contains(label)
        case .exists:
            guard values.isEmpty else { return nil }
            return label != nil
        case .doesNotExist:
            guard values.isEmpty else { return nil }
            return label == nil
        case .gt, .lt:
            // strconv.ParseInt(s, 10, 64): optional sign, decimal digits.
            guard values.count == 1, let bound = Int64(values[0]) else { return nil }
            guard let label, let number = Int64(label) else { return false }
            return self.operator == .gt ? number > bound : number < bound
        default:
            return nil
        }
    }

    /// Whether the requirement holds for the node's fields (only `metadata.name` is a field;
    /// others read as empty); nil when malformed (only In and NotIn with one value are allowed).
    func matches(fields: [String: String]) -> Bool? {
        let values = self.values ?? []
        guard values.count == 1 else { return nil }
        let field = fields[key] ?? ""
        switch self.operator {
        case .in: return field == values[0]
        case .notIn: return field != values[0]
        default: return nil
        }
    }
}

extension NodeSelectorTerm {
    /// True when every requirement holds. An empty term, or one with a malformed requirement,
    /// matches no node.
    public func matches(_ node: Node) -> Bool {
        let expressions = matchExpressions ?? []
        let fieldRequirements = matchFields ?? []
        if expressions.isEmpty && fieldRequirements.isEmpty { return false }
        let labels = node.metadata.labels ?? [:]
        var labelsMatch = true
        for requirement in expressions {
            guard let match = requirement.matches(labels: labels) else { return false }
            if !match { labelsMatch = false }
        }
        var fieldsMatch = true
        var fields: [String: String] = [:]
        if let name = node.metadata.name, !name.isEmpty { fields["metadata.name"] = name }
        for requirement in fieldRequirements {
            guard let match = requirement.matches(fields: fields) else { return false }
            if !match { fieldsMatch = false }
        }
        // Field requirements are not checked against a node without fields (no name).
        return labelsMatch && (fieldsMatch || fields.isEmpty)
    }
}

extension NodeSelector {
    /// True when any term matches.
    public func matches(_ node: Node) -> Bool {
        nodeSelectorTerms.contains { $0.matches(node) }
    }
}
