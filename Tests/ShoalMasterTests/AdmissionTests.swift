import ShoalAPI
import Testing
@testable import ShoalMaster

@Suite struct AdmissionTests {
    func q(_ s: String) -> Quantity { try! Quantity(s) }

    func pod(_ resources: ResourceRequirements? = nil) -> Pod {
        var c = Container(name: "c", image: "busybox")
        c.resources = resources
        return Pod(metadata: ObjectMeta(name: "p", namespace: "team"), spec: PodSpec(containers: [c]))
    }

    @Test func limitRangeDefaultsFillOnlyWhatIsUnset() {
        let range = LimitRange(spec: LimitRangeSpec(limits: [LimitRangeItem(type: "Container", default: ["cpu": q("200m"), "memory": q("64Mi")],
                                                                            defaultRequest: ["cpu": q("100m")])]))
        var p = pod(ResourceRequirements(limits: ["memory": q("32Mi")]))
        #expect(LimitRanger.admit(&p, [range]).isEmpty)
        let r = p.spec.containers[0].resources
        #expect(r?.limits == ["cpu": q("200m"), "memory": q("32Mi")])
        // memory: the request came from the limit (defaulting), cpu from defaultRequest.
        #expect(r?.requests == ["cpu": q("100m"), "memory": q("32Mi")])
    }

    @Test func limitRangeBoundsInLimitRangersWords() {
        let range = LimitRange(spec: LimitRangeSpec(limits: [LimitRangeItem(type: "Container", max: ["memory": q("128Mi")], min: ["cpu": q("100m")])]))
        var p = pod(ResourceRequirements(limits: ["memory": q("256Mi")], requests: ["cpu": q("50m")]))
        #expect(LimitRanger.admit(&p, [range]) == ["minimum cpu usage per Container is 100m, but request is 50m",
                                                    "maximum memory usage per Container is 128Mi, but limit is 256Mi"])
        var bare = pod()
        #expect(LimitRanger.admit(&bare, [range]) == ["minimum cpu usage per Container is 100m.  No request is specified",
                                                       "maximum memory usage per Container is 128Mi.  No limit is specified"])
    }

    @Test func quotaRefusalsInTheQuotaPluginsWords() throws {
        let quota = ResourceQuota(metadata: ObjectMeta(name: "small"), spec: ResourceQuotaSpec(hard: ["pods": q("2"), "requests.cpu": q("250m")]))
        let asks = pod(ResourceRequirements(requests: ["cpu": q("100m")]))
        let adding = QuotaAdmission.usage(Resources.pods, try JSONValue.encoding(asks))
        #expect(adding["pods"] == q("1") && adding["requests.cpu"] == q("100m") && adding["count/pods"] == q("1"))
        #expect(QuotaAdmission.refusal(quota, used: ["pods": q("1"), "requests.cpu": q("100m")], adding: adding, pod: asks) == nil)
        #expect(QuotaAdmission.refusal(quota, used: ["pods": q("2"), "requests.cpu": q("200m")], adding: adding, pod: asks)
                == "exceeded quota: small, requested: pods=1,requests.cpu=100m, used: pods=2,requests.cpu=200m, limited: pods=2,requests.cpu=250m")
        #expect(QuotaAdmission.refusal(quota, used: [:], adding: ["pods": q("1")], pod: pod())
                == "failed quota: small: must specify requests.cpu for: c")
        // A finished pod counts for nothing.
        var done = asks
        done.status = PodStatus(phase: .succeeded)
        #expect(QuotaAdmission.usage(Resources.pods, try JSONValue.encoding(done)).isEmpty)
    }
}
