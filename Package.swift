// swift-tools-version:6.0
//
// Shoal: a kubelet-like node agent and a lightweight master that run real pods on Linux.
//
// Modules depend only downward:
//   ShoalAPI        Kubernetes API types, quantities, validation, YAML/JSON decoding (nothing of ours)
//   ShoalOS         typed syscall wrappers, fds, unix sockets, cgroup drivers
//   ShoalImage      image store: OCI layout / docker-archive import, layers, references
//   ShoalRuntime    the Linux runtime: sandboxes, container programs, seccomp, logs
//   ShoalStore      the master's state: revisions in SQLite, watch, compaction (nothing of ours)
//   ShoalPKI        the master's CA, serving certificates, tokens, kubeconfigs
//   ShoalHTTP       HTTP/1.1 server and client over unix sockets and TLS
//   ShoalScheduler  pod placement: filters, scores, kube-scheduler's messages
//   ShoalAgent      pod workers, status, manifest source, node-local API, reporting to a master
//   ShoalMaster     the Kubernetes-compatible API server, node lifecycle, scheduler loop
//   ShoalLab        the multi-node lab: node network namespaces on a switch, their processes
//   ShoalCLI        the `shoal` command-line tool
// C that must run between clone() and execve() lives in CShims/ (see CShims/README.md).
import PackageDescription

let cSettings: [CSetting] = [.define("_GNU_SOURCE")]

let package = Package(
    name: "shoal",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shoal", targets: ["shoal"]),
        .executable(name: "shoal-sandbox", targets: ["shoal-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
    ],
    targets: [
        // The wire format between the agent and a pod's sandbox process, shared by both sides.
        .target(name: "CShimsWire", path: "CShims/wire", cSettings: cSettings),
        // C the Swift side calls: seccomp compilation (libseccomp), capability names (libcap),
        // the sandbox spawn (clone3), gzip (zlib) and a few syscall wrappers Glibc lacks.
        .target(
            name: "CShims", dependencies: ["CShimsWire"], path: "CShims/lib", cSettings: cSettings,
            linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap"), .linkedLibrary("z")]),
        // The per-pod sandbox process: holds the pod's namespaces, forks its containers, reaps them,
        // writes their logs. Pure C, statically linked, without the Swift runtime (`-nostartfiles`
        // drops swiftrt.o, so nothing of libswiftCore is pulled in): about 0.7 MB resident.
        .executableTarget(
            name: "shoal-sandbox", dependencies: ["CShimsWire"], path: "CShims/sandbox", cSettings: cSettings,
            linkerSettings: [.unsafeFlags(["-static-executable", "-nostartfiles"])]),

        .target(name: "ShoalAPI", dependencies: [.product(name: "Yams", package: "Yams")]),
        // SQLite from Debian's libsqlite3-dev.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // zlib from Debian's zlib1g-dev, for SPDY/3.1 header compression (exec, port-forward).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "ShoalStore",
            dependencies: ["CSQLite", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "ShoalPKI",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(name: "ShoalScheduler", dependencies: ["ShoalAPI"]),
        .target(
            name: "ShoalHTTP",
            dependencies: [
                "ShoalOS", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "ShoalOS",
            dependencies: ["CShims", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "ShoalImage",
            dependencies: [
                "ShoalOS", "CShims",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "ShoalRuntime",
            dependencies: [
                "ShoalAPI", "ShoalOS", "ShoalImage", "CShims", "CShimsWire",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Pod addresses (CNI plugins), the service proxy (nftables) and the node's DNS server.
        .target(
            name: "ShoalNetwork",
            dependencies: ["ShoalAPI", "ShoalOS", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "ShoalAgent",
            dependencies: [
                "ShoalAPI", "ShoalOS", "ShoalImage", "ShoalRuntime", "ShoalHTTP", "ShoalPKI", "ShoalNetwork",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "ShoalMaster",
            dependencies: [
                "ShoalAPI", "ShoalOS", "ShoalStore", "ShoalPKI", "ShoalScheduler", "ShoalHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // A multi-node lab on one host: node network namespaces on a switch, their processes.
        .target(
            name: "ShoalLab",
            dependencies: [
                "ShoalAPI", "ShoalOS", "ShoalHTTP", "ShoalMaster",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "ShoalCLI",
            dependencies: [
                "ShoalAPI", "ShoalOS", "ShoalImage", "ShoalRuntime", "ShoalAgent", "ShoalMaster", "ShoalPKI", "ShoalHTTP", "ShoalNetwork", "ShoalLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "shoal", dependencies: ["ShoalCLI"]),

        .testTarget(name: "ShoalAPITests", dependencies: ["ShoalAPI"]),
        .testTarget(name: "ShoalImageTests", dependencies: ["ShoalImage"]),
        .testTarget(name: "ShoalRuntimeTests", dependencies: ["ShoalRuntime", "ShoalOS"]),
        .testTarget(name: "ShoalAgentTests", dependencies: ["ShoalAgent", "ShoalHTTP"]),
        .testTarget(name: "ShoalStoreTests", dependencies: ["ShoalStore"]),
        .testTarget(name: "ShoalNetworkTests", dependencies: ["ShoalNetwork", "ShoalAPI"]),
        .testTarget(name: "ShoalHTTPTests", dependencies: ["ShoalHTTP"]),
        .testTarget(name: "ShoalPKITests", dependencies: ["ShoalPKI", .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "ShoalLabTests", dependencies: ["ShoalLab", "ShoalAPI"]),
        .testTarget(name: "ShoalSchedulerTests", dependencies: ["ShoalScheduler", "ShoalAPI"]),
        .testTarget(name: "ShoalMasterTests", dependencies: ["ShoalMaster", "ShoalAPI"]),
        .testTarget(
            name: "ShoalIntegrationTests",
            dependencies: ["ShoalAPI", "ShoalOS", "ShoalImage", "ShoalRuntime", "ShoalAgent", "ShoalMaster", "ShoalCLI", "ShoalHTTP", "ShoalNetwork"]),
    ]
)
