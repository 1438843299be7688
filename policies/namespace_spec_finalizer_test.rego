package nsguard.rules.namespace_spec_finalizer_test

import data.nsguard.lib.testing
import data.nsguard.rules.namespace_spec_finalizer as rule
import data.nsguard.rules.orphaned_finalizer

ns(name, fins) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": fins}}

test_fires if {
	fs := rule.findings with input as testing.snapshot({"objects": [ns("team", ["kubernetes", "example.com/ns"])]})
	count(fs) == 1
	some f in fs
	f.namespace == "team"
	f.object.kind == "Namespace"
	f.object.id == 0
	contains(f.msg, "example.com/ns")
	f.summary == "Namespace team: spec finalizer example.com/ns waits for its controller"
	testing.summaries_fit(fs)
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

# On a cluster, the finalizer fact of a spec finalizer (spec: true) says
# whether its controller runs.
spec_fact(liveness) := {
	"finalizer": "example.com/ns",
	"namespace": "team",
	"objects": [0],
	"kinds": ["Namespace"],
	"builtin": false,
	"spec": true,
	"handlers": [],
	"liveness": liveness,
	"evidence": ["no workload matches app=ns-operator"],
}

terminating := object.union(ns("team", ["kubernetes", "example.com/ns"]), {"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}})

live(liveness) := testing.cluster({"target": "team", "objects": [terminating], "finalizers": [spec_fact(liveness)]})

cat := {"finalizers": [{"id": "x", "name": "example.com/ns", "project": "X", "handledBy": "ns-operator", "protects": "team quotas", "leaks": false, "removal": "safe"}]}

# Its controller is gone: one finding, from this rule only (not
# orphaned-finalizer), with no action; it says to reinstall the controller.
test_absent_controller_one_finding_no_action if {
	fs := rule.findings with input as live("absent") with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	count(object.get(f, "actions", [])) == 0
	contains(f.msg, "ns-operator is gone (no workload matches app=ns-operator)")
	contains(f.msg, "Reinstall that controller")
	not contains(f.msg, "kubectl")
	f.summary == "Namespace team: spec finalizer example.com/ns has no controller (absent)"
	testing.summaries_fit(fs)
	count(orphaned_finalizer.findings) == 0 with input as live("absent") with data.nsguard.catalog as cat
}

test_down_controller if {
	fs := rule.findings with input as live("down") with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	contains(f.msg, "ns-operator is not running")
	count(object.get(f, "actions", [])) == 0
}

test_alive_controller if {
	fs := rule.findings with input as live("alive") with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	contains(f.msg, "only ns-operator can finish its deletion")
}

# A fact about the Namespace's metadata finalizer of the same name is not
# about the spec entry.
test_metadata_fact_is_not_the_spec_one if {
	meta := json.remove(spec_fact("absent"), ["spec"])
	fs := rule.findings with input as testing.cluster({"target": "team", "objects": [terminating], "finalizers": [meta]})
	some f in fs
	contains(f.msg, "sets spec finalizer example.com/ns")
}
