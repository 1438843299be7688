package nsguard.rules.acme.team_finalizers_test

import data.nsguard.lib.testing
import data.nsguard.rules.acme.team_finalizers as rule

cache(annotations) := {
	"apiVersion": "cache.acme.example.com/v1",
	"kind": "Cache",
	"metadata": {
		"name": "sessions",
		"namespace": "shop",
		"finalizers": ["acme.example.com/cache-cleanup"],
		"annotations": annotations,
	},
}

test_missing_owner if {
	fs := rule.findings with input as testing.snapshot({"objects": [cache({})]})
	count(fs) == 1
	some f in fs
	f.namespace == "shop"
	f.object.name == "sessions"
	contains(f.msg, "acme.example.com/cache-cleanup")
}

test_owner_given if {
	fs := rule.findings with input as testing.snapshot({"objects": [cache({"acme.example.com/finalizer-owner": "caching"})]})
	count(fs) == 0
}

test_other_prefix if {
	fs := rule.findings with input as testing.snapshot({"objects": [cache({})]}) with data.acme.finalizerPrefix as "other.example.com/"
	count(fs) == 0
}
