import ShoalAPI
@testable import ShoalMaster
import Testing

@Suite struct PatchTests {
    let pod: JSONValue = [
        "metadata": ["name": "p", "labels": ["a": "1", "b": "2"], "finalizers": ["x"]],
        "spec": ["containers": [["name": "app", "image": "busybox:1", "env": [["name": "A", "value": "1"]]],
                                ["name": "side", "image": "busybox:1"]]],
    ]

    @Test func mergePatchReplacesListsAndDeletesNulls() {
        let out = Patch.merge(pod, ["metadata": ["labels": ["a": nil, "c": "3"]], "spec": ["containers": [["name": "only"]]]])
        #expect(out["metadata"]?["labels"] == ["b": "2", "c": "3"])
        #expect(out["spec"]?["containers"]?.arrayValue?.count == 1)
    }

    @Test func strategicPatchMergesByKeyAndHonoursDirectives() throws {
        let out = try Patch.strategic(pod, [
            "metadata": ["finalizers": ["y"]],
            "spec": ["containers": [["name": "app", "image": "busybox:2"], ["name": "side", "$patch": "delete"], ["name": "new", "image": "x"]],
                     "$setElementOrder/containers": [["name": "new"], ["name": "app"]]],
        ])
        let containers = out["spec"]?["containers"]?.arrayValue ?? []
        #expect(containers.map { $0["name"] } == ["new", "app"])
        #expect(containers[1]["image"] == "busybox:2")
        #expect(containers[1]["env"]?.arrayValue?.count == 1, "untouched fields of a merged element stay")
        #expect(out["metadata"]?["finalizers"] == ["x", "y"], "finalizers merge as a set")
        let replaced = try Patch.strategic(pod, ["metadata": ["labels": ["$patch": "replace", "z": "9"]]])
        #expect(replaced["metadata"]?["labels"] == ["z": "9"])
        let pruned = try Patch.strategic(pod, ["$deleteFromPrimitiveList/finalizers": ["x"], "metadata": [:]] as JSONValue)
        _ = pruned
    }

    @Test func jsonPatchOperations() throws {
        let out = try Patch.jsonPatch(pod, [
            ["op": "replace", "path": "/spec/containers/0/image", "value": "busybox:3"],
            ["op": "add", "path": "/metadata/labels/d", "value": "4"],
            ["op": "remove", "path": "/metadata/labels/a"],
            ["op": "test", "path": "/metadata/name", "value": "p"],
        ])
        #expect(out["spec"]?["containers"]?.arrayValue?[0]["image"] == "busybox:3")
        #expect(out["metadata"]?["labels"] == ["b": "2", "d": "4"])
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch(pod, [["op": "test", "path": "/metadata/name", "value": "q"]]) }
        #expect(throws: Patch.Failure.self) { try Patch.jsonPatch(pod, [["op": "replace", "path": "/nope/x", "value": 1]]) }
    }
}

@Suite struct SelectorTests {
    @Test func labelSelectorGrammar() throws {
        let s = try LabelQuery(parsing: "app=web, tier!=db,env in (prod, staging),!legacy,team")
        #expect(s.matches(["app": "web", "env": "prod", "team": "x"]))
        #expect(!s.matches(["app": "web", "env": "dev", "team": "x"]))
        #expect(!s.matches(["app": "web", "env": "prod", "team": "x", "legacy": "1"]))
        #expect(!s.matches(["app": "web", "env": "prod"]))
        #expect(try LabelQuery(parsing: "a notin (x)").matches([:]))
        #expect(throws: APIError.self) { try LabelQuery(parsing: "a in x") }
        #expect(throws: APIError.self) { try LabelQuery(parsing: "bad key=1") }
    }

    @Test func fieldSelectorsAreLimitedToKnownFields() throws {
        let pod: JSONValue = ["metadata": ["name": "p", "namespace": "default"], "spec": ["nodeName": "n1"], "status": ["phase": "Running"]]
        #expect(try FieldSelector(parsing: "spec.nodeName=n1,status.phase!=Failed", for: Resources.pods).matches(pod))
        #expect(!(try FieldSelector(parsing: "spec.nodeName==n2", for: Resources.pods).matches(pod)))
        #expect(try FieldSelector(parsing: "spec.nodeName=", for: Resources.pods).matches(["spec": [:]]))
        let error = #expect(throws: APIError.self) { try FieldSelector(parsing: "spec.bogus=1", for: Resources.pods) }
        #expect(error?.description == "field label not supported: spec.bogus")
    }
}

@Suite struct ManagedFieldsTests {
    @Test func pathsRoundTripThroughFieldsV1() {
        let obj: JSONValue = ["metadata": ["name": "p", "labels": ["a": "1"]], "spec": ["containers": [["name": "c", "image": "x"]]]]
        let paths = ManagedFields.paths(of: obj)
        #expect(paths.contains(["f:metadata", "f:labels", "f:a"]))
        #expect(paths.contains(["f:spec", "f:containers", #"k:{"name":"c"}"#, "."]))
        #expect(!paths.contains(["f:metadata", "f:name"]), "identity is not managed")
        #expect(ManagedFields.paths(fromFieldsV1: ManagedFields.fieldsV1(paths)) == paths)
        #expect(ManagedFields.describe(["f:spec", "f:containers", #"k:{"name":"c"}"#, "f:image"]) == #".spec.containers[name="c"].image"#)
    }

    @Test func anUpdateTakesOwnershipOfWhatItChanged() {
        let v1: JSONValue = ["metadata": ["labels": ["a": "1"]]]
        let created = ManagedFields.recordUpdate(old: nil, new: v1, manager: "one", apiVersion: "v1", subresource: nil)
        var v2 = created
        v2["metadata"]?["labels"]?["a"] = "2"
        let updated = ManagedFields.recordUpdate(old: created, new: v2, manager: "two", apiVersion: "v1", subresource: nil)
        let entries = ManagedFields.entries(updated)
        #expect(entries.map(\.manager) == ["two"], "the first manager lost its only field")
    }
}
