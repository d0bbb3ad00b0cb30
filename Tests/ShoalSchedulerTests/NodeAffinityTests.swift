import Testing
import ShoalAPI
import ShoalScheduler

/// Node selector requirement operators and term semantics, as labels.Requirement and
/// component-helpers' nodeaffinity evaluate them.
@Suite struct NodeAffinityTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var requirement: NodeSelectorRequirement
        var labels: [String: String]
        /// nil: malformed requirement.
        var expected: Bool?
        var testDescription: String { "\(requirement.key) \(requirement.operator) \(requirement.values ?? []) on \(labels)" }
    }

    static func r(_ key: String, _ op: NodeSelectorOperator, _ values: [String]? = nil) -> NodeSelectorRequirement {
        NodeSelectorRequirement(key: key, operator: op, values: values)
    }

    static let cases: [Case] = [
        Case(requirement: r("disk", .in, ["ssd", "nvme"]), labels: ["disk": "ssd"], expected: true),
        Case(requirement: r("disk", .in, ["ssd", "nvme"]), labels: ["disk": "hdd"], expected: false),
        Case(requirement: r("disk", .in, ["ssd"]), labels: [:], expected: false),
        Case(requirement: r("disk", .in, []), labels: ["disk": "ssd"], expected: nil),
        Case(requirement: r("disk", .notIn, ["hdd"]), labels: ["disk": "ssd"], expected: true),
        Case(requirement: r("disk", .notIn, ["hdd"]), labels: ["disk": "hdd"], expected: false),
        Case(requirement: r("disk", .notIn, ["hdd"]), labels: [:], expected: true),
        Case(requirement: r("disk", .notIn), labels: [:], expected: nil),
        Case(requirement: r("gpu", .exists), labels: ["gpu": ""], expected: true),
        Case(requirement: r("gpu", .exists), labels: ["disk": "ssd"], expected: false),
        Case(requirement: r("gpu", .exists, ["x"]), labels: ["gpu": "x"], expected: nil),
        Case(requirement: r("gpu", .doesNotExist), labels: ["disk": "ssd"], expected: true),
        Case(requirement: r("gpu", .doesNotExist), labels: ["gpu": "a100"], expected: false),
        Case(requirement: r("gpu", .doesNotExist, ["x"]), labels: [:], expected: nil),
        Case(requirement: r("cores", .gt, ["8"]), labels: ["cores": "16"], expected: true),
        Case(requirement: r("cores", .gt, ["8"]), labels: ["cores": "8"], expected: false),
        Case(requirement: r("cores", .gt, ["-1"]), labels: ["cores": "0"], expected: true),
        Case(requirement: r("cores", .gt, ["8"]), labels: ["cores": "many"], expected: false),
        Case(requirement: r("cores", .gt, ["8"]), labels: [:], expected: false),
        Case(requirement: r("cores", .gt, ["8", "9"]), labels: ["cores": "16"], expected: nil),
        Case(requirement: r("cores", .gt, ["eight"]), labels: ["cores": "16"], expected: nil),
        Case(requirement: r("cores", .lt, ["8"]), labels: ["cores": "4"], expected: true),
        Case(requirement: r("cores", .lt, ["8"]), labels: ["cores": "+08"], expected: false),
        Case(requirement: r("cores", .lt, ["8"]), labels: ["cores": "16"], expected: false),
        Case(requirement: r("cores", .lt, []), labels: ["cores": "4"], expected: nil),
        Case(requirement: r("disk", "Like", ["ssd"]), labels: ["disk": "ssd"], expected: nil),
    ]

    @Test(arguments: cases)
    func operators(_ c: Case) {
        #expect(c.requirement.matches(labels: c.labels) == c.expected)
    }

    let node = Node(metadata: ObjectMeta(name: "node-1", labels: ["disk": "ssd", "zone": "a"]))

    @Test func expressionsAreANDed() {
        #expect(NodeSelectorTerm(matchExpressions: [Self.r("disk", .in, ["ssd"]), Self.r("zone", .in, ["a"])]).matches(node))
        #expect(!NodeSelectorTerm(matchExpressions: [Self.r("disk", .in, ["ssd"]), Self.r("zone", .in, ["b"])]).matches(node))
    }

    @Test func termsAreORed() {
        let selector = NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(matchExpressions: [Self.r("zone", .in, ["b"])]),
            NodeSelectorTerm(matchExpressions: [Self.r("disk", .exists)]),
        ])
        #expect(selector.matches(node))
        #expect(!NodeSelector(nodeSelectorTerms: [NodeSelectorTerm(matchExpressions: [Self.r("zone", .in, ["b"])])]).matches(node))
        #expect(!NodeSelector(nodeSelectorTerms: []).matches(node))
    }

    @Test func emptyAndMalformedTermsMatchNothing() {
        #expect(!NodeSelectorTerm().matches(node))
        #expect(!NodeSelectorTerm(matchExpressions: []).matches(node))
        // A malformed requirement sinks its term, even when ORed with a NotIn that would hold…
        #expect(!NodeSelectorTerm(matchExpressions: [Self.r("zone", .notIn, ["b"]), Self.r("disk", .in, [])]).matches(node))
        // …but not the other terms.
        #expect(NodeSelector(nodeSelectorTerms: [
            NodeSelectorTerm(matchExpressions: [Self.r("disk", .in, [])]),
            NodeSelectorTerm(matchExpressions: [Self.r("zone", .in, ["a"])]),
        ]).matches(node))
    }

    @Test func matchFieldsOnTheNodeName() {
        #expect(NodeSelectorTerm(matchFields: [Self.r("metadata.name", .in, ["node-1"])]).matches(node))
        #expect(!NodeSelectorTerm(matchFields: [Self.r("metadata.name", .in, ["node-2"])]).matches(node))
        #expect(NodeSelectorTerm(matchFields: [Self.r("metadata.name", .notIn, ["node-2"])]).matches(node))
        #expect(!NodeSelectorTerm(matchFields: [Self.r("metadata.name", .notIn, ["node-1"])]).matches(node))
        // Only one value, only In and NotIn.
        #expect(!NodeSelectorTerm(matchFields: [Self.r("metadata.name", .in, ["node-1", "node-2"])]).matches(node))
        #expect(!NodeSelectorTerm(matchFields: [Self.r("metadata.name", .exists)]).matches(node))
        // Labels and fields together are ANDed.
        #expect(NodeSelectorTerm(matchExpressions: [Self.r("zone", .in, ["a"])], matchFields: [Self.r("metadata.name", .in, ["node-1"])]).matches(node))
        #expect(!NodeSelectorTerm(matchExpressions: [Self.r("zone", .in, ["b"])], matchFields: [Self.r("metadata.name", .in, ["node-1"])]).matches(node))
    }

    @Test func requiredAffinityThroughTheScheduler() {
        let nodes = [
            makeNode("node-a", labels: ["cores": "4"]),
            makeNode("node-b", labels: ["cores": "16", "gpu": "a100"]),
            makeNode("node-c", labels: ["cores": "32"]),
        ]
        let affinity = affinityJSON("""
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                - matchExpressions:
                  - {key: cores, operator: Gt, values: ["8"]}
                  - {key: gpu, operator: DoesNotExist}
            """)
        #expect(outcome(makePod { $0.affinity = affinity }, nodes) == "bound:node-c")
        let nothing = affinityJSON("""
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms: [{matchExpressions: [{key: cores, operator: Lt, values: ["2"]}]}]
            """)
        #expect(outcome(makePod { $0.affinity = nothing }, nodes)
            == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
        // Preferred terms never filter.
        let preferred = affinityJSON("""
            nodeAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
              - {weight: 10, preference: {matchExpressions: [{key: cores, operator: Lt, values: ["2"]}]}}
            """)
        #expect(outcome(makePod { $0.affinity = preferred }, [nodes[0]]) == "bound:node-a")
    }
}
