package nsguard.rules.orphaned_finalizer_test

import data.nsguard.lib.testing
import data.nsguard.rules.orphaned_finalizer as rule

cat := {"finalizers": [
	{"id": "safe", "name": "example.com/safe", "project": "Example", "handledBy": "example-operator", "protects": "a status record", "leaks": false, "removal": "Nothing is left behind."},
	{"id": "leaky", "name": "example.com/leaky", "project": "Example", "handledBy": "example-operator", "protects": "a cloud load balancer", "leaks": true, "removal": "The load balancer stays and keeps costing."},
]}

widget(finalizers) := {
	"apiVersion": "example.com/v1",
	"kind": "Widget",
	"metadata": {"name": "w1", "namespace": "apps", "finalizers": finalizers},
}

fact(name, liveness) := {
	"finalizer": name,
	"namespace": "apps",
	"objects": [0],
	"kinds": ["Widget.example.com"],
	"catalog": _catalog_id(name),
	"builtin": false,
	"handlers": [],
	"liveness": liveness,
	"evidence": ["no workload labelled app=example-operator", "Lease example-operator not renewed for 3h"],
}

_catalog_id("example.com/safe") := "safe"

_catalog_id("example.com/leaky") := "leaky"

_catalog_id(name) := "" if not name in {"example.com/safe", "example.com/leaky"}

snap(finalizers, facts) := testing.cluster({"target": "apps", "objects": [widget(finalizers)], "finalizers": facts})

test_safe_finalizer_gets_patch if {
	fs := rule.findings with input as snap(["other", "example.com/safe"], [fact("example.com/safe", "absent")]) with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	f.object.name == "w1"
	contains(f.msg, "Lease example-operator not renewed")
	contains(f.msg, "removing it by hand is safe")
	f.actions == [{"type": "remove-finalizer", "object": f.object, "finalizer": "example.com/safe"}]
}

test_leaky_finalizer_has_no_patch if {
	fs := rule.findings with input as snap(["example.com/leaky"], [fact("example.com/leaky", "absent")]) with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	not f.actions
	contains(f.msg, "leaks")
	contains(f.msg, "cloud load balancer")
}

test_unknown_finalizer_has_no_patch if {
	fs := rule.findings with input as snap(["example.com/unknown"], [fact("example.com/unknown", "absent")]) with data.nsguard.catalog as cat
	some f in fs
	not f.actions
	contains(f.msg, "does not know it")
}

test_alive_or_unknown_controller if {
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [fact("example.com/safe", "alive")]) with data.nsguard.catalog as cat
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [fact("example.com/safe", "unknown")]) with data.nsguard.catalog as cat
}

test_never_in_lint if {
	inp := object.union(snap(["example.com/safe"], [fact("example.com/safe", "absent")]), {"source": "manifests", "target": ""})
	count(rule.findings) == 0 with input as inp with data.nsguard.catalog as cat
}

test_other_namespace_than_target if {
	inp := object.union(snap(["example.com/safe"], [fact("example.com/safe", "absent")]), {"target": "other"})
	count(rule.findings) == 0 with input as inp with data.nsguard.catalog as cat
}

test_builtin_ignored if {
	b := object.union(fact("example.com/safe", "absent"), {"builtin": true})
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [b]) with data.nsguard.catalog as cat
}
