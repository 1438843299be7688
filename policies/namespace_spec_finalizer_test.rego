package nsguard.rules.namespace_spec_finalizer_test

import data.nsguard.lib.testing
import data.nsguard.rules.namespace_spec_finalizer as rule

ns(name, fins) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": fins}}

test_fires if {
	fs := rule.findings with input as testing.snapshot({"objects": [ns("team", ["kubernetes", "example.com/ns"])]})
	count(fs) == 1
	some f in fs
	f.namespace == "team"
	f.object.kind == "Namespace"
	f.object.id == 0
	contains(f.msg, "example.com/ns")
	count(object.get(f, "actions", [])) == 0
}

test_kubernetes_only if {
	fs := rule.findings with input as testing.snapshot({"objects": [ns("team", ["kubernetes"])]})
	count(fs) == 0
}

test_no_spec if {
	fs := rule.findings with input as testing.snapshot({"objects": [testing.namespace("team")]})
	count(fs) == 0
}

test_immortal if {
	fs := rule.findings with input as testing.snapshot({"objects": [ns("default", ["example.com/ns"])]})
	count(fs) == 0
}

test_live_state_without_object if {
	inp := testing.cluster({"target": "team", "namespaces": {"team": {"name": "team", "deletable": true, "objectID": -1, "specFinalizers": ["kubernetes", "example.com/ns"]}}})
	fs := rule.findings with input as inp
	count(fs) == 1
	some f in fs
	f.object.id == -1
	f.object.name == "team"
}

test_live_and_object_do_not_duplicate if {
	inp := testing.cluster({
		"target": "team",
		"objects": [ns("team", ["example.com/ns"])],
		"namespaces": {"team": {"specFinalizers": ["example.com/ns"]}},
	})
	count(rule.findings) == 1 with input as inp
}

# Only the finalize subresource edits spec.finalizers, and nsguard never
# uses it: no finding offers an action, whatever the catalog says.
test_no_action_even_for_safe_catalog_entry_on_cluster if {
	inp := testing.cluster({"target": "team", "objects": [ns("team", ["example.com/ns"])]})
	cat := {"finalizers": [{"id": "x", "name": "example.com/ns", "project": "X", "handledBy": "x", "protects": "nothing", "leaks": false, "removal": "safe"}]}
	fs := rule.findings with input as inp with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	count(object.get(f, "actions", [])) == 0
}
