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
	contains(f.msg, "Removing it by hand is safe")
	f.summary == "Widget apps/w1: finalizer example.com/safe has no controller (absent)"
	testing.summaries_fit(fs)
	f.actions == [{"type": "remove-finalizer", "object": f.object, "finalizer": "example.com/safe"}]
}

test_leaky_finalizer_has_no_patch if {
	fs := rule.findings with input as snap(["example.com/leaky"], [fact("example.com/leaky", "absent")]) with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	not f.actions
	contains(f.msg, "Reinstall example-operator")
	contains(f.msg, "leaks a cloud load balancer")
}

# A fact of one handler of a shared name names that handler.
test_leaky_names_the_facts_handler if {
	f0 := object.union(fact("example.com/leaky", "absent"), {"handledBy": "example-backup-controller"})
	fs := rule.findings with input as snap(["example.com/leaky"], [f0]) with data.nsguard.catalog as cat
	some f in fs
	contains(f.msg, "Reinstall example-backup-controller")
}

test_unknown_finalizer_has_no_patch if {
	fs := rule.findings with input as snap(["example.com/unknown"], [fact("example.com/unknown", "absent")]) with data.nsguard.catalog as cat
	some f in fs
	not f.actions
	contains(f.msg, "catalog does not know it")
}

test_alive_or_unknown_controller if {
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [fact("example.com/safe", "alive")]) with data.nsguard.catalog as cat
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [fact("example.com/safe", "unknown")]) with data.nsguard.catalog as cat
	count(rule.findings) == 0 with input as snap(["example.com/safe"], [fact("example.com/safe", "down")]) with data.nsguard.catalog as cat
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

namespace_object(metadata_finalizers, spec_finalizers) := {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": "apps", "finalizers": metadata_finalizers, "deletionTimestamp": "2025-01-01T00:00:00Z"},
	"spec": {"finalizers": spec_finalizers},
}

# The Namespace's own metadata.finalizers: a normal orphan, removed from
# the Namespace object (remove-finalizer patches metadata.finalizers).
test_namespace_metadata_finalizer if {
	f0 := object.union(fact("example.com/safe", "absent"), {"objects": [0], "kinds": ["Namespace"]})
	inp := testing.cluster({"target": "apps", "objects": [namespace_object(["example.com/safe"], ["kubernetes"])], "finalizers": [f0]})
	fs := rule.findings with input as inp with data.nsguard.catalog as cat
	count(fs) == 1
	some f in fs
	f.object.kind == "Namespace"
	f.object.name == "apps"
	f.namespace == "apps"
	f.actions == [{"type": "remove-finalizer", "object": f.object, "finalizer": "example.com/safe"}]
	testing.summaries_fit(fs)
}

# Its spec.finalizers are namespace-spec-finalizer's: none here, even with
# the same name in metadata.finalizers' fact absent.
test_namespace_spec_finalizer_is_not_an_orphan_here if {
	spec_fact := object.union(fact("example.com/safe", "absent"), {"objects": [0], "kinds": ["Namespace"], "spec": true})
	inp := testing.cluster({"target": "apps", "objects": [namespace_object([], ["kubernetes", "example.com/safe"])], "finalizers": [spec_fact]})
	count(rule.findings) == 0 with input as inp with data.nsguard.catalog as cat
}

test_summary_fits_long_names if {
	long := {
		"apiVersion": "example.com/v1",
		"kind": "ObjectBucketClaimReplication",
		"metadata": {"name": "analytics-nightly-export-bucket-claim", "namespace": "apps", "finalizers": ["objectbucket.io/finalizer-cleanup-protection"]},
	}
	f0 := object.union(fact("objectbucket.io/finalizer-cleanup-protection", "absent"), {"kinds": ["ObjectBucketClaimReplication.example.com"]})
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [long], "finalizers": [f0]}) with data.nsguard.catalog as cat
	count(fs) == 1
	testing.summaries_fit(fs)
	some f in fs
	f.summary == "ObjectBucketClaimReplication apps/analytics-nightly-export-bucket-claim: a finalizer has no controller (absent)"
}
