package nsguard.rules.unavailable_apiservice_test

import data.nsguard.lib.testing
import data.nsguard.rules.unavailable_apiservice as rule

apiservice(status) := {
	"apiVersion": "apiregistration.k8s.io/v1",
	"kind": "APIService",
	"metadata": {"name": "v1beta1.metrics.k8s.io"},
	"spec": {"group": "metrics.k8s.io", "version": "v1beta1", "service": {"namespace": "monitoring", "name": "metrics-server"}},
	"status": {"conditions": [{"type": "Available", "status": status, "reason": "MissingEndpoints", "message": "endpoints for service/metrics-server in \"monitoring\" have no addresses"}]},
}

test_condition_false if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [apiservice("False")]})
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	f.object.id == 0
	contains(f.msg, "MissingEndpoints")
	contains(f.msg, "every namespace in the cluster")
	f.summary == "APIService v1beta1.metrics.k8s.io is unavailable: every namespace deletion in the cluster stalls"
	testing.summaries_fit(fs)
	not f.actions
}

test_warns_before_a_deletion_and_denies_a_stalled_one if {
	active := rule.findings with input as testing.cluster({"target": "apps", "objects": [apiservice("False")]})
	some a in active
	a.severity == "warn"
	stalled := rule.findings with input as testing.cluster({
		"target": "apps", "objects": [apiservice("False")],
		"namespaces": {"apps": {"name": "apps", "phase": "Terminating"}},
	})
	some s in stalled
	s.severity == "deny"
}

test_available if {
	fs := rule.findings with input as testing.cluster({"target": "apps", "objects": [apiservice("True")]})
	count(fs) == 0
}

test_discovery_failure_merges_with_condition if {
	inp := testing.cluster({
		"target": "apps",
		"objects": [apiservice("False")],
		"discovery": {"resourceTypes": 80, "failedGroupVersions": [{"groupVersion": "metrics.k8s.io/v1beta1", "error": "the server is currently unable to handle the request"}]},
	})
	fs := rule.findings with input as inp
	count(fs) == 1
	some f in fs
	contains(f.msg, "discovery of metrics.k8s.io/v1beta1 failed")
}

test_discovery_failure_without_object if {
	inp := testing.cluster({
		"target": "apps",
		"discovery": {"resourceTypes": 80, "failedGroupVersions": [{"groupVersion": "custom.metrics.k8s.io/v1beta2", "error": "unavailable"}]},
	})
	fs := rule.findings with input as inp
	some f in fs
	f.object.id == -1
	f.object.name == "v1beta2.custom.metrics.k8s.io"
}

test_fix_when_service_is_gone if {
	inp := testing.cluster({
		"target": "apps",
		"objects": [apiservice("False")],
		"services": {"monitoring/metrics-server": {"namespace": "monitoring", "name": "metrics-server", "exists": false, "objectID": -1}},
	})
	some f in rule.findings with input as inp
	f.actions[0].type == "delete-apiservice"
	f.actions[0].object.name == "v1beta1.metrics.k8s.io"
}

test_never_in_lint if {
	fs := rule.findings with input as testing.snapshot({"objects": [apiservice("False")]})
	count(fs) == 0
}
