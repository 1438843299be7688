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
#   outside N, the finding is a warning. In lint the rule also warns when a
#   workload that the catalog recognises as a controller runs in N and the
#   catalog says that controller creates objects with its finalizer in its
#   own namespace at run time (controller.createsInOwnNamespace): no
#   manifest holds them, yet they block N the same way. Fix: delete those
#   objects, and wait for them to go, before deleting the namespace; or run
#   the controller in another namespace. Where the catalog says deleting the
#   objects deletes everything they manage (deletesManaged: an Argo CD
#   Application, a Flux Kustomization that prunes), no delete is offered:
#   follow the project's uninstall steps instead. Finalizers that Kubernetes
#   itself handles never fire.
# custom:
#   id: controller-in-namespace
#   severity: deny
#   live: false
package nsguard.rules.controller_in_namespace

import data.nsguard.lib.catalog
import data.nsguard.lib.k8s

findings contains f if {
	some fact in input.finalizers
	not fact.builtin
	ns := fact.namespace
	k8s.candidate(ns)

	# Computed once per finalizer: a fact can have dozens of handlers (every
	# operator whose ClusterRole may update the kind), and comparing each
	# with all the others would be quadratic. What the findings of one fact
	# share is computed once too, and only for a fact that has one.
	placed := [[h, where] | some h in _qualified(fact); where := _runs_in(h)]
	local := [h | some [h, where] in placed; where == ns]
	count(local) > 0
	elsewhere := count([1 | some [_, where] in placed; where != ns]) > 0
	what := sprintf("removes finalizer %s from %s in namespace %s, where it runs", [fact.finalizer, _count_text(fact), ns])
	fix := _fact_fix(fact)
	actions := _actions(fact)
	some h in local
	name := k8s.describe(h.workload)
	wildcard := _wildcard_only_flag(h)
	f := {
		"msg": sprintf("%s %s%s: %s. %s", [name, what, _caveat(wildcard, elsewhere), _why, fix]),
		"summary": _summary(name, fact.finalizer),
		"severity": _severity(wildcard, elsewhere),
		"object": h.workload,
		"namespace": ns,
		"actions": actions,
	}
}

# A handler runs where its workload is.
_runs_in(h) := object.get(h, "namespace", object.get(h.workload, "namespace", ""))

# Catalog evidence (workload labels, or a Lease the catalog names) beats
# RBAC inference: when a handler was found through the catalog, the
# RBAC-only ones are ignored.
#
# A handler found both ways appears twice: the findings are a set, and a
# test of each value of via against a literal set is several times cheaper
# than a function call (or a rule lookup) per handler.
_qualified(fact) := strong if {
	strong := [h | some h in object.get(fact, "handlers", []); some v in h.via; v in {"catalog", "lease"}]
	count(strong) > 0
} else := [h | some h in object.get(fact, "handlers", []); some v in h.via; v in {"rbac", "rbac-wildcard"}]

_wildcard_only(h) if {
	"rbac-wildcard" in h.via
	not "catalog" in h.via
	not "lease" in h.via
	not "rbac" in h.via
}

# _wildcard_only_flag(h): _wildcard_only as a boolean, so that what depends
# on it is computed once per value rather than once per handler.
_wildcard_only_flag(h) if {
	_wildcard_only(h)
} else := false

# A warning rather than a denial: before 1.34 it is a race; a wildcard is
# weak evidence; another qualified handler outside the namespace may be the
# one that removes the finalizer.
_weak(_, _) if not k8s.pods_deleted_first

_weak(true, _)

_weak(_, true)

_severity(wildcard, elsewhere) := "warn" if _weak(wildcard, elsewhere)

_severity(wildcard, elsewhere) := "deny" if not _weak(wildcard, elsewhere)

# _actions(fact): delete every object of each kind that carries (or will
# get) the finalizer, while the controller still runs; nothing when
# deleting them would delete what they manage. The Namespace's own
# finalizers are left out: nsguard never deletes a Namespace.
_actions(fact) := [] if _deletes_managed(fact)

_actions(fact) := [{"type": "delete-all", "object": input.objects[id].ref} | some id in _examples(fact)] if {
	not _deletes_managed(fact)
}

_deletes_managed(fact) if catalog.deletes_managed(catalog.fact_entry(fact))

# _examples(fact): one object of each kind that carries or will get the
# finalizer; each gives a delete-all action for its kind.
_examples(fact) := {id |
	ids := array.concat(fact.objects, object.get(fact, "expected", []))
	kinds := [[i, k8s.group_kind(input.objects[i].ref)] | some i in ids]
	some k in fact.kinds
	k != "Namespace"
	id := min([i | some [i, gk] in kinds; gk == k])
}

_count_text(fact) := sprintf("%d %s object(s)", [count(fact.objects), concat(", ", fact.kinds)]) if {
	count(object.get(fact, "expected", [])) == 0
}

_count_text(fact) := sprintf("%d %s object(s) (once their controller adds it)", [count(fact.expected), concat(", ", fact.kinds)]) if {
	count(fact.objects) == 0
	count(object.get(fact, "expected", [])) > 0
}

_count_text(fact) := sprintf("%d %s object(s) (%d carry it, the others will)", [
	count(fact.objects) + count(fact.expected),
	concat(", ", fact.kinds),
	count(fact.objects),
]) if {
	count(fact.objects) > 0
	count(object.get(fact, "expected", [])) > 0
}

_why := "pods are deleted first (Kubernetes 1.34+), so it is gone before its objects and the namespace hangs in Terminating" if {
	k8s.pods_deleted_first
}

_why := "deleting the namespace races it against its objects (from Kubernetes 1.34, which deletes pods first, it always loses) and can hang in Terminating" if {
	not k8s.pods_deleted_first
}

_caveat(wildcard, elsewhere) := concat("", [_wildcard_note(wildcard), _elsewhere_note(elsewhere)])

_wildcard_note(true) := " (evidence: only that it may update every resource)"

_wildcard_note(false) := ""

_elsewhere_note(true) := " (another candidate runs elsewhere; if it is the one, nothing hangs)"

_elsewhere_note(false) := ""

# _fact_fix(fact), _fix_text(entry): what to do.
_fact_fix(fact) := _fix_text(e) if e := catalog.fact_entry(fact)

_fact_fix(fact) := _delete_first if not catalog.fact_entry(fact)

_fix_text(e) := sprintf("Deleting those objects would also delete what they manage: %s instead, or run the controller elsewhere.", [catalog.uninstall_advice(e)]) if {
	catalog.deletes_managed(e)
}

_fix_text(e) := _delete_first if not catalog.deletes_managed(e)

_delete_first := "Delete those objects and wait for them to go before deleting the namespace, or run the controller elsewhere."

# _summary(name, finalizer): k8s.summary of the three candidates below,
# each built only when the ones before it do not fit.
_summary(name, finalizer) := s if {
	s := sprintf("%s removes finalizer %s in its own namespace", [name, finalizer])
	count(s) <= k8s.max_summary
} else := s if {
	s := sprintf("%s removes %s in its own namespace", [name, finalizer])
	count(s) <= k8s.max_summary
} else := k8s.summary([sprintf("%s removes a finalizer in its own namespace", [name])])

# Objects that a controller creates at run time in its own namespace
# (controller.createsInOwnNamespace): no manifest holds them, so no
# finalizer fact names them; the workload alone tells. Lint only: on a
# cluster the objects exist and their facts give the findings above. A
# warning: how many there will be, and when, is not known.
findings contains f if {
	input.source == "manifests"
	some id in _candidates
	w := input.objects[id]
	ns := object.get(w.metadata, "namespace", "")
	k8s.candidates[ns]
	some e in {e | some [e, c] in _runtime_controllers; catalog.runs(c.controller, w)}
	kinds := _created_kinds(e, w)
	not _covered(e, w, ns)
	f := {
		"msg": sprintf(
			"%s (%s) creates %s objects with finalizer %s in its own namespace %s at run time: %s. %s",
			[k8s.describe(w.ref), _handled_by(e, w), _list(kinds), catalog.label(e), ns, _why, _fix_text(e)],
		),
		"summary": k8s.summary([
			sprintf("%s creates %s objects with finalizer %s in its own namespace", [k8s.describe(w.ref), _list(kinds), catalog.label(e)]),
			sprintf("%s creates objects with finalizer %s in its own namespace", [k8s.describe(w.ref), catalog.label(e)]),
			sprintf("%s creates finalized objects in its own namespace", [k8s.describe(w.ref)]),
		]),
		"severity": "warn",
		"object": w.ref,
		"namespace": ns,
	}
}

# _runtime_controllers: [entry, controller] of every controller that
# creates objects in its own namespace at run time; a handful.
_runtime_controllers := [[e, c] |
	some e in catalog.entries
	object.get(e, "builtin", false) != true
	some c in catalog.controllers(e)
	count(object.get(c.controller, "createsInOwnNamespace", [])) > 0
]

# A workload that carries none of the label keys those controllers are
# recognised by is none of them: a lookup of those few keys in its labels
# and its pod template's keeps the full match to a few workloads of a large
# bundle. The keys are bound once, outside the loop: a rule reference per
# workload costs more than the lookups.
_wanted_keys := {k |
	some [_, c] in _runtime_controllers
	some set in object.get(c.controller, "workloadLabels", [])
	some k, _ in set
}

_candidates contains w.ref.id if {
	keys := _wanted_keys
	some kind in _workload_kinds
	some w in object.get(input.index.byKind, kind, [])
	some k in keys
	_ = w.metadata.labels[k]
	not _controlled(kind, w)
}

_candidates contains w.ref.id if {
	keys := _wanted_keys
	some kind in _workload_kinds
	some w in object.get(input.index.byKind, kind, [])
	some k in keys
	_ = w.spec.template.metadata.labels[k]
	not _controlled(kind, w)
}

# What runs pods: workloads, and ReplicaSets and Pods that nothing
# controls (those that something controls are its workload's).
_workload_kinds := ["Deployment.apps", "StatefulSet.apps", "DaemonSet.apps", "ReplicaSet.apps", "Pod"]

_controlled(kind, obj) if {
	kind in {"ReplicaSet.apps", "Pod"}
	some o in object.get(obj.metadata, "ownerReferences", [])
	o.controller == true
}

# _created_kinds(e, w): the kinds, as "Kind.group", that the controllers
# of entry e which workload w runs create in their own namespace.
_created_kinds(e, w) := sort({_gk(x) |
	some c in catalog.controllers(e)
	catalog.runs(c.controller, w)
	some x in object.get(c.controller, "createsInOwnNamespace", [])
})

# _list(l): up to three names, or two and how many more.
_list(l) := concat(", ", l) if count(l) <= 3

_list(l) := sprintf("%s and %d more", [concat(", ", array.slice(l, 0, 2)), count(l) - 2]) if count(l) > 3

_gk(x) := x.kind if object.get(x, "group", "") == ""

_gk(x) := sprintf("%s.%s", [x.kind, x.group]) if object.get(x, "group", "") != ""

_handled_by(e, w) := [c.handledBy |
	some c in catalog.controllers(e)
	catalog.runs(c.controller, w)
	count(object.get(c.controller, "createsInOwnNamespace", [])) > 0
][0]

# A finalizer fact already names this workload as the catalog's handler of
# the entry in its own namespace: the finding above covers it.
_covered(e, w, ns) if {
	some fact in input.finalizers
	fact.namespace == ns
	catalog.fact_entry(fact).id == e.id
	some h in object.get(fact, "handlers", [])
	h.workload.id == w.ref.id
}
