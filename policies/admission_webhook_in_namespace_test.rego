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
	contains(f.msg, "delete ValidatingWebhookConfiguration policy first")
	f.summary == "ValidatingWebhookConfiguration policy: webhook validate.policy.example.com fails closed, served from namespace policy"
	testing.summaries_fit(fs)
	f.actions == [{"type": "delete-webhook-configuration", "object": f.object}]
}

# Long names: the summary falls back to a shorter form that still names the
# configuration and the namespace.
test_summary_fits_long_names if {
	wh := json.patch(webhook({"name": "validate-resources-fail-closed.kyverno.svc.cluster.local"}), [{"op": "replace", "path": "/clientConfig/service/namespace", "value": "kyverno-admission-controller"}])
	cfg := object.union(validating([wh]), {"metadata": {"name": "kyverno-resource-validating-webhook-cfg"}})
	fs := findings_for([cfg])
	count(fs) == 1
	testing.summaries_fit(fs)
	some f in fs
	contains(f.summary, "kyverno-resource-validating-webhook-cfg")
	contains(f.summary, "kyverno-admission-controller")
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

# A webhook of an operator's own kinds (here cert-manager's, on
# certificates and issuers) intercepts the deletion of the namespace that
# serves it only when that namespace holds such objects.
cert_manager_webhook(ops) := {
	"apiVersion": "admissionregistration.k8s.io/v1",
	"kind": "ValidatingWebhookConfiguration",
	"metadata": {"name": "cert-manager-webhook"},
	"webhooks": [{
		"name": "webhook.cert-manager.io",
		"clientConfig": {"service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "path": "/validate"}},
		"rules": [{"apiGroups": ["cert-manager.io"], "apiVersions": ["v1"], "operations": ops, "resources": ["certificates", "issuers"]}],
		"failurePolicy": "Fail",
		"sideEffects": "None",
		"admissionReviewVersions": ["v1"],
	}],
}

cert_manager_install(ops) := [
	cert_manager_webhook(ops),
	{
		"apiVersion": "v1",
		"kind": "Service",
		"metadata": {"name": "cert-manager-webhook", "namespace": "cert-manager", "labels": {"app": "webhook"}},
		"spec": {"selector": {"app": "webhook"}},
	},
	{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "cert-manager-webhook", "namespace": "cert-manager", "labels": {"app": "webhook"}},
		"spec": {"template": {"metadata": {"labels": {"app": "webhook"}}}},
	},
	{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cert-manager-webhook", "namespace": "cert-manager"}},
]

certificate(ns, finalizers) := {
	"apiVersion": "cert-manager.io/v1",
	"kind": "Certificate",
	"metadata": {"name": "webhook-tls", "namespace": ns, "finalizers": finalizers},
}

all_ops := ["CREATE", "UPDATE", "DELETE"]

test_operator_kinds_absent_from_namespace if {
	count(findings_for(cert_manager_install(all_ops))) == 0
}

test_operator_kinds_in_another_namespace if {
	count(findings_for(array.concat(cert_manager_install(all_ops), [certificate("shop", [])]))) == 0
}

test_operator_kinds_in_namespace if {
	fs := findings_for(array.concat(cert_manager_install(all_ops), [certificate("cert-manager", [])]))
	count(fs) == 1
	some f in fs
	f.namespace == "cert-manager"
	f.object.name == "cert-manager-webhook"
	contains(f.msg, "DELETE/UPDATE of certificates.cert-manager.io there")
	testing.summaries_fit(fs)
}

# As cert-manager ships it, the webhook intercepts CREATE and UPDATE only:
# deleting a Certificate goes through, and only one that carries a
# finalizer is updated during the deletion.
test_update_only_needs_finalizers if {
	ops := ["CREATE", "UPDATE"]
	count(findings_for(array.concat(cert_manager_install(ops), [certificate("cert-manager", [])]))) == 0
	count(findings_for(array.concat(cert_manager_install(ops), [certificate("cert-manager", ["example.com/cleanup"])]))) == 1
}

# A finalizer that the objects' controller will add (a finalizer fact's
# expected objects) counts too.
test_update_only_expected_finalizer if {
	objs := array.concat(cert_manager_install(["UPDATE"]), [certificate("cert-manager", [])])
	fact := {
		"finalizer": "example.com/cleanup", "namespace": "cert-manager", "objects": [], "expected": [4],
		"kinds": ["Certificate.cert-manager.io"], "builtin": false, "handlers": [], "liveness": "unknown",
	}
	fs := rule.findings with input as testing.snapshot({"objects": objs, "finalizers": [fact]})
	count(fs) == 1
}

# The pods of a Job carry the Job controller's finalizer; a Deployment's do
# not.
test_update_only_job_pods if {
	job := {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "policy"}}
	wh := rule_on([""], ["pods"], ["UPDATE"], "*")
	count(findings_for([validating([wh]), job])) == 1
	count(findings_for([validating([wh]), pod_of_policy])) == 0
}

# UPDATE of the Namespace itself happens when a controller removes one of
# its metadata.finalizers.
test_update_namespace_with_finalizers if {
	wh := rule_on([""], ["namespaces"], ["UPDATE"], "Cluster")
	count(findings_for([validating([wh]), testing.namespace("policy")])) == 0
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "policy", "finalizers": ["example.com/ns"]}}
	count(findings_for([validating([wh]), ns])) == 1
}

# Another group with the same resource name does not match.
test_api_group_must_match if {
	other := object.union(certificate("cert-manager", []), {"apiVersion": "certs.example.com/v1"})
	count(findings_for(array.concat(cert_manager_install(all_ops), [other]))) == 0
}

rule_on(groups, resources, ops, scope) := json.patch(webhook({}), [{"op": "replace", "path": "/rules", "value": [{
	"apiGroups": groups,
	"apiVersions": ["*"],
	"operations": ops,
	"resources": resources,
	"scope": scope,
}]}])

statefulset := {
	"apiVersion": "apps/v1",
	"kind": "StatefulSet",
	"metadata": {"name": "db", "namespace": "policy"},
	"spec": {"template": {"metadata": {"labels": {"app": "db"}}}},
}

# The pods (and ReplicaSets, ControllerRevisions) that the namespace's
# workloads create count, though no manifest holds them.
test_pods_of_workloads if {
	count(findings_for([validating([rule_on([""], ["pods"], ["DELETE"], "*")]), pod_of_policy])) == 1
	count(findings_for([validating([rule_on(["apps"], ["replicasets"], ["DELETE"], "*")]), pod_of_policy])) == 1
	count(findings_for([validating([rule_on(["apps"], ["replicasets"], ["DELETE"], "*")]), statefulset])) == 0
	count(findings_for([validating([rule_on(["apps"], ["controllerrevisions"], ["DELETE"], "*")]), statefulset])) == 1
}

test_pods_without_workloads if {
	count(findings_for([validating([rule_on([""], ["pods"], ["DELETE"], "*")])])) == 0
}

# The objectSelector is matched against the labels the pods will have.
test_object_selector_on_created_pods if {
	deployment := json.patch(pod_of_policy, [{"op": "replace", "path": "/metadata/labels", "value": {"app.kubernetes.io/name": "policy"}}])
	wh := object.union(rule_on([""], ["pods"], ["DELETE"], "*"), {"objectSelector": {"matchLabels": {"app": "policy-webhook"}}})
	count(findings_for([validating([wh]), deployment])) == 1
	other := object.union(wh, {"objectSelector": {"matchLabels": {"app.kubernetes.io/name": "policy"}}})
	count(findings_for([validating([other]), deployment])) == 0
}

# Endpoints and EndpointSlices come with every Service.
test_endpointslices_of_services if {
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "policy-webhook", "namespace": "policy"}}
	wh := rule_on(["discovery.k8s.io"], ["endpointslices"], ["DELETE"], "Namespaced")
	count(findings_for([validating([wh]), svc])) == 1
	count(findings_for([validating([wh])])) == 0
}

# Every namespace holds the ConfigMap kube-root-ca.crt and the
# ServiceAccount default.
test_objects_every_namespace_holds if {
	count(findings_for([validating([rule_on([""], ["configmaps"], ["DELETE"], "Namespaced")])])) == 1
	count(findings_for([validating([rule_on([""], ["serviceaccounts"], ["DELETE"], "*")])])) == 1
	count(findings_for([validating([rule_on([""], ["serviceaccounts"], ["UPDATE"], "*")])])) == 0
	count(findings_for([validating([rule_on([""], ["secrets"], ["DELETE"], "*")])])) == 0
}

# A subresource is not the object: "pods/status" does not match the DELETE
# of a pod; "pods/*" and "*/*" match the pod and its subresources.
test_subresources if {
	count(findings_for([validating([rule_on([""], ["pods/status"], ["*"], "*")]), pod_of_policy])) == 0
	count(findings_for([validating([rule_on([""], ["pods/*"], ["DELETE"], "*")]), pod_of_policy])) == 1
	count(findings_for([validating([rule_on(["*"], ["*/*"], ["DELETE"], "*")]), pod_of_policy])) == 1
	count(findings_for([validating([rule_on(["*"], ["*/scale"], ["*"], "*")]), pod_of_policy])) == 0
}

# Scope: the namespace's objects are Namespaced, the Namespace is Cluster.
test_scope if {
	count(findings_for([validating([rule_on([""], ["configmaps"], ["DELETE"], "Cluster")])])) == 0
	count(findings_for([validating([rule_on([""], ["namespaces"], ["DELETE"], "Namespaced")])])) == 0
	count(findings_for([validating([rule_on([""], ["namespaces"], ["DELETE"], "Cluster")])])) == 1
	count(findings_for([validating([rule_on([""], ["namespaces"], ["DELETE"], "*")])])) == 1
}

# The namespace controller's PUT of the finalize subresource and its status
# updates are UPDATEs; a DELETE rule on namespaces/finalize matches nothing.
test_namespace_subresources if {
	count(findings_for([validating([rule_on([""], ["namespaces/finalize"], ["UPDATE"], "Cluster")])])) == 1
	count(findings_for([validating([rule_on([""], ["namespaces/status"], ["UPDATE"], "*")])])) == 1
	count(findings_for([validating([rule_on([""], ["namespaces/finalize"], ["DELETE"], "Cluster")])])) == 0
	count(findings_for([validating([rule_on([""], ["namespaces"], ["CREATE"], "Cluster")])])) == 0
}

# For the Namespace itself, the objectSelector is matched against its labels.
test_object_selector_on_namespace if {
	wh := object.union(rule_on([""], ["namespaces"], ["DELETE"], "*"), {"objectSelector": {"matchLabels": {"team": "policy"}}})
	count(findings_for([validating([wh]), testing.namespace_labeled("policy", {"team": "policy"})])) == 1
	count(findings_for([validating([wh]), testing.namespace("policy")])) == 0
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
