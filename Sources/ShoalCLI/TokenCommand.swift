import ArgumentParser
import ShoalMaster

/// `shoal token create`: a join token for `shoal agent --server https://MASTER:6443 --token …`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make join tokens for nodes on other machines.",
        subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a join token: it pins this master's CA and carries a bootstrap secret (run on the master's host).")

        @OptionGroup var data: DataDirOption

        @Option(help: "How long the token is valid, e.g. 30m, 24h; 0: until the master's data is removed (kubeadm's default is 24h).")
        var ttl: String = "24h"

        func run() throws {
            let seconds = try parseDuration(ttl)
            let token = try Master.joinToken(dataDir: data.path, ttl: seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil)
            print(token)
        }
    }
}
