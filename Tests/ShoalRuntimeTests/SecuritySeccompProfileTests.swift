import Foundation
import Testing

@testable import ShoalRuntime

@Suite struct SecuritySeccompProfileTests {
    let profile = SeccompProfile.dockerDefault

    @Test func dockerDefaultShape() throws {
        #expect(profile.defaultAction == .errno)
        #expect(profile.defaultErrnoRet == 1)
        let syscalls = try #require(profile.syscalls)
        #expect(syscalls.count == 33)
        let allowlist = try #require(syscalls.first?.names)
        #expect(allowlist.count == 349)
        #expect(Set(allowlist).count == allowlist.count)
        for name in ["read", "write", "getpid", "execve", "io_uring_setup", "pkey_alloc", "name_to_handle_at"] {
            #expect(allowlist.contains(name), "\(name)")
        }
        for name in ["socket", "clone", "clone3", "unshare", "mount", "keyctl", "add_key", "ptrace", "personality"] {
            #expect(!allowlist.contains(name), "\(name) is conditional or refused")
        }
        let amd64 = try #require(profile.archMap?.first { $0.architecture == "SCMP_ARCH_X86_64" })
        #expect(amd64.subArchitectures == ["SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        let arm64 = try #require(profile.archMap?.first { $0.architecture == "SCMP_ARCH_AARCH64" })
        #expect(arm64.subArchitectures == ["SCMP_ARCH_ARM"])

        let sysAdmin = try #require(syscalls.first { $0.includes?.caps == ["CAP_SYS_ADMIN"] })
        #expect(sysAdmin.names?.count == 23)
        let clone = syscalls.filter { $0.names == ["clone"] }
        #expect(clone.map { $0.args?.first?.value } == [0x7E02_0000, 0x7E02_0000])
        #expect(clone.map { $0.args?.first?.op } == [.maskedEqual, .maskedEqual])
        let clone3 = try #require(syscalls.first { $0.names == ["clone3"] && $0.action == .errno })
        #expect(clone3.errnoRet == 38 && clone3.excludes?.caps == ["CAP_SYS_ADMIN"])
        let personality = syscalls.filter { $0.names == ["personality"] }.compactMap { $0.args?.first?.value }
        #expect(personality == [0, 8, 0x20000, 0x20008, 0xffff_ffff])
        let socket = syscalls.filter { $0.names == ["socket"] }.compactMap { $0.args?.first }
        #expect(socket.map(\.op) == [.lessThan, .equalTo, .greaterThan])
        #expect(socket.map(\.value) == [38, 39, 40])
    }

    /// The embedded default is the same data as Docker's JSON: it encodes with moby's field names
    /// and parses back unchanged.
    @Test func dockerDefaultRoundTripsThroughJSON() throws {
        let data = try profile.jsonData()
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text.contains(#""defaultAction" : "SCMP_ACT_ERRNO""#))
        #expect(text.contains(#""defaultErrnoRet" : 1"#))
        #expect(text.contains(#""subArchitectures" : ["#))
        #expect(text.contains(#""op" : "SCMP_CMP_MASKED_EQ""#))
        #expect(text.contains(#""minKernel" : "4.8""#))
        #expect(!text.contains("null"))
        let decoded = try SeccompProfile(json: data)
        #expect(decoded == profile)
    }

    @Test func parsesALocalhostProfile() throws {
        let json = """
            {
              "defaultAction": "SCMP_ACT_LOG",
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
              "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "syscalls": [
                {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": null},
                {"names": ["fchmod"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}],
                 "comment": "no setgid bits", "includes": {"caps": ["CAP_FOWNER"]}, "somethingNew": true}
              ]
            }
            """
        let p = try SeccompProfile(json: Data(json.utf8), source: "test.json")
        #expect(p.defaultAction == .log)
        #expect(p.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        #expect(try p.loadFlags() == 2)
        #expect(p.syscalls?[0].name == "mkdir" && p.syscalls?[0].errnoRet == 13)
        #expect(p.syscalls?[1].args == [.init(index: 1, value: 2048, valueTwo: 2048, op: .maskedEqual)])
        #expect(p.syscalls?[1].includes == .init(caps: ["CAP_FOWNER"]))

        let plan = try SeccompFilterPlan(profile: p, capabilities: .containerdDefault, arch: .amd64, kernel: nil)
        #expect(plan.architectures == ["x86_64", "x86"])
        #expect(plan.rules.map(\.syscall) == ["mkdir", "fchmod"])
    }

    @Test func invalidProfilesSayWhere() {
        let bad = #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}"#
        do {
            _ = try SeccompProfile(json: Data(bad.utf8), source: "bad.json")
            Issue.record("accepted an unknown action")
        } catch {
            guard case .invalidProfile(let source, let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(source == "bad.json")
            #expect(reason.hasPrefix("syscalls[0].action: "), "\(reason)")
        }
        #expect(throws: SeccompError.self) { try SeccompProfile(json: Data("{".utf8)) }
    }

    @Test func localhostProfilesStayInTheirRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-seccomp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root + "/profiles", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SeccompProfile.dockerDefault.jsonData().write(to: URL(fileURLWithPath: root + "/profiles/default.json"))

        #expect(try SeccompPolicy.localhost("profiles/default.json", root: root) == .runtimeDefault)
        #expect(throws: SeccompError.invalidLocalhostPath("../etc/passwd")) {
            try SeccompPolicy.localhost("../etc/passwd", root: root)
        }
        #expect(throws: SeccompError.invalidLocalhostPath("/etc/passwd")) {
            try SeccompPolicy.localhost("/etc/passwd", root: root)
        }
        #expect(throws: SeccompError.io(path: root + "/profiles/missing.json", errno: ENOENT)) {
            try SeccompPolicy.localhost("profiles/missing.json", root: root)
        }
    }

    @Test func kubernetesProfileTypes() throws {
        let root = "/nonexistent"
        #expect(try SeccompPolicy.resolve(type: "RuntimeDefault", localhostProfile: nil, privileged: false, localhostRoot: root) == .runtimeDefault)
        #expect(try SeccompPolicy.resolve(type: "RuntimeDefault", localhostProfile: nil, privileged: true, localhostRoot: root) == .unconfined)
        #expect(try SeccompPolicy.resolve(type: "Unconfined", localhostProfile: nil, privileged: false, localhostRoot: root) == .unconfined)
        #expect(try SeccompPolicy.resolve(type: nil, localhostProfile: nil, privileged: false, localhostRoot: root) == .unconfined)
        #expect(try SeccompPolicy.resolve(type: nil, localhostProfile: nil, privileged: false, localhostRoot: root, unsetDefault: .runtimeDefault) == .runtimeDefault)
        #expect(throws: SeccompError.invalidLocalhostPath("")) {
            try SeccompPolicy.resolve(type: "Localhost", localhostProfile: nil, privileged: false, localhostRoot: root)
        }
        #expect(throws: SeccompError.unsupported(#"seccompProfile type "Strict""#)) {
            try SeccompPolicy.resolve(type: "Strict", localhostProfile: nil, privileged: false, localhostRoot: root)
        }
    }

    @Test func kernelVersions() {
        #expect(KernelVersion("4.8") == KernelVersion(major: 4, minor: 8))
        #expect(KernelVersion("6.18.44-fc-v782") == KernelVersion(major: 6, minor: 18))
        #expect(KernelVersion("5.10-rc1") == KernelVersion(major: 5, minor: 10))
        #expect(KernelVersion("5") == nil)
        #expect(KernelVersion("x.y") == nil)
        #expect(KernelVersion(major: 4, minor: 8) < KernelVersion(major: 4, minor: 10))
        #expect(KernelVersion.running != nil)
    }
}
