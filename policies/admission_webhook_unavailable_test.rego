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
	contains(f.msg, "delete ValidatingWebhookConfiguration policy if")
	f.summary == "ValidatingWebhookConfiguration policy fails closed and its Service policy/policy-webhook has no ready endpoints"
	testing.summaries_fit(fs)
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

# A webhook on an operator's own kinds blocks the target only when the
# target holds some.
widgets_only := json.patch(config({}), [{"op": "replace", "path": "/webhooks/0/rules", "value": [{"apiGroups": ["example.com"], "apiVersions": ["v1"], "operations": ["UPDATE", "DELETE"], "resources": ["widgets"], "scope": "Namespaced"}]}])

widget := {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "apps", "finalizers": ["example.com/cleanup"]}}

test_own_kinds_absent_from_target if {
	count(rule.findings) == 0 with input as testing.cluster({"target": "apps", "objects": [widgets_only], "services": svc(true, 0)})
}

test_own_kinds_in_target if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [widgets_only, widget], "services": svc(true, 0)})
	count(fs) == 1
	some f in fs
	contains(f.msg, "DELETE/UPDATE of widgets.example.com in namespace apps")
}
