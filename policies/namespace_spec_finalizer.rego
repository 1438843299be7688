# METADATA
# title: Namespace sets spec.finalizers beyond kubernetes
# description: >-
#   A Namespace lists a finalizer other than `kubernetes` in spec.finalizers.
#   Only the controller that owns it can finish the deletion (through the
#   namespace's finalize subresource); until it does, the namespace stays
#   Terminating even when it is empty, and if that controller is gone it
#   stays forever. On a cluster the finding says whether that controller
#   runs (the finalizer fact with spec true); this rule, not
#   orphaned-finalizer, reports a spec finalizer whose controller is gone.
#   No action is ever offered: only the finalize subresource edits
#   spec.finalizers, and nsguard neither uses nor suggests it. Fix: leave
#   spec.finalizers to Kubernetes; on a cluster, reinstall or restart the
#   controller that owns the entry so that it finishes the deletion.
# custom:
#   id: namespace-spec-finalizer
#   severity: deny
#   live: false
package nsguard.rules.namespace_spec_finalizer

import data.nsguard.lib.catalog
import data.nsguard.lib.k8s

# spec_finalizers[name]: the spec finalizers of each namespace, from the
# Namespace objects and from the namespaces' live state.
spec_finalizers[name] contains x if {
	some obj in object.get(input.index.byKind, "Namespace", [])
	name := obj.metadata.name
	some x in object.get(obj, ["spec", "finalizers"], [])
}

spec_finalizers[name] contains x if {
	some name, ns in input.namespaces
	some x in object.get(ns, "specFinalizers", [])
}

findings contains f if {
	some name, fins in spec_finalizers
	k8s.candidate(name)
	some x in fins
	x != "kubernetes"
	state := _state(name, x)
	f := {
		"msg": _message(name, x, state),
		"summary": k8s.summary([
			sprintf("Namespace %s: spec finalizer %s %s", [name, x, _summary_state[state.liveness]]),
			sprintf("Namespace %s: spec finalizer %s", [name, x]),
		]),
		"object": k8s.namespace_ref(name),
		"namespace": name,
	}
}

# _state(name, x): the liveness of the spec finalizer's controller and its
# evidence, from its finalizer fact (on a cluster); unknown without one.
_state(name, x) := {"liveness": facts[0].liveness, "evidence": object.get(facts[0], "evidence", [])} if {
	facts := _facts(name, x)
	count(facts) > 0
} else := {"liveness": "unknown", "evidence": []}

_facts(name, x) := [fact |
	some fact in input.finalizers
	fact.spec == true
	fact.namespace == name
	fact.finalizer == x
]

_summary_state := {
	"absent": "has no controller (absent)",
	"down": "waits for a controller that is not running",
	"alive": "waits for its controller",
	"unknown": "waits for its controller",
}

_message(name, x, state) := sprintf(
	"Namespace %s keeps spec finalizer %s and %s is gone (%s), so the namespace stays Terminating for good. Reinstall that controller so it finishes the deletion; nsguard never edits spec.finalizers (the finalize subresource).",
	[name, x, _owner(x), _evidence(state)],
) if state.liveness == "absent"

_message(name, x, state) := sprintf(
	"Namespace %s keeps spec finalizer %s and %s is not running (%s), so the namespace stays Terminating until it runs. Bring it back so it finishes the deletion; nsguard never edits spec.finalizers (the finalize subresource).",
	[name, x, _owner(x), _evidence(state)],
) if state.liveness == "down"

_message(name, x, state) := sprintf(
	"Namespace %s sets spec finalizer %s: only %s can finish its deletion (through the finalize subresource), so the namespace stays Terminating, even empty, until it does, and for good if it is gone. Leave spec.finalizers to Kubernetes.",
	[name, x, _owner(x)],
) if state.liveness in {"alive", "unknown"}

_evidence(state) := concat("; ", state.evidence) if count(state.evidence) > 0

_evidence(state) := "no controller found" if count(state.evidence) == 0

_owner(x) := catalog.entry(x).handledBy

_owner(x) := "the controller that added it" if not catalog.entry(x)
