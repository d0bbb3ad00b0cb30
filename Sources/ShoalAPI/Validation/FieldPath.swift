/// A path to a field inside an API object, printed the way Kubernetes prints it:
/// `spec.containers[1].resources.limits[cpu]`.
///
/// Mirrors `k8s.io/apimachinery/pkg/util/validation/field.Path`: `child` adds a dotted field name,
/// `index` a list subscript and `key` a map subscript.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    enum Element: Sendable, Hashable {
        case field(String)
        case index(Int)
        case key(String)
    }

    private(set) var elements: [Element]

    /// The empty path (prints as ""), for errors about a whole object.
    public init() {
        elements = []
    }

    /// A path starting at `root`, optionally followed by more field names:
    /// `FieldPath("spec", "containers")` is `spec.containers`.
    public init(_ root: String, _ more: String...) {
        elements = [.field(root)] + more.map(Element.field)
    }

    init(elements: [Element]) {
        self.elements = elements
    }

    /// Appends one or more field names.
    public func child(_ name: String, _ more: String...) -> FieldPath {
        FieldPath(elements: elements + [.field(name)] + more.map(Element.field))
    }

    /// Appends a list index: `containers[2]`.
    public func index(_ i: Int) -> FieldPath {
        FieldPath(elements: elements + [.index(i)])
    }

    /// Appends a map key: `limits[cpu]`.
    public func key(_ k: String) -> FieldPath {
        FieldPath(elements: elements + [.key(k)])
    }

    public var isEmpty: Bool { elements.isEmpty }

    /// The same path with map keys written as field names: the form a schema-less reader of
    /// the document (which cannot tell maps from objects) gives to the same node.
    var untyped: FieldPath {
        FieldPath(elements: elements.map { if case .key(let k) = $0 { return .field(k) } else { return $0 } })
    }

    public var description: String {
        var out = ""
        for (i, element) in elements.enumerated() {
            switch element {
            case .field(let name):
                if i > 0 { out += "." }
                out += name
            case .index(let n):
                out += "[\(n)]"
            case .key(let k):
                out += "[\(k)]"
            }
        }
        return out
    }
}
