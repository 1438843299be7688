package nsguard.rules.conversion_webhook_unavailable_test

import data.nsguard.lib.testing
import data.nsguard.rules.conversion_webhook_unavailable as rule

crd := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "widgets.example.com"},
	"spec": {
		"group": "example.com",
		"names": {"kind": "Widget", "plural": "widgets"},
		"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"namespace": "widgets", "name": "conv"}}}},
	},
}

svc(exists, ready) := {"widgets/conv": {"namespace": "widgets", "name": "conv", "exists": exists, "readyEndpoints": ready, "objectID": -1}}

widget(ns) := {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": ns}}

# The target holds Widgets: they can be neither read nor deleted.
test_no_endpoints_namespace_holds_objects if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [crd, widget("apps")], "services": svc(true, 0)})
	count(fs) == 1
	some f in fs
	f.severity == "deny"
	f.namespace == "apps"
	contains(f.msg, "has no ready endpoints")
	contains(f.msg, "the 1 Widget object(s) in namespace apps")
	contains(f.msg, "other namespaces")
	f.summary == "CustomResourceDefinition widgets.example.com: conversion webhook Service widgets/conv has no ready endpoints"
	testing.summaries_fit(fs)
}

# The target is known to hold none: the namespace controller can empty it;
# a warning, for the other namespaces.
test_no_endpoints_namespace_holds_none if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [crd, widget("shop")], "services": svc(true, 0)})
	count(fs) == 1
	some f in fs
	f.severity == "warn"
	contains(f.msg, "holds no Widget")
	contains(f.msg, "other namespaces")
}

# Not every object could be listed (a LIST through the broken conversion
# fails): it may hold some, so deny.
test_incomplete_snapshot_denies if {
	inp := testing.cluster({"target": "apps", "objects": [crd], "services": svc(true, 0), "complete": false, "incomplete": ["objects of 1 resource type not listed: conversion webhook unavailable (widgets.example.com)"]})
	fs := rule.findings with input as inp
	count(fs) == 1
	some f in fs
	f.severity == "deny"
	contains(f.msg, "if it holds any")
	contains(f.msg, "other namespaces")
}

test_missing_service if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [crd], "services": {"widgets/conv": {"namespace": "widgets", "name": "conv", "exists": false, "objectID": -1}}})
	some f in fs
	contains(f.msg, "does not exist")
	testing.summaries_fit(fs)
}

test_ready if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [crd], "services": svc(true, 2)})
}

test_unknown_service if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [crd]})
}

test_never_in_lint if {
	count(rule.findings) == 0 with input as testing.snapshot({"objects": [crd], "services": svc(true, 0)})
}
