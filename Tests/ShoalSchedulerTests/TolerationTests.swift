import Testing
import ShoalAPI
import ShoalScheduler

/// Toleration matching exactly as v1.Toleration.ToleratesTaint, and the NoExecute verdicts.
@Suite struct TolerationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var toleration: Toleration
        var taint: Taint
        var tolerates: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty key with Exists tolerates everything", toleration: Toleration(operator: .exists),
             taint: Taint(key: "anything", value: "x", effect: .noExecute), tolerates: true),
        Case(name: "empty key with Exists and an effect: that effect only", toleration: Toleration(operator: .exists, effect: .noExecute),
             taint: Taint(key: "anything", effect: .noSchedule), tolerates: false),
        Case(name: "Exists ignores the value", toleration: Toleration(key: "k", operator: .exists),
             taint: Taint(key: "k", value: "whatever", effect: .noSchedule), tolerates: true),
        Case(name: "Exists needs the key", toleration: Toleration(key: "k", operator: .exists),
             taint: Taint(key: "other", effect: .noSchedule), tolerates: false),
        Case(name: "empty effect matches NoExecute", toleration: Toleration(key: "k", operator: .exists),
             taint: Taint(key: "k", effect: .noExecute), tolerates: true),
        Case(name: "empty effect matches PreferNoSchedule", toleration: Toleration(key: "k", operator: .equal, value: "v"),
             taint: Taint(key: "k", value: "v", effect: .preferNoSchedule), tolerates: true),
        Case(name: "Equal with the same value", toleration: Toleration(key: "k", operator: .equal, value: "v", effect: .noSchedule),
             taint: Taint(key: "k", value: "v", effect: .noSchedule), tolerates: true),
        Case(name: "Equal with another value", toleration: Toleration(key: "k", operator: .equal, value: "v", effect: .noSchedule),
             taint: Taint(key: "k", value: "w", effect: .noSchedule), tolerates: false),
        Case(name: "Equal with another effect", toleration: Toleration(key: "k", operator: .equal, value: "v", effect: .noSchedule),
             taint: Taint(key: "k", value: "v", effect: .noExecute), tolerates: false),
        Case(name: "operator defaults to Equal", toleration: Toleration(key: "k", value: "v"),
             taint: Taint(key: "k", value: "v", effect: .noSchedule), tolerates: true),
        Case(name: "defaulted Equal compares values", toleration: Toleration(key: "k", value: "v"),
             taint: Taint(key: "k", value: "w", effect: .noSchedule), tolerates: false),
        Case(name: "Equal without a value matches a taint without one", toleration: Toleration(key: "k", operator: .equal),
             taint: Taint(key: "k", effect: .noSchedule), tolerates: true),
        Case(name: "Equal without a value does not match a value", toleration: Toleration(key: "k"),
             taint: Taint(key: "k", value: "v", effect: .noSchedule), tolerates: false),
        Case(name: "empty operator string is Equal", toleration: Toleration(key: "k", operator: "", value: "v"),
             taint: Taint(key: "k", value: "v", effect: .noSchedule), tolerates: true),
        Case(name: "unknown operator tolerates nothing", toleration: Toleration(key: "k", operator: "Matches", value: "v"),
             taint: Taint(key: "k", value: "v", effect: .noSchedule), tolerates: false),
    ]

    @Test(arguments: cases)
    func matching(_ c: Case) {
        #expect(c.toleration.tolerates(c.taint) == c.tolerates)
    }

    func pod(_ tolerations: [Toleration]) -> Pod {
        Pod(spec: PodSpec(containers: [Container(name: "app")], tolerations: tolerations))
    }

    let unreachable = Taint(key: WellKnownTaint.unreachable, effect: .noExecute)

    @Test func noExecuteVerdicts() {
        #expect(tolerationSeconds(of: pod([]), for: unreachable) == .notTolerated)
        #expect(tolerationSeconds(of: pod([Toleration(key: "other", operator: .exists)]), for: unreachable) == .notTolerated)
        #expect(tolerationSeconds(of: pod([Toleration(key: WellKnownTaint.unreachable, operator: .exists, effect: .noExecute)]), for: unreachable) == .forever)
        #expect(tolerationSeconds(of: pod([Toleration(key: WellKnownTaint.unreachable, operator: .exists, effect: .noExecute, tolerationSeconds: 300)]),
                                  for: unreachable) == .seconds(300))
        // Zero and negative mean now.
        #expect(tolerationSeconds(of: pod([Toleration(operator: .exists, tolerationSeconds: 0)]), for: unreachable) == .seconds(0))
        #expect(tolerationSeconds(of: pod([Toleration(operator: .exists, tolerationSeconds: -5)]), for: unreachable) == .seconds(0))
        // The first tolerating toleration decides, not the most generous.
        let first = pod([Toleration(operator: .exists, effect: .noExecute, tolerationSeconds: 60),
                         Toleration(key: WellKnownTaint.unreachable, operator: .exists)])
        #expect(tolerationSeconds(of: first, for: unreachable) == .seconds(60))
        // tolerationSeconds means nothing for a NoSchedule taint.
        #expect(tolerationSeconds(of: pod([Toleration(operator: .exists, tolerationSeconds: 10)]),
                                  for: Taint(key: "k", effect: .noSchedule)) == .forever)
        #expect(tolerationSeconds(of: pod([]), for: Taint(key: "k", effect: .noSchedule)) == .notTolerated)
    }

    @Test func noExecuteVerdictOverAllTaints() {
        let notReady = Taint(key: WellKnownTaint.notReady, effect: .noExecute)
        let tolerant = pod([
            Toleration(key: WellKnownTaint.notReady, operator: .exists, effect: .noExecute, tolerationSeconds: 300),
            Toleration(key: WellKnownTaint.unreachable, operator: .exists, effect: .noExecute, tolerationSeconds: 120),
        ])
        #expect(tolerationSeconds(of: tolerant, for: [notReady, unreachable]) == .seconds(120))
        #expect(tolerationSeconds(of: tolerant, for: [notReady]) == .seconds(300))
        #expect(tolerationSeconds(of: tolerant, for: [notReady, Taint(key: "dedicated", effect: .noExecute)]) == .notTolerated)
        // NoSchedule taints do not evict, tolerated or not.
        #expect(tolerationSeconds(of: tolerant, for: [notReady, Taint(key: "dedicated", effect: .noSchedule)]) == .seconds(300))
        #expect(tolerationSeconds(of: pod([]), for: [Taint(key: "dedicated", effect: .noSchedule)]) == .forever)
        #expect(tolerationSeconds(of: pod([]), for: []) == .forever)
    }
}
