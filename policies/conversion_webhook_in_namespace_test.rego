package nsguard.rules.conversion_webhook_in_namespace_test

import data.nsguard.lib.testing
import data.nsguard.rules.conversion_webhook_in_namespace as rule

crd(strategy, ns) := {
	"apiVersion": "apiextensions.k8s.io/v1",
	"kind": "CustomResourceDefinition",
	"metadata": {"name": "widgets.example.com"},
	"spec": {
		"group": "example.com",
		"names": {"kind": "Widget", "plural": "widgets"},
		"scope": "Namespaced",
		"conversion": {
			"strategy": strategy,
			"webhook": {"clientConfig": {"service": {"namespace": ns, "name": "widget-webhook", "path": "/convert"}}},
		},
	},
}

widget(ns) := {"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "w1", "namespace": ns}}

# The namespace that serves the webhook holds no Widget: the namespace
# controller can empty it, so a warning for the other namespaces.
test_warns_when_namespace_holds_none if {
	fs := rule.findings with input as testing.snapshot({"objects": [crd("Webhook", "widgets"), widget("shop")]})
	count(fs) == 1
	some f in fs
	f.severity == "warn"
	f.namespace == "widgets"
	f.object.name == "widgets.example.com"
	f.object.kind == "CustomResourceDefinition"
	contains(f.msg, "holds no Widget")
	contains(f.msg, "other namespaces")
	f.summary == "CustomResourceDefinition widgets.example.com: conversion webhook served from namespace widgets"
	testing.summaries_fit(fs)
}

# It holds some: it hangs itself.
test_denies_when_namespace_holds_objects if {
	fs := rule.findings with input as testing.snapshot({"objects": [crd("Webhook", "widgets"), widget("widgets")]})
	count(fs) == 1
	some f in fs
	f.severity == "deny"
	f.namespace == "widgets"
	contains(f.msg, "namespace widgets holds Widget objects")
	contains(f.msg, "no Widget can be read or deleted")
	contains(f.msg, "other namespaces")
	testing.summaries_fit(fs)
}

# On a cluster, "holds none" needs a complete snapshot: a LIST that failed
# (the conversion webhook is down) may have hidden them.
test_cluster_incomplete_snapshot_denies if {
	base := {"target": "widgets", "objects": [crd("Webhook", "widgets")]}
	fs := rule.findings with input as testing.cluster(base)
	every f in fs {
		f.severity == "warn"
	}
	fs2 := rule.findings with input as testing.cluster(object.union(base, {"complete": false, "incomplete": ["objects of 1 resource type not listed: conversion webhook failed (widgets.example.com)"]}))
	count(fs2) == 1
	every f in fs2 {
		f.severity == "deny"
		contains(f.msg, "may hold Widget objects (not every object could be listed)")
	}
}

test_summary_fits_long_names if {
	c := json.patch(crd("Webhook", "operators-conversion-webhooks"), [{"op": "replace", "path": "/metadata/name", "value": "clusterserviceversiontemplates.operators.coreos.example.com"}])
	fs := rule.findings with input as testing.snapshot({"objects": [c]})
	count(fs) == 1
	testing.summaries_fit(fs)
	some f in fs
	f.summary == "CRD clusterserviceversiontemplates.operators.coreos.example.com: conversion webhook served from a deletable namespace"
}

test_no_conversion_strategy if {
	fs := rule.findings with input as testing.snapshot({"objects": [crd("None", "widgets")]})
	count(fs) == 0
}

test_no_conversion_at_all if {
	c := json.remove(crd("Webhook", "widgets"), ["spec/conversion"])
	fs := rule.findings with input as testing.snapshot({"objects": [c]})
	count(fs) == 0
}

test_immortal_namespace if {
	fs := rule.findings with input as testing.snapshot({"objects": [crd("Webhook", "kube-system")]})
	count(fs) == 0
}

test_v1beta1_field if {
	c := {
		"apiVersion": "apiextensions.k8s.io/v1beta1",
		"kind": "CustomResourceDefinition",
		"metadata": {"name": "olds.example.com"},
		"spec": {"group": "example.com", "names": {"kind": "Old"}, "conversion": {
			"strategy": "Webhook",
			"webhookClientConfig": {"service": {"namespace": "legacy", "name": "conv"}},
		}},
	}
	fs := rule.findings with input as testing.snapshot({"objects": [c]})
	count(fs) == 1
}

test_cluster_only_target if {
	inp := testing.cluster({"objects": [crd("Webhook", "widgets")], "target": "other"})
	count(rule.findings) == 0 with input as inp
	inp2 := testing.cluster({"objects": [crd("Webhook", "widgets")], "target": "widgets"})
	count(rule.findings) == 1 with input as inp2
}
