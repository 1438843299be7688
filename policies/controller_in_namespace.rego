# METADATA
# title: Controller runs in the namespace whose finalizers it removes
# description: >-
#   A workload in namespace N removes a finalizer that objects in N carry (or
#   will get from their controller): the finalizer catalog says so, or its
#   service account may update those objects. Deleting N deletes the
#   controller too. Since Kubernetes 1.34 (OrderedNamespaceDeletion, KEP-5080)
#   the namespace controller deletes pods first, so the controller is always
#   gone before its objects and the namespace hangs in Terminating; before
#   1.34 it is a race (warn). When the only evidence is a service account
#   that may update everything (`*`), or another candidate controller runs
#   outside N, the finding is a warning. Fix: delete those objects, and wait
#   for them to go, before deleting the namespace; or run the controller in
#   another namespace. Finalizers that Kubernetes itself handles never fire.
# custom:
#   id: controller-in-namespace
#   severity: deny
#   live: false
package nsguard.rules.controller_in_namespace

import data.nsguard.lib.k8s

findings contains f if {
	some fact in input.finalizers
	not fact.builtin
	ns := fact.namespace
	k8s.candidate(ns)

	# Computed once per finalizer: a fact can have dozens of handlers (every
	# operator whose ClusterRole may update the kind), and comparing each
	# with all the others would be quadratic.
	handlers := _qualified(fact)
	elsewhere := count([x | some x in handlers; x.namespace != ns]) > 0
	some h in handlers
	h.namespace == ns
	f := {
		"msg": _message(fact, h, ns, elsewhere),
		"severity": _severity(h, elsewhere),
		"object": h.workload,
		"namespace": ns,
		"actions": [{"type": "delete-all", "object": input.objects[id].ref} | some id in _examples(fact)],
	}
}

# Catalog evidence (workload labels, Lease) beats RBAC inference: when a
# handler was found through the catalog, the RBAC-only ones are ignored.
_qualified(fact) := strong if {
	strong := [h | some h in fact.handlers; "catalog" in h.via]
	count(strong) > 0
} else := [h |
	some h in fact.handlers
	some v in h.via
	v in {"rbac", "rbac-wildcard"}
]

_wildcard_only(h) if {
	"rbac-wildcard" in h.via
	not "catalog" in h.via
	not "rbac" in h.via
}

# A warning rather than a denial: before 1.34 it is a race; a wildcard is
# weak evidence; another qualified handler outside the namespace may be the
# one that removes the finalizer.
_weak(_, _) if not k8s.pods_deleted_first

_weak(h, _) if _wildcard_only(h)

_weak(_, true)

_severity(h, elsewhere) := "warn" if _weak(h, elsewhere)

_severity(h, elsewhere) := "deny" if not _weak(h, elsewhere)

# fact.kinds are "Kind.group"; lowercased, kubectl accepts them as types.
# _examples(fact): one object of each kind that carries or will get the
# finalizer; each gives a delete-all action for its kind.
_examples(fact) := {id |
	ids := array.concat(fact.objects, object.get(fact, "expected", []))
	some k in fact.kinds
	id := min([i | some i in ids; _group_kind(input.objects[i].ref) == k])
}

_group_kind(ref) := ref.kind if object.get(ref, "group", "") == ""

_group_kind(ref) := sprintf("%s.%s", [ref.kind, ref.group]) if object.get(ref, "group", "") != ""

_count_text(fact) := sprintf("%d %s object(s)", [count(fact.objects), concat(", ", fact.kinds)]) if {
	count(object.get(fact, "expected", [])) == 0
}

_count_text(fact) := sprintf("%d %s object(s) (their controller adds it)", [count(fact.expected), concat(", ", fact.kinds)]) if {
	count(fact.objects) == 0
	count(object.get(fact, "expected", [])) > 0
}

_count_text(fact) := sprintf("%d %s object(s) (%d carry it, the controller adds it to the others)", [
	count(fact.objects) + count(fact.expected),
	concat(", ", fact.kinds),
	count(fact.objects),
]) if {
	count(fact.objects) > 0
	count(object.get(fact, "expected", [])) > 0
}

_why(_) := "since Kubernetes 1.34 the namespace controller deletes pods first, so the controller is gone before its objects and the namespace hangs in Terminating" if {
	k8s.pods_deleted_first
}

_why(_) := "deleting the namespace races the controller against its objects (from Kubernetes 1.34 pods are deleted first and the controller always loses), and the namespace can hang in Terminating" if {
	not k8s.pods_deleted_first
}

_caveat(h, elsewhere) := concat("", [
	_wildcard_note(h),
	_elsewhere_note(elsewhere),
])

_wildcard_note(h) := " (evidence: only that its service account may update every resource)" if _wildcard_only(h)

_wildcard_note(h) := "" if not _wildcard_only(h)

_elsewhere_note(true) := " (another candidate controller runs outside the namespace; if it is the one that removes the finalizer, the deletion does not hang)"

_elsewhere_note(false) := ""

_message(fact, h, ns, elsewhere) := sprintf(
	"%s removes finalizer %s from %s in namespace %s and runs in that namespace%s: %s. Delete those objects, and wait for them to go, before deleting the namespace, or run the controller in another namespace.",
	[k8s.describe(h.workload), fact.finalizer, _count_text(fact), ns, _caveat(h, elsewhere), _why(fact)],
)
