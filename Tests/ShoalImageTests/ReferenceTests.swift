import Testing
@testable import ShoalImage

private let d64 = String(repeating: "ab", count: 32)

@Test(arguments: [
    // input, full, familiar
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/user/app:v2", "docker.io/user/app:v2", "user/app:v2"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("registry:5000/x:tag", "registry:5000/x:tag", "registry:5000/x:tag"),
    ("quay.io/org/sub/app:v1.2_3-rc", "quay.io/org/sub/app:v1.2_3-rc", "quay.io/org/sub/app:v1.2_3-rc"),
    ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
    ("Registry/app", "Registry/app:latest", "Registry/app:latest"), // an uppercase first component is a host
    ("x/a.b_c__d-e---f", "docker.io/x/a.b_c__d-e---f:latest", "x/a.b_c__d-e---f:latest"),
    ("busybox@sha256:\(d64)", "docker.io/library/busybox@sha256:\(d64)", "busybox@sha256:\(d64)"),
    ("busybox:1@sha256:\(d64)", "docker.io/library/busybox:1@sha256:\(d64)", "busybox:1@sha256:\(d64)"),
])
func referenceNormalization(input: String, full: String, familiar: String) throws {
    let ref = try ImageReference(parsing: input)
    #expect(ref.description == full)
    #expect(ref.familiarName == familiar)
    #expect(try ImageReference(parsing: full) == ref, "normalization is idempotent")
}

@Test func referenceParts() throws {
    let r = try ImageReference(parsing: "registry:5000/team/app:v1")
    #expect(r.domain == "registry:5000")
    #expect(r.path == "team/app")
    #expect(r.tag == "v1")
    #expect(r.repository == "registry:5000/team/app")
    let d = try ImageReference(parsing: "busybox@sha256:\(d64)")
    #expect(d.tag == nil, "a digest reference gets no default tag")
    #expect(d.digest?.hex == d64)
}

@Test(arguments: [
    ("", "empty reference"),
    ("Busybox", "must be lowercase"),
    ("docker.io/User/app", "must be lowercase"),
    ("busybox:", "invalid tag"),
    ("busybox:-x", "invalid tag"),
    (":tag", "missing repository name"),
    ("a//b", "invalid repository path component"),
    ("-a", "invalid repository path component"),
    ("a..b", "invalid repository path component"),
    ("a/b/", "invalid repository path component"),
    ("bad_host.io/x", "invalid registry host"),
    ("bad host!/x", "invalid repository path component"),
    (d64, "image ID"),
    ("busybox@sha256:abc", "invalid digest"),
    ("busybox@md5:\(d64)", "unsupported digest"),
    ("busybox:\(String(repeating: "t", count: 129))", "invalid tag"),
])
func invalidReferences(input: String, reason: String) {
    #expect {
        try ImageReference(parsing: input)
    } throws: { error in
        guard let e = error as? ImageError, case .invalidReference(let s, _) = e else { return false }
        return s == input && e.description.contains(reason)
    }
}
