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
	f.summary == "Deployment keda/keda-operator is not running; finalizer finalizer.keda.sh stays on 1 object(s) in apps"
	testing.summaries_fit(fs)
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

# A handler may be any owner of pods. Only a Deployment or StatefulSet
# scaled to 0 is scaled back up.
with_workload(obj, ref) := inp if {
	base := snap(0, "down", ["catalog"])
	h := object.union(base.finalizers[0].handlers[0], {"workload": ref})
	f0 := object.union(base.finalizers[0], {"handlers": [h]})
	inp := testing.cluster({"target": "apps", "objects": [obj, scaled], "finalizers": [f0]})
}

workload_ref(id, apiVersion, group, kind, name) := {"id": id, "apiVersion": apiVersion, "group": group, "version": "v1", "kind": kind, "namespace": "keda", "name": name}

test_statefulset_scaled_to_zero if {
	sts := object.union(operator(0), {"kind": "StatefulSet"})
	fs := rule.findings with input as with_workload(sts, workload_ref(0, "apps/v1", "apps", "StatefulSet", "keda-operator"))
	some f in fs
	f.actions[0].type == "scale-workload"
}

test_replicaset_scaled_to_zero_is_not_scaled if {
	rs := object.union(operator(0), {"kind": "ReplicaSet"})
	fs := rule.findings with input as with_workload(rs, workload_ref(0, "apps/v1", "apps", "ReplicaSet", "keda-operator"))
	count(fs) == 1
	some f in fs
	not f.actions
}

test_job_not_in_snapshot if {
	fs := rule.findings with input as with_workload(operator(1), workload_ref(-1, "batch/v1", "batch", "Job", "cleanup"))
	count(fs) == 1
	some f in fs
	f.object.kind == "Job"
	contains(f.msg, "Job keda/cleanup")
	not f.actions
	testing.summaries_fit(fs)
}

test_bare_pod if {
	pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "keda-operator-x", "namespace": "keda"}, "status": {"phase": "Pending"}}
	fs := rule.findings with input as with_workload(pod, workload_ref(0, "v1", "", "Pod", "keda-operator-x"))
	count(fs) == 1
	some f in fs
	not f.actions
}
