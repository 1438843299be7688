# METADATA
# title: Controller of a finalizer is not running
# description: >-
#   Objects in the namespace keep a finalizer whose controller exists but
#   does not run: scaled to 0, no ready replicas, being deleted, or its pods
#   no longer renew their leader-election Lease. Nothing removes the
#   finalizer until it runs again, so the namespace stays Terminating.
#   Removing the finalizer by hand would skip the cleanup the controller
#   still can do. The controller may be any workload that runs pods
#   (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, a bare Pod, or a
#   custom owner); only a Deployment or StatefulSet scaled to 0 gets a scale
#   action. Fix: bring the controller back (scale it up, fix its crash); it
#   then removes its finalizers by itself.
# custom:
#   id: controller-not-running
#   severity: deny
#   live: true
package nsguard.rules.controller_not_running

import data.nsguard.lib.k8s

findings contains f if {
	k8s.live
	some fact in input.finalizers
	fact.liveness == "down"
	not fact.builtin
	k8s.candidate(fact.namespace)
	some h in fact.handlers
	h.liveness == "down"
	not _wildcard_only(h)
	f := object.union(
		{
			"msg": sprintf(
				"%s removes finalizer %s from %d %s object(s) in namespace %s but is not running (%s): the namespace stays Terminating until it runs. Bring it back; removing the finalizer by hand would skip its cleanup.",
				[k8s.describe(h.workload), fact.finalizer, count(fact.objects), concat(", ", fact.kinds), fact.namespace, _evidence(h)],
			),
			"summary": k8s.summary([
				sprintf("%s is not running; finalizer %s stays on %d object(s) in %s", [k8s.describe(h.workload), fact.finalizer, count(fact.objects), fact.namespace]),
				sprintf("%s is not running; %d object(s) in %s keep its finalizer", [k8s.describe(h.workload), count(fact.objects), fact.namespace]),
				sprintf("%s is not running and keeps namespace %s Terminating", [k8s.describe(h.workload), fact.namespace]),
			]),
			"object": h.workload,
			"namespace": fact.namespace,
		},
		_fix(h),
	)
}

_wildcard_only(h) if {
	"rbac-wildcard" in h.via
	count(h.via) == 1
}

_evidence(h) := concat("; ", h.evidence) if count(object.get(h, "evidence", [])) > 0

_evidence(h) := "no ready replicas" if count(object.get(h, "evidence", [])) == 0

# A Deployment or StatefulSet scaled to 0 is scaled back up; anything else
# (a crash, a ReplicaSet, Job or Pod, an owner not in the snapshot) needs a
# person.
_fix(h) := {"actions": [{"type": "scale-workload", "object": h.workload, "replicas": 1}]} if _scaled_to_zero(h.workload)

_fix(h) := {} if not _scaled_to_zero(h.workload)

_scaled_to_zero(ref) if {
	object.get(ref, "group", "") == "apps"
	ref.kind in {"Deployment", "StatefulSet"}
	ref.id >= 0
	input.objects[ref.id].spec.replicas == 0
}
