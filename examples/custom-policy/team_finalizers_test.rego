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
	f.summary == "Cache shop/sessions: finalizer acme.example.com/cache-cleanup has no owner annotation"
	testing.summaries_fit(fs)
	f.actions == []
}

# On a cluster whose finalizer facts say the controller is gone for good,
# and with a catalog entry that says removing the finalizer leaks nothing,
# the finding offers to remove it.
gone := {
	"finalizer": "acme.example.com/cache-cleanup",
	"namespace": "shop",
	"objects": [0],
	"kinds": ["Cache.cache.acme.example.com"],
	"builtin": false,
	"handlers": [],
	"liveness": "absent",
}

entry(leaks) := {"finalizers": [{
	"id": "acme-cache-cleanup", "name": "acme.example.com/cache-cleanup", "project": "ACME platform",
	"handledBy": "cache-operator", "protects": "the cache cluster", "leaks": leaks, "removal": "...",
}]}

test_offers_removal_when_safe if {
	inp := testing.cluster({"target": "shop", "objects": [cache({})], "finalizers": [gone]})
	fs := rule.findings with input as inp with data.nsguard.catalog as entry(false)
	some f in fs
	f.actions == [{"type": "remove-finalizer", "object": f.object, "finalizer": "acme.example.com/cache-cleanup", "reason": "its controller is gone and removing it leaks nothing"}]
	fs2 := rule.findings with input as inp with data.nsguard.catalog as entry(true)
	some f2 in fs2
	f2.actions == []
}

test_owner_given if {
	fs := rule.findings with input as testing.snapshot({"objects": [cache({"acme.example.com/finalizer-owner": "caching"})]})
	count(fs) == 0
}

test_other_prefix if {
	fs := rule.findings with input as testing.snapshot({"objects": [cache({})]}) with data.acme.finalizerPrefix as "other.example.com/"
	count(fs) == 0
}
