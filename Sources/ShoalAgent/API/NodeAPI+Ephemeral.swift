import ShoalHTTP
import ShoalAPI
import ShoalOS

/// The node API's ephemeral-container endpoints:
///
///     GET              /pods/{namespace}/{name}/ephemeralcontainers   Pod
///     PATCH|POST|PUT   /pods/{namespace}/{name}/ephemeralcontainers   ?width&height
///     POST             /pods/{namespace}/{name}/attach                ?container&stdin&tty&width&height  (Upgrade: shoal-stream)
///
/// The body of the ephemeralcontainers call is JSON (or YAML), in one of two shapes:
/// - a Pod (the whole object or only `{"spec": {"ephemeralContainers": [...]}}`), as
///   Kubernetes' subresource takes it and `kubectl debug` patches it: ephemeral containers are
///   matched by name, those already in the pod must be unchanged, the others are added (with
///   PUT none may be missing);
/// - one EphemeralContainer object, or an array of them: each is added (Shoal's CLI), so a
///   name in use is `Duplicate value`.
/// The answer is the pod with its new status, or a 422 `Invalid` Status naming each field.
extension NodeAPI {
    func ephemeralContainers(_ w: PodWorker, _ r: APIRequest) async throws -> APIResponse {
        if r.method == "GET" { return try NodeAPI.json(await w.currentPod()) }
        let (containers, podShape) = try NodeAPI.decodeEphemeralBody(r.body)
        let update: PodWorker.EphemeralUpdate = !podShape ? .add : (r.method == "PUT" ? .replace : .merge)
        do {
            return try NodeAPI.json(await w.addEphemeralContainers(containers, update: update, terminalSize: NodeAPI.terminalSize(r)))
        } catch let error as EphemeralError {
            return try NodeAPI.json(error.status, status: Int(error.status.code ?? 422))
        }
    }

    func attach(_ w: PodWorker, _ r: APIRequest) async throws -> APIResponse {
        guard r.wantsUpgrade else { throw NodeAPIError.badRequest("attach needs an upgraded connection (Upgrade: \(StreamProtocol.name))") }
        let (process, done) = try await w.attach(container: r.query("container"), stdin: r.flag("stdin"), tty: r.flag("tty"),
                                                 terminalSize: NodeAPI.terminalSize(r))
        return .upgrade { session in
            await ExecBridge.run(process, session: session)
            done()
        }
    }

    static func terminalSize(_ r: APIRequest) -> (width: UInt16, height: UInt16)? {
        guard let w = r.query("width").flatMap(UInt16.init), let h = r.query("height").flatMap(UInt16.init), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    /// The ephemeral containers of a request body, decoded strictly (unknown fields are errors,
    /// named by their path), and whether the body was a Pod.
    static func decodeEphemeralBody(_ body: [UInt8]) throws -> ([EphemeralContainer], podShape: Bool) {
        let documents: [ManifestDocument]
        do {
            documents = try ManifestDecoder.documents(String(decoding: body, as: UTF8.self))
        } catch {
            throw NodeAPIError.badRequest("the request body is not JSON or YAML: \(error)")
        }
        guard documents.count == 1, let value = documents.first?.value else {
            throw NodeAPIError.badRequest("the request body must hold one Pod or EphemeralContainer object")
        }
        let list: JSONValue
        var podShape = false
        if value["spec"] != nil || value["kind"] != nil || value["metadata"] != nil {
            if let kind = value["kind"]?.stringValue, !kind.isEmpty, kind != "Pod" {
                throw NodeAPIError.badRequest("kind: Unsupported value: \"\(kind)\": supported values: \"Pod\"")
            }
            podShape = true
            list = value["spec"]?["ephemeralContainers"] ?? .array([])
        } else if value.arrayValue != nil {
            list = value
        } else if value.objectValue != nil {
            list = .array([value])
        } else {
            throw NodeAPIError.badRequest("the request body must be a Pod or EphemeralContainer object")
        }
        // Field paths in messages read as in the pod: spec.ephemeralContainers[0].…
        let document = ManifestDocument(value: ["spec": ["ephemeralContainers": list]])
        do {
            let decoded = try ManifestDecoder.decode(EphemeralContainersBody.self, from: document)
            return (decoded.spec.ephemeralContainers ?? [], podShape)
        } catch {
            throw NodeAPIError.badRequest(error.messages.joined(separator: "\n"))
        }
    }
}

/// `{"spec": {"ephemeralContainers": [...]}}`, the part of a Pod this subresource reads.
struct EphemeralContainersBody: Decodable {
    struct Spec: Decodable {
        var ephemeralContainers: [EphemeralContainer]?
    }
    var spec: Spec
}
