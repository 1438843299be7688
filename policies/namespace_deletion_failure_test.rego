package nsguard.rules.namespace_deletion_failure_test

import data.nsguard.lib.testing
import data.nsguard.rules.namespace_deletion_failure as rule

state(phase, type, status) := {"apps": {
	"name": "apps",
	"deletable": true,
	"phase": phase,
	"conditions": [
		{"type": type, "status": status, "reason": "DiscoveryFailed", "message": "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery"},
		{"type": "NamespaceContentRemaining", "status": "True", "message": "Some resources are remaining: widgets.example.com has 1 resource instances"},
	],
}}

test_discovery_failure if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [testing.namespace("apps")], "namespaces": state("Terminating", "NamespaceDeletionDiscoveryFailure", "True")})
	count(fs) == 1
	some f in fs
	f.object.kind == "Namespace"
	f.object.id == 0
	contains(f.msg, "metrics.k8s.io/v1beta1: stale GroupVersion discovery")
	contains(f.msg, "unavailable-apiservice")
	f.summary == "Namespace apps: the namespace controller reports NamespaceDeletionDiscoveryFailure"
	testing.summaries_fit(fs)
}

test_condition_without_message if {
	ns := {"apps": {"name": "apps", "deletable": true, "phase": "Terminating", "conditions": [{"type": "NamespaceDeletionContentFailure", "status": "True"}]}}
	fs := rule.findings with input as testing.cluster({"target": "apps", "namespaces": ns})
	some f in fs
	startswith(f.msg, "Namespace apps is Terminating and the namespace controller reports NamespaceDeletionContentFailure. Some content")
}

test_content_failure_without_namespace_object if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "namespaces": state("Terminating", "NamespaceDeletionContentFailure", "True")})
	some f in fs
	f.object.id == -1
	contains(f.msg, "webhook")
}

test_condition_false if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "namespaces": state("Terminating", "NamespaceDeletionDiscoveryFailure", "False")})
}

test_active_namespace if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "namespaces": state("Active", "NamespaceDeletionDiscoveryFailure", "True")})
}

test_never_in_lint if {
	count(rule.findings) == 0 with input as testing.snapshot({"target": "apps", "namespaces": state("Terminating", "NamespaceDeletionDiscoveryFailure", "True")})
}
