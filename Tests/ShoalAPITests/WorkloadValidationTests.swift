import Testing
@testable import ShoalAPI

@Suite struct WorkloadValidationTests {
    func deployment(_ configure: (inout Deployment) -> Void = { _ in }) -> Deployment {
        var d = Deployment(metadata: ObjectMeta(name: "web", namespace: "default"), spec: DeploymentSpec(
            replicas: 3, selector: LabelSelector(matchLabels: ["app": "web"]),
            template: PodTemplateSpec(metadata: ObjectMeta(labels: ["app": "web"]), spec: PodSpec(containers: [Container(name: "c", image: "busybox")]))))
        configure(&d)
        WorkloadValidation.applyDefaults(&d)
        return d
    }

    @Test func defaultsAreKubernetes() {
        let d = deployment()
        #expect(d.spec.strategy == DeploymentStrategy(type: "RollingUpdate", rollingUpdate: RollingUpdateDeployment(maxUnavailable: .string("25%"), maxSurge: .string("25%"))))
        #expect(d.spec.revisionHistoryLimit == 10 && d.spec.progressDeadlineSeconds == 600)
        #expect(d.spec.template?.spec?.restartPolicy == .always && d.spec.template?.spec?.terminationGracePeriodSeconds == 30)
        #expect(WorkloadValidation.validate(d).isEmpty)
    }

    @Test func theAPIServersRefusals() {
        let d = deployment { d in
            d.spec.replicas = -1
            d.spec.template?.metadata?.labels = ["app": "other"]
            d.spec.strategy = DeploymentStrategy(rollingUpdate: RollingUpdateDeployment(maxUnavailable: .int(0), maxSurge: .string("0%")))
        }
        let errs = WorkloadValidation.validate(d).map(\.description)
        #expect(errs.contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"))
        #expect(errs.contains(#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`"#))
        #expect(errs.contains("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"))
        let recreate = deployment { d in d.spec.strategy = DeploymentStrategy(type: "Recreate", rollingUpdate: RollingUpdateDeployment()) }
        #expect(WorkloadValidation.validate(recreate).map(\.description) == ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"])
        let noSelector = deployment { d in d.spec.selector = nil }
        #expect(WorkloadValidation.validate(noSelector).map(\.description) == ["spec.selector: Required value"])
        let neverRestart = deployment { d in d.spec.template?.spec?.restartPolicy = .never }
        #expect(WorkloadValidation.validate(neverRestart).map(\.description) == [#"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#])
    }

    @Test func selectorsWithExpressions() {
        let s = LabelSelector(matchLabels: ["app": "web"], matchExpressions: [
            LabelSelectorRequirement(key: "tier", operator: "In", values: ["front", "edge"]),
            LabelSelectorRequirement(key: "canary", operator: "DoesNotExist"),
        ])
        #expect(s.matches(["app": "web", "tier": "edge"]))
        #expect(!s.matches(["app": "web", "tier": "back"]))
        #expect(!s.matches(["app": "web", "tier": "front", "canary": "1"]))
        #expect(s.queryString == "app=web,tier in (edge,front),!canary")
        #expect(LabelSelector().matches(nil))
        #expect(WorkloadValidation.scaled(.string("25%"), total: 3, roundUp: true) == 1)
        #expect(WorkloadValidation.scaled(.string("25%"), total: 3, roundUp: false) == 0)
    }
}
