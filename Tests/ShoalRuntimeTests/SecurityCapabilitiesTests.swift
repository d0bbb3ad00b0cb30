import Foundation
import Testing

@testable import ShoalRuntime

@Suite struct SecurityCapabilitiesTests {
    static let path = "spec.containers[0].securityContext"

    func caps(privileged: Bool = false, add: [String] = [], drop: [String] = []) throws(CapabilityError) -> Capabilities {
        try Capabilities.forContainer(privileged: privileged, add: add, drop: drop, securityContextPath: Self.path)
    }

    @Test func containerdDefaultMask() {
        #expect(Capabilities.containerdDefault.mask == 0xa804_25fb)
        #expect(Capabilities.containerdDefault.names == [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
            "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
        ])
    }

    @Test func allMatchesTheKernel() throws {
        let text = try String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8)
        let last = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(Capability.kernelLast.number == last)
        #expect(Capabilities.all.mask == (UInt64(1) << UInt64(last + 1)) - 1)
        #expect(Capabilities.all.members.count == last + 1)
    }

    @Test func namesRoundTripThroughLibcap() {
        for capability in Capabilities.all.members {
            #expect(Capability(name: capability.name) == capability, "\(capability.name)")
        }
        #expect(Capability(name: "NET_ADMIN") == .netAdmin)
        #expect(Capability(name: "net_admin") == .netAdmin)
        #expect(Capability(name: "CAP_NET_ADMIN") == .netAdmin)
        #expect(Capability(name: "cap_Net_Admin") == .netAdmin)
        #expect(Capability(name: "CAP_CAP_NET_ADMIN") == nil)
        #expect(Capability(name: "12") == nil)
        #expect(Capability(name: "CAP_12") == nil)
        #expect(Capability(name: "") == nil)
        #expect(Capability(name: "NET ADMIN") == nil)
    }

    static let base: UInt64 = 0xa804_25fb
    static let all = Capabilities.all.mask
    static let addDropCases: [([String], [String], UInt64)] = [
        ([], [], base),
        (["NET_ADMIN"], [], base | 1 << 12),
        (["net_admin"], [], base | 1 << 12),
        (["CAP_NET_ADMIN"], [], base | 1 << 12),
        ([], ["NET_RAW"], base & ~(1 << 13)),
        ([], ["ALL"], 0),
        (["NET_BIND_SERVICE"], ["ALL"], 1 << 10),
        (["net_bind_service"], ["all"], 1 << 10),
        // A drop wins over an add of the same capability.
        (["NET_ADMIN"], ["NET_ADMIN"], base),
        (["CHOWN"], ["CHOWN"], base & ~1),
        // ALL is applied before the named entries, add ALL before drop ALL.
        (["ALL"], ["CHOWN"], all & ~1),
        (["ALL"], ["ALL"], 0),
        (["ALL", "SYS_ADMIN"], ["ALL"], 1 << 21),
    ]

    @Test(arguments: addDropCases)
    func kubernetesAddDrop(add: [String], drop: [String], expected: UInt64) throws {
        #expect(try caps(add: add, drop: drop).mask == expected)
    }

    @Test func privilegedGetsEverythingAndIgnoresAddDrop() throws {
        #expect(try caps(privileged: true) == .all)
        #expect(try caps(privileged: true, add: ["NET_ADMIN"], drop: ["ALL"]) == .all)
    }

    @Test func everyCapabilityMeansEveryOneTheAgentHolds() throws {
        var held = Capabilities.all
        held.remove(.sysResource)
        let privileged = try Capabilities.forContainer(privileged: true, add: [], drop: [], grantable: held)
        #expect(privileged == held && !privileged.contains(.sysResource))
        let addAll = try Capabilities.forContainer(privileged: false, add: ["ALL"], drop: ["CHOWN"], grantable: held)
        #expect(!addAll.contains(.sysResource) && !addAll.contains(.chown) && addAll.contains(.sysAdmin))
        // Named, it is still asked for (and the kernel refuses it at start), as containerd does.
        #expect(try Capabilities.forContainer(privileged: false, add: ["SYS_RESOURCE"], drop: [], grantable: held).contains(.sysResource))
    }

    @Test func unknownNamesAreFieldErrors() {
        #expect(throws: CapabilityError(field: "\(Self.path).capabilities.add[1]", value: "CAP_FOO")) {
            try caps(add: ["NET_ADMIN", "CAP_FOO"])
        }
        #expect(throws: CapabilityError(field: "\(Self.path).capabilities.drop[0]", value: "CAP_CAP_CHOWN")) {
            try caps(drop: ["CAP_CAP_CHOWN"])
        }
        // Checked for privileged containers too, though their add/drop are not applied.
        #expect(throws: CapabilityError(field: "\(Self.path).capabilities.add[0]", value: "bogus")) {
            try caps(privileged: true, add: ["bogus"])
        }
        // "ALL" is special only without the prefix.
        #expect(throws: CapabilityError.self) { try caps(add: ["CAP_ALL"]) }
        // A capability newer than the kernel is refused as well.
        #expect(throws: CapabilityError(field: "securityContext.capabilities.add[0]", value: "BPF")) {
            try Capabilities.forContainer(privileged: false, add: ["BPF"], drop: [], all: Capabilities(mask: (1 << 39) - 1))
        }
    }

    @Test func errorMessageReadsLikeKubernetes() {
        let error = CapabilityError(field: "spec.containers[0].securityContext.capabilities.add[1]", value: "CAP_FOO")
        #expect(error.description == #"spec.containers[0].securityContext.capabilities.add[1]: Unsupported value: "CAP_FOO""#)
        #expect(CapabilityError(field: "f", value: "a\"b\n").description == #"f: Unsupported value: "a\"b\n""#)
    }

    @Test func setOperations() {
        var set = Capabilities.none
        set.insert(.sysAdmin)
        set.insert(.netAdmin)
        #expect(set.contains(.sysAdmin) && set.contains(.netAdmin) && !set.contains(.chown))
        set.remove(.sysAdmin)
        #expect(set == Capabilities([.netAdmin]))
        #expect(set.description == "[CAP_NET_ADMIN]")
        #expect(Capabilities.containerdDefault.union(set).subtracting(.containerdDefault) == set)
    }
}
