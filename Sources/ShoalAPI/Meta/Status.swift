/// metav1.Status: the result of an API call that returns no object, notably errors.
public struct Status: Sendable, Hashable, Codable, Error, CustomStringConvertible {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    /// `Success` or `Failure`.
    public var status: String?
    public var message: String?
    /// A machine-readable reason (`Invalid`, `NotFound`, `AlreadyExists`, …).
    public var reason: String?
    public var details: StatusDetails?
    /// The HTTP status code.
    public var code: Int32?

    public static let success = "Success"
    public static let failure = "Failure"

    public init(
        apiVersion: String? = "v1",
        kind: String? = "Status",
        metadata: ListMeta? = ListMeta(),
        status: String? = nil,
        message: String? = nil,
        reason: String? = nil,
        details: StatusDetails? = nil,
        code: Int32? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }

    public var description: String { message ?? reason ?? status ?? "unknown status" }
}

/// More about a `Status`: which object, and the field-level causes.
public struct StatusDetails: Sendable, Hashable, Codable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int32?

    public init(
        name: String? = nil,
        group: String? = nil,
        kind: String? = nil,
        uid: String? = nil,
        causes: [StatusCause]? = nil,
        retryAfterSeconds: Int32? = nil
    ) {
        self.name = name
        self.group = group
        self.kind = kind
        self.uid = uid
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// One cause of a failure; for validation errors, one field error.
public struct StatusCause: Sendable, Hashable, Codable {
    /// The field error type (`FieldValueRequired`, …).
    public var reason: String?
    public var message: String?
    public var field: String?

    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}
