# METADATA
# title: Manifest sets metadata.finalizers
# description: >-
#   A manifest sets metadata.finalizers. The object, and so its namespace,
#   cannot be deleted until the finalizer's controller removes it; if that
#   controller is not installed yet, is uninstalled first, or is deleted with
#   the namespace, the deletion hangs in Terminating. Controllers add the
#   finalizers they need themselves. Finalizers that Kubernetes handles and
#   that leak nothing (the catalog's safe built-ins, e.g.
#   kubernetes.io/pvc-protection, foregroundDeletion, orphan) are fine.
#   Lint only. Fix: remove metadata.finalizers from the manifest, or waive
#   the rule on the object when the finalizer is intended (for example Argo
#   CD's resources-finalizer for cascading deletion).
# custom:
#   id: hardcoded-finalizer
#   severity: warn
#   live: false
package nsguard.rules.hardcoded_finalizer

import data.nsguard.lib.catalog
import data.nsguard.lib.k8s

# One finding per object and finalizer. The loop runs over the distinct
# finalizers first, so the catalog is consulted once per finalizer.
findings contains f if {
	input.source == "manifests"
	some x, objs in input.index.byFinalizer
	not _safe[x]
	handler := _handler(x)
	some obj in objs
	ns := _affected(obj)
	k8s.candidates[ns]
	name := k8s.describe(obj.ref)
	f := {
		"msg": sprintf(
			"%s sets finalizer %s in its manifest: namespace %s hangs in Terminating if %s is not running when it is deleted (not installed yet, uninstalled first, or deleted with it). Let the controller add the finalizer itself, or waive with %s.",
			[name, x, ns, handler, _waiver],
		),
		"summary": _summary(name, obj.ref, x),
		"object": obj.ref,
		"namespace": ns,
	}
}

# _summary(name, ref, x): k8s.summary of the three candidates below, each
# built only when the ones before it do not fit.
_summary(name, ref, x) := s if {
	s := sprintf("%s: manifest sets finalizer %s", [name, x])
	count(s) <= k8s.max_summary
} else := s if {
	s := sprintf("%s %s: manifest sets finalizer %s", [ref.kind, ref.name, x])
	count(s) <= k8s.max_summary
} else := k8s.summary([sprintf("%s: manifest sets metadata.finalizers", [name])])

_safe := {x | some x, _ in input.index.byFinalizer; catalog.safe_builtin(x)}

_handler(x) := catalog.entry(x).handledBy

_handler(x) := "its controller (not in nsguard's catalog)" if not catalog.entry(x)

_waiver := k8s.waiver_hint("hardcoded-finalizer")

# The namespace whose deletion waits: the object's, or the Namespace's own.
_affected(obj) := obj.metadata.namespace

_affected(obj) := obj.metadata.name if {
	not obj.metadata.namespace
	obj.ref.kind == "Namespace"
	obj.ref.group == ""
}
