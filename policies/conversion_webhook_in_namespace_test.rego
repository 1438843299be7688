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

test_fires_for_deletable_namespace if {
	fs := rule.findings with input as testing.snapshot({"objects": [crd("Webhook", "widgets")]})
	count(fs) == 1
	some f in fs
	f.namespace == "widgets"
	f.object.name == "widgets.example.com"
	f.object.kind == "CustomResourceDefinition"
	contains(f.msg, "other namespaces")
	contains(f.msg, "no Widget can be read")
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
