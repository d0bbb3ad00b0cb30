/// Metadata validation for any kind, as apimachinery's ValidateObjectMeta with the name rule of
/// the kind (most take a DNS subdomain, namespaces a DNS label).
public enum MetaValidation {
    public static func validate(_ m: ObjectMeta, namespaced: Bool, nameIsDNSLabel: Bool = false) -> [FieldError] {
        var probe = m
        // PodValidation's rules require a namespace; a cluster-scoped kind must have none instead.
        if !namespaced { probe.namespace = "default" }
        var errs = PodValidation.validateObjectMeta(probe, path: FieldPath("metadata"))
        if nameIsDNSLabel, let name = m.name, !name.isEmpty {
            errs.removeAll { $0.field == "metadata.name" }
            errs += ValidationRules.nameIsDNSLabel(name).map { .invalid(FieldPath("metadata").child("name"), .string(name), $0) }
        }
        if !namespaced, let ns = m.namespace, !ns.isEmpty {
            errs.append(.forbidden(FieldPath("metadata").child("namespace"), "not allowed on this type"))
        }
        return errs
    }
}
