package nsguard.rules.controller_not_running_test

import data.nsguard.lib.testing
import data.nsguard.rules.controller_not_running as rule

operator(replicas) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "keda-operator", "namespace": "keda"},
	"spec": {"replicas": replicas},
	"status": {"readyReplicas": 0},
}

scaled := {
	"apiVersion": "keda.sh/v1alpha1",
	"kind": "ScaledObject",
	"metadata": {"name": "worker", "namespace": "apps", "finalizers": ["finalizer.keda.sh"]},
}

fact(liveness, via) := {
	"finalizer": "finalizer.keda.sh",
	"namespace": "apps",
	"objects": [1],
	"kinds": ["ScaledObject.keda.sh"],
	"catalog": "keda",
	"builtin": false,
	"handlers": [{
		"workload": {"id": 0, "apiVersion": "apps/v1", "group": "apps", "version": "v1", "kind": "Deployment", "namespace": "keda", "name": "keda-operator"},
		"namespace": "keda",
		"via": via,
		"liveness": liveness,
		"evidence": ["Deployment keda/keda-operator is scaled to 0 replicas"],
	}],
	"liveness": liveness,
}

snap(replicas, liveness, via) := testing.cluster({"target": "apps", "objects": [operator(replicas), scaled], "finalizers": [fact(liveness, via)]})

test_scaled_to_zero if {
	fs := rule.findings with input as snap(0, "down", ["catalog"])
	count(fs) == 1
	some f in fs
	f.namespace == "apps"
	f.object.name == "keda-operator"
	contains(f.msg, "scaled to 0")
	f.actions == [{"type": "scale-workload", "object": f.object, "replicas": 1}]
}

test_crashing_has_no_fix if {
	fs := rule.findings with input as snap(1, "down", ["rbac"])
	count(fs) == 1
	some f in fs
	not f.actions
}

test_alive if {
	count(rule.findings) == 0 with input as snap(1, "alive", ["catalog"])
}

test_wildcard_only_ignored if {
	count(rule.findings) == 0 with input as snap(0, "down", ["rbac-wildcard"])
}

test_never_in_lint if {
	inp := object.union(snap(0, "down", ["catalog"]), {"source": "manifests", "target": ""})
	count(rule.findings) == 0 with input as inp
}
