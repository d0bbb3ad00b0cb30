import ShoalAPI

/// A failed request, carried as the `v1.Status` Kubernetes clients expect: the code, the
/// machine reason kubectl switches on, and the message a user reads.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: Status

    public var code: Int { Int(status.code ?? 500) }
    public var description: String { status.message ?? "" }

    init(code: Int, reason: String, message: String, details: StatusDetails? = nil) {
        status = Status(apiVersion: "v1", kind: "Status", metadata: ListMeta(), status: Status.failure,
                        message: message, reason: reason, details: details, code: Int32(code))
    }

    static func notFound(_ r: ResourceInfo, _ name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(r.qualifiedName) \"\(name)\" not found",
                 details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
    }

    static func alreadyExists(_ r: ResourceInfo, _ name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(r.qualifiedName) \"\(name)\" already exists",
                 details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
    }

    static func conflict(_ r: ResourceInfo, _ name: String, _ why: String = "the object has been modified; please apply your changes to the latest version and try again") -> APIError {
        APIError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(r.qualifiedName) \"\(name)\": \(why)",
                 details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
    }

    /// 422 with every cause, as the API server's NewInvalid: one cause inline, several in brackets.
    static func invalid(_ r: ResourceInfo, _ name: String, _ errors: [FieldError]) -> APIError {
        let list = errors.count == 1 ? errors[0].description : "[" + errors.map(\.description).joined(separator: ", ") + "]"
        let causes = errors.map { StatusCause(reason: $0.type.rawValue, message: $0.body, field: $0.field) }
        return APIError(code: 422, reason: "Invalid", message: "\(r.kind) \"\(name)\" is invalid: \(list)",
                        details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.kind, causes: causes))
    }

    /// A body that does not decode: strict decoding errors are a 400 BadRequest with the messages.
    static func badRequest(_ message: String, causes: [StatusCause]? = nil) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message,
                 details: causes.map { StatusDetails(causes: $0) })
    }

    static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func forbidden(user: String, verb: String, _ r: ResourceInfo, subresource: String?, namespace: String?, name: String?, why: String = "") -> APIError {
        let resource = r.plural + (subresource.map { "/" + $0 } ?? "")
        var message = "\(r.qualifiedName)"
        if let name { message += " \"\(name)\"" }
        message += " is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resource)\" in API group \"\(r.group)\""
        if let namespace { message += " in the namespace \"\(namespace)\"" } else if r.namespaced { message += " at the cluster scope" }
        if !why.isEmpty { message += ": " + why }
        return APIError(code: 403, reason: "Forbidden", message: message,
                        details: StatusDetails(name: name, group: r.group.isEmpty ? nil : r.group, kind: r.plural))
    }

    static let unknownPath = APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: StatusDetails())

    static func methodNotAllowed(_ method: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource", details: StatusDetails())
    }

    static func unsupportedMediaType(_ type: String, accepted: [String]) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType",
                 message: "the body of the request was in an unknown format - accepted media types include: " + accepted.joined(separator: ", "))
    }

    static let tooLarge = APIError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(3 * 1024 * 1024)")

    static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    static func unavailable(_ message: String) -> APIError {
        APIError(code: 503, reason: "ServiceUnavailable", message: message)
    }
}
