import ArgumentParser
import Foundation
import Logging
import ShoalAPI
import ShoalImage

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage the local image store.",
        subcommands: [Import.self, List.self, Remove.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import OCI image-layout or docker-archive tarballs (podman save, docker save, skopeo copy).")
        @OptionGroup var data: DataDirOption
        @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
        @Argument(help: "Archive files.") var files: [String]

        func run() throws {
            try Import.importArchives(files, dataDir: data.path, quiet: quiet)
        }

        /// Imports each archive with progress on stderr; a failure ends the command.
        static func importArchives(_ files: [String], dataDir: String, quiet: Bool) throws {
            let store = try ImageStore(dataDir: dataDir)
            let interactive = isatty(2) != 0 && !quiet
            for file in files {
                do {
                    var lastLine = ""
                    let images = try store.import(archive: absolute(file)) { p in
                        guard !quiet else { return }
                        let what: String
                        switch p.item {
                        case .config: what = "config"
                        case let .layer(index, count): what = "layer \(index + 1)/\(count)"
                        }
                        let pct = p.bytesTotal > 0 ? Int(Double(p.bytesDone) / Double(p.bytesTotal) * 100) : 100
                        let line = "\(p.image): \(what) \(p.alreadyPresent ? "already present" : "\(pct)% of \(ImageCommand.size(p.bytesTotal))")"
                        if interactive {
                            FileHandle.standardError.write(Data("\r\u{1b}[K\(line)".utf8))
                        } else if p.isComplete && line != lastLine {
                            FileHandle.standardError.write(Data("\(line)\n".utf8))
                        }
                        lastLine = line
                    }
                    if interactive { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
                    for image in images {
                        let names = image.names.map(\.familiarName).joined(separator: ", ")
                        print("imported \(names.isEmpty ? String(image.id.hex.prefix(12)) : names) (\(String(image.id.hex.prefix(12))), \(ImageCommand.size(image.size)), \(image.unpackedLayers) new layer\(image.unpackedLayers == 1 ? "" : "s"))")
                    }
                } catch {
                    fail("\(file): \(error)")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.")
        @OptionGroup var data: DataDirOption

        func run() throws {
            let store = try ImageStore(dataDir: data.path)
            var rows = [["REPOSITORY", "TAG", "IMAGE ID", "SIZE"]]
            for image in try store.list() {
                let id = String(image.id.hex.prefix(12))
                if image.names.isEmpty { rows.append(["<none>", "<none>", id, ImageCommand.size(image.size)]) }
                for name in image.names { rows.append([name.repository, name.tag ?? "<none>", id, ImageCommand.size(image.size)]) }
            }
            print(TextTable.render(rows), terminator: "")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images by name or ID.")
        @OptionGroup var data: DataDirOption
        @Argument(help: "Image names or IDs.") var images: [String]

        func run() throws {
            let store = try ImageStore(dataDir: data.path)
            for image in images {
                do {
                    try store.remove(image)
                    print("removed \(image)")
                } catch {
                    fail("\(error)")
                }
            }
        }
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes)
        var i = 0
        while v >= 1000 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(bytes)B" : String(format: "%.3g%@", v, units[i])
    }
}

