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

test_no_endpoints if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [crd], "services": svc(true, 0)})
	count(fs) == 1
	some f in fs
	contains(f.msg, "has no ready endpoints")
	f.namespace == "apps"
}

test_missing_service if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [crd], "services": {"widgets/conv": {"namespace": "widgets", "name": "conv", "exists": false, "objectID": -1}}})
	some f in fs
	contains(f.msg, "does not exist")
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
