# METADATA
# title: Finalizer whose controller is gone
# description: >-
#   An object in the namespace keeps a finalizer and the controller that would
#   remove it is gone: no workload matches the catalog, no Lease is renewed,
#   no service account may update the object (the live inventory's evidence).
#   Nothing will ever remove the finalizer, so the namespace stays
#   Terminating. The finding says what the finalizer protects and, from the
#   finalizer catalog, whether removing it by hand leaks anything (cloud load
#   balancers, volumes, DNS records, certificates); the kubectl patch that
#   removes it is given only when that is safe. This covers the Namespace's
#   own metadata.finalizers too; its spec.finalizers are namespace-spec-finalizer's
#   (only the finalize subresource removes them, which nsguard never uses).
#   Fix: reinstall or restart the controller so it cleans up; remove the
#   finalizer by hand only where safe.
# custom:
#   id: orphaned-finalizer
#   severity: deny
#   live: true
package nsguard.rules.orphaned_finalizer

import data.nsguard.lib.catalog
import data.nsguard.lib.k8s

findings contains f if {
	k8s.live
	some j, fact in input.finalizers
	info := _absent[j]
	some id in fact.objects
	obj := input.objects[id]
	some i, name in obj.metadata.finalizers
	name == fact.finalizer
	ref := obj.ref
	what := k8s.describe(ref)
	f := object.union(
		{
			"msg": sprintf(
				"%s keeps finalizer %s and its controller is gone (%s), so namespace %s stays Terminating. %s",
				[what, fact.finalizer, info.evidence, fact.namespace, info.advice],
			),
			"summary": k8s.summary([
				sprintf("%s: finalizer %s has no controller (absent)", [what, fact.finalizer]),
				sprintf("%s %s: finalizer %s has no controller", [ref.kind, ref.name, fact.finalizer]),
				sprintf("%s: a finalizer has no controller (absent)", [what]),
			]),
			"object": ref,
			"namespace": fact.namespace,
		},
		_fix(info, fact, ref, i),
	)
}

# _absent holds, per index in input.finalizers, what every finding of an
# absent controller's finalizer says: computed once per finalizer, not once
# per object that carries it (a catalog lookup scans its patterns and
# prefixes, and a namespace may hold thousands of such objects).
_absent := {j: {"evidence": _evidence(fact), "advice": _advice(fact), "safe": _is_safe(fact)} |
	some j, fact in input.finalizers
	fact.liveness == "absent"
	not fact.builtin
	not fact.spec
	k8s.candidate(fact.namespace)
}

_evidence(fact) := concat("; ", fact.evidence) if count(object.get(fact, "evidence", [])) > 0

_evidence(fact) := "no controller found" if count(object.get(fact, "evidence", [])) == 0

_advice(fact) := sprintf("Removing it by hand is safe: %s", [e.removal]) if {
	e := catalog.fact_entry(fact)
	e.leaks == false
}

_advice(fact) := sprintf("Reinstall %s so it cleans up: removing the finalizer by hand leaks %s.", [_handled_by(fact, e), object.get(e, "protects", "what it protects")]) if {
	e := catalog.fact_entry(fact)
	e.leaks != false
}

_advice(fact) := "The finalizer catalog does not know it: find out what it protects before removing it, or reinstall its controller." if {
	not catalog.fact_entry(fact)
}

# A shared finalizer name's fact names the controller of its kinds.
_handled_by(fact, e) := object.get(fact, "handledBy", object.get(e, "handledBy", "its controller"))

# Removing the finalizer is offered only when the catalog says nothing
# leaks; the action patches this one finalizer, testing the object's UID
# and the value at its index.
_fix(info, fact, ref, _) := {"actions": [{"type": "remove-finalizer", "object": ref, "finalizer": fact.finalizer}]} if info.safe

_fix(info, _, _, _) := {} if not info.safe

_is_safe(fact) if {
	catalog.fact_entry(fact).leaks == false
} else := false
