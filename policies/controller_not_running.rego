# METADATA
# title: Controller of a finalizer is not running
# description: >-
#   Objects in the namespace keep a finalizer whose controller exists but
#   does not run: scaled to 0, no ready replicas, being deleted, or its pods
#   no longer renew their leader-election Lease. Nothing removes the
#   finalizer until it runs again, so the namespace stays Terminating.
#   Removing the finalizer by hand would skip the cleanup the controller
#   still can do. Fix: bring the controller back (scale it up, fix its
#   crash); it then removes its finalizers by itself.
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
				"%s removes finalizer %s from %d %s object(s) in namespace %s but is not running (%s), so the namespace stays Terminating until it runs again. Bring it back rather than removing the finalizer by hand, which would skip its cleanup.",
				[k8s.describe(h.workload), fact.finalizer, count(fact.objects), concat(", ", fact.kinds), fact.namespace, _evidence(h)],
			),
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

# A workload scaled to 0 is scaled back up; anything else needs a person.
_fix(h) := {"actions": [{"type": "scale-workload", "object": h.workload, "replicas": 1}]} if {
	input.objects[h.workload.id].spec.replicas == 0
}

_fix(h) := {} if not input.objects[h.workload.id].spec.replicas == 0
