import Testing
@testable import ShoalImage

private let withEntrypoint = ImageConfig(entrypoint: ["/ep", "--flag"], cmd: ["c1", "c2"])
private let cmdOnly = ImageConfig(cmd: ["sh"])

@Test(arguments: [
    // image, command, args, expected argv (nil: no command error)
    (withEntrypoint, nil, nil, ["/ep", "--flag", "c1", "c2"]),
    (withEntrypoint, ["x"], nil, ["x"]), // command drops Cmd too
    (withEntrypoint, ["x"], ["y"], ["x", "y"]),
    (withEntrypoint, nil, ["y"], ["/ep", "--flag", "y"]),
    (withEntrypoint, [], nil, ["c1", "c2"]), // explicit empty command: no entrypoint, as containerd
    (withEntrypoint, [], ["y"], ["y"]),
    (cmdOnly, nil, nil, ["sh"]),
    (cmdOnly, nil, ["-c", "true"], ["-c", "true"]),
    (cmdOnly, ["/bin/true"], nil, ["/bin/true"]),
    (ImageConfig(entrypoint: [""], cmd: ["sh"]), nil, nil, ["sh"]), // [""] clears a base entrypoint
    (ImageConfig(entrypoint: ["/ep"]), nil, nil, ["/ep"]),
    (ImageConfig(), nil, nil, nil),
    (ImageConfig(), [], [], nil),
] as [(ImageConfig, [String]?, [String]?, [String]?)])
func processArgs(image: ImageConfig, command: [String]?, args: [String]?, expected: [String]?) {
    if let expected {
        #expect((try? image.processArgs(command: command, args: args)) == expected)
    } else {
        #expect(throws: ImageError.noCommand) { try image.processArgs(command: command, args: args) }
    }
}

@Test func mergedEnvKeepsOrderAndOverrides() {
    let image = ImageConfig(env: ["PATH=/img/bin", "A=1", "B=2"])
    #expect(image.mergedEnv([("B", "x"), ("C", "3"), ("A", "y")]) == ["PATH=/img/bin", "A=y", "B=x", "C=3"])
    #expect(image.mergedEnv([]) == ["PATH=/img/bin", "A=1", "B=2"])
}

@Test func mergedEnvDefaultPath() {
    let image = ImageConfig(env: ["HOME=/root"])
    #expect(image.mergedEnv([("A", "1")]) == ["PATH=\(ImageConfig.defaultPath)", "HOME=/root", "A=1"])
    #expect(image.mergedEnv([("PATH", "/c")]) == ["HOME=/root", "PATH=/c"], "a container PATH means no default")
    #expect(ImageConfig().mergedEnv([("A", "1"), ("A", "2")]) == ["PATH=\(ImageConfig.defaultPath)", "A=2"])
    #expect(ImageConfig.defaultPath == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}
