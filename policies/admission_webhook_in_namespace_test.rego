package nsguard.rules.admission_webhook_in_namespace_test

import data.nsguard.lib.testing
import data.nsguard.rules.admission_webhook_in_namespace as rule

webhook(extra) := object.union(
	{
		"name": "validate.policy.example.com",
		"clientConfig": {"service": {"namespace": "policy", "name": "policy-webhook"}},
		"rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["*"]}],
		"sideEffects": "None",
		"admissionReviewVersions": ["v1"],
	},
	extra,
)

config(kind, apiVersion, whs) := {
	"apiVersion": apiVersion,
	"kind": kind,
	"metadata": {"name": "policy"},
	"webhooks": whs,
}

validating(whs) := config("ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", whs)

pod_of_policy := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "policy-webhook", "namespace": "policy", "labels": {"app": "policy-webhook"}},
	"spec": {"template": {"metadata": {"labels": {"app": "policy-webhook"}}}},
}

findings_for(objs) := fs if {
	fs := rule.findings with input as testing.snapshot({"objects": objs})
}

test_fires_by_default_failure_policy if {
	fs := findings_for([validating([webhook({})]), pod_of_policy])
	count(fs) == 1
	some f in fs
	f.namespace == "policy"
	f.object.kind == "ValidatingWebhookConfiguration"
	contains(f.msg, "validate.policy.example.com")
	contains(f.msg, "DELETE/UPDATE")
	f.actions == [{"type": "delete-webhook-configuration", "object": f.object}]
}

test_mutating_fires if {
	fs := findings_for([config("MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", [webhook({})])])
	count(fs) == 1
}

test_ignore_policy if {
	fs := findings_for([validating([webhook({"failurePolicy": "Ignore"})])])
	count(fs) == 0
}

test_v1beta1_defaults_to_ignore if {
	fs := findings_for([config("ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1beta1", [webhook({})])])
	count(fs) == 0
}

test_create_only if {
	wh := json.patch(webhook({}), [{"op": "replace", "path": "/rules/0/operations", "value": ["CREATE"]}])
	fs := findings_for([validating([wh])])
	count(fs) == 0
}

test_wildcard_operation if {
	wh := json.patch(webhook({}), [{"op": "replace", "path": "/rules/0/operations", "value": ["*"]}])
	fs := findings_for([validating([wh])])
	count(fs) == 1
}

test_cluster_scope_only_other_resources if {
	wh := json.patch(webhook({}), [
		{"op": "add", "path": "/rules/0/scope", "value": "Cluster"},
		{"op": "replace", "path": "/rules/0/resources", "value": ["clusterroles"]},
	])
	fs := findings_for([validating([wh])])
	count(fs) == 0
}

test_cluster_scope_namespaces if {
	wh := json.patch(webhook({}), [
		{"op": "add", "path": "/rules/0/scope", "value": "Cluster"},
		{"op": "replace", "path": "/rules/0/apiGroups", "value": [""]},
		{"op": "replace", "path": "/rules/0/resources", "value": ["namespaces"]},
	])
	fs := findings_for([validating([wh])])
	count(fs) == 1
}

test_namespace_selector_exempts_by_name if {
	wh := webhook({"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["policy", "kube-system"]}]}})
	fs := findings_for([validating([wh])])
	count(fs) == 0
}

test_namespace_selector_matching_label if {
	wh := webhook({"namespaceSelector": {"matchLabels": {"policy": "enforced"}}})
	fs := findings_for([validating([wh]), testing.namespace_labeled("policy", {"policy": "enforced"})])
	count(fs) == 1
	fs2 := findings_for([validating([wh]), testing.namespace("policy")])
	count(fs2) == 0
}

test_namespace_selector_exists if {
	wh := webhook({"namespaceSelector": {"matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]}})
	count(findings_for([validating([wh]), testing.namespace_labeled("policy", {"control-plane": "x"})])) == 0
	count(findings_for([validating([wh]), testing.namespace("policy")])) == 1
}

test_object_selector_exempting_everything_in_namespace if {
	wh := webhook({"objectSelector": {"matchLabels": {"app": "something-else"}}})
	fs := findings_for([validating([wh]), pod_of_policy])
	count(fs) == 0
}

test_object_selector_that_selects_pod_template if {
	other := {
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "worker", "namespace": "policy"},
		"spec": {"template": {"metadata": {"labels": {"app": "worker"}}}},
	}
	wh := webhook({"objectSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["policy-webhook"]}]}})
	fs := findings_for([validating([wh]), pod_of_policy, other])
	count(fs) == 1
}

test_url_webhook_is_ignored if {
	wh := json.patch(webhook({}), [{"op": "replace", "path": "/clientConfig", "value": {"url": "https://example.com/validate"}}])
	fs := findings_for([validating([wh])])
	count(fs) == 0
}

test_immortal_namespace if {
	wh := json.patch(webhook({}), [{"op": "replace", "path": "/clientConfig/service/namespace", "value": "kube-system"}])
	count(findings_for([validating([wh])])) == 0
}
