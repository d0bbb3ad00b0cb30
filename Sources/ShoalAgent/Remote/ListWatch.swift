import Logging
import ShoalAPI
import ShoalHTTP

/// A local copy of one kind of object from the master, the way an informer keeps one: a list,
/// then a watch from the list's resourceVersion (listing again when the history is gone), with
/// the whole current set handed to `onChange` after the list and after each event.
struct ListWatch: Sendable {
    let api: MasterAPI
    /// The collection's path, with any selector query.
    let path: String
    let what: String
    let logger: Logger
    let onChange: @Sendable ([JSONValue]) async -> Void

    func run(maxRetryDelay: Double) async {
        var delay = RetryDelay(maximum: maxRetryDelay)
        var objects: [String: JSONValue] = [:]
        var resourceVersion: String?
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await api.call("GET", path, operation: "list \(what)")
                    objects = [:]
                    for item in list["items"]?.arrayValue ?? [] { objects[ListWatch.key(item)] = item }
                    await onChange(Array(objects.values))
                    resourceVersion = list["metadata"]?["resourceVersion"]?.stringValue ?? ""
                }
                resourceVersion = try await follow(from: resourceVersion ?? "", into: &objects)
                delay.reset()
            } catch is MasterSession.Gone {
                resourceVersion = nil
            } catch {
                if Task.isCancelled { return }
                logger.debug("\(what) watch failed", metadata: ["error": "\(error)"])
                resourceVersion = nil
                try? await Task.sleep(nanoseconds: UInt64(delay.next() * 1e9))
            }
        }
    }

    /// Follows one watch until the server ends it; returns the last resourceVersion seen.
    private func follow(from rv: String, into objects: inout [String: JSONValue]) async throws -> String {
        let separator = path.contains("?") ? "&" : "?"
        let watchPath = path + separator + "watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" + MasterAPI.escape(rv)
        let (status, lines) = try await api.client.lines(watchPath)
        if status == 410 { throw MasterSession.Gone() }
        guard status == 200 else {
            throw MasterError(operation: "watch \(what)", method: "GET", path: watchPath, code: status, reason: nil, message: "HTTP \(status)")
        }
        var latest = rv
        for try await line in lines {
            guard let event = try? JSONValue.parse(line), let type = event["type"]?.stringValue, let object = event["object"] else { continue }
            if type == "ERROR" {
                if object["code"] == .int(410) { throw MasterSession.Gone() }
                throw MasterError(operation: "watch \(what)", method: "GET", path: watchPath, code: nil, reason: object["reason"]?.stringValue,
                                  message: object["message"]?.stringValue ?? "watch error")
            }
            if let v = object["metadata"]?["resourceVersion"]?.stringValue, !v.isEmpty { latest = v }
            switch type {
            case "ADDED", "MODIFIED": objects[ListWatch.key(object)] = object
            case "DELETED": objects[ListWatch.key(object)] = nil
            default: continue  // BOOKMARK
            }
            await onChange(Array(objects.values))
        }
        if Task.isCancelled { throw CancellationError() }
        return latest
    }

    static func key(_ o: JSONValue) -> String {
        "\(o["metadata"]?["namespace"]?.stringValue ?? "")/\(o["metadata"]?["name"]?.stringValue ?? "")"
    }
}
