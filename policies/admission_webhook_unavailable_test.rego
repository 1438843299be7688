package nsguard.rules.admission_webhook_unavailable_test

import data.nsguard.lib.testing
import data.nsguard.rules.admission_webhook_unavailable as rule

config(extra) := {
	"apiVersion": "admissionregistration.k8s.io/v1",
	"kind": "ValidatingWebhookConfiguration",
	"metadata": {"name": "policy"},
	"webhooks": [object.union(
		{
			"name": "validate.policy.example.com",
			"clientConfig": {"service": {"namespace": "policy", "name": "policy-webhook"}},
			"rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["DELETE"], "resources": ["*"]}],
		},
		extra,
	)],
}

svc(exists, ready) := {"policy/policy-webhook": {"namespace": "policy", "name": "policy-webhook", "exists": exists, "readyEndpoints": ready, "objectID": -1}}

test_no_endpoints if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [config({})], "services": svc(true, 0)})
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	contains(f.msg, "has no ready endpoints")
	not f.actions
}

test_missing_service_offers_delete if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [config({})], "services": {"policy/policy-webhook": {"namespace": "policy", "name": "policy-webhook", "exists": false, "objectID": -1}}})
	some f in fs
	f.actions == [{"type": "delete-webhook-configuration", "object": f.object}]
}

test_ready if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [config({})], "services": svc(true, 1)})
}

test_ignore_policy if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [config({"failurePolicy": "Ignore"})], "services": svc(true, 0)})
}

test_selector_exempts_target if {
	c := config({"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["apps"]}]}})
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [c], "services": svc(true, 0)})
}

test_never_in_lint if {
	count(rule.findings) == 0 with input as testing.snapshot({"objects": [config({})], "services": svc(true, 0)})
}
